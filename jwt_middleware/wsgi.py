"""The WSGI adapter: ``JWTWSGIMiddleware``.

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings={"algorithms": ["HS256"], "secret": "..."})

On success the claims are at ``environ["jwt_middleware.claims"]`` and ``REMOTE_USER`` is the
token's ``sub``; the app's response iterable is returned untouched. On failure the app is
never called and the RFC 6750 challenge goes out through ``start_response``.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .config.settings import Settings, load_settings
from .core.errors import ConfigError
from .core.grants import check_match
from .core.identity import CLAIMS_KEY, IDENTITY_KEY
from .core.revocation import RevocationStore
from .gate.doors import GATE_KEY, Refusal, nested, refusal
from .gate.gate import Gate
from .gate.request import from_environ
from .gate.responses import Challenge

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["JWTWSGIMiddleware", "require_scopes"]


class JWTWSGIMiddleware:
    """Wrap a WSGI app: every request is authenticated before the app sees it.

    Args:
        app: the WSGI app (positional).
        settings: a mapping of settings or a ``Settings``.
        overrides: settings that replace those in ``settings``.
    """

    def __init__(self, app: WSGIApplication, /, settings: Settings | Mapping[str, Any] | None = None, **overrides: Any) -> None:
        self.app = app
        self.gate = Gate(load_settings(settings, **overrides))
        self._preflight = self.gate.preflight
        self._csrf_key = self.gate.csrf_environ_key
        public = self.gate.public_paths
        self._public_exact = public.exact  # one set lookup decides the common public path
        self._public_prefixes = public.matches if public.has_prefixes else None
        self._reads_cookies = self.gate.reads_cookies  # the CSRF cookie exists only in cookie mode
        self._query_key = self.gate.query_param
        self._metadata = self.gate.serves_metadata
        self._origin = self.gate.origin_policy
        self._first = True
        hook = self.gate.settings.revocation
        if callable(hook) and not isinstance(hook, RevocationStore) and _is_async(hook):
            raise ConfigError("revocation", "an async hook cannot run under WSGI; give a sync callable or a RevocationStore")
        if self.gate.settings.user_loader is not None and _is_async(self.gate.settings.user_loader):
            raise ConfigError("user_loader", "an async loader cannot run under WSGI; give a sync callable")

    def health(self) -> list[dict[str, Any]]:
        """Per-provider key source snapshots, for a readiness endpoint (the key sources page shows one)."""
        return self.gate.verifier.health()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        script = environ.get("SCRIPT_NAME")
        path = environ.get("PATH_INFO", "")
        if script:  # environ_path, inline: the public path is the cheapest there is
            path = script + path
        environ[GATE_KEY] = self.gate
        if self._metadata and (document := self.gate.metadata_for(path, environ.get("REQUEST_METHOD"))) is not None:
            start_response(document.status_line, document.header_list())  # RFC 9728 metadata
            return [document.body]
        if (
            path in self._public_exact
            or (self._public_prefixes is not None and self._public_prefixes(path))
            or (self._preflight and environ.get("REQUEST_METHOD") == "OPTIONS" and _is_preflight(environ))
        ):
            environ[CLAIMS_KEY] = environ[IDENTITY_KEY] = None
        else:
            challenge = self._authenticate(environ, path)
            if challenge is not None:
                start_response(challenge.status_line, challenge.header_list())
                return [challenge.body]
        try:  # one call site, no extra frame: the public path is the cheapest there is
            return self.app(environ, start_response)
        except Refusal as refusal:  # an integration inside the app refused: answer as the gate does
            challenge = self.gate.refuse_inside(environ, refusal.failure)
            start_response(challenge.status_line, challenge.header_list(), sys.exc_info())
            return [challenge.body]

    def _authenticate(self, environ: WSGIEnvironment, path: str) -> Challenge | None:
        """Verify the request's token and attach what it says; the refusal, or ``None`` to call the app."""
        if self._first:  # a nesting shows on the first protected request; the others need not pay for the look
            self._first = False
            if CLAIMS_KEY in environ:  # set by a middleware of ours further out
                nested()
        query = ""
        if self._query_key is not None:
            query = environ.get("QUERY_STRING", "")
            scrubbed = self.gate.scrub_query(query)
            if scrubbed is not None:  # the app never needs the token again; logs must not see it
                environ["QUERY_STRING"] = scrubbed
        outcome = self.gate.authenticate(
            from_environ(environ, path, self._reads_cookies, query, self._csrf_key, origin=self._origin)
        )
        if outcome is None:
            environ[CLAIMS_KEY] = environ[IDENTITY_KEY] = None
        elif isinstance(outcome, Challenge):
            return outcome
        else:
            environ[CLAIMS_KEY] = outcome.claims
            environ[IDENTITY_KEY] = outcome
            subject = outcome.subject
            if subject is not None:
                environ["REMOTE_USER"] = subject
        return None


def _is_preflight(environ: WSGIEnvironment) -> bool:
    """A CORS preflight: ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method`` (Fetch standard)."""
    return "HTTP_ORIGIN" in environ and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ


def _is_async(hook: Any) -> bool:
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(type(hook).__call__)


def require_scopes(*scopes: str, roles: Sequence[str] = (), match: str = "all") -> Callable[[WSGIApplication], WSGIApplication]:
    """Decorate a WSGI app (or a Werkzeug ``Request.application``) to demand grants.

    Anonymous: 401 with a bare challenge; without the grants: 403 ``insufficient_scope``.

    Args:
        scopes: the scopes demanded.
        roles: the roles demanded.
        match: ``all`` (default) or ``any``, over scopes and roles together.
    """
    check_match(match)

    def decorate(app: WSGIApplication) -> WSGIApplication:
        @functools.wraps(app)
        def wrapper(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            challenge = refusal(environ, "require_scopes", scopes, roles, match)
            if challenge is not None:
                start_response(challenge.status_line, challenge.header_list())
                return [challenge.body]
            return app(environ, start_response)

        return wrapper

    return decorate
