"""The request decision shared by both adapters: public, anonymous, verified or refused."""

from __future__ import annotations

import functools
import hmac
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..config.resource import WELL_KNOWN
from ..config.settings import Settings
from ..core import dpop as _dpop
from ..core.errors import AuthError, InvalidRequest, InvalidToken, MissingToken, Unavailable
from ..core.events import AuthEvent, Events, Outage
from ..core.flow import Decision, Flow, run, run_async
from ..core.identity import IDENTITY_KEY, Identity
from ..core.stores import store_call
from ..keysets.remote import remote_or_static
from .finder import TokenFinder
from .request import Request
from .responses import Challenge, Schemes, challenge_for
from .verifier import KeySourceFactory, Verifier

log = logging.getLogger("jwt_middleware")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
Outcome = Identity | Challenge | None


class Gate:
    """Finds the token, verifies it, and turns every failure into a ``Challenge``."""

    def __init__(self, settings: Settings, key_source: KeySourceFactory | None = None) -> None:
        self.settings = settings
        self.events = Events(settings.on_event, settings.events_raw_subject)
        self.public_paths = settings.path_rules
        self.finder = TokenFinder(settings)
        self.reads_cookies = settings.cookie is not None
        self.query_param = settings.query_param
        self.verifier = Verifier(settings, key_source or functools.partial(remote_or_static, events=self.events))
        self._revokes = self.verifier.revokes
        self._hook = self.events.hook is not None
        self._optional = settings.optional
        self.preflight = settings.cors_preflight
        self._realm = settings.realm
        self._on_error = settings.on_error
        self._rules = settings.route_rules
        self._csrf = settings.csrf if settings.cookie is not None else "off"
        self.csrf_header = settings.csrf_header.lower() if self._csrf != "off" else None
        self.csrf_environ_key = "HTTP_" + self.csrf_header.upper().replace("-", "_") if self.csrf_header else None  # CGI's name
        self._challenges: dict[tuple[object, ...], Challenge] = {}
        self._junk: dict[tuple[AuthError, str], Challenge] = {}
        self._replay_outage = Outage("DPoP replay cache", "dpop_replay_unavailable", "DPoP requests refused")
        self._dpop = settings.dpop_policy
        self._dpop_required = self._dpop.required
        self.origin_policy = settings.origin_policy  # the URL a proof names: doors read it for the DPoP scheme
        meta = settings.resource
        self._schemes = Schemes(not self._dpop.required, self._dpop.algs, meta.url if meta is not None else None)
        self.serves_metadata = meta is not None
        self._metadata_paths = frozenset() if meta is None else frozenset({WELL_KNOWN, meta.path})
        headers = (("content-type", "application/json"), ("cache-control", "public, max-age=3600"))
        cors = (("access-control-allow-origin", "*"),)  # public, and read by browser clients too
        self._metadata = None if meta is None else Challenge(200, (*headers, *cors), meta.body(), "resource_metadata")

    def metadata_for(self, path: str, method: str | None) -> Challenge | None:
        """The RFC 9728 metadata response when the request asks for it (``resource_metadata``), else ``None``.

        Answered before any token is looked for, at ``/.well-known/oauth-protected-resource``
        and, for a resource with a path, at that path after it (RFC 9728 §3.1, the URL that
        challenges name).

        Args:
            path: the request path.
            method: the request method (``GET`` and ``HEAD`` are answered).
        """
        if path in self._metadata_paths and method in ("GET", "HEAD"):
            return self._metadata
        return None

    def is_public(self, path: str, method: str | None, preflight: bool) -> bool:
        """Whether a request passes anonymously without looking for a token: a public path
        (``exclude_paths``), or a CORS preflight (``cors_preflight``).

        Args:
            path: the path the router sees.
            method: the request method.
            preflight: the request carries ``Origin`` and ``Access-Control-Request-Method``
                (the door reads its own headers; only an ``OPTIONS`` counts).
        """
        return self.public_paths.matches(path) or (self.preflight and method == "OPTIONS" and preflight)

    def token_in_header(self, request: Request) -> bool:
        """Whether the request's token is in its ``Authorization`` header (``Bearer`` or ``DPoP``), as
        opposed to a cookie or the query string: a browser never adds such a header by itself, while
        it adds ``Basic`` or ``Negotiate`` credentials and cookies to cross-site requests.

        Args:
            request: the neutral request (a request this gate let in: it holds one token at most).
        """
        try:
            return bool(request.authorization) and self.finder.from_authorization(request.authorization)[0] is not None
        except AuthError:
            return False

    def scrub_query(self, query: str) -> str | None:
        """The query string without the token parameter, or ``None`` when it holds none: a door
        puts it back in its scope or environ, so that access logs never see the token.

        Args:
            query: the raw query string.
        """
        finder = self.finder
        return finder.without_token(query) if finder.may_hold(query) else None

    def decide(self, request: Request, *, optional: bool | None = None) -> Decision[Outcome]:
        """The request's decision: the identity, ``None`` for an anonymous pass, or the
        ``Challenge`` to answer with. Up to the first step that may wait it runs at once (a
        cached token or a refusal is answered with no flow); from there it is a flow that
        yields each such step (a key fetch, the revocation store, the DPoP replay cache).
        ``authenticate`` and ``authenticate_async`` drive it.

        Args:
            request: the neutral request.
            optional: a request without a token passes anonymously (unless a route rule
                applies); default the ``optional`` setting. DRF's authentication class asks
                this, so that its permissions decide.
        """
        started = time.perf_counter()
        where = ""
        try:
            found = self._token(request, self._optional if optional is None else optional)
            identity = None
            if found is not None:
                token, where = found
                now = time.time()
                step: Identity | Any = self.verifier.recall(token, now)  # a token seen before is no junk
                if step is None:
                    junk = self._shaped(token, where)
                    if junk is not None:
                        return self._refused(junk, request.path, request.client)
                    step = self.verifier.start(token, now)
                if (
                    type(step) is not Identity or self._revokes or where == "dpop" or self._dpop_required or "cnf" in step.claims
                ):  # a step is left that may wait: revocation, a key fetch, a DPoP proof's replay check
                    return self._checked(request, token, where, step, now, started)
                identity = step
            outcome = self._authorize(identity, request.path, request.method) if self._rules else identity
        except Exception as exc:  # every failure, even a bug of ours, ends in a refusal
            return self.refuse(exc, request.path, request.client, dpop=where == "dpop")
        if outcome is not None and (self._hook or log.isEnabledFor(logging.DEBUG)):  # "request.authenticated" is DEBUG
            self._authenticated(outcome, request.path, request.client, started)
        return outcome

    def _checked(
        self, request: Request, token: str, where: str, step: Identity | Any, now: float, started: float
    ) -> Flow[Outcome]:
        """The rest of ``decide`` once a step may wait: the token's keys and revocation, its sender binding, the rules."""
        try:
            identity = yield from self.verifier.completion(step, now)
            if where == "dpop" or self._dpop_required or "cnf" in identity.claims:  # a plain Bearer token skips it all
                yield from self._bind(identity, token, where, request)
            outcome = self._authorize(identity, request.path, request.method) if self._rules else identity
        except Exception as exc:  # every failure, even a bug of ours, ends in a refusal
            return self.refuse(exc, request.path, request.client, dpop=where == "dpop")
        if outcome is not None and (self._hook or log.isEnabledFor(logging.DEBUG)):
            self._authenticated(outcome, request.path, request.client, started)
        return outcome

    def authenticate(self, request: Request, *, optional: bool | None = None) -> Outcome:
        """``decide``, driven in this thread (WSGI, Django's sync handler, DRF).

        Args:
            request: the neutral request.
            optional: as for ``decide``.
        """
        return run(self.decide(request, optional=optional))  # an answer decided at once is returned as it is

    def authenticate_async(self, request: Request, *, optional: bool | None = None) -> Awaitable[Outcome]:
        """``decide``, driven on the event loop (ASGI, Django's async handler): nothing blocks it.

        Args:
            request: the neutral request.
            optional: as for ``decide``.
        """
        return run_async(self.decide(request, optional=optional))  # the driver's own coroutine: one frame less

    def _token(self, request: Request, optional: bool) -> tuple[str, str] | None:
        """The token to verify and where it was, ``None`` when there is none; raises for a request refused as it stands."""
        token, where = self.finder.find(request.authorization, request.cookies, request.query)
        if token is None and not optional:
            raise MissingToken()
        if where == "cookie" and self._csrf != "off":
            if request.cross_site:  # a WebSocket cannot carry the CSRF header; its Origin must be ours
                raise InvalidRequest("csrf_failed", "cross-site WebSocket with a cookie token")
            if request.method not in _SAFE_METHODS:
                self._check_csrf(request.cookies, request.csrf)
        if token is None:
            return None
        return token, where

    def _shaped(self, token: str, where: str) -> Challenge | None:
        """The refusal a token's shape alone decides, without raising (junk is most attack traffic), or ``None``."""
        junk = self.verifier.refusal(token)
        if junk is None:
            return None
        known = self._junk.get((junk, where))  # one challenge per shared refusal (without hooks that vary it)
        if known is None:
            known = self._answer(junk, where == "dpop")
            if self._on_error is None and self._dpop.nonces is None:
                if len(self._junk) >= 256:
                    self._junk.clear()
                self._junk[junk, where] = known
        return known

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

    def sender_check(self, identity: Identity, token: str, where: str, request: Request) -> _dpop.VerifiedProof | None:
        """RFC 9449 for a verified token: its proof checked (replay aside), or the refusal raised.

        A token bound to a key (``cnf.jkt``) needs the DPoP scheme and a proof by that key;
        with ``dpop: required`` every token does. Proofs are never cached: a cached token
        still needs a fresh proof. The caller records ``replay_key`` in the replay cache.

        Args:
            identity: the token's verified identity.
            token: the token as sent.
            where: where the finder found it (``dpop`` for the DPoP scheme).
            request: the request (its ``DPoP`` header values, method and URL).
        """
        if where != "dpop":
            if self._dpop_required:
                raise _dpop.ProofRejected("dpop_required", "this resource accepts DPoP-bound tokens only", "invalid_token")
            _dpop.check_binding(identity.claims, None)  # a bound token without the DPoP scheme is refused
            return None
        proof = self._dpop.check(request.proofs, method=request.method, url=request.url, access_token=token)
        _dpop.check_binding(identity.claims, proof)
        return proof

    def _bind(self, identity: Identity, token: str, where: str, request: Request) -> Flow[None]:
        """``sender_check``, then the proof's ``jti`` claimed in the replay cache (a step that may wait)."""
        proof = self.sender_check(identity, token, where, request)
        if proof is None:
            return
        replay = self._dpop.replay
        try:
            answer = yield store_call(replay.claim, proof.replay_key, proof.replay_until)
        except _dpop.ProofRejected:
            raise
        except Exception as exc:  # the store failed: refused with 503, as for revocation
            answer = exc
        self._claim(answer if isinstance(answer, BaseException) else bool(answer))

    def _claim(self, answer: bool | BaseException) -> None:
        """Refuse a replayed proof; a replay cache that cannot answer fails closed (503)."""
        if isinstance(answer, BaseException):
            self._replay_outage.failed(answer)  # logged when the cache goes down, not once per request
            raise Unavailable("dpop_replay_unavailable", "the DPoP replay cache is unavailable", 1) from answer
        if self._replay_outage.down:
            self._replay_outage.recovered()
        if answer is False:
            raise _dpop.replayed()

    def _authenticated(self, identity: Identity, path: str, client: Any, started: float) -> None:
        claims = identity.claims
        iss = claims.get("iss")
        issuer, subject = iss if isinstance(iss, str) else None, self.events.subject(claims.get("sub"))
        took = time.perf_counter() - started
        self.events.emit(AuthEvent("request.authenticated", "ok", issuer, subject, path, _address(client), None, took))

    def _refused(self, challenge: Challenge, path: str | None, client: Any) -> Challenge:
        """A refusal decided without raising (junk): the event all the same."""
        if self._hook or log.isEnabledFor(logging.INFO):  # events.wanted("request.refused"), inline: most attack traffic
            self.events.emit(AuthEvent("request.refused", challenge.reason, None, None, path, _address(client), challenge.status))
        return challenge

    def refuse(self, exc: Exception, path: str | None = None, client: Any = None, *, dpop: bool = False) -> Challenge:
        """The challenge for a failure (cached per kind of failure), with its event and ``on_error`` applied.

        Args:
            exc: the failure; anything but an ``AuthError`` or ``Unavailable`` is a bug of ours,
                logged with its traceback and answered as ``internal_error``.
            path: the request path, for the event.
            client: the client's address, for the event.
            dpop: the request used the DPoP scheme: the error goes on the DPoP challenge.
        """
        failure: AuthError | Unavailable
        if isinstance(exc, AuthError | Unavailable):
            failure = exc
        else:
            log.exception(
                "internal error while authenticating; request refused (reason=internal_error)",
                extra={"auth_reason": "internal_error"},
            )
            failure = InvalidToken("internal_error", "token could not be verified")
        challenge = self._answer(failure, dpop)
        self.events.emit(AuthEvent("request.refused", failure.reason, None, None, path, _address(client), failure.status))
        return challenge

    def refuse_inside(self, holder: Mapping[str, Any], exc: Exception) -> Challenge:
        """``refuse`` for a request this gate let in, refused later by an integration inside the app.

        A DPoP-bound token came with the DPoP scheme (the gate lets it in no other way), so
        the error goes on the DPoP challenge.

        Args:
            holder: the request's ASGI scope, WSGI environ or Django ``META``.
            exc: the failure.
        """
        identity = holder.get(IDENTITY_KEY)
        return self.refuse(exc, dpop=isinstance(identity, Identity) and _dpop.is_bound(identity.claims))

    def _answer(self, failure: AuthError | Unavailable, dpop: bool = False) -> Challenge:
        """The challenge for a failure, built once per kind of failure, with ``on_error`` applied."""
        dpop = dpop or self._dpop.required or isinstance(failure, _dpop.ProofRejected)
        key = (
            dpop,
            type(failure),
            failure.reason,
            failure.description,
            getattr(failure, "scope", ""),
            getattr(failure, "roles", ""),
            getattr(failure, "retry_after", 0),
        )
        challenge = self._challenges.get(key)
        if challenge is None:
            challenge = challenge_for(failure, self._realm, self._schemes, dpop)
            if len(self._challenges) < 256:  # descriptions are fixed strings; a hook's own stay bounded
                self._challenges[key] = challenge
        if dpop and self._dpop.nonces is not None and challenge.status == 401:  # §8: the nonce to use next
            challenge = replace(challenge, headers=(*challenge.headers, ("dpop-nonce", self._dpop.nonces.current())))
        if self._on_error is not None:
            challenge = self._custom(challenge)
        return challenge

    def _custom(self, challenge: Challenge) -> Challenge:
        try:
            custom = self._on_error(challenge)  # type: ignore[misc]
        except Exception:
            log.exception(
                "on_error hook raised; default response used (reason=%s)",
                challenge.reason,
                extra={"auth_reason": "on_error_error"},
            )
            return challenge
        return custom if isinstance(custom, Challenge) else challenge


def _address(client: Any) -> str | None:
    """The client's host from ASGI's ``(host, port)`` or WSGI's ``REMOTE_ADDR``."""
    if isinstance(client, list | tuple) and client:
        return str(client[0])
    return client if isinstance(client, str) else None
