"""Redis guards at the doors: the login throttle and the DPoP replay cache, shared by every process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..core.flow import Flow, run
from ..core.revocation import digest
from .redis_client import text
from .redis_link import Link

__all__ = ["RedisDPoPReplay", "RedisLoginThrottle"]

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
_THROTTLE_ADMIT = """
local now, window, wait = tonumber(ARGV[1]), tonumber(ARGV[2]), 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local limit = tonumber(ARGV[3 + i])
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = now
    if limit > 0 then oldest = tonumber(redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')[2]) end
    wait = math.max(wait, oldest + window - now, 0.001)
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
end
return '0'
"""
_THROTTLE_RELEASE = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  redis.call('ZREM', KEYS[i], ARGV[1])
end
return 1
"""


class RedisLoginThrottle:
    """Login attempts in Redis (a ``LoginThrottle``), shared by every process; one sorted set per key.

    Keys are ``{prefix}throttle:<digest of the key>``, all under one hash tag, so the scripts
    that touch an account's and an address's counts at once stay in one Cluster slot.
    ``admit`` is one script: the check and the count are atomic across every process.

    Args:
        url_or_client: a URL or a ready client, sync or ``redis.asyncio``, as for ``RedisRevocationStore``.
        prefix: the keys' hash tag and prefix (default ``jwt_middleware:``).
        timeout: seconds for a connect or a reply, for a client built from a URL (default 0.5).
    """

    def __init__(
        self, url_or_client: Any = "redis://127.0.0.1:6379/0", *, prefix: str = "jwt_middleware:", timeout: float = 0.5
    ) -> None:
        self.link = Link(url_or_client, timeout)
        self.client = self.link.sync
        self._tag = "{" + prefix + "}throttle:"
        self._fail = self.link.script(_THROTTLE_FAIL)
        self._check = self.link.script(_THROTTLE_CHECK)
        self._admit = self.link.script(_THROTTLE_ADMIT)
        self._release = self.link.script(_THROTTLE_RELEASE)

    def admit(self, keys: Sequence[tuple[str, int]], window: float, attempt: str) -> float:
        """See ``LoginThrottle.admit`` (``keys``, ``window`` and ``attempt`` too)."""
        return run(self._admitted(keys, window, attempt))

    async def admit_async(self, keys: Sequence[tuple[str, int]], window: float, attempt: str) -> float:
        """``admit`` for asyncio: on the ``redis.asyncio`` client when given, else in a worker thread.

        Args:
            keys: as for ``admit``.
            window: as for ``admit``.
            attempt: as for ``admit``.
        """
        return await self.link.drive(self._admitted(keys, window, attempt))

    def release(self, account: str, others: Sequence[str], attempt: str) -> None:
        """See ``LoginThrottle.release`` (``account``, ``others`` and ``attempt`` too)."""
        run(self._released(account, others, attempt))

    async def release_async(self, account: str, others: Sequence[str], attempt: str) -> None:
        """``release`` for asyncio, as ``admit_async``.

        Args:
            account: as for ``release``.
            others: as for ``release``.
            attempt: as for ``release``.
        """
        await self.link.drive(self._released(account, others, attempt))

    def blocked(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """See ``LegacyLoginThrottle.blocked`` (``keys`` and ``window`` too)."""
        return run(self._blocked(keys, window))

    async def blocked_async(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """``blocked`` for asyncio: on the ``redis.asyncio`` client when given, else in a worker thread.

        Args:
            keys: as for ``blocked``.
            window: as for ``blocked``.
        """
        return await self.link.drive(self._blocked(keys, window))

    def failed(self, keys: Sequence[str], window: float) -> None:
        """See ``LegacyLoginThrottle.failed`` (``keys`` and ``window`` too)."""
        run(self._failed(keys, window))

    async def failed_async(self, keys: Sequence[str], window: float) -> None:
        """``failed`` for asyncio, as ``blocked_async``.

        Args:
            keys: as for ``failed``.
            window: as for ``failed``.
        """
        await self.link.drive(self._failed(keys, window))

    def succeeded(self, key: str) -> None:
        """See ``LegacyLoginThrottle.succeeded`` (``key`` too)."""
        run(self._succeeded(key))

    async def succeeded_async(self, key: str) -> None:
        """``succeeded`` for asyncio, as ``blocked_async``.

        Args:
            key: as for ``succeeded``.
        """
        await self.link.drive(self._succeeded(key))

    def _admitted(self, keys: Sequence[tuple[str, int]], window: float, attempt: str) -> Flow[float]:
        names = [self._tag + digest(key) for key, _ in keys]
        args = [repr(time.time()), repr(window), attempt, *[limit for _, limit in keys]]
        return float(text((yield self.link.run_script(self._admit, names, args))))

    def _released(self, account: str, others: Sequence[str], attempt: str) -> Flow[None]:
        names = [self._tag + digest(key) for key in (account, *others)]
        yield self.link.run_script(self._release, names, [attempt])

    def _blocked(self, keys: Sequence[tuple[str, int]], window: float) -> Flow[float]:
        names = [self._tag + digest(key) for key, _ in keys]
        args = [repr(time.time()), repr(window), *[limit for _, limit in keys]]
        return float(text((yield self.link.run_script(self._check, names, args))))

    def _failed(self, keys: Sequence[str], window: float) -> Flow[None]:
        names = [self._tag + digest(key) for key in keys]
        yield self.link.run_script(self._fail, names, [repr(time.time()), repr(window), uuid.uuid4().hex])

    def _succeeded(self, key: str) -> Flow[None]:
        yield self.link.call("delete", self._tag + digest(key))

    def close(self) -> None:
        """Close the sync client's connection pool (a ``redis.asyncio`` client given stays its owner's)."""
        self.link.close()


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
        self.link = Link(url_or_client, timeout)
        self.client = self.link.sync
        self._prefix = prefix.replace("{", "").replace("}", "") + "dpop:"

    def claim(self, key: str, until: float) -> bool:
        """See ``Replay.claim`` (``key`` and ``until`` too)."""
        return run(self._claimed(key, until))

    async def claim_async(self, key: str, until: float) -> bool:
        """``claim`` for the ASGI adapter: on the ``redis.asyncio`` client when given, else in a worker thread.

        Args:
            key: as for ``claim``.
            until: as for ``claim``.
        """
        return await self.link.drive(self._claimed(key, until))

    def _claimed(self, key: str, until: float) -> Flow[bool]:
        ttl_ms = max(1, int((until - time.time()) * 1000) + 1)
        return bool((yield self.link.call("set", self._prefix + digest(key), b"1", nx=True, px=ttl_ms)))

    def close(self) -> None:
        """Close the sync client's connection pool (a ``redis.asyncio`` client given stays its owner's)."""
        self.link.close()
