"""Revocations shared by every process and machine, through Redis (``pip install bearer-jwt-middleware[redis]``).

    from jwt_middleware.stores.redis import RedisRevocationStore
    store = RedisRevocationStore("redis://10.0.0.5:6379/0")
    JWTMiddleware(app, settings={..., "revocation": store})

One round trip per request (``MGET`` of the token's ``jti`` key and its subject's key),
with a short timeout; after a failure Redis is not asked again for ``retry_seconds``, so a
stuck Redis never stalls requests. Failures raise ``RevocationUnavailable``; the
middleware then refuses (503, the default) or, with ``revocation_fail_open``, lets the
token through and logs it.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio

from ..core.errors import RevocationUnavailable
from ..core.revocation import digest, revoked_by
from ..issuing.refresh import Rotation

__all__ = ["RedisRefreshStore", "RedisRevocationStore"]

_FAILURES = (redis.RedisError, OSError, TimeoutError, asyncio.TimeoutError)


class RedisRevocationStore:
    """A ``jti`` deny-list and per-subject "not before" times in Redis.

    Args:
        url: where Redis is (``redis://`` or ``rediss://``); default ``redis://127.0.0.1:6379/0``.
        prefix: put before every key; default ``jwt_middleware:``.
        timeout: seconds for a connect or a reply (default 0.1).
        retry_seconds: how long to stop asking after a failure (default 1).
        max_token_lifetime: how long a subject's "not before" is kept, in seconds (default one
            day; make it at least your longest token lifetime).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "jwt_middleware:",
        timeout: float = 0.1,
        retry_seconds: float = 1.0,
        max_token_lifetime: float = 86400,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.max_token_lifetime = max_token_lifetime
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = weakref.WeakKeyDictionary()
        self._down_until = 0.0

    def __repr__(self) -> str:
        return f"RedisRevocationStore(prefix={self.prefix!r}, timeout={self.timeout})"

    # -- writing ---------------------------------------------------------------------------
    def revoke_jti(self, jti: str, expires_at: float) -> None:
        """Deny this ``jti`` until ``expires_at``, when the token is dead anyway.

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds; the entry is dropped after it (use the token's ``exp``).
        """
        if expires_at > time.time():
            self.client.set(self._jti_key(jti), b"1", exat=int(expires_at) + 1)

    def revoke_subject(self, sub: str, before: float | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``before`` (logout everywhere).

        Args:
            sub: the subject.
            before: Unix seconds; default now. Tokens with a later ``iat`` stay valid.
        """
        at = time.time() if before is None else before
        self.client.set(self._sub_key(sub), repr(at).encode(), ex=int(self.max_token_lifetime))

    # -- reading ---------------------------------------------------------------------------
    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token is revoked: its ``jti`` is denied, or its subject's "not before" covers it.

        Args:
            claims: the token's verified claims (``jti``, ``sub`` and ``iat`` are read).
        """
        keys = self._keys(claims)
        if not keys:
            return False
        self._check_breaker()
        try:
            values = self.client.mget(keys)
        except _FAILURES as exc:
            raise self._failed(exc) from exc
        return self._decide(claims, keys, values)

    async def is_revoked_async(self, claims: Mapping[str, Any]) -> bool:
        """``is_revoked`` for asyncio, never blocking the event loop.

        Args:
            claims: the token's verified claims.
        """
        keys = self._keys(claims)
        if not keys:
            return False
        self._check_breaker()
        try:
            values = await asyncio.wait_for(self._async_client().mget(keys), self.timeout * 2)
        except _FAILURES as exc:
            raise self._failed(exc) from exc
        return self._decide(claims, keys, values)

    async def aclose(self) -> None:
        """Close this event loop's connections (call it from an ASGI lifespan shutdown)."""
        client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def close(self) -> None:
        """Close every connection, from outside any running event loop."""
        for loop, client in list(self._async.items()):
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(client.aclose())
        self._async.clear()
        self.client.close()

    # -- internals -------------------------------------------------------------------------
    def _jti_key(self, jti: str) -> str:
        return f"{self.prefix}jti:{digest(jti)}"

    def _sub_key(self, sub: str) -> str:
        return f"{self.prefix}sub:{digest(sub)}"

    def _keys(self, claims: Mapping[str, Any]) -> list[str]:
        jti, sub = claims.get("jti"), claims.get("sub")
        return [k for k in (isinstance(jti, str) and self._jti_key(jti), isinstance(sub, str) and self._sub_key(sub)) if k]

    def _decide(self, claims: Mapping[str, Any], keys: list[str], values: list[Any]) -> bool:
        found = dict(zip(keys, values, strict=True))
        jti, sub = claims.get("jti"), claims.get("sub")
        listed = isinstance(jti, str) and found.get(self._jti_key(jti)) is not None
        raw = found.get(self._sub_key(sub)) if isinstance(sub, str) else None
        try:
            not_before = None if raw is None else float(raw)
        except ValueError:
            not_before = float("inf")  # an unreadable entry revokes: fail closed
        return revoked_by(claims, listed, not_before)

    def _async_client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(self.url, socket_timeout=self.timeout, socket_connect_timeout=self.timeout)
            self._async[loop] = client
        return client

    def _unavailable(self) -> RevocationUnavailable:
        return RevocationUnavailable(
            "revocation_unavailable", "revocation store is unavailable", max(1, round(self.retry_seconds))
        )

    def _check_breaker(self) -> None:
        if time.monotonic() < self._down_until:
            raise self._unavailable()

    def _failed(self, exc: BaseException) -> RevocationUnavailable:
        self._down_until = time.monotonic() + self.retry_seconds
        return self._unavailable()


_ROTATE = """
local family = redis.call('GET', KEYS[1])
if not family then return {'invalid', '', ''} end
local fkey = ARGV[3] .. 'fam:' .. family
local current = redis.call('HGET', fkey, 'current')
if not current then return {'invalid', '', ''} end
local data = redis.call('HGET', fkey, 'data')
local jti = redis.call('HGET', fkey, 'access_jti')
if ARGV[4] == 'revoke' or redis.call('HGET', fkey, 'revoked') == '1' or current ~= ARGV[1] then
  local was_revoked = redis.call('HGET', fkey, 'revoked') == '1'
  redis.call('HSET', fkey, 'revoked', '1')
  if ARGV[4] == 'revoke' then return {'ok', data, jti} end
  if was_revoked then return {'revoked', data, jti} end
  return {'reused', data, jti}
end
redis.call('HSET', fkey, 'current', ARGV[2], 'access_jti', ARGV[4])
redis.call('SET', ARGV[3] .. 'rt:' .. ARGV[2], family, 'PX', redis.call('PTTL', fkey))
return {'ok', data, jti}
"""


class RedisRefreshStore:
    """Refresh-token families in Redis (a ``RefreshStore``), rotated atomically by one Lua script (one round trip).

    Keys: ``<prefix>rt:<sha256 of the token>`` -> family, and ``<prefix>fam:<family>`` (a hash
    of the current token's digest, the family data, the latest access ``jti`` and a revoked
    flag), all expiring with the family. For a single Redis or a primary; not Redis Cluster.

    Args:
        url: where Redis is; default ``redis://127.0.0.1:6379/0``.
        prefix: put before every key; default ``jwt_middleware:``.
        timeout: seconds for a connect or a reply (default 0.5); a refresh that times out
            raises ``redis.TimeoutError``.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "jwt_middleware:", timeout: float = 0.5) -> None:
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._rotate = self.client.register_script(_ROTATE)

    def create(self, family: str, token_hash: str, data: Mapping[str, Any], access_jti: str, expires_at: float) -> None:
        """Start a family in one transaction (``RefreshStore.create``).

        See there for ``family``, ``token_hash``, ``data``, ``access_jti`` and ``expires_at``.
        """
        fkey = f"{self.prefix}fam:{family}"
        ttl_ms = max(1, int((expires_at - time.time()) * 1000))
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(fkey, mapping={"current": token_hash, "data": json.dumps(dict(data)), "access_jti": access_jti, "revoked": "0"})
        pipe.pexpire(fkey, ttl_ms)
        pipe.set(f"{self.prefix}rt:{token_hash}", family, px=ttl_ms)
        pipe.execute()

    def rotate(self, token_hash: str, new_hash: str, access_jti: str) -> Rotation:
        """Spend ``token_hash`` for ``new_hash`` atomically; see ``RefreshStore.rotate`` (``access_jti`` too)."""
        return self._run(token_hash, new_hash, access_jti)

    def revoke(self, token_hash: str) -> Rotation:
        """Revoke the family of ``token_hash``; see ``RefreshStore.revoke``."""
        return self._run(token_hash, "", "revoke")

    def _run(self, token_hash: str, new_hash: str, mode: str) -> Rotation:
        outcome, data, jti = self._rotate(keys=[f"{self.prefix}rt:{token_hash}"], args=[token_hash, new_hash, self.prefix, mode])
        text = data.decode() if isinstance(data, bytes) else data
        return Rotation(
            outcome.decode() if isinstance(outcome, bytes) else outcome,
            json.loads(text) if text else {},
            (jti.decode() if isinstance(jti, bytes) else jti) or None,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
