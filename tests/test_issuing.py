"""The issuing side: keys, the issuer, publishing, refresh rotation with reuse detection, cookies, CSRF."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from servers import uvicorn_server, wsgi_server
from tokens import SECRET, mint

from jwt_middleware import (
    KeyRing,
    MemoryRefreshStore,
    MemoryRevocationStore,
    RefreshRejected,
    SigningKey,
    TokenIssuer,
    TokenService,
    Verifier,
    load_settings,
    thumbprint,
)
from jwt_middleware.issuing.cookies import access_cookie, clear_cookie, csrf_cookie, new_csrf_token, refresh_cookie
from jwt_middleware.issuing.publish import jwks_asgi_app, jwks_wsgi_app
from jwt_middleware.stores.redis import RedisRefreshStore, RedisRevocationStore


def test_rfc_7638_thumbprint_example() -> None:
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6"
        "4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbO"
        "pbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS512"])
def test_issued_tokens_pass_the_middleware_built_from_the_issuer(alg: str) -> None:
    key = SigningKey.generate(alg)
    issuer = TokenIssuer(key, issuer="https://auth.example", audience="api")
    v = Verifier(load_settings(issuer.settings()))
    token = issuer.issue("alice", scope=["read", "write"], tenant="t1")
    claims = v.verify(token)
    assert (claims["sub"], claims["scope"], claims["tenant"], claims["aud"]) == ("alice", "read write", "t1", "api")
    assert claims["exp"] - claims["iat"] == 900 and len(claims["jti"]) == 32
    if not key.symmetric:
        assert key.kid == thumbprint(key.public_jwk()) and "d" not in key.public_jwk()


def test_pem_round_trip_and_misuse() -> None:
    key = SigningKey.generate("ES256")
    again = SigningKey.from_pem(key.private_pem())
    assert (again.kid, again.alg) == (key.kid, "ES256")
    with pytest.raises(ValueError):
        SigningKey.from_pem(key.private_pem(), "RS256")
    with pytest.raises(ValueError):
        SigningKey.from_secret("short")
    with pytest.raises(ValueError):
        SigningKey.generate("HS256").public_jwk()
    with pytest.raises(ValueError):
        TokenIssuer(key, issuer="x").issue("a", exp=1)


def test_rotation_keeps_old_tokens_valid_until_retired_keys_are_dropped() -> None:
    ring = KeyRing(SigningKey.generate("ES256"), keep_retired_seconds=0.3)
    issuer = TokenIssuer(ring, issuer="https://auth.example")
    old = issuer.issue("alice")
    first = ring.current.kid
    ring.rotate()
    new = issuer.issue("alice")
    v = Verifier(load_settings(issuer.settings()))
    assert v.verify(old)["sub"] == v.verify(new)["sub"] == "alice"
    assert [k["kid"] for k in ring.jwks()["keys"]] == [ring.current.kid, first]
    time.sleep(0.35)
    assert [k["kid"] for k in ring.jwks()["keys"]] == [ring.current.kid]
    with pytest.raises(Exception, match="unknown_key"):
        Verifier(load_settings(issuer.settings())).verify(old)


@pytest.mark.parametrize("server", ["asgi", "wsgi"])
def test_another_service_verifies_through_the_published_jwks(server: str) -> None:
    ring = KeyRing(SigningKey.generate("RS256"))
    run = uvicorn_server(jwks_asgi_app(ring)) if server == "asgi" else wsgi_server(jwks_wsgi_app(ring))
    with run as base:
        issuer = TokenIssuer(ring, issuer=f"http://{base}", audience="api")
        remote = Verifier(load_settings({"algorithms": ["RS256"], "jwks_url": f"http://{base}/.well-known/jwks.json",
                                         "issuer": f"http://{base}", "audience": "api", "jwks_min_refresh_seconds": 0}))  # fmt: skip
        assert remote.verify(issuer.issue("alice"))["sub"] == "alice"
        ring.rotate()
        assert remote.verify(issuer.issue("bob"))["sub"] == "bob"  # unknown kid: one refresh finds the new key
        assert remote.health()[0]["fetches"] == 2


def test_oidc_discovery_against_the_published_document() -> None:
    ring = KeyRing(SigningKey.generate("ES256"))
    holder: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await holder["app"](scope, receive, send)

    with uvicorn_server(app, lifespan="off") as base:
        holder["app"] = jwks_asgi_app(ring, issuer=f"http://{base}")
        issuer = TokenIssuer(ring, issuer=f"http://{base}")
        v = Verifier(load_settings({"algorithms": ["ES256"], "issuer": f"http://{base}", "oidc_discovery": True}))
        assert v.verify(issuer.issue("alice"))["iss"] == f"http://{base}"


@pytest.fixture(params=["memory", "redis"])
def service(request: pytest.FixtureRequest) -> Iterator[tuple[TokenService, Verifier]]:
    issuer = TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.example", access_ttl=300)
    if request.param == "memory":
        store: Any = MemoryRefreshStore()
        revocation: Any = MemoryRevocationStore()
    else:
        url = request.getfixturevalue("redis_server").url
        prefix = f"t-{uuid.uuid4().hex}:"
        store, revocation = RedisRefreshStore(url, prefix=prefix), RedisRevocationStore(url, prefix=prefix)
    svc = TokenService(issuer, store, revocation=revocation)
    yield svc, Verifier(load_settings(issuer.settings(revocation=revocation)))
    if request.param == "redis":
        store.close()
        revocation.close()


def test_refresh_rotates_on_every_use(service: tuple[TokenService, Verifier]) -> None:
    svc, v = service
    pair = svc.login("alice", scope="read", tenant="t1")
    assert v.verify(pair.access_token)["tenant"] == "t1"
    second = svc.refresh(pair.refresh_token)
    assert second.refresh_token != pair.refresh_token and second.access_token != pair.access_token
    claims = v.verify(second.access_token)
    assert (claims["sub"], claims["scope"], claims["tenant"]) == ("alice", "read", "t1")
    third = svc.refresh(second.refresh_token)
    assert v.verify(third.access_token)["sub"] == "alice"
    assert second.as_dict()["token_type"] == "Bearer" and second.as_dict()["expires_in"] == 300


def test_reuse_of_a_rotated_refresh_token_revokes_the_family(service: tuple[TokenService, Verifier]) -> None:
    svc, v = service
    stolen = svc.login("alice")
    legit = svc.refresh(svc.refresh(stolen.refresh_token).refresh_token)  # the client rotates on; the thief kept the first
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(stolen.refresh_token)
    assert info.value.reason == "reused"
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(legit.refresh_token)
    assert info.value.reason == "revoked", "the whole family is dead"
    with pytest.raises(Exception, match="revoked"):
        v.verify(legit.access_token)  # and so is the access token issued last from it
    other = svc.login("alice")
    assert v.verify(other.access_token)["sub"] == "alice", "another login is another family"


def test_logout_revokes_family_and_access_token(service: tuple[TokenService, Verifier]) -> None:
    svc, v = service
    pair = svc.login("alice")
    claims = v.verify(pair.access_token)
    svc.logout(pair.refresh_token, claims)
    with pytest.raises(Exception, match="revoked"):
        v.verify(pair.access_token)
    with pytest.raises(RefreshRejected):
        svc.refresh(pair.refresh_token)


def test_unknown_or_garbage_refresh_tokens(service: tuple[TokenService, Verifier]) -> None:
    svc, _ = service
    for token in ("", "nope", "a.b", "x" * 5000, "\udcff"):
        with pytest.raises(RefreshRejected) as info:
            svc.refresh(token)
        assert info.value.reason == "invalid"


def test_cookie_helpers_have_safe_defaults() -> None:
    a = access_cookie("tok")
    assert a == "access_token=tok; Path=/; Max-Age=900; SameSite=Lax; Secure; HttpOnly"
    r = refresh_cookie("rt")
    assert "Path=/auth" in r and "SameSite=Strict" in r and "HttpOnly" in r and "Secure" in r
    c = csrf_cookie(new_csrf_token())
    assert "HttpOnly" not in c and "Secure" in c
    assert clear_cookie("access_token").startswith("access_token=; Path=/; Max-Age=0")
    for bad in (
        lambda: access_cookie("a;b"),
        lambda: access_cookie("x", samesite="None", secure=False),
        lambda: access_cookie("x", path="a"),
    ):
        with pytest.raises(ValueError):
            bad()


COOKIE = {"algorithms": ["HS256"], "secret": SECRET, "cookie": "access_token"}


@pytest.mark.parametrize(
    ("csrf", "method", "header", "cookie_value", "status"),
    [
        ("double_submit", "GET", None, None, 200),
        ("double_submit", "POST", None, None, 400),
        ("double_submit", "POST", "abc", "abc", 200),
        ("double_submit", "POST", "abc", "abd", 400),
        ("double_submit", "DELETE", "abc", None, 400),
        ("header", "POST", "anything", None, 200),
        ("header", "PUT", None, None, 400),
        ("off", "POST", None, None, 200),
    ],
)
def test_csrf_in_cookie_mode(
    make: Any, csrf: str, method: str, header: str | None, cookie_value: str | None, status: int
) -> None:
    h = make({**COOKIE, "csrf": csrf})
    cookies = f"access_token={mint()}" + (f"; csrf_token={cookie_value}" if cookie_value else "")
    headers = [("Cookie", cookies)] + ([("X-CSRF-Token", header)] if header else [])
    r = h.request(method=method, headers=headers)
    assert (r.status, r.called) == (status, status == 200)
    if status == 400:
        assert r.json["error"] == "invalid_request" and 'error="invalid_request"' in r.challenge


def test_no_csrf_needed_for_a_bearer_header(make: Any) -> None:
    r = make(COOKIE).request(method="POST", headers=[("Authorization", f"Bearer {mint()}")])
    assert r.status == 200


def test_a_retry_within_the_grace_window_keeps_the_session(service: tuple[TokenService, Verifier]) -> None:
    svc, v = service
    first = svc.login("alice")
    lost = svc.refresh(first.refresh_token)  # the answer never reached the client
    retried = svc.refresh(first.refresh_token)  # it retries with the same token: not reuse
    assert v.verify(retried.access_token)["sub"] == "alice"
    assert retried.refresh_token == lost.refresh_token, "the retry gets the successor the rotation made: no new branch"
    assert retried.access_token != lost.access_token
    assert svc.refresh(retried.refresh_token).refresh_token  # the session goes on from the retry's token
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(first.refresh_token)  # two rotations old now: reuse, retry or not
    assert info.value.reason == "reused"
    for pair in (lost, retried):  # every access token the family issued, the retry's too, went with it
        with pytest.raises(Exception, match="revoked"):
            v.verify(pair.access_token)


def test_reuse_outside_the_grace_window_revokes_the_family(service: tuple[TokenService, Verifier]) -> None:
    svc, _ = service
    svc.reuse_grace_seconds = 0.2
    first = svc.login("alice")
    current = svc.refresh(first.refresh_token)
    time.sleep(0.3)
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(first.refresh_token)
    assert info.value.reason == "reused"
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(current.refresh_token)
    assert info.value.reason == "revoked"


def test_no_grace_window_when_it_is_zero(service: tuple[TokenService, Verifier]) -> None:
    svc, _ = service
    svc.reuse_grace_seconds = 0
    first = svc.login("alice")
    svc.refresh(first.refresh_token)
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(first.refresh_token)
    assert info.value.reason == "reused"


def test_a_rotation_retried_with_the_same_new_token_is_answered_ok_again(service: tuple[TokenService, Verifier]) -> None:
    from jwt_middleware.issuing.refresh import token_hash

    svc, _ = service
    first = svc.login("alice")
    family = first.refresh_token.split(".")[0]
    old, new = token_hash(first.refresh_token), token_hash(f"{family}.next")
    assert svc.store.rotate(old, new, "jti-1", family, 0).outcome == "ok"
    assert svc.store.rotate(old, new, "jti-1", family, 0).outcome == "ok", "a write retried after a lost reply"
    assert svc.store.rotate(old, token_hash(f"{family}.other"), "jti-2", family, 0).outcome == "reused"


@pytest.mark.parametrize("grace", [0.0, 10.0])
def test_concurrent_refreshes_leave_exactly_one_live_token(service: tuple[TokenService, Verifier], grace: float) -> None:
    import concurrent.futures

    svc, _ = service
    svc.reuse_grace_seconds = grace
    start = svc.login("alice")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: _try_refresh(svc, start.refresh_token), range(16)))
    won = [pair for pair in outcomes if pair is not None]
    live = [pair for pair in won if _is_current(svc, pair.refresh_token)]
    if grace == 0:
        # Exactly one wins the rotation; the others presented a spent token, which is reuse: the family dies.
        assert len(won) == 1 and live == []
        return
    # Within the window the racers after the first are retries: they all get the one successor (no new branch).
    assert len(won) == 16 and len({pair.refresh_token for pair in won}) == 1, "every racer holds the one live token"
    assert len(live) == 16, f"{len(live)} of {len(won)} winners are current"
    assert svc.refresh(live[0].refresh_token).access_token, "the live one goes on"


def _try_refresh(svc: TokenService, token: str) -> Any:
    try:
        return svc.refresh(token)
    except RefreshRejected:
        return None


def _is_current(svc: TokenService, token: str) -> bool:
    """Whether the store holds this token as its family's current one, read without changing anything."""
    from jwt_middleware.issuing.refresh import token_hash

    digest_, family = token_hash(token), token.split(".", maxsplit=1)[0]
    if isinstance(svc.store, MemoryRefreshStore):
        found = svc.store._find(digest_)
        return found is not None and found.current == digest_ and not found.revoked
    current, revoked = svc.store.client.hmget("{" + svc.store.prefix + "}fam:" + family, ["current", "revoked"])
    return current is not None and current.decode() == digest_ and revoked != b"1"


# -- issue 23: a grace window that never lies ----------------------------------------------------


def test_racing_retries_within_the_default_window_share_one_token_and_die_with_the_family(
    service: tuple[TokenService, Verifier],
) -> None:
    import concurrent.futures

    svc, v = service
    assert svc.reuse_grace_seconds == 10.0, "the default window"
    start = svc.login("alice")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        won = [p for p in pool.map(lambda _: _try_refresh(svc, start.refresh_token), range(8)) if p is not None]
    assert len(won) == 8 and len({pair.refresh_token for pair in won}) == 1, "one live token, whoever won the race"
    assert all(v.verify(pair.access_token)["sub"] == "alice" for pair in won)
    svc.logout(won[0].refresh_token)
    lingering = [pair for pair in won if _accepted(v, pair.access_token)]
    assert not lingering, f"{len(lingering)} of 8 access tokens minted by the race outlived the family's revocation"
    assert not _accepted(v, start.access_token), "the login's access token went too"


def test_retries_are_recorded_a_spent_token_never_branches(service: tuple[TokenService, Verifier]) -> None:
    svc, v = service
    first = svc.login("alice")
    answers = [svc.refresh(first.refresh_token) for _ in range(5)]  # the first rotates, the others are retries
    assert len({pair.refresh_token for pair in answers}) == 1
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(f"{first.refresh_token.split('.')[0]}.forged")
    assert info.value.reason == "invalid"
    svc.refresh(answers[0].refresh_token)
    with pytest.raises(RefreshRejected) as info:
        svc.refresh(first.refresh_token)  # two rotations old: reuse revokes the family and all it issued
    assert info.value.reason == "reused"
    assert not [pair for pair in answers if _accepted(v, pair.access_token)]


def _accepted(v: Verifier, token: str) -> bool:
    try:
        v.verify(token)
    except Exception as exc:
        assert "revoked" in str(exc)
        return False
    return True


class _SkewedClock:
    """The ``time`` module as a server whose wall clock is ``offset`` seconds off sees it."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.mark.parametrize(
    ("grace", "offset", "outcome"),
    [
        pytest.param(0.0, -5.0, "reused", id="grace-0-server-behind"),
        pytest.param(0.0, -0.05, "reused", id="grace-0-server-50ms-behind"),
        pytest.param(10.0, 30.0, "ok", id="grace-10-server-ahead"),
        pytest.param(10.0, -30.0, "ok", id="grace-10-server-behind"),
    ],
)
def test_redis_decides_the_window_by_its_own_clock(
    redis_server: Any, monkeypatch: pytest.MonkeyPatch, grace: float, offset: float, outcome: str
) -> None:
    from jwt_middleware.stores import redis_refresh

    issuer = TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.example")
    store = RedisRefreshStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex}:")
    svc = TokenService(issuer, store, revocation=MemoryRevocationStore(), reuse_grace_seconds=grace)
    try:
        first = svc.login("alice")
        svc.refresh(first.refresh_token)  # on a server with a good clock
        monkeypatch.setattr(redis_refresh, "time", _SkewedClock(offset))  # the spent token reaches a skewed server
        try:
            svc.refresh(first.refresh_token)
            got = "ok"
        except RefreshRejected as exc:
            got = exc.reason
        assert got == outcome
    finally:
        store.close()
