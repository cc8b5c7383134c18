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
from typing import Any

from .flow import Flow, run, run_async
from .stores import RevocationStore, store_call

__all__ = ["RevocationStore", "digest", "raw_digest", "revoke_token", "revoke_token_async", "revoked_by"]


def revoked_by(claims: Mapping[str, Any], jti_listed: bool, not_before: float | None) -> bool:
    """The one rule every store applies to what it found.

    Args:
        claims: the token's verified claims.
        jti_listed: whether the store holds the token's ``jti``.
        not_before: the subject's "not before" (Unix seconds), or ``None``.
    """
    if jti_listed:
        return True
    if not_before is None:
        return False
    iat = claims.get("iat")
    return not isinstance(iat, int | float) or isinstance(iat, bool) or iat <= not_before


def digest(value: str) -> str:
    """A short printable digest of a ``jti`` or ``sub``, as stores key their entries.

    Args:
        value: the identifier, whatever characters it holds.
    """
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def raw_digest(value: str) -> bytes:
    """``digest`` as its 20 bytes (``bytes.fromhex(digest(value))``): how a mirror keys its entries in memory.

    Args:
        value: the identifier, whatever characters it holds.
    """
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()[:20]


def _deny_until(claims: Mapping[str, Any]) -> tuple[str, float]:
    jti, exp = claims.get("jti"), claims.get("exp")
    if not isinstance(jti, str):
        raise ValueError("the token has no jti to revoke; revoke its subject instead")
    return jti, float(exp) if isinstance(exp, int | float) else time.time() + 86400


def _revoke_token(store: RevocationStore, claims: Mapping[str, Any]) -> Flow[None]:
    yield store_call(store.revoke_jti, *_deny_until(claims))


async def revoke_token_async(store: RevocationStore, claims: Mapping[str, Any]) -> None:
    """``revoke_token`` for ``async def`` code: the store's ``revoke_jti_async``, or its ``revoke_jti`` in a worker thread.

    Args:
        store: the revocation store.
        claims: the token's verified claims (with a ``jti``).
    """
    await run_async(_revoke_token(store, claims))


def revoke_token(store: RevocationStore, claims: Mapping[str, Any]) -> None:
    """Put a verified token's ``jti`` on the deny-list until the token would expire anyway.

    Args:
        store: the revocation store (the one the middleware's ``revocation`` setting reads).
        claims: the token's verified claims; they must hold a ``jti`` (else ``ValueError``:
            revoke the subject instead). Without ``exp`` the entry lasts a day.
    """
    run(_revoke_token(store, claims))
