"""One regression test per finding of the outside audit and the interop suite (docs/security.md).

Each runs through both adapters where the finding applies; tokens from other JOSE libraries
(joserfc, authlib) are made by those libraries, not by us.
"""

from __future__ import annotations

import base64
import gc
import json
import logging
import threading
import time
from typing import Any

import pytest
import websockets.exceptions
import websockets.sync.client
from keyserver import KeyServer
from servers import uvicorn_server
from tokens import SECRET, b64, claims, ec_pair, hs_signed, mint, rsa_pair

from jwt_middleware import ConfigError, Identity, JWTMiddleware, Verifier, load_settings
from jwt_middleware.core.jose import MAX_JSON_DEPTH


def error_description(challenge: str) -> str:
    return challenge.partition('error_description="')[2].partition('"')[0]


# -- 1. log flood -------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    now = int(time.time())
    return b'{"sub":"alice","exp":%d,"deep":' % (now + 300) + b'{"a":' * depth + b"1" + b"}" * depth + b"}"


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "any-signature"])
def test_finding_1_deep_nesting_is_refused_cheaply_with_one_info_line(
    make: Any, hs: dict[str, Any], caplog: pytest.LogCaptureFixture, signed: bool
) -> None:
    header = {"alg": "HS256", "typ": "JWT"}
    token = hs_signed(header, nested(700)) if signed else f"{b64(json.dumps(header).encode())}.{b64(nested(700))}.{b64(b'x')}"
    h = make(hs)
    caplog.set_level(logging.DEBUG, logger="jwt_middleware")
    r = h.request(headers=[("Authorization", f"Bearer {token}")])
    assert (r.status, r.called) == (401, False)
    assert error_description(r.challenge) == "payload JSON is nested too deeply"
    records = [rec for rec in caplog.records if rec.name == "jwt_middleware"]
    assert [(rec.levelno, rec.exc_info) for rec in records] == [(logging.INFO, None)]
    assert "reason=malformed_token" in records[0].getMessage()


def test_finding_1_nesting_up_to_the_limit_still_verifies(make: Any, hs: dict[str, Any]) -> None:
    inside = MAX_JSON_DEPTH - 1  # nested(d) is d objects inside the payload object: d + 1 levels
    ok = hs_signed({"alg": "HS256"}, nested(inside))  # exactly the limit
    too_deep = hs_signed({"alg": "HS256"}, nested(inside + 1))
    h = make(hs)
    assert h.request(headers=[("Authorization", f"Bearer {ok}")]).status == 200
    assert h.request(headers=[("Authorization", f"Bearer {too_deep}")]).status == 401


def test_finding_1_brackets_inside_strings_do_not_count(make: Any, hs: dict[str, Any]) -> None:
    payload = json.dumps(claims(note="[" * 500 + "{" * 500)).encode()
    assert make(hs).request(headers=[("Authorization", f"Bearer {hs_signed({'alg': 'HS256'}, payload)}")]).status == 200


# -- 2. memory held by cycles -------------------------------------------------------------


def live_identities() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Identity)


def test_finding_2_no_reference_cycle_per_verified_token(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "token_cache_size": 8, "role_claims": ["roles"]})
    tokens = [mint(claims(sub=f"user{i}", roles=["r"])) for i in range(300)]
    gc.collect()
    gc.disable()
    try:
        before = live_identities()
        for token in tokens:
            r = h.request(headers=[("Authorization", f"Bearer {token}")])
            assert r.status == 200
            if h.kind == "asgi":
                assert "r" in r.seen["auth"].scopes  # the auth object is made and read, every request
        r = None  # type: ignore[assignment]
        grown = live_identities() - before
    finally:
        gc.enable()
    assert grown <= 8 + 2, f"{grown} identities kept alive without the collector (cache holds 8)"


# -- 3. query parameter read before decoding ------------------------------------------------


def test_finding_3_a_percent_encoded_token_parameter_beside_a_header_token_is_two_tokens(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "query_param": "access_token"})
    r = h.request(headers=[("Authorization", f"Bearer {mint()}")], query=f"%61ccess_token={mint(claims(sub='mallory'))}")
    assert (r.status, r.called, r.json["error"]) == (400, False, "invalid_request")


def test_finding_3_a_percent_encoded_token_parameter_alone_is_read_and_kept_out_of_logs(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "query_param": "access_token"})
    token = mint(claims(sub="bob"))
    r = h.request(query=f"page=2&%61ccess%5Ftoken={token}")
    assert (r.status, r.seen["claims"]["sub"]) == (200, "bob")
    assert r.seen["query"] == "page=2", "the token is dropped from what servers log"


# -- 4. folded headers on WSGI ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Basic dXNlcjpwYXNz, Bearer {t}", id="basic-then-bearer"),
        pytest.param("Bearer {t}, Basic dXNlcjpwYXNz", id="bearer-then-basic"),
        pytest.param("Bearer {t},Bearer {t}", id="two-bearers"),
    ],
)
def test_finding_4_folded_authorization_values_are_two_credentials(make: Any, hs: dict[str, Any], value: str) -> None:
    r = make(hs).request(headers=[("Authorization", value.format(t=mint()))])
    assert (r.status, r.called, r.json["error"]) == (400, False, "invalid_request")


def test_finding_4_two_authorization_headers_answer_alike_in_both_adapters(make: Any, hs: dict[str, Any]) -> None:
    r = make(hs).request(headers=[("Authorization", "Basic dXNlcjpwYXNz"), ("Authorization", f"Bearer {mint()}")])
    assert (r.status, r.json["error"]) == (400, "invalid_request")  # WSGI sees them folded, ASGI as two


def test_finding_4_a_digest_credential_with_commas_is_not_ours(make: Any, hs: dict[str, Any]) -> None:
    r = make(hs).request(headers=[("Authorization", 'Digest username="a", realm="b", nonce="c"')])
    assert (r.status, r.challenge) == (401, "Bearer")


# -- 5. I-JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"sub":"\\ud800","exp":%d}', id="lone-high-surrogate"),
        pytest.param(b'{"sub":"a\\udc00b","exp":%d}', id="lone-low-surrogate"),
        pytest.param(b'{"sub":"alice","\\uD83D":1,"exp":%d}', id="in-a-member-name"),
        pytest.param(b'{"sub":"alice","exp":%d,"l":["\\ud800"]}', id="in-a-list"),
    ],
)
def test_finding_5_unpaired_surrogates_are_refused(make: Any, hs: dict[str, Any], payload: bytes) -> None:
    token = hs_signed({"alg": "HS256"}, payload % (time.time() + 300))
    r = make(hs).request(headers=[("Authorization", f"Bearer {token}")])
    assert (r.status, r.called) == (401, False)
    assert error_description(r.challenge) == "payload has a string that is not valid Unicode"


def test_finding_5_a_paired_surrogate_is_a_character(make: Any, hs: dict[str, Any]) -> None:
    token = hs_signed({"alg": "HS256"}, b'{"sub":"\\ud83d\\ude00","exp":%d}' % (time.time() + 300))
    r = make(hs).request(headers=[("Authorization", f"Bearer {token}")])
    assert (r.status, r.seen["claims"]["sub"]) == (200, "\U0001f600")
    json.dumps(r.seen["claims"]).encode("utf-8")  # what made the example service answer 500


# -- 6. local keys wait for the remote set --------------------------------------------------


@pytest.fixture
def idp() -> Any:
    ks = KeyServer()
    ks.keys = [rsa_pair("remote").jwk(alg="RS256")]
    yield ks
    ks.stop()


def test_finding_6_a_local_secret_verifies_while_the_identity_provider_is_down(make: Any, idp: KeyServer) -> None:
    h = make({"algorithms": ["HS256", "RS256"], "secret": SECRET, "jwks_url": idp.jwks_url, "jwks_timeout_seconds": 0.5})
    with idp.down():
        r = h.request(headers=[("Authorization", f"Bearer {mint()}")])
        assert (r.status, r.seen["claims"]["sub"]) == (200, "alice")
        remote = h.request(headers=[("Authorization", f"Bearer {rsa_pair('remote').sign(claims())}")])
        assert remote.status == 503  # only the remote set can check this one
    assert idp.count() == 0


def test_finding_6_a_pinned_key_named_by_kid_verifies_without_a_fetch(make: Any, idp: KeyServer) -> None:
    pinned = ec_pair("pinned")
    h = make({"algorithms": ["ES256", "RS256"], "keys": [pinned.jwk()], "jwks_url": idp.jwks_url})
    with idp.down():
        assert h.request(headers=[("Authorization", f"Bearer {pinned.sign(claims())}")]).status == 200
    assert idp.count() == 0


def test_finding_6_a_pinned_key_without_kid_verifies_on_a_cold_start_and_remote_tokens_still_pass(
    make: Any, idp: KeyServer
) -> None:
    pinned = rsa_pair("pinned-no-kid")
    settings = {"algorithms": ["RS256"], "keys": [pinned.public_pem], "jwks_url": idp.jwks_url, "jwks_min_refresh_seconds": 0}
    h = make(settings)  # no back-off after the failed fetch, so the second half needs no wait
    with idp.down():
        assert h.request(headers=[("Authorization", f"Bearer {pinned.sign(claims(), kid=None)}")]).status == 200
        assert h.request(headers=[("Authorization", f"Bearer {rsa_pair('remote').sign(claims())}")]).status == 503
    r = h.request(headers=[("Authorization", f"Bearer {rsa_pair('remote').sign(claims(sub='remote-user'))}")])
    assert (r.status, r.seen["claims"]["sub"]) == (200, "remote-user")  # the local key failed; the remote set is fetched
    assert idp.count() == 1


# -- 7. RFC 9864 names ------------------------------------------------------------------------


@pytest.mark.parametrize("curve", ["Ed25519", "Ed448"])
def test_finding_7_fully_specified_eddsa_names_from_joserfc(make: Any, curve: str) -> None:
    from joserfc import jwt as joserfc_jwt
    from joserfc.jwk import OKPKey

    key = OKPKey.generate_key(curve)
    token = joserfc_jwt.encode({"alg": curve, "kid": "k1"}, claims(), key, algorithms=[curve])
    jwk = {**key.as_dict(private=False), "kid": "k1", "alg": curve}
    r = make({"algorithms": [curve], "keys": [jwk]}).request(headers=[("Authorization", f"Bearer {token}")])
    assert (r.status, r.seen["claims"]["sub"]) == (200, "alice")
    legacy = make({"algorithms": ["EdDSA"], "keys": [dict(jwk, alg="EdDSA")]}).request(
        headers=[("Authorization", f"Bearer {token}")]
    )
    assert (legacy.status, error_description(legacy.challenge)) == (401, "token algorithm is not accepted")


def test_finding_7_each_name_is_bound_to_its_curve() -> None:
    from joserfc.jwk import OKPKey

    ed448 = {**OKPKey.generate_key("Ed448").as_dict(private=False), "alg": "Ed25519"}
    with pytest.raises(ConfigError, match="alg does not fit"):
        load_settings({"algorithms": ["Ed25519"], "keys": [ed448]})
    ed25519 = OKPKey.generate_key("Ed25519").as_dict(private=False)
    with pytest.raises(ConfigError, match="no key fits"):
        load_settings({"algorithms": ["Ed448"], "keys": [ed25519]})


def test_finding_7_a_remote_key_set_with_ed25519_names(idp: KeyServer) -> None:
    from joserfc import jwt as joserfc_jwt
    from joserfc.jwk import OKPKey

    key = OKPKey.generate_key("Ed25519")
    idp.keys = [{**key.as_dict(private=False), "kid": "ed", "alg": "Ed25519", "use": "sig"}]
    token = joserfc_jwt.encode({"alg": "Ed25519", "kid": "ed"}, claims(), key, algorithms=["Ed25519"])
    assert Verifier(load_settings({"algorithms": ["Ed25519"], "jwks_url": idp.jwks_url})).verify(token)["sub"] == "alice"


# -- 8. short EC coordinates --------------------------------------------------------------------


def authlib_key_with_a_short_coordinate(curve: str = "P-521") -> Any:
    import warnings

    import authlib.deprecate  # noqa: F401 - it installs an "always" filter on import; ours must come after it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # authlib.jose is deprecated in favour of joserfc; authlib still exports this way
        from authlib.jose import JsonWebKey

        for _ in range(200):
            key = JsonWebKey.generate_key("EC", curve, is_private=True)
            public = key.as_dict(is_private=False)
            full = -(-66 * 4 // 3)
            if len(public["x"]) < full or len(public["y"]) < full:
                return key, public
    raise AssertionError("authlib exported no short coordinate in 200 keys")


def padded(jwk: dict[str, Any], size: int = 66) -> dict[str, Any]:
    def pad(v: str) -> str:
        raw = base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))
        return base64.urlsafe_b64encode(raw.rjust(size, b"\0")).rstrip(b"=").decode()

    return dict(jwk, x=pad(jwk["x"]), y=pad(jwk["y"]))


def test_finding_8_a_short_ec_key_verifies_exactly_what_the_full_length_key_verifies(make: Any) -> None:
    key, short = authlib_key_with_a_short_coordinate()
    full = padded(short)
    assert full != short
    private = key.get_private_key()
    good = mint(claims(), key=private, alg="ES512", kid=None)
    other = mint(claims(), key=authlib_key_with_a_short_coordinate()[0].get_private_key(), alg="ES512", kid=None)
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    answers = {}
    for name, jwk in (("short", short), ("full", full)):
        h = make({"algorithms": ["ES512"], "keys": [jwk]})
        answers[name] = [h.request(headers=[("Authorization", f"Bearer {t}")]).status for t in (good, other, tampered)]
    assert answers["short"] == answers["full"] == [200, 401, 401]


def test_finding_8_a_short_key_in_a_remote_set_is_not_skipped(idp: KeyServer) -> None:
    key, short = authlib_key_with_a_short_coordinate()
    idp.keys = [{**short, "kid": "authlib", "use": "sig"}]
    token = mint(claims(), key=key.get_private_key(), alg="ES512", kid="authlib")
    assert Verifier(load_settings({"algorithms": ["ES512"], "jwks_url": idp.jwks_url})).verify(token)["sub"] == "alice"


def test_finding_8_a_long_coordinate_is_still_refused() -> None:
    _, short = authlib_key_with_a_short_coordinate()
    raw = base64.urlsafe_b64decode(padded(short)["x"] + "==")
    too_long = dict(padded(short), x=base64.urlsafe_b64encode(b"\0" + raw).rstrip(b"=").decode())
    with pytest.raises(ConfigError, match="do not form a key"):
        load_settings({"algorithms": ["ES512"], "keys": [too_long]})


# -- 9. no way to require typ ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typ", "status"),
    [
        pytest.param("at+jwt", 200, id="at+jwt"),
        pytest.param("application/AT+JWT", 200, id="media-type-spelling"),
        pytest.param("JWT", 401, id="id-token"),
        pytest.param(None, 401, id="missing"),
    ],
)
def test_finding_9_token_types_requires_typ(make: Any, hs: dict[str, Any], typ: str | None, status: int) -> None:
    token = mint(typ=typ) if typ is not None else hs_signed({"alg": "HS256"}, json.dumps(claims()).encode())
    r = make({**hs, "token_types": ["at+jwt"]}).request(headers=[("Authorization", f"Bearer {token}")])
    assert r.status == status
    if status == 401:
        assert error_description(r.challenge) == "token type (typ) is not accepted"


def test_finding_9_token_types_per_provider(make: Any) -> None:
    internal = "i" * 40
    settings = {
        "algorithms": ["HS256"],
        "token_types": ["at+jwt"],
        "providers": [
            {"issuer": "https://idp.example", "secret": SECRET},
            {"issuer": "https://internal.example", "secret": internal, "token_types": ["JWT"]},
        ],
    }
    h = make(settings)
    plain = mint(claims(iss="https://internal.example"), key=internal, typ="JWT")
    assert h.request(headers=[("Authorization", f"Bearer {plain}")]).status == 200
    idp_plain = mint(claims(iss="https://idp.example"), typ="JWT")
    assert h.request(headers=[("Authorization", f"Bearer {idp_plain}")]).status == 401


# -- 10. WebSockets outlive their token ----------------------------------------------------------------


def echo_until_disconnect(seen: list[str]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "websocket.disconnect":
                seen.append(f"code={message.get('code')}")
                return
            await send({"type": "websocket.send", "text": message.get("text", "")})

    return app


@pytest.mark.parametrize("ws", ["websockets-sansio", "wsproto"])
def test_finding_10_a_websocket_is_closed_with_1008_when_its_token_expires(ws: str) -> None:
    seen: list[str] = []
    app = JWTMiddleware(echo_until_disconnect(seen), settings={"algorithms": ["HS256"], "secret": SECRET, "leeway": 0})
    token = mint(claims(exp=int(time.time()) + 2))
    with uvicorn_server(app, ws=ws) as base:
        with websockets.sync.client.connect(f"ws://{base}/ws", additional_headers={"Authorization": f"Bearer {token}"}) as conn:
            conn.send("ping")
            assert conn.recv(timeout=5) == "ping"
            started = time.monotonic()
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                conn.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert time.monotonic() - started < 5
        deadline = time.monotonic() + 5
        while "websocket.disconnect" not in seen and time.monotonic() < deadline:
            time.sleep(0.02)
    assert seen[:2] == ["websocket.receive", "websocket.disconnect"], seen
    assert seen[2] == "code=1008"


def test_finding_10_a_socket_that_only_sends_is_closed_too_and_later_sends_are_dropped() -> None:
    import asyncio

    sent: list[dict[str, Any]] = []
    done = threading.Event()

    async def pusher(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        for i in range(30):
            await send({"type": "websocket.send", "text": str(i)})
            await asyncio.sleep(0.05)
        done.set()

    app = JWTMiddleware(pusher, settings={"algorithms": ["HS256"], "secret": SECRET, "leeway": 0})
    token = mint(claims(exp=int(time.time()) + 1))

    async def main() -> None:
        connected = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if not connected.is_set():
                connected.set()
                return {"type": "websocket.connect"}
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "websocket",
            "path": "/ws",
            "query_string": b"",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }
        await app(scope, receive, send)

    asyncio.run(main())
    kinds = [m["type"] for m in sent]
    assert done.is_set() and kinds[0] == "websocket.accept"
    close_at = kinds.index("websocket.close")
    assert sent[close_at]["code"] == 1008 and kinds[close_at + 1 :] == [], "nothing is sent after the close"
    assert 0 < kinds.count("websocket.send") < 30
