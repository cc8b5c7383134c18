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
        on_event=recorder, **{"algorithms": ["HS256"], "secret": "s3cret-s3cret-s3cret-s3cret-0123456789", **settings}
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


def test_the_host_header_names_the_proofs_url(make: Any) -> None:
    h, _ = build(make)
    token = bound()
    other_host = h.request("/api", headers=[("host", "evil.test"), ("authorization", f"DPoP {token}"), ("dpop", proof(token))])
    assert other_host.status == 401
    assert send(h, token, proof(token, htu=f"http://{HOST.upper()}:80/api")).status == 200


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
