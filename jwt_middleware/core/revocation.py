"""Revocation: a ``jti`` deny-list and a per-subject "not before", behind one small protocol.

A token is revoked when its ``jti`` is on the deny-list, or when its subject has a "not
before" time (logout everywhere, password change) and the token was issued at or before
it. A token without ``iat`` whose subject has a "not before" counts as revoked: it cannot
show that it is newer.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class RevocationStore(Protocol):
    """Where revocations live. ``is_revoked`` must answer in one round trip at most."""

    def is_revoked(self, claims: Mapping[str, Any]) -> bool: ...

    async def is_revoked_async(self, claims: Mapping[str, Any]) -> bool: ...

    def revoke_jti(self, jti: str, expires_at: float) -> None: ...

    def revoke_subject(self, sub: str, before: float | None = None) -> None: ...


def revoked_by(claims: Mapping[str, Any], jti_listed: bool, not_before: float | None) -> bool:
    """The one rule every store applies to what it found."""
    if jti_listed:
        return True
    if not_before is None:
        return False
    iat = claims.get("iat")
    return not isinstance(iat, int | float) or isinstance(iat, bool) or iat <= not_before


def digest(value: str) -> str:
    """Keys stay short and printable whatever the token's ``jti`` or ``sub`` hold."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def revoke_token(store: RevocationStore, claims: Mapping[str, Any]) -> None:
    """Put a verified token's ``jti`` on the deny-list until the token would expire anyway."""
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str):
        raise ValueError("the token has no jti to revoke; revoke its subject instead")
    store.revoke_jti(jti, float(exp) if isinstance(exp, int | float) else time.time() + 86400)


class MemoryRevocationStore:
    """Revocations for one process. Entries expire with the tokens they name."""

    def __init__(self, max_token_lifetime: float = 86400) -> None:
        self.max_token_lifetime = max_token_lifetime
        self._jti: dict[str, float] = {}
        self._subjects: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def revoke_jti(self, jti: str, expires_at: float) -> None:
        with self._lock:
            self._sweep(time.time())
            self._jti[digest(jti)] = expires_at

    def revoke_subject(self, sub: str, before: float | None = None) -> None:
        now = time.time()
        with self._lock:
            self._sweep(now)
            self._subjects[digest(sub)] = (now if before is None else before, now + self.max_token_lifetime)

    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        now = time.time()
        jti, sub = claims.get("jti"), claims.get("sub")
        listed = isinstance(jti, str) and self._jti.get(digest(jti), 0) > now
        entry = self._subjects.get(digest(sub)) if isinstance(sub, str) else None
        return revoked_by(claims, listed, entry[0] if entry is not None and entry[1] > now else None)

    async def is_revoked_async(self, claims: Mapping[str, Any]) -> bool:
        return self.is_revoked(claims)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + 60
        self._jti = {k: v for k, v in self._jti.items() if v > now}
        self._subjects = {k: v for k, v in self._subjects.items() if v[1] > now}
