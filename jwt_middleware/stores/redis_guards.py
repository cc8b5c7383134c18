"""Redis guards at the doors: the login throttle and the DPoP replay cache, shared by every process."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from ..core.revocation import digest
from .redis_client import client_for, text

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
        self.client = client_for(url_or_client, timeout)
        self._tag = "{" + prefix + "}throttle:"
        self._fail = self.client.register_script(_THROTTLE_FAIL)
        self._check = self.client.register_script(_THROTTLE_CHECK)

    def blocked(self, keys: Any, window: float) -> float:
        """See ``LoginThrottle.blocked`` (``keys`` and ``window`` too)."""
        names = [self._tag + digest(key) for key, _ in keys]
        return float(text(self._check(keys=names, args=[repr(time.time()), repr(window), *[limit for _, limit in keys]])))

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
        self.client = client_for(url_or_client, timeout)
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
