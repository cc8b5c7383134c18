"""The WSGI adapter: ``JWTWSGIMiddleware``.

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings={"algorithms": ["HS256"], "secret": "..."})

On success the claims are at ``environ["jwt_middleware.claims"]`` and ``REMOTE_USER`` is the
token's ``sub``; the app's response iterable is returned untouched. On failure the app is
never called and the RFC 6750 challenge goes out through ``start_response``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._gate import Gate
from ._identity import CLAIMS_KEY
from ._responses import Challenge
from ._settings import Settings, load_settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["JWTWSGIMiddleware"]


class JWTWSGIMiddleware:
    """Wrap a WSGI app. ``settings`` is a mapping or a ``Settings``; keyword arguments override it."""

    def __init__(self, app: WSGIApplication, settings: Settings | Mapping[str, Any] | None = None, **overrides: Any) -> None:
        self.app = app
        self.gate = Gate(load_settings(settings, **overrides))

    def health(self) -> list[dict[str, Any]]:
        """Per-provider key source snapshots, for a readiness endpoint (see docs/key-sources.md)."""
        return self.gate.verifier.health()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        gate = self.gate
        if gate.rules.is_public(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")):
            environ[CLAIMS_KEY] = None
            return self.app(environ, start_response)
        authorization = environ.get("HTTP_AUTHORIZATION")
        cookie = environ.get("HTTP_COOKIE")
        outcome = gate.authenticate(
            () if authorization is None else (authorization,),
            () if cookie is None else (cookie,),
            environ.get("QUERY_STRING", ""),
        )
        if isinstance(outcome, Challenge):
            start_response(outcome.status_line, outcome.header_list())
            return [outcome.body]
        if outcome is None:
            environ[CLAIMS_KEY] = None
        else:
            environ[CLAIMS_KEY] = outcome.claims
            if outcome.subject is not None:
                environ["REMOTE_USER"] = outcome.subject
        return self.app(environ, start_response)
