"""The request decision shared by both adapters: public, anonymous, verified or refused."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence

from ..config.settings import Settings
from ..core.errors import AuthError, InvalidRequest, InvalidToken, MissingToken, Unavailable
from ..core.identity import Identity
from ..keysets.remote import remote_or_static
from .finder import TokenFinder
from .responses import Challenge, challenge_for
from .verifier import KeySourceFactory, Verifier

log = logging.getLogger("jwt_middleware")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
Outcome = Identity | Challenge | None


class Gate:
    """Finds the token, verifies it, and turns every failure into a ``Challenge``."""

    def __init__(self, settings: Settings, key_source: KeySourceFactory = remote_or_static) -> None:
        self.settings = settings
        self.public_paths = settings.path_rules
        self.finder = TokenFinder(settings)
        self.verifier = Verifier(settings, key_source)
        self._optional = settings.optional
        self._realm = settings.realm
        self._on_error = settings.on_error
        self._rules = settings.route_rules
        self._csrf = settings.csrf if settings.cookie is not None else "off"
        self.csrf_header = settings.csrf_header.lower() if self._csrf != "off" else None
        self._challenges: dict[tuple[object, ...], Challenge] = {}

    def _token(
        self, authorization: Sequence[str], cookies: Sequence[str], query: str, method: str, csrf: str | None, cross_site: bool
    ) -> str | Challenge | None:
        """The token to verify, ``None`` when there is none, or the refusal its shape alone decides."""
        token, where = self.finder.find(authorization, cookies, query)
        if token is None and not self._optional:
            raise MissingToken()
        if where == "cookie" and self._csrf != "off":
            if cross_site:  # a WebSocket cannot carry the CSRF header; its Origin must be ours
                raise InvalidRequest("csrf_failed", "cross-site WebSocket with a cookie token")
            if method not in _SAFE_METHODS:
                self._check_csrf(cookies, csrf)
        if token is None:
            return None
        junk = self.verifier.refusal(token)  # junk is refused without raising: it is most attack traffic
        return token if junk is None else self.refuse(junk)

    def _check_csrf(self, cookies: Sequence[str], sent: str | None) -> None:
        """A cookie rides along on cross-site requests; a custom header cannot (without CORS)."""
        if not sent:
            raise InvalidRequest("csrf_failed", "CSRF header missing")
        if self._csrf == "double_submit":
            expected = self.finder.cookie_value(cookies, self.settings.csrf_cookie)
            if expected is None or not hmac.compare_digest(expected.encode(), sent.encode()):
                raise InvalidRequest("csrf_failed", "CSRF token does not match its cookie")

    def _authorize(self, identity: Identity | None, path: str, method: str) -> Identity | None:
        for rule in self._rules:
            if rule.applies(path, method):
                if identity is None:
                    raise MissingToken()
                rule.check(identity.scopes, identity.roles)
        return identity

    def authenticate(
        self, authorization: Sequence[str], cookies: Sequence[str], query: str, path: str, method: str, csrf: str | None = None
    ) -> Outcome:
        """The identity, ``None`` for an anonymous pass, or the ``Challenge`` to answer with."""
        try:
            found = self._token(authorization, cookies, query, method, csrf, cross_site=False)
            if isinstance(found, Challenge):
                return found
            identity = None if found is None else self.verifier.identify(found)
            return self._authorize(identity, path, method) if self._rules else identity
        except Exception as exc:  # every failure, even a bug of ours, ends in a refusal
            return self.refuse(exc)

    async def authenticate_async(
        self,
        authorization: Sequence[str],
        cookies: Sequence[str],
        query: str,
        path: str,
        method: str,
        csrf: str | None = None,
        cross_site: bool = False,
    ) -> Outcome:
        """As ``authenticate``; ``cross_site``: a WebSocket handshake from another origin."""
        try:
            found = self._token(authorization, cookies, query, method, csrf, cross_site)
            if isinstance(found, Challenge):
                return found
            identity = None if found is None else await self.verifier.identify_async(found)
            return self._authorize(identity, path, method) if self._rules else identity
        except Exception as exc:  # every failure, even a bug of ours, ends in a refusal
            return self.refuse(exc)

    def refuse(self, exc: Exception) -> Challenge:
        failure: AuthError | Unavailable
        if isinstance(exc, AuthError):
            failure = exc
            log.info("request refused (reason=%s, status=%d)", exc.reason, exc.status)
        elif isinstance(exc, Unavailable):
            failure = exc
            log.warning("request refused (reason=%s, status=503)", exc.reason)
        else:
            log.exception("internal error while authenticating; request refused (reason=internal_error)")
            failure = InvalidToken("internal_error", "token could not be verified")
        key = (
            type(failure),
            failure.reason,
            failure.description,
            getattr(failure, "scope", ""),
            getattr(failure, "roles", ""),
            getattr(failure, "retry_after", 0),
        )
        challenge = self._challenges.get(key)
        if challenge is None:
            challenge = challenge_for(failure, self._realm)
            if len(self._challenges) < 256:  # descriptions are fixed strings; a hook's own stay bounded
                self._challenges[key] = challenge
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
