"""The revocation mirror under faults (issue 23): past its size limit during an outage, under a short
store timeout, and what it costs in memory. A real redis-server throughout, paused with SIGSTOP."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from redis_server import RedisServer
from tokens import claims

from jwt_middleware.core.errors import RevocationUnavailable
from jwt_middleware.stores.redis import RedisRevocationStore


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A redis-server of this test's own: it is paused."""
    own = RedisServer()
    yield own
    own.cleanup()


def test_past_its_size_limit_a_known_revocation_is_refused_at_once_during_an_outage(server: RedisServer) -> None:
    store = RedisRevocationStore(server.url, prefix=f"t-{uuid.uuid4().hex[:8]}:", timeout=0.3, mirror_max_entries=2)
    try:
        until = time.time() + 60
        for jti in ("known-1", "known-2", "beyond-the-mirror"):
            store.revoke_jti(jti, until)
        assert store.mirror.overflow
        server.signal(signal.SIGSTOP)
        try:
            started = time.perf_counter()
            assert store.is_revoked(claims(jti="known-1")), "what the mirror knows is answered"
            assert asyncio.run(store.is_revoked_async(claims(jti="known-2")))
            took = time.perf_counter() - started
            assert took < 0.05, f"a known revocation waited {took * 1000:.0f} ms for a paused Redis"
            with pytest.raises(RevocationUnavailable):
                store.is_revoked(claims(jti="unknown"))  # only "not revoked" is asked of Redis: the outage policy decides
        finally:
            server.signal(signal.SIGCONT)
        assert store.is_revoked(claims(jti="beyond-the-mirror")), "and Redis answers the rest again"
    finally:
        store.close()


class _Loads(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "auth_reason", None) == "mirror_loaded":
            self.count += 1


def test_a_short_store_timeout_keeps_the_feed_up_without_reloads(server: RedisServer) -> None:
    """XREAD blocks for less than the socket timeout: a 0.1 s timeout must not turn every idle read into a reload."""
    loads = _Loads()
    logger = logging.getLogger("jwt_middleware")
    logger.addHandler(loads)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    store = RedisRevocationStore(server.url, prefix=f"t-{uuid.uuid4().hex[:8]}:", timeout=0.1, max_staleness_seconds=1)
    try:
        deadline, stale_seen = time.monotonic() + 3, 0
        while time.monotonic() < deadline:
            stale_seen += store.mirror.stale(0.5)
            time.sleep(0.05)
        reloads = loads.count
        other = RedisRevocationStore(server.url, prefix=store.prefix)
        other.revoke_jti("late", time.time() + 60)
        other.close()
        time.sleep(0.3)
        assert store.is_revoked(claims(jti="late")), "the feed brought the other process's revocation"
        assert reloads <= 2, f"{reloads} loads in 3 s: a reload storm"  # the first load, and one to spare
        assert not stale_seen, "the feed answered at least every 0.5 s"
    finally:
        logger.removeHandler(loads)
        logger.setLevel(old_level)
        store.close()


def test_the_mirror_costs_at_most_150_bytes_an_entry() -> None:
    from benchmarks.mirror_memory import mirror_bytes_per_entry

    per_entry = mirror_bytes_per_entry(100_000)
    assert per_entry <= 150, f"{per_entry:.0f} bytes per entry"
