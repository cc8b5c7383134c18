"""Refresh tokens with rotation on every use and reuse detection (OAuth 2.0 Security BCP §4.14).

A refresh token is an opaque random string; stores keep only its SHA-256. Tokens issued
from one login form a *family*: using the current one rotates it; presenting an older one
of the family (a stolen copy, or the real client after the thief) revokes the whole family,
and the access token issued last from it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from ..core.revocation import RevocationStore
from .issuer import TokenIssuer


class RefreshRejected(Exception):
    """``reason``: ``invalid`` (unknown, expired or malformed), ``reused`` (family now revoked) or ``revoked``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Rotation(NamedTuple):
    outcome: str  # ok | invalid | reused | revoked
    data: dict[str, Any]
    access_jti: str | None


class RefreshStore(Protocol):
    def create(self, family: str, token_hash: str, data: Mapping[str, Any], access_jti: str, expires_at: float) -> None: ...

    def rotate(self, token_hash: str, new_hash: str, access_jti: str) -> Rotation: ...

    def revoke(self, token_hash: str) -> Rotation: ...


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh hands the client (RFC 6749 §5.1 field names in ``as_dict``)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in}
        body["refresh_token"] = self.refresh_token
        if self.scope:
            body["scope"] = self.scope
        return body


def _new_refresh_token(family: str) -> str:
    return f"{family}.{base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b'=').decode()}"


class TokenService:
    """Login, refresh (rotating), and logout on top of a ``TokenIssuer`` and a ``RefreshStore``.

    ``revocation``: where a logout or a detected reuse puts the access token's ``jti`` (the
    same store the middleware's ``revocation`` setting reads). ``refresh_ttl``: a family's
    lifetime in seconds (default 30 days; rotation does not extend it).
    """

    def __init__(
        self,
        issuer: TokenIssuer,
        store: RefreshStore,
        *,
        revocation: RevocationStore | None = None,
        refresh_ttl: float = 30 * 86400,
    ) -> None:
        self.issuer, self.store, self.revocation, self.refresh_ttl = issuer, store, revocation, refresh_ttl

    def login(self, sub: str, *, scope: str | None = None, **claims: Any) -> TokenPair:
        family = uuid.uuid4().hex
        jti = uuid.uuid4().hex
        refresh = _new_refresh_token(family)
        data = {"sub": sub, "scope": scope, "claims": claims}
        self.store.create(family, token_hash(refresh), data, jti, time.time() + self.refresh_ttl)
        return self._pair(data, jti, refresh)

    def refresh(self, refresh_token: str) -> TokenPair:
        """A new pair; the presented refresh token is spent. Raises ``RefreshRejected``."""
        jti = uuid.uuid4().hex
        new = _new_refresh_token(refresh_token.split(".", 1)[0] if "." in refresh_token else "x")
        rotation = self.store.rotate(token_hash(refresh_token), token_hash(new), jti)
        if rotation.outcome != "ok":
            if rotation.outcome == "reused":
                self._revoke_access(rotation)
            raise RefreshRejected(rotation.outcome)
        return self._pair(rotation.data, jti, new)

    def logout(self, refresh_token: str | None = None, access_claims: Mapping[str, Any] | None = None) -> None:
        """Revoke the refresh family and the access tokens named (the presented and the latest)."""
        if refresh_token is not None:
            self._revoke_access(self.store.revoke(token_hash(refresh_token)))
        if access_claims is not None and self.revocation is not None and isinstance(access_claims.get("jti"), str):
            self.revocation.revoke_jti(
                access_claims["jti"], float(access_claims.get("exp", time.time() + self.issuer.access_ttl))
            )

    def _revoke_access(self, rotation: Rotation) -> None:
        if self.revocation is not None and rotation.access_jti:
            self.revocation.revoke_jti(rotation.access_jti, time.time() + self.issuer.access_ttl)

    def _pair(self, data: Mapping[str, Any], jti: str, refresh: str) -> TokenPair:
        access = self.issuer.issue(data["sub"], scope=data.get("scope"), jti=jti, **data.get("claims", {}))
        return TokenPair(access, refresh, int(self.issuer.access_ttl), data.get("scope"))
