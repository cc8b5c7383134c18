"""Stores for one process: revocations and refresh-token families kept in memory.

They lose everything on restart and are not shared between processes; use
``jwt_middleware.stores.redis`` for that.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.revocation import digest, revoked_by
from ..core.stores import Rotation

__all__ = ["MemoryRefreshStore", "MemoryRevocationStore"]


class MemoryRevocationStore:
    """Revocations for one process. Entries expire with the tokens they name.

    Args:
        max_token_lifetime: how long a subject's "not before" is kept, in seconds; make it at
            least your longest token lifetime (default one day).
    """

    def __init__(self, max_token_lifetime: float = 86400) -> None:
        self.max_token_lifetime = max_token_lifetime
        self._jti: dict[str, float] = {}
        self._subjects: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def revoke_jti(self, jti: str, expires_at: float) -> None:
        """Deny this ``jti`` until ``expires_at``, when the token is dead anyway.

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds; the entry is dropped after it (use the token's ``exp``).
        """
        with self._lock:
            self._sweep(time.time())
            self._jti[digest(jti)] = expires_at

    def revoke_subject(self, sub: str, before: float | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``before`` (logout everywhere).

        Args:
            sub: the subject.
            before: Unix seconds; default now. Tokens with a later ``iat`` stay valid.
        """
        now = time.time()
        with self._lock:
            self._sweep(now)
            self._subjects[digest(sub)] = (now if before is None else before, now + self.max_token_lifetime)

    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token is revoked: its ``jti`` is denied, or its subject's "not before" covers it.

        Args:
            claims: the token's verified claims (``jti``, ``sub`` and ``iat`` are read).
        """
        now = time.time()
        jti, sub = claims.get("jti"), claims.get("sub")
        listed = isinstance(jti, str) and self._jti.get(digest(jti), 0) > now
        entry = self._subjects.get(digest(sub)) if isinstance(sub, str) else None
        return revoked_by(claims, listed, entry[0] if entry is not None and entry[1] > now else None)

    async def is_revoked_async(self, claims: Mapping[str, Any]) -> bool:
        """``is_revoked`` for asyncio, never blocking the event loop.

        Args:
            claims: the token's verified claims.
        """
        return self.is_revoked(claims)

    async def revoke_jti_async(self, jti: str, expires_at: float) -> None:
        """``revoke_jti`` for ``async def`` code (memory only: it never waits).

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds.
        """
        self.revoke_jti(jti, expires_at)

    async def revoke_subject_async(self, sub: str, before: float | None = None) -> None:
        """``revoke_subject`` for ``async def`` code.

        Args:
            sub: the subject.
            before: Unix seconds; default now.
        """
        self.revoke_subject(sub, before)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        self._jti = {k: v for k, v in self._jti.items() if v > now}
        self._subjects = {k: v for k, v in self._subjects.items() if v[1] > now}


MAX_FAMILY_ACCESS = 64  # access tokens a family keeps for its revocation; past it the oldest is denied at once
_ACCESS_MARGIN = 60.0  # an access jti is forgotten this long after its expiry (clock skew between servers)


@dataclass
class _Family:
    current: str
    data: dict[str, Any]
    access: dict[str, float]  # every access jti issued, -> its expiry
    expires_at: float
    revoked: bool = False
    hashes: set[str] = field(default_factory=set)
    previous: str = ""
    rotated_at: float = 0.0  # monotonic: the window is measured by this process's own clock
    successor: str = ""

    def record(self, jti: str, expires_at: float) -> tuple[tuple[str, float], ...]:
        """Record an access jti; answers the ones pushed out (the oldest, past ``MAX_FAMILY_ACCESS``)."""
        now = time.time()
        self.access = {j: e for j, e in self.access.items() if e > now - _ACCESS_MARGIN}
        self.access[jti] = max(expires_at, self.access.get(jti, 0.0))
        ordered = sorted(self.access.items(), key=lambda item: item[1])
        evicted = tuple(ordered[: max(0, len(ordered) - MAX_FAMILY_ACCESS)])
        for jti_out, _ in evicted:
            del self.access[jti_out]
        return evicted

    def issued(self) -> tuple[tuple[str, float], ...]:
        """Every access jti the family issued that may still be live."""
        now = time.time()
        return tuple((j, e) for j, e in self.access.items() if e > now - _ACCESS_MARGIN)


class MemoryRefreshStore:
    """Refresh-token families for one process (a ``RefreshStore``); lost on restart."""

    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}
        self._by_hash: dict[str, str] = {}
        self._lock = threading.Lock()

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
        with self._lock:
            self._sweep()
            access = {access_jti: access_expires_at or expires_at}
            self._families[family] = _Family(token_hash, dict(data), access, expires_at, hashes={token_hash})
            self._by_hash[token_hash] = family

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
        """Spend ``token_hash`` for ``new_hash`` under a lock; see ``RefreshStore.rotate`` (the other arguments too).

        Arguments as for ``RefreshStore.rotate``:
        ``access_jti``, ``family``, ``grace_seconds``, ``successor``, ``access_expires_at``.
        """
        with self._lock:
            fam = self._find(token_hash)
            if fam is None:
                return Rotation("invalid", {}, None)
            if fam.revoked:
                return Rotation("revoked", fam.data)
            if fam.current == new_hash:  # the same rotation, retried
                return Rotation("ok", fam.data, successor=fam.successor)
            expiry = access_expires_at or fam.expires_at
            if fam.current == token_hash:
                fam.previous, fam.rotated_at, fam.successor = token_hash, time.monotonic(), successor
                fam.current = new_hash
                fam.hashes.add(new_hash)
                self._by_hash[new_hash] = self._by_hash[token_hash]
                return Rotation("ok", fam.data, access=fam.record(access_jti, expiry), successor=successor)
            if token_hash == fam.previous and time.monotonic() - fam.rotated_at < grace_seconds:
                return Rotation("ok", fam.data, access=fam.record(access_jti, expiry), successor=fam.successor)
            fam.revoked = True
            return Rotation("reused", fam.data, access=fam.issued())

    def revoke(self, token_hash: str, family: str = "") -> Rotation:
        """Revoke the family of ``token_hash``; see ``RefreshStore.revoke`` (``family`` too)."""
        with self._lock:
            fam = self._find(token_hash)
            if fam is None:
                return Rotation("invalid", {}, None)
            fam.revoked = True
            return Rotation("ok", fam.data, access=fam.issued())

    async def create_async(
        self,
        family: str,
        token_hash: str,
        data: Mapping[str, Any],
        access_jti: str,
        expires_at: float,
        access_expires_at: float = 0.0,
    ) -> None:
        """``create``: memory never waits (the arguments as there).

        Arguments as for ``RefreshStore.create``:
        ``family``, ``token_hash``, ``data``, ``access_jti``, ``expires_at``, ``access_expires_at``.
        """
        self.create(family, token_hash, data, access_jti, expires_at, access_expires_at)

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
        """``rotate``: memory never waits (the arguments as there).

        Arguments as for ``RefreshStore.rotate``:
        ``token_hash``, ``new_hash``, ``access_jti``, ``family``, ``grace_seconds``, ``successor``,
        ``access_expires_at``.
        """
        return self.rotate(token_hash, new_hash, access_jti, family, grace_seconds, successor, access_expires_at)

    async def revoke_async(self, token_hash: str, family: str = "") -> Rotation:
        """``revoke``: memory never waits (``token_hash`` and ``family`` as there)."""
        return self.revoke(token_hash, family)

    def _find(self, token_hash: str) -> _Family | None:
        name = self._by_hash.get(token_hash)
        fam = self._families.get(name) if name is not None else None
        return fam if fam is not None and fam.expires_at > time.time() else None

    def _sweep(self) -> None:
        now = time.time()
        for name in [n for n, f in self._families.items() if f.expires_at <= now]:
            for h in self._families.pop(name).hashes:
                self._by_hash.pop(h, None)
