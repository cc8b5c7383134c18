"""Redis beyond one node, with real servers started here: Cluster, Sentinel failover, a far-away Redis,
two processes sharing a deny-list, and an event loop that never waits on Redis."""

from __future__ import annotations

import asyncio
import http.client
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.sentinel
from delay_proxy import DelayProxy
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel
from redis_server import RedisClusterServers, RedisSentinelServers, wait_for
from servers import uvicorn_processes
from tokens import SECRET, claims, mint

from jwt_middleware import MemoryRevocationStore, RefreshRejected, SigningKey, TokenIssuer, TokenService
from jwt_middleware.core.revocation import digest
from jwt_middleware.stores.redis import RedisRefreshStore, RedisRevocationStore, StoreWriteFailed

HS = {"algorithms": ["HS256"], "secret": SECRET}


def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}:"


# -- Redis Cluster ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers()
    yield servers
    servers.cleanup()


def test_cluster_revoke_and_check_across_two_mirrors(cluster: RedisClusterServers) -> None:
    p = prefix()
    writer = RedisRevocationStore(RedisCluster.from_url(cluster.url), prefix=p)
    reader = RedisRevocationStore(RedisCluster.from_url(cluster.url), prefix=p)
    try:
        jti, sub = uuid.uuid4().hex, f"u-{uuid.uuid4().hex}"
        assert not reader.is_revoked(claims(jti=jti, sub=sub))
        writer.revoke_jti(jti, time.time() + 60)
        writer.revoke_subject(sub)
        wait_for(lambda: reader.is_revoked(claims(jti=jti)), 5, "the other mirror sees the jti")
        wait_for(lambda: reader.is_revoked(claims(jti="other", sub=sub, iat=int(time.time()) - 5)), 5, "and the subject")
        assert not reader.is_revoked(claims(jti="other", sub="someone-else"))
        client = RedisCluster.from_url(cluster.url)
        slots = {client.keyslot(key) for key in writer.keys}
        assert len(slots) == 1, "every key of the store in one slot: no CROSSSLOT"
    finally:
        writer.close()
        reader.close()


def test_cluster_refresh_rotation_and_reuse_detection(cluster: RedisClusterServers) -> None:
    p = prefix()
    revocation = RedisRevocationStore(RedisCluster.from_url(cluster.url), prefix=p)
    store = RedisRefreshStore(RedisCluster.from_url(cluster.url), prefix=p)
    svc = TokenService(TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test"), store, revocation=revocation)
    try:
        first = svc.login("alice")
        second = svc.refresh(first.refresh_token)
        third = svc.refresh(second.refresh_token)
        with pytest.raises(RefreshRejected) as info:
            svc.refresh(first.refresh_token)  # two rotations old: reuse
        assert info.value.reason == "reused"
        with pytest.raises(RefreshRejected) as info:
            svc.refresh(third.refresh_token)
        assert info.value.reason == "revoked"
    finally:
        store.close()
        revocation.close()


# -- Sentinel and failover ------------------------------------------------------------------------


@pytest.fixture
def sentinel() -> Iterator[RedisSentinelServers]:
    servers = RedisSentinelServers()
    yield servers
    servers.cleanup()


class Workload:
    """Revocations and refresh chains written in a loop while the primary changes."""

    def __init__(self, servers: RedisSentinelServers) -> None:
        self.sentinel = Sentinel(servers.addresses, socket_timeout=0.3)
        p, durable = prefix(), {"wait_replicas": 1, "wait_timeout": 0.3, "write_retries": 2}
        self.revocation = RedisRevocationStore(self.sentinel.master_for("mymaster", socket_timeout=0.3), prefix=p, **durable)
        self.refresh = RedisRefreshStore(self.sentinel.master_for("mymaster", socket_timeout=0.3), prefix=p, **durable)
        issuer = TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test")
        # A rotation that reached the old primary but was not confirmed is retried by the client with the same
        # token, which must keep the chain alive (with no window it would be reuse). The retry comes when writes
        # resume: after the failover and, on kill-primary, the old primary's resync, which the test allows up
        # to 60 s; the window must cover that outage, as deployment.md says. The default 10 s did not, once.
        self.tokens = TokenService(issuer, self.refresh, revocation=MemoryRevocationStore(), reuse_grace_seconds=60)
        self.acknowledged: list[str] = []
        self.chains = [[self.tokens.login(f"user{i}").refresh_token] for i in range(4)]
        self.stop = threading.Event()
        self.failed_writes = 0
        self.acked_at: list[float] = []

    def acknowledged_since(self, since: float, count: int) -> bool:
        return sum(1 for at in self.acked_at if at >= since) >= count

    def run(self) -> None:
        while not self.stop.is_set():
            jti = uuid.uuid4().hex
            try:
                self.revocation.revoke_jti(jti, time.time() + 600)
                self.acknowledged.append(jti)
                self.acked_at.append(time.monotonic())
            except StoreWriteFailed:
                self.failed_writes += 1  # not acknowledged: the caller knows, and may retry
            for chain in self.chains:
                try:
                    chain.append(self.tokens.refresh(chain[-1]).refresh_token)
                except (StoreWriteFailed, redis.RedisError, OSError):
                    pass  # the rotation may or may not have happened; the next round retries the same token
                except RefreshRejected as exc:
                    raise AssertionError(f"a live chain was refused ({exc.reason})") from exc
            time.sleep(0.005)

    def check(self) -> None:
        fresh = RedisRevocationStore(self.sentinel.master_for("mymaster", socket_timeout=0.5), prefix=self.revocation.prefix)
        try:
            assert len(self.acknowledged) > 20, "the workload ran"
            lost = [j for j in self.acknowledged if not fresh.is_revoked(claims(jti=j))]
            assert not lost, f"{len(lost)} of {len(self.acknowledged)} acknowledged revocations lost"
            for chain in self.chains:
                latest = self.tokens.refresh(chain[-1])  # the session goes on after the failover
                for spent in chain[:-1][-3:]:
                    with pytest.raises(RefreshRejected):
                        self.tokens.refresh(spent)  # spent tokens stay spent (and revoke the family)
                assert latest.refresh_token
        finally:
            fresh.close()
            self.revocation.close()
            self.refresh.close()


@pytest.mark.parametrize("how", ["sentinel-failover", "kill-primary"])
def test_sentinel_failover_loses_no_acknowledged_write(sentinel: RedisSentinelServers, how: str) -> None:
    work = Workload(sentinel)
    thread = threading.Thread(target=work.run)
    thread.start()
    try:
        time.sleep(0.5)
        old = sentinel.master_port()
        if how == "sentinel-failover":
            sentinel.sentinels[0].cli("sentinel", "failover", "mymaster")
        else:
            sentinel.primary.signal(signal.SIGKILL)
        wait_for(lambda: sentinel.master_port() != old, 30, "a new primary")
        if how == "kill-primary":  # the old primary comes back, as the new one's replica: writes resume
            time.sleep(0.5)
            sentinel.primary.start()
        switched = time.monotonic()
        wait_for(lambda: work.acknowledged_since(switched, 20), 30, "writes acknowledged by the new primary")
    finally:
        work.stop.set()
        thread.join(30)
    work.check()


def test_a_sentinel_client_waits_for_the_replicas_by_default(sentinel: RedisSentinelServers) -> None:
    """Without ``wait_replicas``, a Sentinel store waits for the replicas the primary reports: a write
    the replica has not got is not acknowledged (so no failover can lose one); ``wait_replicas=0`` says otherwise."""
    connect = Sentinel(sentinel.addresses, socket_timeout=0.5).master_for
    p, quick = prefix(), {"wait_timeout": 0.2, "write_retries": 1}
    safe = RedisRevocationStore(connect("mymaster", socket_timeout=0.5), prefix=p, **quick)
    refresh = RedisRefreshStore(connect("mymaster", socket_timeout=0.5), prefix=p, **quick)
    unsafe = RedisRevocationStore(connect("mymaster", socket_timeout=0.5), prefix=p, wait_replicas=0, **quick)
    try:
        safe.revoke_jti("before", time.time() + 60)
        assert safe.replica_count is not None and safe.replica_count.value == 1, "the primary's one replica"
        assert refresh.replica_count is not None and unsafe.replica_count is None
        sentinel.replica.signal(signal.SIGSTOP)  # the replica stops taking writes; the primary still accepts them
        try:
            with pytest.raises(StoreWriteFailed) as info:
                safe.revoke_jti("unreplicated", time.time() + 60)
            assert info.value.reason == "store_write_not_durable"
            with pytest.raises(StoreWriteFailed):
                refresh.create("fam", "h0", {"sub": "alice"}, "a0", time.time() + 60)
            unsafe.revoke_jti("told-not-to-wait", time.time() + 60)  # acknowledged without the replica, as asked
        finally:
            sentinel.replica.signal(signal.SIGCONT)
        wait_for(lambda: _acked(safe, "after"), 10, "writes acknowledged again once the replica is back")
    finally:
        for store in (safe, refresh, unsafe):
            store.close()


def _acked(store: RedisRevocationStore, jti: str) -> bool:
    try:
        store.revoke_jti(jti, time.time() + 60)
    except StoreWriteFailed:
        return False
    return True


# -- a Redis tens of milliseconds away ------------------------------------------------------------


@pytest.fixture
def far_redis(redis_server: Any) -> Iterator[DelayProxy]:
    proxy = DelayProxy(redis_server.port, 0.05)
    yield proxy
    proxy.close()


def _reads(redis_server: Any) -> int:
    """How many key reads (the per-request lookups a store without a mirror would make) Redis has served."""
    stats = redis.Redis.from_url(redis_server.url).info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0)) for name in ("zscore", "mget", "get", "exists"))


def test_a_redis_50_ms_away_keeps_working_in_both_adapters(make: Any, far_redis: DelayProxy, redis_server: Any) -> None:
    store = RedisRevocationStore(far_redis.url, prefix=prefix(), timeout=0.5)
    try:
        h = make({**HS, "revocation": store})
        tokens = [mint(claims(jti=uuid.uuid4().hex)) for _ in range(20)]
        before = _reads(redis_server)
        assert [h.request(headers=[("Authorization", f"Bearer {t}")]).status for t in tokens] == [200] * 20
        assert _reads(redis_server) == before, "checks make no round trip, however far Redis is"
        jti = uuid.uuid4().hex
        store.revoke_jti(jti, time.time() + 60)  # a write: several round trips of 50 ms, within the timeout
        assert h.request(headers=[("Authorization", f"Bearer {mint(claims(jti=jti))}")]).status == 401
    finally:
        store.close()


# -- two processes, Redis killed and paused -------------------------------------------------------------


def status(port: int, method: str, path: str, token: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


def test_two_processes_propagation_kill_and_pause(redis_server: Any) -> None:
    env = {"JWT_SECRET": SECRET, "REDIS_URL": redis_server.url, "REVOCATION_MAX_STALENESS": "1"}
    with uvicorn_processes("examples.shared_revocation:app", env, count=2) as (a, b):
        delays = []
        for _ in range(10):
            token = mint(claims(jti=uuid.uuid4().hex))
            assert status(b, "GET", "/me", token) == 200
            assert status(a, "POST", "/logout", token) == 204
            started = time.monotonic()
            wait_for(lambda t=token: status(b, "GET", "/me", t) == 401, 2, "the other process refuses")
            delays.append(time.monotonic() - started)
        assert max(delays) < 0.5, delays  # the documented bound is max_staleness_seconds; healthy, it is a round trip

        revoked = mint(claims(jti=uuid.uuid4().hex))
        assert status(a, "POST", "/logout", revoked) == 204
        wait_for(lambda: status(b, "GET", "/me", revoked) == 401, 2, "propagated")
        for sig, resume in ((signal.SIGSTOP, signal.SIGCONT), (signal.SIGKILL, None)):
            redis_server.signal(sig)
            try:
                fresh = mint(claims(jti=uuid.uuid4().hex))
                wait_for(
                    lambda f=fresh: status(a, "GET", "/me", f) == 503 and status(b, "GET", "/me", f) == 503, 5, "fail closed"
                )
                assert status(b, "GET", "/me", revoked) == 401, "a known revocation is still refused"
            finally:
                if resume is not None:
                    redis_server.signal(resume)
                else:
                    redis_server.start()
            wait_for(lambda: status(a, "GET", "/me", mint(claims(jti=uuid.uuid4().hex))) == 200, 10, "recovered")
            wait_for(lambda: status(b, "GET", "/me", mint(claims(jti=uuid.uuid4().hex))) == 200, 10, "recovered")
            assert status(a, "GET", "/me", revoked) == 401 and status(b, "GET", "/me", revoked) == 401


# -- the event loop never waits on Redis ----------------------------------------------------------------


def test_async_writes_never_stall_the_event_loop_while_redis_is_paused(redis_server: Any) -> None:
    def client() -> redis.Redis:  # short timeouts and no retries of its own: each write gives up in ~0.2 s
        return redis.Redis.from_url(redis_server.url, socket_timeout=0.2, socket_connect_timeout=0.2)

    store = RedisRevocationStore(client(), prefix=prefix(), write_retries=0)
    refresh = RedisRefreshStore(client(), prefix=store.prefix, write_retries=0)
    svc = TokenService(TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test"), refresh, revocation=store)
    pair = svc.login("alice")

    async def main() -> float:
        worst = 0.0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal worst
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.002)
                worst = max(worst, time.perf_counter() - before - 0.002)

        async def writes() -> None:
            for call in (
                store.revoke_jti_async("j", time.time() + 60),
                store.revoke_subject_async("s"),
                svc.refresh_async(pair.refresh_token),
                svc.logout_async(pair.refresh_token),
            ):
                with pytest.raises((StoreWriteFailed, redis.RedisError, OSError)):
                    await call
            done.set()

        await asyncio.gather(ticker(), writes())
        return worst

    redis_server.signal(signal.SIGSTOP)
    try:
        worst = asyncio.run(main())
    finally:
        redis_server.signal(signal.SIGCONT)
        store.close()
        refresh.close()
    assert worst < 0.01, f"the event loop stalled {worst * 1000:.1f} ms"
    assert digest("j")  # the store's digests are what the feed carries


# -- redis.asyncio clients ----------------------------------------------------------------------


def test_stores_take_a_redis_asyncio_client(redis_server: Any) -> None:
    from jwt_middleware.stores.redis import RedisLoginThrottle

    p = prefix()
    given = redis.asyncio.Redis.from_url(redis_server.url)
    revocation = RedisRevocationStore(given, prefix=p)
    refresh = RedisRefreshStore(redis.asyncio.Redis.from_url(redis_server.url), prefix=p)
    throttle = RedisLoginThrottle(redis.asyncio.Redis.from_url(redis_server.url), prefix=p)
    other = RedisRevocationStore(redis_server.url, prefix=p)  # another process, on a URL
    svc = TokenService(TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test"), refresh, revocation=revocation)
    try:
        assert (
            isinstance(revocation.client, redis.Redis)
            and revocation.client.connection_pool.connection_kwargs["port"] == redis_server.port
        )

        async def main() -> None:
            jti = uuid.uuid4().hex
            await revocation.revoke_jti_async(jti, time.time() + 60)
            assert await revocation.is_revoked_async(claims(jti=jti))
            first = svc.login("alice")
            second = await svc.refresh_async(first.refresh_token)
            third = await svc.refresh_async(second.refresh_token)
            with pytest.raises(RefreshRejected) as info:
                await svc.refresh_async(first.refresh_token)  # two rotations old: reuse
            assert info.value.reason == "reused"
            with pytest.raises(RefreshRejected) as info:
                await svc.refresh_async(third.refresh_token)  # the family went with the reuse
            assert info.value.reason == "revoked"
            wait_for(lambda: other.is_revoked(claims(jti=jti)), 5, "the URL store sees the asyncio store's write")

        asyncio.run(main())
        throttle.failed(["alice"], 60)
        assert throttle.blocked([("alice", 1)], 60) > 0
        assert throttle.blocked([("bob", 1)], 60) == 0
    finally:
        for store in (revocation, refresh, throttle, other):
            store.close()


def test_a_redis_asyncio_cluster_client(cluster: RedisClusterServers) -> None:
    p = prefix()
    writer = RedisRevocationStore(redis.asyncio.RedisCluster.from_url(cluster.url), prefix=p)
    reader = RedisRevocationStore(RedisCluster.from_url(cluster.url), prefix=p)
    try:
        assert isinstance(writer.client, RedisCluster)
        sub = f"u-{uuid.uuid4().hex}"
        asyncio.run(writer.revoke_subject_async(sub))
        wait_for(lambda: reader.is_revoked(claims(jti="x", sub=sub, iat=int(time.time()) - 5)), 5, "the other mirror")
        assert not reader.is_revoked(claims(jti="x", sub="someone-else"))
    finally:
        writer.close()
        reader.close()


def test_a_redis_asyncio_sentinel_client_follows_a_failover(sentinel: RedisSentinelServers) -> None:
    p = prefix()
    given = redis.asyncio.sentinel.Sentinel(sentinel.addresses, socket_timeout=0.3).master_for("mymaster", socket_timeout=0.3)
    store = RedisRevocationStore(given, prefix=p, wait_replicas=1, wait_timeout=0.3)
    try:
        first = uuid.uuid4().hex
        asyncio.run(store.revoke_jti_async(first, time.time() + 120))
        old = sentinel.master_port()
        sentinel.sentinels[0].cli("sentinel", "failover", "mymaster")
        wait_for(lambda: sentinel.master_port() != old, 30, "a new primary")
        second = uuid.uuid4().hex
        wait_for(lambda: _written(store, second), 30, "a write through the new primary")
        fresh = RedisRevocationStore(Sentinel(sentinel.addresses, socket_timeout=0.5).master_for("mymaster"), prefix=p)
        try:
            assert fresh.is_revoked(claims(jti=first)) and fresh.is_revoked(claims(jti=second))
        finally:
            fresh.close()
    finally:
        store.close()


def _written(store: RedisRevocationStore, jti: str) -> bool:
    try:
        asyncio.run(store.revoke_jti_async(jti, time.time() + 120))
    except StoreWriteFailed:
        return False
    return True


def test_anything_else_as_a_client_is_a_config_error() -> None:
    from jwt_middleware import ConfigError

    with pytest.raises(ConfigError) as info:
        RedisRevocationStore(object())
    assert info.value.key == "client"


def test_a_redis_asyncio_client_on_a_unix_socket(tmp_path: Any) -> None:
    from redis_server import RedisServer

    path = str(tmp_path / "redis.sock")
    server = RedisServer(extra=["--unixsocket", path, "--unixsocketperm", "700"])
    store = RedisRevocationStore(redis.asyncio.Redis(unix_socket_path=path), prefix=prefix())
    try:
        assert store.client.connection_pool.connection_kwargs["path"] == path
        jti = uuid.uuid4().hex
        asyncio.run(store.revoke_jti_async(jti, time.time() + 60))
        assert redis.Redis(unix_socket_path=path).zscore(store.keys[0], digest(jti)) is not None
    finally:
        store.close()
        server.cleanup()


def test_cluster_dpop_replay_spreads_over_slots(cluster: RedisClusterServers) -> None:
    from jwt_middleware.stores.redis import RedisDPoPReplay

    p = prefix()
    one = RedisDPoPReplay(RedisCluster.from_url(cluster.url), prefix=p)
    two = RedisDPoPReplay(RedisCluster.from_url(cluster.url), prefix=p)
    try:
        keys = [f"jkt:{uuid.uuid4().hex}" for _ in range(40)]
        assert all(one.claim(key, time.time() + 30) for key in keys)
        assert not any(two.claim(key, time.time() + 30) for key in keys), "every proof is a replay for the other process"
        client = RedisCluster.from_url(cluster.url)
        nodes = {
            client.get_node_from_key(k).name for k in client.keys(target_nodes=RedisCluster.ALL_NODES) if k.startswith(p.encode())
        }
        assert len(nodes) > 1, "replay entries have no common hash tag: they spread over the masters"
    finally:
        one.close()
        two.close()
