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


class RedisRefreshStore(Durable):
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
        self._setup(Link(url_or_client, timeout), wait_replicas, wait_timeout, write_retries)
        self.prefix = prefix
        self._tag = "{" + prefix + "}"
        self._rotate = self.link.script(_ROTATE)
        self._create = self.link.script(_CREATE)

    def create(self, family: str, token_hash: str, data: Mapping[str, Any], access_jti: str, expires_at: float) -> None:
        """Start a family (``RefreshStore.create``).

        See there for ``family``, ``token_hash``, ``data``, ``access_jti`` and ``expires_at``.
        """
        run(self._created(family, token_hash, data, access_jti, expires_at))

    async def create_async(
        self, family: str, token_hash: str, data: Mapping[str, Any], access_jti: str, expires_at: float
    ) -> None:
        """``create`` for asyncio: on the ``redis.asyncio`` client when given, else in a worker thread.

        ``family``, ``token_hash``, ``data``, ``access_jti`` and ``expires_at`` as there.
        """
        await self.link.drive(self._created(family, token_hash, data, access_jti, expires_at))

    def rotate(self, token_hash: str, new_hash: str, access_jti: str, family: str = "", grace_seconds: float = 0.0) -> Rotation:
        """Spend ``token_hash`` for ``new_hash`` atomically; see ``RefreshStore.rotate`` (``access_jti``,
        ``family`` and ``grace_seconds`` too)."""
        return run(self._rotation(token_hash, new_hash, access_jti, "rotate", family, grace_seconds))

    async def rotate_async(
        self, token_hash: str, new_hash: str, access_jti: str, family: str = "", grace_seconds: float = 0.0
    ) -> Rotation:
        """``rotate`` for asyncio, as ``create_async``.

        ``token_hash``, ``new_hash``, ``access_jti``, ``family`` and ``grace_seconds`` as there.
        """
        return await self.link.drive(self._rotation(token_hash, new_hash, access_jti, "rotate", family, grace_seconds))

    def revoke(self, token_hash: str, family: str = "") -> Rotation:
        """Revoke the family of ``token_hash``; see ``RefreshStore.revoke`` (``family`` too)."""
        return run(self._rotation(token_hash, "", "", "revoke", family, 0.0))

    async def revoke_async(self, token_hash: str, family: str = "") -> Rotation:
        """``revoke`` for asyncio, as ``create_async`` (``token_hash`` and ``family`` as there)."""
        return await self.link.drive(self._rotation(token_hash, "", "", "revoke", family, 0.0))

    def _created(self, family: str, token_hash: str, data: Mapping[str, Any], access_jti: str, expires_at: float) -> Flow[None]:
        ttl_ms = max(1, int((expires_at - time.time()) * 1000))
        keys = [f"{self._tag}fam:{family}", f"{self._tag}rt:{token_hash}"]
        yield from self._write(self._create, keys, [token_hash, json.dumps(dict(data)), access_jti, ttl_ms, family])

    def _rotation(self, token_hash: str, new_hash: str, access_jti: str, mode: str, family: str, grace: float) -> Flow[Rotation]:
        keys = [f"{self._tag}rt:{token_hash}", f"{self._tag}fam:{family}", f"{self._tag}rt:{new_hash or token_hash}"]
        args = [token_hash, new_hash, access_jti, mode, repr(time.time()), repr(grace), family]
        outcome, data, jti = (text(v) for v in (yield from self._write(self._rotate, keys, args)))
        return Rotation(outcome, json.loads(data) if data else {}, jti or None)

    def close(self) -> None:
        """Close the sync client's connection pool (a ``redis.asyncio`` client given stays its owner's)."""
        self.link.close()
