"""DPoP at the gate (RFC 9449 §7, RFC 9728): bound tokens, proofs made by joserfc as a client
would, through both adapters, WebSocket handshakes, the nonce round trip and resource metadata."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from harness import ASGIHarness, Harness
from joserfc import jwk
from joserfc import jwt as jose_jwt
from tokens import claims, mint

from jwt_middleware import ConfigError, JWTMiddleware, load_settings
from jwt_middleware.core.dpop import MemoryReplay, NonceSource, access_token_hash
from jwt_middleware.core.keys import thumbprint

HOST = "api.test"
URL = f"http://{HOST}/api"
ORIGIN = {"origin": f"http://{HOST}", "jwks_allow_http": True}  # the URL the resource serves: what proofs name
KEY = jwk.ECKey.generate_key("P-256")
JKT = thumbprint(KEY.as_dict(private=False))


def proof(token: str | None, key: Any = KEY, alg: str = "ES256", header: dict[str, Any] | None = None, **over: Any) -> str:
    """A proof as a client makes it; a claim given as None is left out."""
    body = {"jti": uuid.uuid4().hex, "htm": "GET", "htu": URL, "iat": int(time.time())}
    if token is not None:
        body["ath"] = access_token_hash(token)
    body.update(over)
    head = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False), **(header or {})}
    return jose_jwt.encode(head, {k: v for k, v in body.items() if v is not None}, key, algorithms=[alg])


def bound(jkt: str = JKT, **over: Any) -> str:
    return mint(claims(cnf={"jkt": jkt}, **over))


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        self.events.append(event)

    @property
    def reason(self) -> str:
        return str(self.events[-1].reason) if self.events else ""


def build(make: Any, **settings: Any) -> tuple[Harness, Recorder]:
    recorder = Recorder()
    return make(
        on_event=recorder, **{"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789", **ORIGIN, **settings}
    ), recorder


def send(h: Harness, token: str, *proofs: str, scheme: str = "DPoP", path: str = "/api", method: str = "GET") -> Any:
    headers = [("host", HOST), ("authorization", f"{scheme} {token}"), *(("dpop", p) for p in proofs)]
    return h.request(path, headers=headers, method=method)


def test_a_bound_token_with_its_proof_is_accepted(make: Any) -> None:
    h, _ = build(make)
    token = bound()
    r = send(h, token, proof(token))
    assert (r.status, r.called) == (200, True)
    assert r.seen["claims"]["cnf"] == {"jkt": JKT}


def test_a_cached_token_still_needs_a_fresh_unreplayed_proof(make: Any) -> None:
    h, events = build(make)
    token = bound()
    first = proof(token)
    assert send(h, token, first).status == 200
    assert send(h, token, proof(token)).status == 200  # the token is now cached; a new proof passes
    again = send(h, token, first)
    assert (again.status, again.called, events.reason) == (401, False, "dpop_replay")
    assert 'DPoP error="invalid_dpop_proof"' in again.challenge
    no_proof = send(h, token)
    assert (no_proof.status, events.reason) == (401, "dpop_no_proof")


def test_a_bound_token_presented_as_bearer_is_refused(make: Any) -> None:
    h, events = build(make)
    token = bound()
    r = send(h, token, proof(token), scheme="Bearer")
    assert (r.status, r.called, events.reason) == (401, False, "dpop_proof_missing")
    assert r.challenge.startswith('DPoP error="invalid_token"')
    assert 'algs="ES256 ES384 Ed25519 EdDSA PS256 PS384 RS256"' in r.challenge
    assert ", Bearer" in r.challenge  # Bearer is allowed: named beside it (RFC 9449 §7.1)


def test_an_unbound_token_stays_a_bearer_token(make: Any) -> None:
    h, events = build(make)
    token = mint(claims())
    assert send(h, token, scheme="Bearer").status == 200
    r = send(h, token, proof(token))
    assert (r.status, events.reason) == (401, "dpop_token_not_bound")
    assert r.challenge.startswith('DPoP error="invalid_token"')
    expired = send(h, mint(claims(exp=int(time.time()) - 60)), scheme="Bearer")
    assert expired.challenge.startswith('Bearer error="invalid_token"') and "DPoP" not in expired.challenge


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"htu": "http://api.test/other"}, "dpop_htu_mismatch"),
        ({"htu": "https://api.test/api"}, "dpop_htu_mismatch"),
        ({"htm": "POST"}, "dpop_htm_mismatch"),
        ({"iat": int(time.time()) - 3600}, "dpop_stale"),
        ({"iat": int(time.time()) + 3600}, "dpop_bad_iat"),
        ({"ath": access_token_hash("another.token.here")}, "dpop_ath_mismatch"),
        ({"ath": None}, "dpop_ath_mismatch"),
        ({"jti": None}, "dpop_bad_jti"),
    ],
)
def test_a_proof_that_does_not_fit_the_request_is_refused(make: Any, change: dict[str, Any], reason: str) -> None:
    h, events = build(make)
    token = bound()
    r = send(h, token, proof(token, **change))
    assert (r.status, r.called, events.reason) == (401, False, reason)
    assert r.json["error"] == "invalid_dpop_proof"


def test_a_proof_by_another_key_or_a_private_or_unsigned_one_is_refused(make: Any) -> None:
    h, events = build(make)
    token = bound()
    other = jwk.ECKey.generate_key("P-256")
    assert (send(h, token, proof(token, key=other)).status, events.reason) == (401, "dpop_key_mismatch")
    private = proof(token, header={"jwk": KEY.as_dict(private=True)})
    assert (send(h, token, private).status, events.reason) == (401, "dpop_private_key")
    body = proof(token).split(".")[1]
    none = ".".join([jose_b64({"typ": "dpop+jwt", "alg": "none", "jwk": KEY.as_dict(private=False)}), body, "sig"])
    assert (send(h, token, none).status, events.reason) == (401, "dpop_bad_alg")
    assert (send(h, token, proof(token), proof(token)).status, events.reason) == (401, "dpop_multiple_proofs")
    assert (send(h, token, "not-a-proof").status, events.reason) == (401, "dpop_malformed")


def jose_b64(value: dict[str, Any]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_dpop_required_refuses_bearer_tokens_and_names_dpop_alone(make: Any) -> None:
    h, events = build(make, dpop="required", dpop_algorithms=["ES256"])
    plain = mint(claims())
    r = send(h, plain, scheme="Bearer")
    assert (r.status, events.reason) == (401, "dpop_required")
    assert (
        r.challenge
        == 'DPoP error="invalid_token", error_description="this resource accepts DPoP-bound tokens only", algs="ES256"'
    )
    missing = h.request("/api", headers=[("host", HOST)])
    assert (missing.status, missing.challenge) == (401, 'DPoP algs="ES256"')
    token = bound()
    assert send(h, token, proof(token)).status == 200
    ps = jwk.RSAKey.generate_key(2048)
    assert (send(h, bound(thumbprint(ps.as_dict(private=False))), proof(token, key=ps, alg="PS256")).status, events.reason) == (
        401,
        "dpop_bad_alg",
    )


def test_the_nonce_round_trip(make: Any) -> None:
    nonces = NonceSource(b"n" * 32, lifetime=60)
    h, events = build(make, dpop_nonce=nonces)
    token = bound()
    first = send(h, token, proof(token))
    assert (first.status, first.json["error"], events.reason) == (401, "use_dpop_nonce", "dpop_nonce")
    assert first.challenge.startswith('DPoP error="use_dpop_nonce"')
    nonce = first.headers["dpop-nonce"]
    assert nonce == nonces.current()
    assert send(h, token, proof(token, nonce=nonce)).status == 200
    assert send(h, token, proof(token, nonce="made-up")).headers["dpop-nonce"] == nonce
    stale = nonces._for(int(time.time() // 60) - 2)
    assert send(h, token, proof(token, nonce=stale)).status == 401


def test_a_websocket_handshake_takes_a_proof_too() -> None:
    h, events = build(lambda **s: ASGIHarness(s))  # WebSocket is ASGI only
    token = bound()
    for htu in (f"ws://{HOST}/ws", f"http://{HOST}/ws"):
        sent = h.websocket("/ws", headers=[("host", HOST), ("authorization", f"DPoP {token}"), ("dpop", proof(token, htu=htu))])
        assert sent[0]["type"] == "websocket.accept", htu
    refused = h.websocket("/ws", headers=[("host", HOST), ("authorization", f"Bearer {token}")])
    assert refused[0]["type"] == "websocket.close" and events.reason == "dpop_proof_missing"


def test_resource_metadata_is_served_and_named_in_every_challenge(make: Any) -> None:
    meta = {"resource": "https://api.test/api", "authorization_servers": ["https://auth.test"], "scopes_supported": ["read"]}
    h, _ = build(make, resource_metadata=meta)
    doc = h.request("/.well-known/oauth-protected-resource/api")
    assert (doc.status, doc.called) == (200, False)
    bare = h.request("/.well-known/oauth-protected-resource")  # the path DESIGN.md names, for any resource
    assert (bare.status, bare.body) == (200, doc.body)
    assert h.request("/.well-known/oauth-protected-resource", method="POST").status == 401, "GET and HEAD only"
    assert doc.json == {
        "resource": "https://api.test/api",
        "authorization_servers": ["https://auth.test"],
        "scopes_supported": ["read"],
        "bearer_methods_supported": ["header"],
        "dpop_signing_alg_values_supported": ["ES256", "ES384", "Ed25519", "EdDSA", "PS256", "PS384", "RS256"],
        "dpop_bound_access_tokens_required": False,
    }
    where = 'resource_metadata="https://api.test/.well-known/oauth-protected-resource/api"'
    assert h.request("/api").challenge == f"Bearer {where}"
    token = bound()
    refused = send(h, token, scheme="Bearer")
    assert refused.challenge.count(where) == 2  # on the DPoP challenge and on the Bearer one


def test_junk_dpop_headers_get_a_401_never_a_500(make: Any) -> None:
    h, _ = build(make)
    token = bound()
    for junk in ["", " ", "a.b.c", "..", "x" * 9000, "é.é.é", "eyJ9.eyJ9.AA", proof(token) + "x", "a,b"]:
        r = send(h, token, junk)
        assert r.status == 401 and r.json["error"] in ("invalid_dpop_proof", "invalid_token"), junk


def test_bad_dpop_settings_name_their_key() -> None:
    base = {"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789"}
    cases = [
        ({"dpop": "always"}, "dpop"),
        ({"dpop_max_age_seconds": 0}, "dpop_max_age_seconds"),
        ({"dpop_algorithms": ["HS256"]}, "dpop_algorithms"),
        ({"dpop_algorithms": []}, "dpop_algorithms"),
        ({"dpop_nonce": "yes"}, "dpop_nonce"),
        ({"dpop_replay": object()}, "dpop_replay"),
        ({"resource_metadata": {"authorization_servers": []}}, "resource_metadata.resource"),
        ({"resource_metadata": {"resource": "https://api.test/?x=1"}}, "resource_metadata.resource"),
        ({"resource_metadata": {"resource": "http://api.test/"}}, "resource_metadata.resource"),
        ({"resource_metadata": "https://api.test"}, "resource_metadata"),
    ]
    for extra, key in cases:
        with pytest.raises(ConfigError) as info:
            load_settings({**base, **extra})
        assert info.value.key == key, extra


def test_a_full_replay_cache_refuses_rather_than_forgets(make: Any) -> None:
    h, events = build(make, dpop_replay=MemoryReplay(max_entries=2))
    token = bound()
    assert send(h, token, proof(token)).status == 200
    assert send(h, token, proof(token)).status == 200
    full = send(h, token, proof(token))
    assert (full.status, events.reason) == (401, "dpop_replay_cache_full")


def test_a_replay_cache_outage_fails_closed(make: Any) -> None:
    class Down:
        def claim(self, key: str, until: float) -> bool:
            raise ConnectionError("down")

    h, events = build(make, dpop_replay=Down())
    token = bound()
    r = send(h, token, proof(token))
    assert (r.status, events.reason) == (503, "dpop_replay_unavailable")


def test_the_middleware_builds_from_the_settings() -> None:
    app = JWTMiddleware(lambda s, r, x: None, {"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789"})
    assert app.gate.settings.dpop_policy.required is False


# -- The URL a proof names (issue 22 item 2; RFC 9449 §4.3 check 9, §11.1) ---------------------------


def test_a_proof_replayed_to_another_service_with_its_host_is_refused(make: Any) -> None:
    """Service A accepted the proof; B, with its own replay cache, is sent it with ``Host: a.test``."""
    a, _ = build(make, origin="http://a.test")
    token = bound()
    accepted = proof(token, htu="http://a.test/api")
    assert a.request("/api", headers=[("host", "a.test"), ("authorization", f"DPoP {token}"), ("dpop", accepted)]).status == 200
    for origin in ("http://b.test", None):  # B's configured origin, or its own address when it has none
        b, events = build(make, origin=origin)
        replayed = b.request("/api", headers=[("host", "a.test"), ("authorization", f"DPoP {token}"), ("dpop", accepted)])
        assert (replayed.status, events.reason) == (401, "dpop_htu_mismatch"), origin


@pytest.mark.parametrize(
    "host",
    [
        pytest.param(f"{HOST}/api?", id="query"),
        pytest.param(f"{HOST}/api#", id="fragment"),
        pytest.param(f"{HOST}/api/", id="path"),
    ],
)
def test_a_host_holding_a_path_or_query_never_changes_the_path_compared(make: Any, host: str) -> None:
    """The old URL, ``http://`` + Host + path, made ``http://api.test/api?/other`` of a request for ``/other``."""
    for settings in (ORIGIN, {"origin": None}):
        h, events = build(make, **settings)
        token = bound()
        sent = h.request("/other", headers=[("host", host), ("authorization", f"DPoP {token}"), ("dpop", proof(token))])
        assert (sent.status, events.reason) == (401, "dpop_htu_mismatch"), settings


def test_proofs_name_the_configured_origin_whatever_the_host(make: Any) -> None:
    h, events = build(make, origin="https://api.example.com", jwks_allow_http=False)
    token = bound()
    for host in (HOST, "evil.test", "api.example.com"):
        named = proof(token, htu="https://API.example.com:443/api")  # compared after normalisation
        r = h.request("/api", headers=[("host", host), ("authorization", f"DPoP {token}"), ("dpop", named)])
        assert (r.status, r.called) == (200, True), host
    assert send(h, token, proof(token)).status == 401 and events.reason == "dpop_htu_mismatch", "the Host's URL"
    assert send(h, token, proof(token, htu="http://api.example.com/api")).status == 401, "the scheme is the origin's"


def test_the_origin_defaults_to_the_resource_metadata_resource(make: Any) -> None:
    meta = {"resource": "https://api.example.com/notes"}
    h, _ = build(make, origin=None, jwks_allow_http=False, resource_metadata=meta)
    token = bound()
    assert send(h, token, proof(token, htu="https://api.example.com/api")).status == 200
    assert send(h, token, proof(token)).status == 401
    h, _ = build(make, origin="https://other.example.com", jwks_allow_http=False, resource_metadata=meta)
    assert send(h, token, proof(token, htu="https://other.example.com/api")).status == 200, "an explicit origin wins"


FORWARDED = [("x-forwarded-host", "public.example"), ("x-forwarded-proto", "https")]
PUBLIC = "https://public.example/api"


def forwarded(h: Harness, token: str, htu: str, headers: list[tuple[str, str]] = FORWARDED) -> Any:
    return h.request(
        "/api", headers=[("host", HOST), ("authorization", f"DPoP {token}"), ("dpop", proof(token, htu=htu)), *headers]
    )


def test_a_trusted_proxy_names_the_host_it_forwards(make: Any) -> None:
    h, events = build(make, origin=None, trusted_proxies=["10.0.0.0/8", "127.0.0.1"])  # the harness's peer: 127.0.0.1
    token = bound()
    assert forwarded(h, token, PUBLIC).status == 200
    assert forwarded(h, token, "http://public.example/api", [FORWARDED[0]]).status == 200, "no proto: the request's scheme"
    assert forwarded(h, token, PUBLIC, [FORWARDED[0], ("x-forwarded-proto", "HTTPS")]).status == 200
    refused = forwarded(h, token, URL)
    assert (refused.status, events.reason) == (401, "dpop_htu_mismatch"), "the forwarded host, not the Host"
    mapped, _ = build(make, origin=None, trusted_proxies=["127.0.0.0/8"])
    assert forwarded(mapped, token, PUBLIC).status == 200, "a network"


def test_a_configured_origin_beats_a_trusted_proxys_forwarded_host(make: Any) -> None:
    """What the operator configured decides; a proxy often forwards the client's own ``Host`` as ``X-Forwarded-Host``."""
    h, events = build(make, origin=f"http://{HOST}", trusted_proxies=["127.0.0.1"])
    token = bound()
    refused = forwarded(h, token, PUBLIC)
    assert (refused.status, events.reason) == (401, "dpop_htu_mismatch")
    assert forwarded(h, token, URL).status == 200


def test_forwarded_headers_from_a_peer_not_trusted_are_ignored(make: Any) -> None:
    h, events = build(make, trusted_proxies=["10.0.0.0/8", "::1"])  # the harness's peer, 127.0.0.1, is neither
    token = bound()
    refused = forwarded(h, token, PUBLIC)
    assert (refused.status, events.reason) == (401, "dpop_htu_mismatch")
    assert forwarded(h, token, URL).status == 200, "the origin, as if the headers were not there"
    untrusting, _ = build(make)
    assert forwarded(untrusting, token, PUBLIC).status == 401, "no trusted_proxies: never read"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param([("x-forwarded-host", "public.example, evil.test")], id="list"),
        pytest.param([("x-forwarded-host", "public.example"), ("x-forwarded-host", "evil.test")], id="twice"),
        pytest.param([("x-forwarded-host", "public.example/api?")], id="query"),
        pytest.param([("x-forwarded-host", "public.example/api#")], id="fragment"),
        pytest.param([("x-forwarded-host", "public.example/x/")], id="path"),
        pytest.param([("x-forwarded-host", "evil.test@public.example")], id="userinfo"),
        pytest.param([("x-forwarded-host", "public .example")], id="space"),
        pytest.param([("x-forwarded-host", "")], id="empty"),
    ],
)
def test_a_forwarded_host_that_is_not_one_host_is_ignored(make: Any, headers: list[tuple[str, str]]) -> None:
    h, _ = build(make, trusted_proxies=["127.0.0.1"])
    token = bound()
    for htu in (PUBLIC, "http://public.example/api", "http://evil.test/api", "http://public.example/api?/api"):
        assert forwarded(h, token, htu, headers).status == 401, htu
    assert forwarded(h, token, URL, headers).status == 200, "the origin decides"


def test_a_forwarded_proto_that_is_not_http_or_https_is_ignored(make: Any) -> None:
    h, _ = build(make, origin=None, trusted_proxies=["127.0.0.1"])
    token = bound()
    for proto in ("https, http", "ftp", "https://x"):
        headers = [FORWARDED[0], ("x-forwarded-proto", proto)]
        assert forwarded(h, token, PUBLIC, headers).status == 401, proto
        assert forwarded(h, token, "http://public.example/api", headers).status == 200, proto


def test_with_neither_the_servers_own_address_names_the_url(make: Any) -> None:
    """No origin and no proxy: the address the server reports (the harnesses': ASGI ``server`` 127.0.0.1:8000,
    WSGI ``SERVER_NAME`` 127.0.0.1 and ``SERVER_PORT`` 80); a client using a name fails closed."""
    h, events = build(make, origin=None)
    token = bound()
    own = "http://127.0.0.1:8000/api" if h.kind == "asgi" else "http://127.0.0.1/api"
    assert send(h, token, proof(token, htu=own)).status == 200
    assert send(h, token, proof(token)).status == 401 and events.reason == "dpop_htu_mismatch", "Host: api.test"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        pytest.param({"origin": "https://api.example.com/api"}, "origin", id="path"),
        pytest.param({"origin": "https://api.example.com?x"}, "origin", id="query"),
        pytest.param({"origin": "https://api.example.com#x"}, "origin", id="fragment"),
        pytest.param({"origin": "http://api.example.com"}, "origin", id="http"),
        pytest.param({"origin": "https://user@api.example.com"}, "origin", id="credentials"),
        pytest.param({"origin": "api.example.com"}, "origin", id="no-scheme"),
        pytest.param({"origin": "ws://api.example.com"}, "origin", id="ws"),
        pytest.param({"origin": 443}, "origin", id="not-a-string"),
        pytest.param({"trusted_proxies": "10.0.0.1"}, "trusted_proxies", id="one-string"),
        pytest.param({"trusted_proxies": ["10.0.0.300"]}, "trusted_proxies", id="not-an-address"),
        pytest.param({"trusted_proxies": ["10.0.0.1/8"]}, "trusted_proxies", id="host-bits"),
        pytest.param({"trusted_proxies": ["proxy.internal"]}, "trusted_proxies", id="a-name"),
    ],
)
def test_bad_origin_settings_name_their_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789", **change})
    assert info.value.key == key


def test_good_origin_settings() -> None:
    base = {"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789"}
    for origin, kept in [
        ("https://api.example.com", "https://api.example.com"),
        ("https://api.example.com/", "https://api.example.com"),
        ("HTTPS://api.example.com:8443", "https://api.example.com:8443"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ]:
        assert load_settings(base, origin=origin).origin_policy.origin == kept
    assert load_settings(base, origin="http://api.internal", jwks_allow_http=True).origin_policy.origin == "http://api.internal"
    policy = load_settings(base, trusted_proxies=["10.0.0.0/8", "::1", "fd00::/8"]).origin_policy
    assert [policy.trusts(peer) for peer in ("10.1.2.3", "::ffff:10.1.2.3", "::1", "fd00::7", "11.0.0.1", None, "")] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip


def serve(kind: str, settings: dict[str, Any]) -> Any:
    """A real uvicorn or threaded WSGI server for one protected app."""
    from servers import uvicorn_server, wsgi_server

    from jwt_middleware import JWTWSGIMiddleware

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def wsgi(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    base = {"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789", "jwks_allow_http": True, **settings}
    if kind == "asgi":
        return uvicorn_server(JWTMiddleware(asgi, base), lifespan="off")
    return wsgi_server(JWTWSGIMiddleware(wsgi, base))


def call(address: str, path: str, token: str, proof_: str, **headers: str) -> int:
    import http.client

    connection = http.client.HTTPConnection(address, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"DPoP {token}", "DPoP": proof_, **headers})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_url_a_proof_names_under_real_servers(kind: str) -> None:
    """uvicorn and a threaded WSGI server: the origin decides whatever the ``Host``; a proof A
    accepted is refused at B when sent with ``Host: a.test``; a ``Host`` holding a query changes
    nothing; a trusted proxy's ``X-Forwarded-Host`` counts, the same header from another peer not."""
    token = bound()
    with (
        serve(kind, {"origin": "http://a.test", "trusted_proxies": ["127.0.0.1"]}) as a,
        serve(kind, {"origin": "http://b.test", "trusted_proxies": ["10.0.0.0/8"]}) as b,
        serve(kind, {"trusted_proxies": ["127.0.0.1"]}) as c,
        serve(kind, {"trusted_proxies": ["10.0.0.0/8"]}) as d,
    ):
        accepted = proof(token, htu="http://a.test/api")
        assert call(a, "/api", token, accepted, Host="anything.test") == 200
        assert call(b, "/api", token, accepted, Host="a.test") == 401, "replayed to B"
        assert call(b, "/other", token, proof(token, htu="http://b.test/api"), Host="b.test/api?") == 401
        assert call(b, "/api", token, proof(token, htu="http://b.test/api"), Host="b.test") == 200
        via_proxy = {"Host": "a.test", "X-Forwarded-Host": "public.example", "X-Forwarded-Proto": "https"}
        assert call(a, "/api", token, proof(token, htu=PUBLIC), **via_proxy) == 401, "A's origin beats the header"
        assert call(c, "/api", token, proof(token, htu=PUBLIC), **via_proxy) == 200
        assert call(d, "/api", token, proof(token, htu=PUBLIC), **via_proxy) == 401, "127.0.0.1 is no proxy of D's"


def test_with_neither_uvicorn_reports_its_own_address() -> None:
    token = bound()
    with serve("asgi", {}) as address:
        assert call(address, "/api", token, proof(token, htu=f"http://{address}/api"), Host="api.test") == 200
        assert call(address, "/api", token, proof(token), Host=HOST) == 401, "a name the server does not report"


def test_a_refusal_from_inside_the_app_names_dpop_for_a_dpop_request() -> None:
    """FastAPI's Requires and Flask's require answer on the DPoP challenge (DRF's TokenHasScope: test_django)."""
    import flask
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from jwt_middleware import JWTWSGIMiddleware
    from jwt_middleware.integrations.fastapi import Requires
    from jwt_middleware.integrations.flask import require
    from jwt_middleware.testing import DPoPKey

    settings = {"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789"}
    key = DPoPKey()
    token = mint(claims(cnf={"jkt": key.jkt}, scope="notes:read"))
    api = FastAPI()

    @api.post("/notes", dependencies=[Depends(Requires("notes:write"))])
    def write() -> dict[str, bool]:
        return {"ok": True}

    api.add_middleware(JWTMiddleware, settings=load_settings(settings))
    denied = TestClient(api).post("/notes", headers=key.headers(token, "POST", "http://testserver/notes"))
    assert denied.status_code == 403
    assert denied.headers["www-authenticate"].startswith('DPoP error="insufficient_scope"'), denied.headers["www-authenticate"]
    plain = TestClient(api).post("/notes", headers={"Authorization": f"Bearer {mint(claims(scope='notes:read'))}"})
    assert plain.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')

    app = flask.Flask(__name__)

    @app.post("/notes")
    @require("notes:write")
    def create() -> Any:
        return {"ok": True}

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings=settings)  # type: ignore[method-assign]
    denied = app.test_client().post("/notes", headers=key.headers(token, "POST", "http://localhost/notes"))
    assert denied.status_code == 403 and denied.headers["WWW-Authenticate"].startswith('DPoP error="insufficient_scope"')
