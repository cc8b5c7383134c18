"""A Redis store's two ways to speak, and its durable writes, each written once as a flow.

A store's decision is a flow (``core.flow``) whose calls name both forms of each command:
driven by ``run`` it speaks through the sync client; driven by ``Link.drive`` through the
``redis.asyncio`` client it was given (no worker thread), or else the whole blocking flow
runs in one worker thread. Writes are scripts, idempotent by design, so a write that failed
(a stale pooled connection, a failover in progress) is retried; with ``wait_replicas`` each
is followed by ``WAIT`` on the same connection, so an acknowledged write has reached the
replicas asked for. On a Sentinel client that number defaults to the replicas the primary
reports (``ReplicaCount``): a failover never loses a write the store acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, NamedTuple, TypeVar

import redis
import redis.asyncio
import redis.cluster
import redis.sentinel

from ..core.errors import ConfigError
from ..core.flow import Call, Flow, run, run_async
from .redis_client import FAILURES, StoreWriteFailed, client_for

__all__ = ["Durable", "Link", "ReplicaCount", "Script", "durable_write"]
T = TypeVar("T")


class Script(NamedTuple):
    """One Lua script, registered on the sync client and on the ``redis.asyncio`` one (when given)."""

    sync: Any
    aio: Any


class Link:
    """A store's connections: the sync client, and the ``redis.asyncio`` client when one was given.

    A flow's calls name both forms (``call``, ``run_script``): ``run`` drives a flow on the
    sync client, ``drive`` on the asyncio client with no worker thread, or, without one, the
    whole blocking flow in a single worker thread.

    Args:
        url_or_client: a URL, or a ready client, sync or ``redis.asyncio``.
        timeout: seconds for a connect or a reply, for a client built from a URL.
    """

    def __init__(self, url_or_client: Any, timeout: float) -> None:
        self.sync = client_for(url_or_client, timeout)
        native = isinstance(url_or_client, redis.asyncio.Redis | redis.asyncio.RedisCluster)
        self.aio: Any = url_or_client if native else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._companions: list[asyncio.Task[Any]] = []

    def read_timeout(self) -> float | None:
        """The shortest socket timeout of the clients, in seconds (``None``: they wait for ever)."""
        timeouts = [_socket_timeout(client) for client in (self.sync, self.aio) if client is not None]
        return min((t for t in timeouts if t), default=None)

    def script(self, source: str) -> Script:
        """Register a script on both clients.

        Args:
            source: the Lua source.
        """
        return Script(self.sync.register_script(source), self.aio and self.aio.register_script(source))

    def call(self, command: str, *args: Any, **kwargs: Any) -> Call:
        """A command, on whichever client the driver speaks through.

        Args:
            command: the redis-py method name (``set``, ``xread``, ...).
            args: its positional arguments.
            kwargs: its keyword arguments.
        """
        afn = getattr(self.aio, command) if self.aio is not None else None
        return Call(getattr(self.sync, command), args, afn=afn, blocking=True, kwargs=kwargs)

    def run_script(self, script: Script, keys: list[str], args: list[Any]) -> Call:
        """A script's run, on whichever client the driver speaks through.

        Args:
            script: the registered script.
            keys: the keys it touches.
            args: its arguments.
        """
        return Call(script.sync, afn=script.aio, blocking=True, kwargs={"keys": keys, "args": args})

    def pipeline(self, *commands: tuple[Any, ...]) -> Call:
        """Commands sent together (no transaction), on whichever client the driver speaks through.

        Args:
            commands: each a command and its arguments (``("ZSCORE", key, member)``).
        """
        afn = self._pipeline_async if self.aio is not None else None
        return Call(self._pipeline, commands, afn=afn, blocking=True)

    def _pipeline(self, *commands: tuple[Any, ...]) -> Any:
        pipe = self.sync.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute()

    async def _pipeline_async(self, *commands: tuple[Any, ...]) -> Any:
        pipe = self.aio.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return await pipe.execute()

    def waited(self, script: Script, keys: list[str], args: list[Any], replicas: int, timeout: float) -> Call:
        """A script's run and ``WAIT`` on the same connection (one pipeline): answers ``(result, replicas reached)``.

        Args:
            script: the registered script.
            keys: the keys it touches.
            args: its arguments.
            replicas: the replicas to wait for.
            timeout: seconds ``WAIT`` waits.
        """
        afn = self._waited_async if self.aio is not None else None
        return Call(self._waited, (script, keys, args, replicas, int(timeout * 1000)), afn=afn, blocking=True)

    def _waited(self, script: Script, keys: list[str], args: list[Any], replicas: int, ms: int) -> Any:
        pipe = self.sync.pipeline(transaction=False)
        script.sync(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", replicas, ms)
        return pipe.execute()

    async def _waited_async(self, script: Script, keys: list[str], args: list[Any], replicas: int, ms: int) -> Any:
        pipe = self.aio.pipeline(transaction=False)
        await script.aio(keys=keys, args=args, client=pipe)
        pipe.execute_command("WAIT", replicas, ms)
        return await pipe.execute()

    async def drive(self, flow: Flow[T]) -> T:
        """Drive a flow from asyncio: on the asyncio client, or in one worker thread on the sync client.

        Args:
            flow: the store's flow.
        """
        if self.aio is None:
            return await asyncio.to_thread(run, flow)
        self.bind()
        return await run_async(flow)

    def bind(self, companion: asyncio.Task[Any] | None = None) -> None:
        """Use the asyncio client on the running loop; its connections are closed when that loop ends.

        redis-py's asyncio connections belong to the loop that opened them, and a loop that
        ends (``asyncio.run`` returns) cancels its tasks first: the keeper task closes them
        then, after the ``companion`` tasks (the mirror's feed) have ended, so the next loop
        opens its own.

        Args:
            companion: a task of the store's on this loop that uses the client; default none.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._companions = loop, []
            self._keeper = loop.create_task(self._release_at_loop_end(), name="jwt-redis-release")
        if companion is not None:
            self._companions.append(companion)

    async def _release_at_loop_end(self) -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            companions = [task for task in self._companions if not task.done()]
            if companions:  # cancelled with this one: let them let go of their connections first
                await asyncio.wait(companions, timeout=1.0)
            manager = getattr(getattr(self.aio, "connection_pool", None), "sentinel_manager", None)
            for client in [self.aio, *(manager.sentinels if manager is not None else ())]:  # Sentinel: its own pools too
                with contextlib.suppress(*FAILURES):
                    if isinstance(client, redis.asyncio.RedisCluster):
                        await client.aclose()
                    else:
                        await client.connection_pool.disconnect()
            await asyncio.sleep(0)  # the transports' connection_lost callbacks run before the loop closes

    def close(self) -> None:
        """Close the sync client's pool (the asyncio client stays its owner's)."""
        self.sync.close()
        if self.aio is not None and hasattr(self.sync, "connection_pool"):
            self.sync.connection_pool.disconnect()  # the twin's own pool, which ``close`` leaves open


def _socket_timeout(client: Any) -> float | None:
    pool = getattr(client, "connection_pool", None)
    settings = getattr(pool, "connection_kwargs", None) or getattr(client, "connection_kwargs", None) or {}
    if not settings and hasattr(client, "nodes_manager"):
        settings = getattr(client.nodes_manager, "connection_kwargs", None) or {}
    timeout = settings.get("socket_timeout")
    return float(timeout) if timeout else None


class ReplicaCount:
    """The replicas a primary reports (``INFO replication``, ``connected_slaves``), asked again every ``refresh`` seconds.

    Args:
        link: the store's connections.
        refresh: seconds an answer is kept (default 10); a failed write forgets it at once.
    """

    def __init__(self, link: Link, refresh: float = 10.0) -> None:
        self.link, self.refresh = link, refresh
        self.value, self.until = 0, -float("inf")

    def current(self) -> Flow[int]:
        """The replicas to wait for now (a round trip only when the cached answer is old)."""
        if time.monotonic() >= self.until:
            info = yield self.link.call("info", "replication")
            self.value, self.until = int(info.get("connected_slaves", 0)), time.monotonic() + self.refresh
        return self.value

    def forget(self) -> None:
        """Ask again before the next write (after a failure: the primary may have changed)."""
        self.until = -float("inf")


def durable_write(
    link: Link,
    script: Script,
    keys: list[str],
    args: list[Any],
    durability: tuple[int, float, int],
    replica_count: ReplicaCount | None = None,
) -> Flow[Any]:
    """Run a script (idempotent by design), then ``WAIT`` on the same connection; retried on failure.

    Args:
        link: the store's connections.
        script: the registered script.
        keys: the keys it touches.
        args: its arguments.
        durability: ``(wait_replicas, wait_timeout, write_retries)``.
        replica_count: when given, the replicas to wait for are the ones the primary reports
            (``wait_replicas`` is then ignored); default none.
    """
    replicas, timeout, retries = durability
    last: BaseException | None = None
    for attempt in range(retries + 1):
        try:
            if replica_count is not None:
                replicas = yield from replica_count.current()
            if not replicas:
                return (yield link.run_script(script, keys, args))
            result, acked = yield link.waited(script, keys, args, replicas, timeout)
            if int(acked) >= replicas:
                return result
            last = StoreWriteFailed("store_write_not_durable", "the write did not reach enough replicas")
        except FAILURES as exc:  # a failover in progress, a stale connection: try again
            last = exc
        if replica_count is not None:
            replica_count.forget()
        delay = min(0.05 * 2**attempt, 0.5)
        yield Call(time.sleep, (delay,), afn=asyncio.sleep)
    if isinstance(last, StoreWriteFailed):
        raise last
    raise StoreWriteFailed("store_write_failed", "the store could not be written") from last


class Durable:
    """A store whose writes reach the replicas asked for, retried on a stale or failed-over connection.

    ``wait_replicas=None`` (the stores' default) waits, on a Sentinel client, for the replicas
    the primary reports; elsewhere for none. Redis Cluster does not support ``WAIT`` here.
    """

    link: Link
    client: Any
    durability: tuple[int, float, int]
    replica_count: ReplicaCount | None

    def _setup(self, link: Link, wait_replicas: int | None, wait_timeout: float, write_retries: int) -> None:
        self.link, self.client = link, link.sync
        self.wait_replicas, self.wait_timeout, self.write_retries = wait_replicas, wait_timeout, write_retries
        self.durability = (wait_replicas or 0, wait_timeout, write_retries)
        if wait_replicas and isinstance(link.sync, redis.cluster.RedisCluster):
            raise ConfigError("wait_replicas", "WAIT runs on the connection of the write; not supported on Redis Cluster")
        sentinel = isinstance(getattr(link.sync, "connection_pool", None), redis.sentinel.SentinelConnectionPool)
        self.replica_count = ReplicaCount(link) if wait_replicas is None and sentinel else None

    def _write(self, script: Script, keys: list[str], args: list[Any]) -> Flow[Any]:
        return durable_write(self.link, script, keys, args, self.durability, self.replica_count)
