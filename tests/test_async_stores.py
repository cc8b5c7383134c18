"""Stores speak both ways natively: on a redis.asyncio client the awaitable forms do their I/O
on it, with no worker thread, and a paused Redis never stalls the event loop; on a sync client
they run in a worker thread, and never stall it either. And the mirror's reload never lets a
revoked token through (a real redis-server throughout)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
from redis_server import RedisServer, wait_for
from tokens import claims

from jwt_middleware import MemoryRefreshStore, MemoryRevocationStore, SigningKey, TokenIssuer, TokenService
from jwt_middleware.core.dpop import MemoryReplay
from jwt_middleware.core.errors import RevocationUnavailable
from jwt_middleware.core.flow import run
from jwt_middleware.server.throttle import MemoryLoginThrottle
from jwt_middleware.stores.redis import (
    RedisDPoPReplay,
    RedisLoginThrottle,
    RedisRefreshStore,
    RedisRevocationStore,
    StoreWriteFailed,
)

FAILED = (StoreWriteFailed, RevocationUnavailable, redis.RedisError, OSError)


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A redis-server of this test's own: it is paused."""
    own = RedisServer()
    yield own
    own.cleanup()


class Stores:
    """The four Redis stores and a TokenService over them, on clients that ``connect`` makes."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        p = f"t-{uuid.uuid4().hex[:8]}:"
        self.revocation = RedisRevocationStore(connect(), prefix=p, mirror_max_entries=2, write_retries=1)
        self.refresh = RedisRefreshStore(connect(), prefix=p, write_retries=1)
        self.replay = RedisDPoPReplay(connect(), prefix=p)
        self.throttle = RedisLoginThrottle(connect(), prefix=p)
        issuer = TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test")
        self.service = TokenService(issuer, self.refresh, revocation=self.revocation)

    async def prime(self) -> str:
        """Overflow the mirror (checks then ask Redis) and start a session; answers its refresh token."""
        for n in range(3):
            await self.revocation.revoke_jti_async(f"old-{n}", time.time() + 60)
        assert self.revocation.mirror.overflow and await self.revocation.is_revoked_async(claims(jti="old-1"))
        await self.refresh.create_async("fam", "h0", {"sub": "alice"}, "a0", time.time() + 60)
        assert (await self.refresh.rotate_async("h0", "h1", "a1", "fam")).outcome == "ok"
        assert await self.replay.claim_async("k", time.time() + 30)
        await self.throttle.failed_async(["alice"], 60)
        assert await self.throttle.blocked_async([("alice", 1)], 60) > 0
        await self.throttle.succeeded_async("alice")
        assert await self.throttle.admit_async([("bob", 1)], 60, "a1") == 0
        assert await self.throttle.admit_async([("bob", 1)], 60, "a2") > 0
        await self.throttle.release_async("bob", [], "a1")
        return self.service.login("bob").refresh_token  # login is sync only: before the ticker starts

    def calls(self, refresh_token: str) -> list[Awaitable[Any]]:
        """Every awaitable store call, each needing Redis (the check is past the mirror's bound)."""
        return [
            self.revocation.revoke_jti_async("j", time.time() + 60),
            self.revocation.revoke_subject_async("s"),
            self.revocation.is_revoked_async(claims(jti="new")),
            self.refresh.create_async("fam2", "x0", {"sub": "carol"}, "b0", time.time() + 60),
            self.refresh.rotate_async("h1", "h2", "a2", "fam"),
            self.refresh.revoke_async("h1", "fam"),
            self.replay.claim_async("k2", time.time() + 30),
            self.throttle.blocked_async([("alice", 5)], 60),
            self.throttle.failed_async(["alice"], 60),
            self.throttle.succeeded_async("alice"),
            self.throttle.admit_async([("alice", 5), ("address:x", 20)], 60, "a3"),
            self.throttle.release_async("alice", ["address:x"], "a3"),
            self.service.refresh_async(refresh_token),
            self.service.logout_async(refresh_token),
        ]

    def close(self) -> None:
        for store in (self.revocation, self.refresh, self.replay, self.throttle):
            store.close()


async def worst_lateness_while(server: RedisServer, stores: Stores) -> tuple[float, list[Any]]:
    """Pause Redis, make every call at once beside a 5 ms ticker; the ticker's worst lateness and each call's outcome."""
    refresh_token = await stores.prime()
    worst, done = 0.0, asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - before - 0.005)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    server.signal(signal.SIGSTOP)
    try:
        outcomes = await asyncio.wait_for(asyncio.gather(*stores.calls(refresh_token), return_exceptions=True), 30)
    finally:
        server.signal(signal.SIGCONT)
        done.set()
        await ticking
    return worst, outcomes


def test_redis_asyncio_stores_never_stall_the_loop_and_use_no_thread(server: RedisServer) -> None:
    def connect() -> redis.asyncio.Redis:
        return redis.asyncio.Redis.from_url(server.url, socket_timeout=0.2, socket_connect_timeout=0.2)

    stores = Stores(connect)
    threads_before = set(threading.enumerate())

    async def main() -> tuple[float, list[Any], Any]:
        worst, outcomes = await worst_lateness_while(server, stores)
        return worst, outcomes, getattr(asyncio.get_running_loop(), "_default_executor", "unknown")

    try:
        worst, outcomes, executor = asyncio.run(main())
    finally:
        stores.close()
    failed = [o for o in outcomes if isinstance(o, FAILED)]
    assert len(failed) == len(outcomes), f"every call needed the paused Redis: {outcomes}"
    assert worst < 0.1, f"the event loop stalled {worst * 1000:.1f} ms"
    assert executor is None, "the loop's default executor was never created: no call went to a worker thread"
    assert not set(threading.enumerate()) - threads_before, "no thread was started (the mirror's feed is a task)"
    print(f"worst tick lateness with redis.asyncio clients: {worst * 1000:.1f} ms")


def test_sync_clients_under_asyncio_run_in_worker_threads_and_never_stall_the_loop(server: RedisServer) -> None:
    def connect() -> redis.Redis:
        return redis.Redis.from_url(server.url, socket_timeout=0.2, socket_connect_timeout=0.2)

    stores = Stores(connect)

    async def main() -> tuple[float, list[Any], Any]:
        worst, outcomes = await worst_lateness_while(server, stores)
        return worst, outcomes, getattr(asyncio.get_running_loop(), "_default_executor", "unknown")

    try:
        worst, outcomes, executor = asyncio.run(main())
    finally:
        stores.close()
    assert all(isinstance(o, FAILED) for o in outcomes), outcomes
    assert worst < 0.1, f"the event loop stalled {worst * 1000:.1f} ms"
    assert executor is not None, "the blocking calls ran in the loop's worker threads"


def test_a_redis_asyncio_store_on_one_loop_after_another(server: RedisServer) -> None:
    """redis-py's asyncio connections belong to one loop: each asyncio.run gets its own, and the mirror follows."""
    store = RedisRevocationStore(redis.asyncio.Redis.from_url(server.url), prefix=f"t-{uuid.uuid4().hex[:8]}:")
    other = RedisRevocationStore(server.url, prefix=store.prefix)
    try:
        for n in range(3):
            jti = f"j{n}"
            asyncio.run(store.revoke_jti_async(jti, time.time() + 60))
            other.revoke_jti(f"o{n}", time.time() + 60)

            async def check(n: int = n) -> bool:
                await store.start()
                deadline = time.monotonic() + 5
                while not await store.is_revoked_async(claims(jti=f"o{n}")):
                    assert time.monotonic() < deadline, "the feed on this loop brings the other process's write"
                    await asyncio.sleep(0.01)
                return await store.is_revoked_async(claims(jti=jti))

            assert asyncio.run(check())
        wait_for(lambda: other.is_revoked(claims(jti="j2")), 5, "the URL store sees the asyncio store's writes")
        assert store.is_revoked(claims(jti="o0")), "the blocking form, outside any loop, follows the feed in a thread"
    finally:
        store.close()
        other.close()


def test_memory_stores_answer_the_awaitable_forms() -> None:
    async def main() -> None:
        revocation, refresh, replay, throttle = (
            MemoryRevocationStore(),
            MemoryRefreshStore(),
            MemoryReplay(),
            MemoryLoginThrottle(),
        )
        await revocation.revoke_jti_async("j", time.time() + 60)
        await revocation.revoke_subject_async("s")
        assert await revocation.is_revoked_async(claims(jti="j"))
        assert await revocation.is_revoked_async(claims(jti="x", sub="s", iat=int(time.time()) - 5))
        await refresh.create_async("f", "h0", {"sub": "a"}, "a0", time.time() + 60)
        assert (await refresh.rotate_async("h0", "h1", "a1", "f")).outcome == "ok"
        assert (await refresh.rotate_async("h0", "h2", "a2", "f")).outcome == "reused"
        assert (await refresh.revoke_async("h1", "f")).outcome == "ok"
        assert await replay.claim_async("k", time.time() + 5) and not await replay.claim_async("k", time.time() + 5)
        await throttle.failed_async(["a"], 60)
        assert await throttle.blocked_async([("a", 1)], 60) > 0
        await throttle.succeeded_async("a")
        assert await throttle.blocked_async([("a", 1)], 60) == 0
        assert await throttle.admit_async([("a", 1), ("b", 2)], 60, "x") == 0
        assert await throttle.admit_async([("a", 1), ("b", 2)], 60, "y") > 0, "a is at its limit: nothing counted"
        await throttle.release_async("a", ["b"], "x")
        assert await throttle.blocked_async([("a", 1), ("b", 1)], 60) == 0, "x taken back from b, a cleared"

    asyncio.run(main())


# -- the mirror's reload (issue 23, item 1) ------------------------------------------------------------


def test_checks_during_reloads_never_miss_a_known_revocation(redis_server: RedisServer) -> None:
    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex[:8]}:")
    try:
        until = time.time() + 120
        with redis.Redis.from_url(redis_server.url) as client:
            client.zadd(store.keys[0], {f"-filler-{n}": until for n in range(20_000)})  # sorted before any digest: loaded first
        store.revoke_jti("known", until)
        missed, checks, stop = [], [0], threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                checks[0] += 1
                if not store.is_revoked(claims(jti="known")):
                    missed.append(time.monotonic())

        thread = threading.Thread(target=hammer)
        thread.start()
        try:
            for _ in range(15):
                run(store.mirror._reload())
        finally:
            stop.set()
            thread.join()
        assert checks[0] > 100, "the checks ran during the reloads"
        assert not missed, f"{len(missed)} of {checks[0]} checks found the known revocation missing during a reload"
    finally:
        store.close()


def test_a_reload_keeps_a_live_entry_it_held(redis_server: RedisServer) -> None:
    store = RedisRevocationStore(redis_server.url, prefix=f"t-{uuid.uuid4().hex[:8]}:")
    try:
        store.revoke_jti("held", time.time() + 60)
        store.revoke_jti("gone", time.time() + 0.1)
        with redis.Redis.from_url(redis_server.url) as client:
            client.delete(store.keys[0])  # as after a failover to a replica that had not got them
        time.sleep(0.15)
        run(store.mirror._reload())
        assert store.is_revoked(claims(jti="held")), "a reload never forgets a live revocation it held"
        assert not store.is_revoked(claims(jti="gone")), "an expired one goes"
    finally:
        store.close()
