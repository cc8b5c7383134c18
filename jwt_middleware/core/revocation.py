"""Revocation: a ``jti`` deny-list and a per-subject "not before", behind one small protocol.

A token is revoked when its ``jti`` is on the deny-list, or when its subject has a "not
before" time (logout everywhere, password change) and the token was issued at or before
it. A token without ``iat`` whose subject has a "not before" counts as revoked: it cannot
show that it is newer.
"""

from __future__ import annotations

import hashlib
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
