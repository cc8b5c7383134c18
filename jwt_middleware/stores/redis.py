"""Revocations and refresh families shared by every process and machine, through Redis.

    from jwt_middleware.stores.redis import RedisRefreshStore, RedisRevocationStore

    store = RedisRevocationStore("redis://10.0.0.5:6379/0")                  # one Redis
    store = RedisRevocationStore(RedisCluster.from_url("redis://10.0.0.5:7000"))   # Cluster
    store = RedisRevocationStore(Sentinel([("10.0.0.9", 26379)]).master_for("auth"), wait_replicas=1)

``pip install bearer-jwt-middleware[redis]``. Each store takes a URL or a ready client:
``redis.Redis``, ``redis.cluster.RedisCluster`` or a Sentinel ``master_for`` client, or
their ``redis.asyncio`` twins (from which the store builds a sync client to the same place:
the mirror's feed reads in a thread). Every key of a store carries one hash tag
(``{prefix}``), so a store lives in one Cluster slot and its scripts, which declare every
key they touch, stay atomic; give stores different prefixes to spread them over nodes. The awaitable forms (``revoke_jti_async``,
...) run the sync client in a worker thread: no call blocks an event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from ..core.errors import ConfigError, RevocationUnavailable
from ..core.revocation import digest, revoked_by
from ..issuing.refresh import Rotation
from .mirror import Mirror

__all__ = ["RedisDPoPReplay", "RedisLoginThrottle", "RedisRefreshStore", "RedisRevocationStore", "StoreWriteFailed"]

_FAILURES: tuple[type[BaseException], ...] = (redis.RedisError, redis.exceptions.RedisClusterException, OSError, TimeoutError)
T = TypeVar("T")


class StoreWriteFailed(RevocationUnavailable):
    """A write did not reach Redis (or the replicas that ``wait_replicas`` asks for) after every retry.

    Args:
        reason: ``store_write_failed`` or ``store_write_not_durable``.
        description: a fixed description.
    """

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(reason, description, 1)


def _client(url_or_client: Any, timeout: float) -> Any:
    if isinstance(url_or_client, str):
        return redis.Redis.from_url(  # a stale pooled connection is retried, not an outage
            url_or_client, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30, **_retrying()
        )
    if isinstance(url_or_client, redis.asyncio.Redis | redis.asyncio.RedisCluster):
        return _sync_twin(url_or_client)
    if not hasattr(url_or_client, "register_script"):
        raise ConfigError("client", "expected a redis URL, or a Redis, RedisCluster or Sentinel client (sync or asyncio)")
    return url_or_client


# What a sync twin copies from a redis.asyncio client: where and how to connect, nothing of its internals.
_SETTINGS = (
    "host", "port", "path", "db", "username", "password", "credential_provider", "client_name", "protocol",
    "socket_timeout", "socket_connect_timeout", "socket_keepalive", "encoding", "encoding_errors",
    "ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs", "ssl_ca_data", "ssl_check_hostname",
    "ssl_min_version", "ssl_ciphers", "ssl_password",
)  # fmt: skip


def _settings(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {name: kwargs[name] for name in _SETTINGS if name in kwargs}


def _retrying() -> dict[str, Any]:
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), 3)
    return {"retry": retry, "retry_on_error": [redis.ConnectionError, redis.TimeoutError]}


def _sync_twin(client: Any) -> Any:
    """A sync client to the same Redis, Cluster or Sentinel service as a ``redis.asyncio`` one.

    The mirror's feed reads in a thread and the sync calls (the WSGI adapter's) need a sync
    connection; one client given, one place to configure. The asyncio client's own pool is
    left to its owner.
    """
    node_class: Any = redis.cluster.ClusterNode  # redis-py leaves these untyped
    sentinel_class: Any = redis.sentinel.Sentinel
    if isinstance(client, redis.asyncio.RedisCluster):
        nodes = [node_class(node.host, node.port) for node in client.get_nodes() or client.startup_nodes]
        return redis.cluster.RedisCluster(startup_nodes=nodes, **_settings(client.connection_kwargs))
    pool = client.connection_pool
    if isinstance(pool, redis.asyncio.sentinel.SentinelConnectionPool):
        manager = pool.sentinel_manager
        addresses = [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"])
                     for s in manager.sentinels]  # fmt: skip
        sentinel = sentinel_class(
            addresses, min_other_sentinels=manager.min_other_sentinels,
            sentinel_kwargs=_settings(manager.sentinel_kwargs), **_settings(manager.connection_kwargs),
        )  # fmt: skip
        return sentinel.master_for(pool.service_name, **_settings(pool.connection_kwargs), **_retrying())
    kind = pool.connection_class
    if issubclass(kind, redis.asyncio.connection.UnixDomainSocketConnection):
        connection: type[Any] = redis.UnixDomainSocketConnection
    elif issubclass(kind, redis.asyncio.connection.SSLConnection):
        connection = redis.SSLConnection
    else:
        connection = redis.Connection
    settings = _settings(pool.connection_kwargs) | _retrying()
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=connection, **settings))


class _Durable:
    """Writes that reach the replicas asked for, retried on a stale or failed-over connection."""

    client: Any
    wait_replicas: int
    wait_timeout: float
    write_retries: int

    def _setup(self, client: Any, wait_replicas: int, wait_timeout: float, write_retries: int) -> None:
        self.client = client
        self.wait_replicas, self.wait_timeout, self.write_retries = wait_replicas, wait_timeout, write_retries
        if wait_replicas and isinstance(client, redis.cluster.RedisCluster):
            raise ConfigError("wait_replicas", "WAIT runs on the connection of the write; not supported on Redis Cluster")

    def _write(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run a script (idempotent by design), then WAIT on the same connection; retried on failure."""
        last: BaseException | None = None
        for attempt in range(self.write_retries + 1):
            try:
                if not self.wait_replicas:
                    return script(keys=keys, args=args)
                pipe = self.client.pipeline(transaction=False)
                script(keys=keys, args=args, client=pipe)
                pipe.execute_command("WAIT", self.wait_replicas, int(self.wait_timeout * 1000))
                result, acked = pipe.execute()
                if int(acked) >= self.wait_replicas:
                    return result
                last = StoreWriteFailed("store_write_not_durable", "the write did not reach enough replicas")
            except _FAILURES as exc:  # a failover in progress, a stale connection: try again
                last = exc
            time.sleep(min(0.05 * 2**attempt, 0.5))
        if isinstance(last, StoreWriteFailed):
            raise last
        raise StoreWriteFailed("store_write_failed", "the store could not be written") from last


async def _in_thread(call: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(call, *args)


_REVOKE = """
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'k', ARGV[3], 'm', ARGV[1], 's', ARGV[2])
"""


class RedisRevocationStore(_Durable):
    """A ``jti`` deny-list and per-subject "not before" times in Redis, mirrored in each process.

    Checking a token costs no round trip: a thread keeps a local mirror current through
    a Redis stream. While the feed has been silent for more than ``max_staleness_seconds``
    the store raises ``RevocationUnavailable`` instead of answering, and the middleware's
    outage policy decides (closed by default, or ``revocation_fail_open``).

    Args:
        url_or_client: a ``redis://`` URL, or a ready client (``redis.Redis``,
            ``RedisCluster``, a Sentinel ``master_for`` client, or their ``redis.asyncio``
            twins, for which a sync client to the same place is built). Default
            ``redis://127.0.0.1:6379/0``.
        prefix: the keys' hash tag and prefix (default ``jwt_middleware:``).
        timeout: seconds for a connect or a reply, for a client built from a URL (default 0.5).
        max_staleness_seconds: how long the mirror may go without word from the feed
            before checks fail (default 5): the bound on how late a revocation can be seen.
        max_token_lifetime: how long a subject's "not before" is kept, in seconds (default a
            day; make it at least your longest token lifetime).
        mirror_max_entries: the most revocations mirrored (default 1,000,000); past it,
            checks ask Redis per request.
        wait_replicas: replicas a write must reach before it returns (``WAIT``); default 0.
        wait_timeout: seconds ``WAIT`` waits (default 0.5).
        write_retries: retries of a failed write (default 3).
        feed_max_length: about how many entries the stream keeps (default 100,000).
    """

    def __init__(
        self,
        url_or_client: Any = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "jwt_middleware:",
        timeout: float = 0.5,
        max_staleness_seconds: float = 5.0,
        max_token_lifetime: float = 86400,
        mirror_max_entries: int = 1_000_000,
        wait_replicas: int = 0,
        wait_timeout: float = 0.5,
        write_retries: int = 3,
        feed_max_length: int = 100_000,
    ) -> None:
        self._setup(_client(url_or_client, timeout), wait_replicas, wait_timeout, write_retries)
        self.prefix = prefix
        self.max_staleness_seconds = max_staleness_seconds
        self.max_token_lifetime = max_token_lifetime
        self.feed_max_length = feed_max_length
        tag = "{" + prefix + "}"
        self.keys = (tag + "jti", tag + "sub", tag + "feed")
        self._revoke = self.client.register_script(_REVOKE)
        self.mirror = Mirror(self.client, self.keys, max_token_lifetime, mirror_max_entries)
        self.mirror.loaded.wait(max(2 * timeout, 1.0))  # at start-up: a cold mirror answers nothing

    def __repr__(self) -> str:
        return f"RedisRevocationStore(prefix={self.prefix!r})"

    # -- writing ---------------------------------------------------------------------------
    def revoke_jti(self, jti: str, expires_at: float) -> None:
        """Deny this ``jti`` until ``expires_at``, when the token is dead anyway.

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds; the entry is dropped after it (use the token's ``exp``).
        """
        now = time.time()
        if expires_at > now:
            self._put("jti", digest(jti), expires_at, now)

    def revoke_subject(self, sub: str, before: float | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``before`` (logout everywhere).

        Args:
            sub: the subject.
            before: Unix seconds; default now. Tokens with a later ``iat`` stay valid.
        """
        now = time.time()
        self._put("sub", digest(sub), now if before is None else before, now - self.max_token_lifetime)

    async def revoke_jti_async(self, jti: str, expires_at: float) -> None:
        """``revoke_jti`` for ``async def`` code: the write runs in a worker thread.

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds.
        """
        await _in_thread(self.revoke_jti, jti, expires_at)

    async def revoke_subject_async(self, sub: str, before: float | None = None) -> None:
        """``revoke_subject`` for ``async def`` code.

        Args:
            sub: the subject.
            before: Unix seconds; default now.
        """
        await _in_thread(self.revoke_subject, sub, before)

    def _put(self, kind: str, member: str, score: float, drop_below: float) -> None:
        key = self.keys[0] if kind == "jti" else self.keys[1]
        self._write(self._revoke, [key, self.keys[2]], [member, repr(score), kind, drop_below, self.feed_max_length])
        self.mirror.put(kind, member, score)  # this process sees its own write at once

    # -- reading ---------------------------------------------------------------------------
    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token is revoked, from the mirror (no round trip).

        Args:
            claims: the token's verified claims (``jti``, ``sub`` and ``iat`` are read).
        """
        mirror = self.mirror
        if mirror.overflow:
            return self._ask(claims)
        now = time.time()
        jti, sub = claims.get("jti"), claims.get("sub")
        listed = isinstance(jti, str) and mirror.jti.get(digest(jti), 0.0) > now
        not_before = mirror.sub.get(digest(sub)) if isinstance(sub, str) else None
        if not_before is not None and not_before <= now - self.max_token_lifetime:
            not_before = None
        if revoked_by(claims, listed, not_before):
            return True  # a revocation stands until it expires: a stale mirror still knows it
        if mirror.stale(self.max_staleness_seconds):  # only "not revoked" is in doubt
            retry = max(1, round(self.max_staleness_seconds))
            raise RevocationUnavailable("revocation_stale", "the revocation feed is down", retry)
        return False

    async def is_revoked_async(self, claims: Mapping[str, Any]) -> bool:
        """``is_revoked``; a mirror lookup never waits, so it is the same call.

        Args:
            claims: the token's verified claims.
        """
        if self.mirror.overflow:
            return await _in_thread(self.is_revoked, claims)
        return self.is_revoked(claims)

    def _ask(self, claims: Mapping[str, Any]) -> bool:
        """The deny-list is larger than the mirror: ask Redis (both keys in one slot, one round trip)."""
        jti, sub = claims.get("jti"), claims.get("sub")
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.zscore(self.keys[0], digest(jti) if isinstance(jti, str) else "")
            pipe.zscore(self.keys[1], digest(sub) if isinstance(sub, str) else "")
            expiry, not_before = pipe.execute()
        except _FAILURES as exc:
            raise RevocationUnavailable("revocation_unavailable", "revocation store is unavailable", 1) from exc
        now = time.time()
        fresh = not_before is not None and float(not_before) > now - self.max_token_lifetime
        return revoked_by(claims, expiry is not None and float(expiry) > now, float(not_before) if fresh else None)

    def close(self) -> None:
        """Stop the feed and close the connections."""
        self.mirror.stop()
        self.client.close()


_ROTATE = """
local family = redis.call('GET', KEYS[1])
if not family or family ~= ARGV[7] or redis.call('EXISTS', KEYS[2]) == 0 then return {'invalid', '', ''} end
local current = redis.call('HGET', KEYS[2], 'current')
local data = redis.call('HGET', KEYS[2], 'data')
local jti = redis.call('HGET', KEYS[2], 'access_jti')
if ARGV[4] == 'revoke' then
  redis.call('HSET', KEYS[2], 'revoked', '1')
  return {'ok', data, jti}
end
if redis.call('HGET', KEYS[2], 'revoked') == '1' then return {'revoked', data, jti} end
if current == ARGV[2] then return {'ok', data, ''} end
if current ~= ARGV[1] then
  local previous = redis.call('HGET', KEYS[2], 'previous')
  local rotated = tonumber(redis.call('HGET', KEYS[2], 'rotated_at') or '0')
  if previous ~= ARGV[1] or tonumber(ARGV[5]) - rotated > tonumber(ARGV[6]) then
    redis.call('HSET', KEYS[2], 'revoked', '1')
    return {'reused', data, jti}
  end
else
  redis.call('HSET', KEYS[2], 'previous', ARGV[1], 'rotated_at', ARGV[5])
end
redis.call('HSET', KEYS[2], 'current', ARGV[2], 'access_jti', ARGV[3])
redis.call('SET', KEYS[3], ARGV[7], 'PX', redis.call('PTTL', KEYS[2]))
return {'ok', data, jti}
"""
_CREATE = """
redis.call('HSET', KEYS[1], 'current', ARGV[1], 'data', ARGV[2], 'access_jti', ARGV[3], 'revoked', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])
return 1
"""


class RedisRefreshStore(_Durable):
    """Refresh-token families in Redis (a ``RefreshStore``), rotated atomically by one script.

    Keys, all under one hash tag: ``{prefix}rt:<digest>`` -> family, and ``{prefix}fam:<family>``
    (a hash of the current and previous digests, the family data, the latest access ``jti``,
    a revoked flag), expiring with the family. A rotation retried with the same new digest
    is answered ``ok`` again, so a write retried after a lost reply never counts as reuse.

    Args:
        url_or_client: a URL or a ready client, sync or ``redis.asyncio``, as for ``RedisRevocationStore``.
        prefix: the keys' hash tag and prefix (default ``jwt_middleware:``).
        timeout: seconds for a connect or a reply, for a client built from a URL (default 0.5).
        wait_replicas: replicas a write must reach before it returns (``WAIT``); default 0.
        wait_timeout: seconds ``WAIT`` waits (default 0.5).
        write_retries: retries of a failed write (default 3).
    """

    def __init__(
        self,
        url_or_client: Any = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "jwt_middleware:",
        timeout: float = 0.5,
        wait_replicas: int = 0,
        wait_timeout: float = 0.5,
        write_retries: int = 3,
    ) -> None:
        self._setup(_client(url_or_client, timeout), wait_replicas, wait_timeout, write_retries)
        self.prefix = prefix
        self._tag = "{" + prefix + "}"
        self._rotate = self.client.register_script(_ROTATE)
        self._create = self.client.register_script(_CREATE)

    def create(self, family: str, token_hash: str, data: Mapping[str, Any], access_jti: str, expires_at: float) -> None:
        """Start a family (``RefreshStore.create``).

        See there for ``family``, ``token_hash``, ``data``, ``access_jti`` and ``expires_at``.
        """
        ttl_ms = max(1, int((expires_at - time.time()) * 1000))
        keys = [f"{self._tag}fam:{family}", f"{self._tag}rt:{token_hash}"]
        self._write(self._create, keys, [token_hash, json.dumps(dict(data)), access_jti, ttl_ms, family])

    def rotate(self, token_hash: str, new_hash: str, access_jti: str, family: str = "", grace_seconds: float = 0.0) -> Rotation:
        """Spend ``token_hash`` for ``new_hash`` atomically; see ``RefreshStore.rotate`` (``access_jti``,
        ``family`` and ``grace_seconds`` too)."""
        return self._run(token_hash, new_hash, access_jti, "rotate", family, grace_seconds)

    def revoke(self, token_hash: str, family: str = "") -> Rotation:
        """Revoke the family of ``token_hash``; see ``RefreshStore.revoke`` (``family`` too)."""
        return self._run(token_hash, "", "", "revoke", family, 0.0)

    def _run(self, token_hash: str, new_hash: str, access_jti: str, mode: str, family: str, grace: float) -> Rotation:
        keys = [f"{self._tag}rt:{token_hash}", f"{self._tag}fam:{family}", f"{self._tag}rt:{new_hash or token_hash}"]
        args = [token_hash, new_hash, access_jti, mode, repr(time.time()), repr(grace), family]
        outcome, data, jti = (_text(v) for v in self._write(self._rotate, keys, args))
        return Rotation(outcome, json.loads(data) if data else {}, jti or None)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


_THROTTLE_FAIL = """
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1] - ARGV[2])
  redis.call('ZADD', key, ARGV[1], ARGV[1] .. ':' .. ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(ARGV[2] * 1000))
end
return 1
"""
_THROTTLE_CHECK = """
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1] - ARGV[2])
  local limit = tonumber(ARGV[2 + i])
  local times = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local count = #times / 2
  if count >= limit then
    local oldest_counted = tonumber(times[(count - limit) * 2 + 2])
    wait = math.max(wait, oldest_counted + ARGV[2] - ARGV[1])
  end
end
return tostring(wait)
"""


class RedisLoginThrottle:
    """Failed logins in Redis (a ``LoginThrottle``), shared by every process; one sorted set per key.

    Keys are ``{prefix}throttle:<key>``, all under one hash tag, so the scripts that touch
    an account's and an address's counts at once stay in one Cluster slot.

    Args:
        url_or_client: a URL or a ready client, sync or ``redis.asyncio``, as for ``RedisRevocationStore``.
        prefix: the keys' hash tag and prefix (default ``jwt_middleware:``).
        timeout: seconds for a connect or a reply, for a client built from a URL (default 0.5).
    """

    def __init__(
        self, url_or_client: Any = "redis://127.0.0.1:6379/0", *, prefix: str = "jwt_middleware:", timeout: float = 0.5
    ) -> None:
        self.client = _client(url_or_client, timeout)
        self._tag = "{" + prefix + "}throttle:"
        self._fail = self.client.register_script(_THROTTLE_FAIL)
        self._check = self.client.register_script(_THROTTLE_CHECK)

    def blocked(self, keys: Any, window: float) -> float:
        """See ``LoginThrottle.blocked`` (``keys`` and ``window`` too)."""
        names = [self._tag + digest(key) for key, _ in keys]
        return float(_text(self._check(keys=names, args=[repr(time.time()), repr(window), *[limit for _, limit in keys]])))

    def failed(self, keys: Any, window: float) -> None:
        """See ``LoginThrottle.failed`` (``keys`` and ``window`` too)."""
        self._fail(keys=[self._tag + digest(key) for key in keys], args=[repr(time.time()), repr(window), uuid.uuid4().hex])

    def succeeded(self, key: str) -> None:
        """See ``LoginThrottle.succeeded`` (``key`` too)."""
        self.client.delete(self._tag + digest(key))

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


class RedisDPoPReplay:
    """The DPoP replay cache (a ``Replay``) shared by every process: one ``SET NX PX`` per proof.

    A proof's key is recorded until the proof is too old to be accepted anyway, so Redis
    forgets it on its own and the cache needs no bound of ours. Each entry is a single
    key, with no hash tag: on a Cluster the entries spread over every node, as they should
    for a write on every DPoP request. A Redis that cannot answer makes the middleware
    refuse with 503 (``dpop_replay_unavailable``), never pass a proof it cannot check.

    Args:
        url_or_client: a URL or a ready client, sync or ``redis.asyncio``, as for ``RedisRevocationStore``.
        prefix: the keys' prefix (default ``jwt_middleware:``); keys are ``<prefix>dpop:<digest>``.
        timeout: seconds for a connect or a reply, for a client built from a URL (default 0.5).
    """

    def __init__(
        self, url_or_client: Any = "redis://127.0.0.1:6379/0", *, prefix: str = "jwt_middleware:", timeout: float = 0.5
    ) -> None:
        self.client = _client(url_or_client, timeout)
        self._prefix = prefix.replace("{", "").replace("}", "") + "dpop:"

    def claim(self, key: str, until: float) -> bool:
        """See ``Replay.claim`` (``key`` and ``until`` too)."""
        ttl_ms = max(1, int((until - time.time()) * 1000) + 1)
        return bool(self.client.set(self._prefix + digest(key), b"1", nx=True, px=ttl_ms))

    async def claim_async(self, key: str, until: float) -> bool:
        """``claim`` in a worker thread, for the ASGI adapter: no call blocks the event loop.

        Args:
            key: as for ``claim``.
            until: as for ``claim``.
        """
        return await asyncio.to_thread(self.claim, key, until)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
