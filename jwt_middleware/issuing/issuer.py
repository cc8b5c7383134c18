"""Minting access tokens that the middleware, configured from ``TokenIssuer.settings()``, accepts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from .signing import KeyRing, SigningKey

_RESERVED = frozenset({"iss", "sub", "aud", "iat", "nbf", "exp", "jti"})


class TokenIssuer:
    """Issues short-lived access tokens (RFC 9068 ``typ: at+jwt`` by default).

    Args:
        keys: a ``KeyRing`` (for rotation) or one ``SigningKey``.
        issuer: the ``iss`` of every token.
        audience: the ``aud`` (a string or a list); default none.
        access_ttl: the lifetime in seconds (default 900).
        token_type: the header ``typ`` (default ``at+jwt``, RFC 9068).
    """

    def __init__(
        self,
        keys: KeyRing | SigningKey,
        *,
        issuer: str,
        audience: str | Sequence[str] | None = None,
        access_ttl: float = 900,
        token_type: str = "at+jwt",  # noqa: S107 - a media type, not a secret
    ) -> None:
        self.ring = keys if isinstance(keys, KeyRing) else KeyRing(keys)
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = access_ttl
        self.token_type = token_type

    def issue(
        self,
        sub: str,
        *,
        scope: str | Sequence[str] | None = None,
        ttl: float | None = None,
        jti: str | None = None,
        dpop_jkt: str | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token with ``iss``, ``sub``, ``iat``, ``nbf``, ``exp`` and ``jti``.

        Args:
            sub: the subject.
            scope: the scopes, as a space-separated string or a list; default none.
            ttl: this token's lifetime in seconds; default ``access_ttl``.
            jti: the token id; default a random one.
            dpop_jkt: bind the token to a DPoP key (RFC 9449 §6.1: ``cnf.jkt``, the key's RFC
                7638 thumbprint, as ``VerifiedProof.jkt`` gives it); default unbound.
            claims: extra claims (the registered ones above are refused here).
        """
        clash = _RESERVED.intersection(claims)
        if clash:
            raise ValueError(f"{sorted(clash)[0]} is set by the issuer")
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + int(self.access_ttl if ttl is None else ttl),
            "jti": jti or uuid.uuid4().hex,
            **claims,
        }
        if self.audience is not None:
            body["aud"] = self.audience if isinstance(self.audience, str) else list(self.audience)
        if scope is not None:
            body["scope"] = scope if isinstance(scope, str) else " ".join(scope)
        if dpop_jkt is not None:
            body["cnf"] = {**body.get("cnf", {}), "jkt": dpop_jkt}
        return self.ring.current.sign(body, typ=self.token_type)

    def settings(self, **extra: Any) -> dict[str, Any]:
        """Middleware settings that accept these tokens, with the ring's public keys as static ``keys``.

        Args:
            extra: more settings, or overrides (pass ``jwks_url`` to follow rotation).
        """
        current = self.ring.current
        base: dict[str, Any] = {"issuer": self.issuer, "required_claims": ["exp", "iat", "sub", "jti"]}
        if self.audience is not None:
            base["audience"] = self.audience
        if current.symmetric:
            base.update(algorithms=[current.alg], secret=current.key)
        else:
            keys = [k for k in self.ring.signing_keys() if not k.symmetric]
            base.update(algorithms=sorted({k.alg for k in keys}), keys=self.ring.jwks())
        return {**base, **extra}
