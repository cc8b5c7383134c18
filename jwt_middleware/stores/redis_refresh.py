"""``RedisRefreshStore``: refresh-token families in Redis, rotated atomically by one script."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..core.flow import Flow, run
from ..core.stores import Rotation
from .redis_client import text
from .redis_link import Durable, Link

__all__ = ["RedisRefreshStore"]

# KEYS: rt:<presented>, fam:<family>, rt:<successor>, acc:<family> (access jti -> expiry).
# ARGV: presented, successor digest, access jti, mode, access expiry, grace, family, sealed successor, most access jtis.
# The window is measured by Redis's own clock (TIME), so no caller's clock can widen it.
_ROTATE = """
local family = redis.call('GET', KEYS[1])
if not family or family ~= ARGV[7] or redis.call('EXISTS', KEYS[2]) == 0 then return {'invalid', '', '', {}} end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local data = redis.call('HGET', KEYS[2], 'data')
local function issued()
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 60)
  return redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
end
local function record()
  redis.call('ZADD', KEYS[4], 'GT', ARGV[5], ARGV[3])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 60)
  local over = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[9])
  local evicted = {}
  if over > 0 then evicted = redis.call('ZPOPMIN', KEYS[4], over) end
  redis.call('PEXPIRE', KEYS[4], redis.call('PTTL', KEYS[2]))
  return evicted
end
if ARGV[4] == 'revoke' then
  redis.call('HSET', KEYS[2], 'revoked', '1')
  return {'ok', data, '', issued()}
end
if redis.call('HGET', KEYS[2], 'revoked') == '1' then return {'revoked', data, '', {}} end
local current = redis.call('HGET', KEYS[2], 'current')
if current == ARGV[2] then return {'ok', data, redis.call('HGET', KEYS[2], 'next') or '', {}} end
if current == ARGV[1] then
  redis.call('HSET', KEYS[2], 'previous', ARGV[1], 'rotated_at', tostring(now), 'current', ARGV[2], 'next', ARGV[8])
  redis.call('SET', KEYS[3], ARGV[7], 'PX', redis.call('PTTL', KEYS[2]))
  return {'ok', data, ARGV[8], record()}
end
local rotated = tonumber(redis.call('HGET', KEYS[2], 'rotated_at') or '0')
if redis.call('HGET', KEYS[2], 'previous') == ARGV[1] and now - rotated < tonumber(ARGV[6]) then
  return {'ok', data, redis.call('HGET', KEYS[2], 'next') or '', record()}
end
redis.call('HSET', KEYS[2], 'revoked', '1')
return {'reused', data, '', issued()}
"""
_CREATE = """
redis.call('HSET', KEYS[1], 'current', ARGV[1], 'data', ARGV[2], 'revoked', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return 1
"""
MAX_FAMILY_ACCESS = 64  # access tokens a family keeps for its revocation; past it the oldest is denied at once


class RedisRefreshStore(Durable):
    """Refresh-token families in Redis (a ``RefreshStore``), rotated atomically by one script.

    Keys, all under one hash tag: ``{prefix}rt:<digest>`` -> family, ``{prefix}fam:<family>``
    (a hash of the current and previous digests, the time of the last rotation by Redis's
    clock, the sealed successor for a retry, the family data and a revoked flag) and
    ``{prefix}acc:<family>`` (every access ``jti`` the family issued, scored by expiry, at
    most ``MAX_FAMILY_ACCESS``), expiring with the family. A rotation retried with the same
    new digest is answered ``ok`` again, so a write retried after a lost reply never counts
    as reuse.

    Args:
        url_or_client: a URL or a ready client, sync or ``redis.asyncio``, as for ``RedisRevocationStore``.
        prefix: the keys' hash tag and prefix (default ``jwt_middleware:``).
        timeout: seconds for a connect or a reply, for a client built from a URL (default 0.5).
        wait_replicas: replicas a write must reach before it returns (``WAIT``); default ``None``:
            on a Sentinel client, the replicas the primary reports; elsewhere none.
        wait_timeout: seconds ``WAIT`` waits (default 0.5).
        write_retries: retries of a failed write (default 3).
    """

    def __init__(
        self,
        url_or_client: Any = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "jwt_middleware:",
        timeout: float = 0.5,
        wait_replicas: int | None = None,
        wait_timeout: float = 0.5,
        write_retries: int = 3,
    ) -> None:
        self._setup(Link(url_or_client, timeout), wait_replicas, wait_timeout, write_retries)
        self.prefix = prefix
        self._tag = "{" + prefix + "}"
        self._rotate = self.link.script(_ROTATE)
        self._create = self.link.script(_CREATE)

    def create(
        self,
        family: str,
        token_hash: str,
        data: Mapping[str, Any],
        access_jti: str,
        expires_at: float,
        access_expires_at: float = 0.0,
    ) -> None:
        """Start a family (``RefreshStore.create``).

        See there for ``family``, ``token_hash``, ``data``, ``access_jti``, ``expires_at`` and ``access_expires_at``.
        """
        run(self._created(family, token_hash, data, access_jti, expires_at, access_expires_at))

    async def create_async(
        self,
        family: str,
        token_hash: str,
        data: Mapping[str, Any],
        access_jti: str,
        expires_at: float,
        access_expires_at: float = 0.0,
    ) -> None:
        """``create`` for asyncio: on the ``redis.asyncio`` client when given, else in a worker thread (arguments as there).

        Arguments as for ``RefreshStore.create``:
        ``family``, ``token_hash``, ``data``, ``access_jti``, ``expires_at``, ``access_expires_at``.
        """
        await self.link.drive(self._created(family, token_hash, data, access_jti, expires_at, access_expires_at))

    def rotate(
        self,
        token_hash: str,
        new_hash: str,
        access_jti: str,
        family: str = "",
        grace_seconds: float = 0.0,
        successor: str = "",
        access_expires_at: float = 0.0,
    ) -> Rotation:
        """Spend ``token_hash`` for ``new_hash`` atomically; see ``RefreshStore.rotate`` (the other arguments too).

        Arguments as for ``RefreshStore.rotate``:
        ``access_jti``, ``family``, ``grace_seconds``, ``successor``, ``access_expires_at``.
        """
        args = (token_hash, new_hash, access_jti, family, grace_seconds, successor, access_expires_at)
        return run(self._rotation("rotate", *args))

    async def rotate_async(
        self,
        token_hash: str,
        new_hash: str,
        access_jti: str,
        family: str = "",
        grace_seconds: float = 0.0,
        successor: str = "",
        access_expires_at: float = 0.0,
    ) -> Rotation:
        """``rotate`` for asyncio, as ``create_async`` (arguments as there).

        Arguments as for ``RefreshStore.rotate``:
        ``token_hash``, ``new_hash``, ``access_jti``, ``family``, ``grace_seconds``, ``successor``,
        ``access_expires_at``.
        """
        args = (token_hash, new_hash, access_jti, family, grace_seconds, successor, access_expires_at)
        return await self.link.drive(self._rotation("rotate", *args))

    def revoke(self, token_hash: str, family: str = "") -> Rotation:
        """Revoke the family of ``token_hash``; see ``RefreshStore.revoke`` (``family`` too)."""
        return run(self._rotation("revoke", token_hash, "", "", family))

    async def revoke_async(self, token_hash: str, family: str = "") -> Rotation:
        """``revoke`` for asyncio, as ``create_async`` (``token_hash`` and ``family`` as there)."""
        return await self.link.drive(self._rotation("revoke", token_hash, "", "", family))

    def _created(
        self, family: str, token_hash: str, data: Mapping[str, Any], access_jti: str, expires_at: float, access_expires: float
    ) -> Flow[None]:
        ttl_ms = max(1, int((expires_at - time.time()) * 1000))
        keys = [f"{self._tag}fam:{family}", f"{self._tag}rt:{token_hash}", f"{self._tag}acc:{family}"]
        args = [token_hash, json.dumps(dict(data)), access_jti, ttl_ms, family, repr(access_expires or expires_at)]
        yield from self._write(self._create, keys, args)

    def _rotation(
        self,
        mode: str,
        token_hash: str,
        new_hash: str,
        access_jti: str,
        family: str,
        grace: float = 0.0,
        successor: str = "",
        access_expires: float = 0.0,
    ) -> Flow[Rotation]:
        keys = [
            f"{self._tag}rt:{token_hash}",
            f"{self._tag}fam:{family}",
            f"{self._tag}rt:{new_hash or token_hash}",
            f"{self._tag}acc:{family}",
        ]
        expiry = access_expires or time.time() + 86400
        args = [token_hash, new_hash, access_jti, mode, repr(expiry), repr(grace), family, successor, MAX_FAMILY_ACCESS]
        outcome, data, sealed, access = yield from self._write(self._rotate, keys, args)
        pairs = tuple((text(access[i]), float(access[i + 1])) for i in range(0, len(access), 2))
        return Rotation(text(outcome), json.loads(data) if data else {}, None, pairs, text(sealed))

    def close(self) -> None:
        """Close the sync client's connection pool (a ``redis.asyncio`` client given stays its owner's)."""
        self.link.close()
