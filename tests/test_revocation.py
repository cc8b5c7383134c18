"""Revocation through both adapters: memory store, hooks, and a real Redis (stopped mid-test)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from tokens import SECRET, claims, mint

from jwt_middleware import ConfigError, JWTWSGIMiddleware, MemoryRevocationStore, load_settings, revoke_token
from jwt_middleware.stores.redis import RedisRevocationStore

HS = {"algorithms": ["HS256"], "secret": SECRET}


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def token_with_jti(**extra: Any) -> tuple[str, dict[str, Any]]:
    body = claims(jti=uuid.uuid4().hex, **extra)
    return mint(body), body


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryRevocationStore()
        return
    server = request.getfixturevalue("redis_server")
    redis_store = RedisRevocationStore(server.url, prefix=f"t-{uuid.uuid4().hex}:")
    yield redis_store
    redis_store.close()


def test_jti_deny_list_applies_even_to_a_cached_token(make: Any, store: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="jwt_middleware")
    h = make({**HS, "revocation": store})
    token, body = token_with_jti()
    other, _ = token_with_jti()
    assert h.request(headers=bearer(token)).status == 200  # now in the verified-token cache
    revoke_token(store, body)
    r = h.request(headers=bearer(token))
    assert (r.status, r.called) == (401, False)
    assert r.json["error_description"] == "token has been revoked" and "reason=revoked" in caplog.text
    assert h.request(headers=bearer(other)).status == 200


def test_subject_not_before_logs_out_everywhere(make: Any, store: Any) -> None:
    h = make({**HS, "revocation": store})
    now = int(time.time())
    old = mint(claims(sub="bob", iat=now - 60))
    assert h.request(headers=bearer(old)).status == 200
    store.revoke_subject("bob", before=now - 1)
    assert h.request(headers=bearer(old)).status == 401
    assert h.request(headers=bearer(mint(claims(sub="bob", iat=now)))).status == 200, "a token issued after the cut-off passes"
    assert h.request(headers=bearer(mint(claims(sub="bob", iat=None)))).status == 401, "no iat cannot prove it is newer"
    assert h.request(headers=bearer(mint(claims(sub="carol", iat=now - 60)))).status == 200


def test_revoke_token_needs_a_jti(store: Any) -> None:
    with pytest.raises(ValueError, match="jti"):
        revoke_token(store, claims())


def test_sync_hook(make: Any) -> None:
    revoked = {"bad"}
    h = make({**HS, "revocation": lambda c: c.get("jti") in revoked})
    assert h.request(headers=bearer(mint(claims(jti="good")))).status == 200
    assert h.request(headers=bearer(mint(claims(jti="bad")))).status == 401


def test_async_hook_under_asgi() -> None:
    from harness import ASGIHarness

    calls: list[str] = []

    async def is_revoked(c: Any) -> bool:
        calls.append(c["jti"])
        return bool(c["jti"] == "bad")

    h = ASGIHarness({**HS, "revocation": is_revoked})
    assert h.request(headers=bearer(mint(claims(jti="good")))).status == 200
    assert h.request(headers=bearer(mint(claims(jti="bad")))).status == 401
    assert h.request(headers=bearer(mint(claims(jti="good")))).status == 200
    assert calls == ["good", "bad", "good"], "asked on every request, cached token or not"


def test_async_hook_under_wsgi_is_a_config_error() -> None:
    async def is_revoked(c: Any) -> bool:
        return False

    with pytest.raises(ConfigError) as info:
        JWTWSGIMiddleware(lambda e, s: [], settings={**HS, "revocation": is_revoked})
    assert info.value.key == "revocation"


def test_revocation_setting_type() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({**HS, "revocation": "redis://x"})
    assert info.value.key == "revocation"


@pytest.mark.parametrize(("fail_open", "status"), [(False, 503), (True, 200)])
def test_failing_hook_follows_the_outage_policy(make: Any, fail_open: bool, status: int) -> None:
    def broken(c: Any) -> bool:
        raise ConnectionError("store down")

    r = make({**HS, "revocation": broken, "revocation_fail_open": fail_open}).request(headers=bearer(mint(claims(jti="x"))))
    assert r.status == status
    if status == 503:
        assert int(r.headers["retry-after"]) >= 1 and r.json["error"] == "temporarily_unavailable"


@pytest.mark.parametrize(("fail_open", "status"), [(False, 503), (True, 200)])
def test_redis_outage_policy_and_recovery(
    make: Any, redis_server: Any, fail_open: bool, status: int, request: pytest.FixtureRequest
) -> None:
    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex}:", timeout=0.2, retry_seconds=0.3)
    request.addfinalizer(store.close)
    h = make({**HS, "revocation": store, "revocation_fail_open": fail_open})
    token, body = token_with_jti()
    assert h.request(headers=bearer(token)).status == 200
    revoke_token(store, body)
    redis_server.stop()
    try:
        for _ in range(3):
            t0 = time.monotonic()
            r = h.request(headers=bearer(mint(claims(jti=uuid.uuid4().hex))))
            assert r.status == status
            assert time.monotonic() - t0 < 1.0, "a down Redis never stalls a request"
    finally:
        redis_server.start()
    time.sleep(0.35)
    assert h.request(headers=bearer(token)).status == 401, "the deny-list outlived the outage"
    assert h.request(headers=bearer(mint(claims(jti=uuid.uuid4().hex)))).status == 200


def test_redis_entries_expire_with_the_token(redis_server: Any) -> None:
    import redis

    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex}:")
    store.revoke_jti("abc", time.time() + 100)
    store.revoke_jti("dead", time.time() - 5)  # already expired: nothing to keep
    client = redis.Redis.from_url(redis_server.url)
    keys = client.keys(store.prefix + "*")
    assert len(keys) == 1
    assert 95 <= client.ttl(keys[0]) <= 102
    store.revoke_subject("bob")
    assert (
        0
        < client.ttl(store.prefix + "sub:" + __import__("jwt_middleware.core.revocation", fromlist=["digest"]).digest("bob"))
        <= 86400
    )


def test_redis_one_round_trip_per_request(redis_server: Any) -> None:
    import redis

    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex}:")
    client = redis.Redis.from_url(redis_server.url)
    store.is_revoked(claims(jti="warm-up"))  # the connection's handshake is not per request

    def commands() -> int:
        return int(client.info("stats")["total_commands_processed"])

    first, second = commands(), commands()
    per_info = second - first
    for i in range(10):
        assert store.is_revoked(claims(jti=f"j{i}")) is False
    assert commands() - second - per_info == 10  # one MGET per request


def test_memory_store_bounds_itself() -> None:
    store = MemoryRevocationStore(max_token_lifetime=0.05)
    store.revoke_jti("a", time.time() + 0.05)
    store.revoke_subject("s")
    assert store.is_revoked(claims(jti="a")) and store.is_revoked(claims(sub="s", iat=time.time() - 1))
    time.sleep(0.06)
    assert not store.is_revoked(claims(jti="a")) and not store.is_revoked(claims(sub="s", iat=time.time() - 1))
