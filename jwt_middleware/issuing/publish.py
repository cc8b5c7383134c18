"""Publish a key ring as a JWKS (and, optionally, an OpenID discovery document).

    from jwt_middleware.issuing.publish import jwks_asgi_app, jwks_wsgi_app

    keys_app = jwks_asgi_app(ring, issuer="https://auth.example.com")
    # serves /.well-known/jwks.json and /.well-known/openid-configuration

Another service then verifies with ``{"jwks_url": ".../.well-known/jwks.json"}`` or
``{"issuer": "https://auth.example.com", "oidc_discovery": True}``. Responses carry
``Cache-Control: public, max-age=...`` so verifiers refresh in step with rotation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .signing import KeyRing

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["DISCOVERY_PATH", "JWKS_PATH", "jwks_asgi_app", "jwks_wsgi_app"]

JWKS_PATH = "/.well-known/jwks.json"
"""Where the apps serve the JWKS."""
DISCOVERY_PATH = "/.well-known/openid-configuration"
"""Where the apps serve the OpenID discovery document (when given an ``issuer``)."""


def _answer(ring: KeyRing, issuer: str | None, max_age: int, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    if path == JWKS_PATH:
        document: dict[str, Any] = ring.jwks()
    elif path == DISCOVERY_PATH and issuer is not None:
        base = issuer.rstrip("/")
        algs = sorted({k.alg for k in ring.signing_keys() if not k.symmetric})
        document = {"issuer": issuer, "jwks_uri": base + JWKS_PATH, "id_token_signing_alg_values_supported": algs}
    else:
        return 404, [("content-type", "application/json")], b'{"error": "not_found"}'
    body = json.dumps(document).encode()
    headers = [
        ("content-type", "application/json"),
        ("cache-control", f"public, max-age={max_age}"),
        ("content-length", str(len(body))),
    ]
    return 200, headers, body


async def lifespan(receive: Any, send: Any) -> None:
    """Answer an ASGI ``lifespan`` scope for an app that needs no start-up or shutdown of its own.

    Args:
        receive: the scope's ``receive``.
        send: the scope's ``send``.
    """
    while (message := await receive())["type"] != "lifespan.shutdown":
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


def jwks_asgi_app(ring: KeyRing, *, issuer: str | None = None, max_age: int = 300) -> Any:
    """An ASGI app serving the ring's JWKS at ``JWKS_PATH``; 404 elsewhere.

    Args:
        ring: the keys to publish (read on every request, so a rotation shows at once).
        issuer: when given, also serve an OpenID discovery document at ``DISCOVERY_PATH``
            naming this issuer and the JWKS URL. Default none.
        max_age: the ``Cache-Control: max-age`` of each response, in seconds (default 300).
    """

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        status, headers, body = _answer(ring, issuer, max_age, scope["path"])
        await send({"type": "http.response.start", "status": status, "headers": [(k.encode(), v.encode()) for k, v in headers]})
        await send({"type": "http.response.body", "body": body})

    return app


def jwks_wsgi_app(ring: KeyRing, *, issuer: str | None = None, max_age: int = 300) -> WSGIApplication:
    """``jwks_asgi_app`` as a WSGI app.

    Args:
        ring: the keys to publish.
        issuer: when given, also serve the discovery document. Default none.
        max_age: the ``Cache-Control: max-age`` in seconds (default 300).
    """

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        status, headers, body = _answer(ring, issuer, max_age, environ.get("PATH_INFO", ""))
        start_response("200 OK" if status == 200 else "404 Not Found", headers)
        return [body]

    return app
