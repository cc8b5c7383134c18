"""Refresh tokens with rotation on every use and reuse detection (OAuth 2.0 Security BCP §4.14).

A refresh token is an opaque random string; stores keep only its SHA-256. Tokens issued
from one login form a *family*: using the current one rotates it; presenting an older one
of the family (a stolen copy, or the real client after the thief) revokes the whole family,
and every access token issued from it.

A client whose refresh answer was lost retries with the token it still holds: within
``reuse_grace_seconds`` of the rotation (by the store's clock) it gets the same successor
refresh token that rotation created, and a fresh access token recorded in the family. The
store keeps that successor sealed (AES-GCM) under a key derived from the spent token, which
the store never sees (it holds only SHA-256 digests): the store cannot read it, and no retry
starts a new branch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..core.events import AuthEvent, Events, chain
from ..core.flow import Flow, run, run_async
from ..core.revocation import RevocationStore
from ..core.stores import RefreshStore, Rotation, store_call
from .issuer import TokenIssuer

__all__ = ["RefreshRejected", "RefreshStore", "Rotation", "TokenPair", "TokenService", "token_hash"]


class RefreshRejected(Exception):
    """A refresh token was refused.

    Args:
        reason: ``invalid`` (unknown, expired or malformed), ``reused`` (an older token of
            the family: the family is now revoked), ``revoked`` (the family was revoked) or
            ``dpop_key_mismatch`` (a session bound to a DPoP key, refreshed without a proof by
            that key: the family is now revoked).
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def token_hash(token: str) -> str:
    """The hex SHA-256 of a refresh token: the only form a store ever sees."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TokenPair:
    """What a login or a refresh hands the client.

    Args:
        access_token: the signed access token.
        refresh_token: the opaque refresh token.
        expires_in: the access token's lifetime in seconds.
        scope: the granted scope, space-separated; default none.
        token_type: ``Bearer``, or ``DPoP`` for a token bound to a DPoP key (RFC 9449 §5.1).
    """

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - a token type, not a secret

    def as_dict(self) -> dict[str, Any]:
        """The RFC 6749 §5.1 response body."""
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type, "expires_in": self.expires_in}
        body["refresh_token"] = self.refresh_token
        if self.scope:
            body["scope"] = self.scope
        return body


def _family(refresh_token: str) -> str:
    """The family a refresh token names: its part before the dot ("" when it has none)."""
    return refresh_token.split(".", 1)[0] if "." in refresh_token else ""


def _new_refresh_token(family: str) -> str:
    return f"{family}.{base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b'=').decode()}"


def _sealing_key(spent: str) -> AESGCM:
    """A key only the holder of the spent token has: the store holds its SHA-256, not this HMAC."""
    secret = spent.encode("utf-8", "surrogatepass")
    return AESGCM(hmac.new(secret, b"jwt_middleware refresh successor", hashlib.sha256).digest())


def seal(spent: str, successor: str) -> str:
    """The successor refresh token, sealed for a retry with the token it replaces.

    Args:
        spent: the refresh token presented (and spent by the rotation).
        successor: the refresh token that replaces it.
    """
    nonce = secrets.token_bytes(12)
    sealed = _sealing_key(spent).encrypt(nonce, successor.encode(), _family(spent).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(spent: str, sealed: str) -> str | None:
    """The successor a rotation sealed (``seal``), or ``None`` when ``spent`` does not open it.

    Args:
        spent: the refresh token presented again.
        sealed: what the store kept.
    """
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return _sealing_key(spent).decrypt(raw[:12], raw[12:], _family(spent).encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        return None


class TokenService:
    """Login, refresh (rotating), and logout on top of a ``TokenIssuer`` and a ``RefreshStore``.

    Args:
        issuer: signs the access tokens.
        store: keeps the refresh-token families.
        revocation: where a logout or a detected reuse puts the access token's ``jti`` (the
            same store the middleware's ``revocation`` setting reads). Default none.
        refresh_ttl: a family's lifetime in seconds (default 30 days; rotation does not extend it).
        reuse_grace_seconds: how long after a rotation the token it spent may be presented
            again as a retry (default 10; 0 turns the window off), measured by the store's
            clock: the retry gets the successor refresh token that rotation created (no new
            branch) and a fresh access token, recorded in the family. A client whose refresh
            timed out keeps its session.
        on_event: a hook (or list of hooks) for the session's events: ``login.succeeded``,
            ``refresh.rotated``, ``refresh.reused``, ``refresh.refused``, ``logout``,
            ``revocation``. Default none (they still reach the ``jwt_middleware`` logger).
    """

    def __init__(
        self,
        issuer: TokenIssuer,
        store: RefreshStore,
        *,
        revocation: RevocationStore | None = None,
        refresh_ttl: float = 30 * 86400,
        reuse_grace_seconds: float = 10.0,
        on_event: Any = None,
    ) -> None:
        self.issuer, self.store, self.revocation, self.refresh_ttl = issuer, store, revocation, refresh_ttl
        self.reuse_grace_seconds = reuse_grace_seconds
        self.events = Events(chain(on_event))

    def login(self, sub: str, *, scope: str | None = None, dpop_jkt: str | None = None, **claims: Any) -> TokenPair:
        """Start a session for an authenticated user: a new family and its first pair.

        Args:
            sub: the subject (the user's stable id).
            scope: the granted scopes, space-separated; default none.
            dpop_jkt: bind the session to a DPoP key (its thumbprint, from the token request's
                proof): every access token carries ``cnf.jkt``, and a refresh needs a proof by
                the same key (RFC 9449 §5). Default unbound.
            claims: extra claims for every access token of the session.
        """
        family = uuid.uuid4().hex
        jti = uuid.uuid4().hex
        refresh = _new_refresh_token(family)
        data: dict[str, Any] = {"sub": sub, "scope": scope, "claims": claims}
        if dpop_jkt is not None:
            data["jkt"] = dpop_jkt
        expiry = self._access_expiry()
        self.store.create(family, token_hash(refresh), data, jti, time.time() + self.refresh_ttl, expiry)
        self._event("login.succeeded", "ok", sub)
        return self._pair(data, jti, refresh, expiry)

    def refresh(self, refresh_token: str, dpop_jkt: str | None = None) -> TokenPair:
        """A new pair; the presented refresh token is spent. Raises ``RefreshRejected``.

        Args:
            refresh_token: the refresh token the client presents. A token already spent
                revokes its whole family and every access token it issued (reuse detection),
                unless it is the one spent last, presented again within ``reuse_grace_seconds``:
                that retry gets the same successor refresh token as the first answer.
            dpop_jkt: the thumbprint of the key that signed the request's DPoP proof, if one
                came. A session bound at login needs the same key: another key, or none, is
                taken for a stolen refresh token and revokes the family (``dpop_key_mismatch``).
                An unbound session's new access token is bound to this key.
        """
        return run(self._refresh(refresh_token, dpop_jkt))

    async def refresh_async(self, refresh_token: str, dpop_jkt: str | None = None) -> TokenPair:
        """``refresh`` for ``async def`` handlers: the stores' awaitable forms are awaited (a store
        without them runs in a worker thread).

        Args:
            refresh_token: the refresh token the client presents.
            dpop_jkt: as for ``refresh``.
        """
        return await run_async(self._refresh(refresh_token, dpop_jkt))

    def logout(self, refresh_token: str | None = None, access_claims: Mapping[str, Any] | None = None) -> None:
        """Revoke the refresh family and the access tokens named (the presented and the latest).

        Args:
            refresh_token: the session's refresh token; its family is revoked. Default none.
            access_claims: the verified claims of the access token in hand; its ``jti`` goes
                on the deny-list of ``revocation``. Default none.
        """
        run(self._logout(refresh_token, access_claims))

    async def logout_async(self, refresh_token: str | None = None, access_claims: Mapping[str, Any] | None = None) -> None:
        """``logout`` for ``async def`` handlers: the stores' awaitable forms are awaited.

        Args:
            refresh_token: the session's refresh token. Default none.
            access_claims: the verified claims of the access token in hand. Default none.
        """
        await run_async(self._logout(refresh_token, access_claims))

    def _refresh(self, refresh_token: str, dpop_jkt: str | None) -> Flow[TokenPair]:
        jti = uuid.uuid4().hex
        family = _family(refresh_token)
        new = _new_refresh_token(family or "x")
        sealed, expiry = seal(refresh_token, new), self._access_expiry()
        store = self.store
        rotation = yield store_call(
            store.rotate, token_hash(refresh_token), token_hash(new), jti, family, self.reuse_grace_seconds, sealed, expiry
        )
        yield from self._revoke_access(rotation)  # on ok, the oldest pushed out of the family's list
        if rotation.outcome == "ok" and rotation.successor not in ("", sealed):
            retried = unseal(refresh_token, rotation.successor)  # a retry: the successor the first rotation made
            if retried is None:
                self._event("refresh.refused", "refresh_invalid", rotation.data.get("sub"))
                raise RefreshRejected("invalid")
            new = retried
        if rotation.outcome == "ok" and rotation.data.get("jkt") is not None and rotation.data["jkt"] != dpop_jkt:
            revoked = yield store_call(store.revoke, token_hash(new), family)
            yield from self._revoke_access(revoked)  # every access token of the session: it is over
            self._event("refresh.refused", "refresh_dpop_key_mismatch", rotation.data.get("sub"))
            raise RefreshRejected("dpop_key_mismatch")
        if rotation.outcome != "ok":
            subject = rotation.data.get("sub")
            if rotation.outcome == "reused":
                self._event("refresh.reused", "refresh_reused", subject)
            else:
                self._event("refresh.refused", f"refresh_{rotation.outcome}", subject)
            raise RefreshRejected(rotation.outcome)
        self._event("refresh.rotated", "ok", rotation.data.get("sub"))
        return self._pair(rotation.data, jti, new, expiry, dpop_jkt)

    def _logout(self, refresh_token: str | None, access_claims: Mapping[str, Any] | None) -> Flow[None]:
        if refresh_token is not None:
            rotation = yield store_call(self.store.revoke, token_hash(refresh_token), _family(refresh_token))
            yield from self._revoke_access(rotation)
            self._event("logout", "ok" if rotation.outcome == "ok" else f"refresh_{rotation.outcome}", rotation.data.get("sub"))
        if access_claims is not None and self.revocation is not None and isinstance(access_claims.get("jti"), str):
            until = float(access_claims.get("exp", time.time() + self.issuer.access_ttl))
            yield store_call(self.revocation.revoke_jti, access_claims["jti"], until)
            self._event("revocation", "logout", access_claims.get("sub"))

    def _event(self, kind: str, reason: str, subject: object) -> None:
        self.events.emit(AuthEvent(kind, reason, self.issuer.issuer, self.events.subject(subject)))

    def _access_expiry(self) -> float:
        """What the family records as the expiry of an access token about to be minted: a minute
        later than its ``exp`` would be now, so a slow store never leaves a token outliving its record."""
        return float(int(time.time()) + int(self.issuer.access_ttl) + 60)

    def _revoke_access(self, rotation: Rotation) -> Flow[None]:
        """Deny every access token the store's answer names (all a revoked family issued)."""
        if self.revocation is None:
            return
        denied = dict(rotation.access)
        if rotation.access_jti and rotation.access_jti not in denied:  # a store of your own, written before ``access``
            denied[rotation.access_jti] = time.time() + self.issuer.access_ttl
        for jti, expires_at in denied.items():
            yield store_call(self.revocation.revoke_jti, jti, expires_at)

    def _pair(self, data: Mapping[str, Any], jti: str, refresh: str, expires_at: float, dpop_jkt: str | None = None) -> TokenPair:
        jkt = data.get("jkt") or dpop_jkt  # a bound session's key; else the key of this request's proof
        claims = data.get("claims", {})
        ttl = max(1, min(int(self.issuer.access_ttl), int(expires_at) - int(time.time())))  # never past its record
        access = self.issuer.issue(data["sub"], scope=data.get("scope"), ttl=ttl, jti=jti, dpop_jkt=jkt, **claims)
        return TokenPair(access, refresh, ttl, data.get("scope"), "DPoP" if jkt else "Bearer")
