"""Revocation through both adapters: memory store, hooks, and a real Redis (stopped mid-test)."""

from __future__ import annotations

import logging
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


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.mark.parametrize(("fail_open", "status"), [(False, 503), (True, 200)])
def test_redis_outage_policy_and_recovery(
    make: Any, redis_server: Any, fail_open: bool, status: int, request: pytest.FixtureRequest
) -> None:
    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex}:", timeout=0.2, max_staleness_seconds=0.3)
    request.addfinalizer(store.close)
    h = make({**HS, "revocation": store, "revocation_fail_open": fail_open})
    token, body = token_with_jti()
    assert h.request(headers=bearer(token)).status == 200
    revoke_token(store, body)
    redis_server.stop()
    try:
        time.sleep(0.4)  # past max_staleness_seconds: the mirror no longer answers
        for _ in range(3):
            t0 = time.monotonic()
            r = h.request(headers=bearer(mint(claims(jti=uuid.uuid4().hex))))
            assert r.status == status
            assert time.monotonic() - t0 < 0.1, "a down Redis never stalls a request: no round trip is made"
        assert h.request(headers=bearer(token)).status == 401, "a revoked token never passes, whatever the policy"
    finally:
        redis_server.start()
    wait_until(lambda: not store.mirror.stale(store.max_staleness_seconds))
    assert h.request(headers=bearer(token)).status == 401, "the deny-list outlived the outage"
    assert h.request(headers=bearer(mint(claims(jti=uuid.uuid4().hex)))).status == 200


def test_redis_entries_leave_with_the_token(redis_server: Any) -> None:
    import redis

    from jwt_middleware.core.revocation import digest

    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex}:")
    client = redis.Redis.from_url(redis_server.url)
    store.revoke_jti("abc", time.time() + 100)
    store.revoke_jti("dead", time.time() - 5)  # already expired: nothing to keep
    store.revoke_jti("soon", time.time() + 0.2)
    time.sleep(0.3)
    store.revoke_jti("later", time.time() + 100)  # a write drops what has expired from its set
    store.revoke_subject("bob")
    jti_key, sub_key, feed_key = store.keys
    assert {m.decode() for m in client.zrange(jti_key, 0, -1)} == {digest("abc"), digest("later")}
    assert 95 <= client.zscore(jti_key, digest("abc")) - time.time() <= 101
    assert client.zscore(sub_key, digest("bob")) is not None
    assert client.xlen(feed_key) == 4, "every write, the expired one excepted, went into the change feed"
    assert all(k.decode().startswith("{" + store.prefix + "}") for k in client.keys("*" + store.prefix + "*")), "one hash tag"
    store.close()


def test_redis_no_round_trip_per_request(redis_server: Any) -> None:
    import redis

    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex}:")
    client = redis.Redis.from_url(redis_server.url)
    store.revoke_jti("listed", time.time() + 60)

    def commands() -> int:
        return int(client.info("stats")["total_commands_processed"])

    before = commands()
    answers = [store.is_revoked(claims(jti=f"j{i % 10}")) for i in range(1000)] + [store.is_revoked(claims(jti="listed"))]
    after = commands()
    assert answers[-1] is True and not any(answers[:-1])
    assert after - before <= 3, "1,000 checks, answered by the mirror; only INFO and the feed's XREAD reached Redis"
    store.close()


def test_memory_store_bounds_itself() -> None:
    store = MemoryRevocationStore(max_token_lifetime=0.05)
    store.revoke_jti("a", time.time() + 0.05)
    store.revoke_subject("s")
    assert store.is_revoked(claims(jti="a")) and store.is_revoked(claims(sub="s", iat=time.time() - 1))
    time.sleep(0.06)
    assert not store.is_revoked(claims(jti="a")) and not store.is_revoked(claims(sub="s", iat=time.time() - 1))


def test_a_store_outage_is_logged_when_it_starts_and_ends_not_per_request(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 22 item 18: a Redis outage logged a full traceback per refused request; now its state changes."""
    down = [True]

    def store(claims: Any) -> bool:
        if down[0]:
            raise ConnectionError("redis at 10.0.0.5:6379 is down")
        return False

    h = make({"algorithms": ["HS256"], "secret": SECRET, "revocation": store})
    auth = [("Authorization", f"Bearer {mint()}")]
    with caplog.at_level("DEBUG", logger="jwt_middleware"):
        assert [h.request(headers=auth).status for _ in range(5)] == [503] * 5
        down[0] = False
        assert [h.request(headers=auth).status for _ in range(3)] == [200] * 3
    outage = [r for r in caplog.records if getattr(r, "auth_outage", None)]
    assert [(r.levelname, r.auth_outage) for r in outage] == [("WARNING", "down")] + [("DEBUG", "down")] * 4 + [("INFO", "up")]
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)
    assert all("10.0.0.5" not in r.getMessage() for r in caplog.records)
