"""The request decision shared by both adapters: public, anonymous, verified or refused."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ._claims import Claims
from ._errors import AuthError, InvalidToken, JWTMiddlewareError, MissingToken
from ._jwks import remote_or_static
from ._responses import Challenge, challenge_for
from ._settings import Settings
from ._sources import TokenFinder
from ._verify import KeySourceFactory, Verifier

log = logging.getLogger("jwt_middleware")
Outcome = Claims | Challenge | None


class Gate:
    """Finds the token, verifies it, and turns every failure into a ``Challenge``."""

    def __init__(self, settings: Settings, key_source: KeySourceFactory = remote_or_static) -> None:
        self.settings = settings
        self.rules = settings.path_rules
        self.finder = TokenFinder(settings)
        self.verifier = Verifier(settings, key_source)
        self._optional = settings.optional
        self._realm = settings.realm
        self._on_error = settings.on_error

    def _token(self, authorization: Sequence[str], cookies: Sequence[str], query: str) -> str | None:
        token = self.finder.find(authorization, cookies, query)
        if token is None and not self._optional:
            raise MissingToken()
        return token

    def authenticate(self, authorization: Sequence[str], cookies: Sequence[str], query: str) -> Outcome:
        """Claims, ``None`` for an anonymous pass, or the ``Challenge`` to answer with."""
        try:
            token = self._token(authorization, cookies, query)
            return None if token is None else self.verifier.verify(token)
        except Exception as exc:  # every failure, even a bug of ours, ends in a refusal
            return self.refuse(exc)

    async def authenticate_async(self, authorization: Sequence[str], cookies: Sequence[str], query: str) -> Outcome:
        try:
            token = self._token(authorization, cookies, query)
            return None if token is None else await self.verifier.verify_async(token)
        except Exception as exc:  # every failure, even a bug of ours, ends in a refusal
            return self.refuse(exc)

    def refuse(self, exc: Exception) -> Challenge:
        if not isinstance(exc, JWTMiddlewareError):
            log.exception("internal error while authenticating; request refused (reason=internal_error)")
            exc = InvalidToken("internal_error", "token could not be verified")
        elif isinstance(exc, AuthError):
            log.info("request refused (reason=%s, status=%d)", exc.reason, exc.status)
        else:
            log.warning("request refused (reason=%s, status=503)", getattr(exc, "reason", "unavailable"))
        challenge = challenge_for(exc, self._realm)
        if self._on_error is not None:
            challenge = self._custom(challenge)
        return challenge

    def _custom(self, challenge: Challenge) -> Challenge:
        try:
            custom = self._on_error(challenge)  # type: ignore[misc]
        except Exception:
            log.exception("on_error hook raised; default response used (reason=%s)", challenge.reason)
            return challenge
        return custom if isinstance(custom, Challenge) else challenge
