"""The auth endpoints as an ASGI app and as a WSGI app: each reads the request, drives the core, writes the answer.

from jwt_middleware.server import AuthEndpoints, auth_asgi_app, auth_wsgi_app

endpoints = AuthEndpoints(tokens, authenticate=check_password, base_url="https://auth.example.com")
app = auth_asgi_app(endpoints)            # or auth_wsgi_app(endpoints); mount it under any prefix
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ..core.flow import Flow, run, run_async
from ..issuing.publish import lifespan
from .endpoints import AuthEndpoints
from .messages import Request, Response, oauth_error

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["auth_asgi_app", "auth_wsgi_app"]
log = logging.getLogger("jwt_middleware")
MAX_BODY = 64 * 1024


def _unavailable(exc: BaseException) -> Response:
    log.warning(
        "auth endpoint failed (reason=auth_endpoint_error, error=%s)",
        type(exc).__name__,
        extra={"auth_reason": "auth_endpoint_error"},
    )
    return oauth_error(503, "temporarily_unavailable", "the request could not be completed", ("retry-after", "5"))


def _drive_sync(flow: Flow[Response]) -> Response:
    try:
        return run(flow)
    except Exception as exc:  # authenticate or a store failed: never a 500, never a token
        return _unavailable(exc)


async def _drive_async(flow: Flow[Response]) -> Response:
    try:
        return await run_async(flow)
    except Exception as exc:
        return _unavailable(exc)


def auth_asgi_app(endpoints: AuthEndpoints) -> Any:
    """An ASGI app serving the endpoints (``lifespan`` is answered, a WebSocket refused; any mount prefix works).

    Args:
        endpoints: the configured ``AuthEndpoints``.
    """

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
        elif scope["type"] == "websocket":  # no endpoint speaks WebSocket: refused before accept
            await send({"type": "websocket.close", "code": 1008})
        elif scope["type"] == "http":
            body, too_large = await _read_body(receive)
            if too_large:
                response = oauth_error(413, "invalid_request", "body too large")
            else:
                response = await _drive_async(endpoints.handle(_asgi_request(scope, body)))
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
            await send({"type": "http.response.start", "status": response.status, "headers": raw})
            await send({"type": "http.response.body", "body": response.body})

    return app


async def _read_body(receive: Any) -> tuple[bytes, bool]:
    body, more, too_large = b"", True, False
    while more:
        message = await receive()
        if message.get("type") == "http.disconnect":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
        too_large = too_large or len(body) > MAX_BODY
        body = body[: MAX_BODY + 1]
    return body, too_large


def _asgi_request(scope: dict[str, Any], body: bytes) -> Request:
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}{'; ' if key == 'cookie' else ','}{text}" if key in headers else text
    root, path = scope.get("root_path", ""), scope["path"]
    client = scope.get("client")
    path = path[len(root) :] if root and path.startswith(root) else path
    return Request(scope.get("method", "GET"), path, headers, body, client[0] if client else None, root)


def auth_wsgi_app(endpoints: AuthEndpoints) -> WSGIApplication:
    """The endpoints as a WSGI app (mounted where ``SCRIPT_NAME`` says).

    Args:
        endpoints: the configured ``AuthEndpoints``.
    """

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(length, MAX_BODY + 1)) if length > 0 else b""
        if length > MAX_BODY:
            response = oauth_error(413, "invalid_request", "body too large")
        else:
            response = _drive_sync(endpoints.handle(_wsgi_request(environ, body)))
        headers = response.headers
        if not any(name == "content-length" for name, _ in headers):
            headers = [*headers, ("content-length", str(len(response.body)))]
        start_response(f"{response.status} {HTTPStatus(response.status).phrase}", headers)
        return [response.body]

    return app


def _wsgi_request(environ: WSGIEnvironment, body: bytes) -> Request:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    path, root = environ.get("PATH_INFO", "") or "/", environ.get("SCRIPT_NAME", "")
    return Request(environ.get("REQUEST_METHOD", "GET"), path, headers, body, environ.get("REMOTE_ADDR"), root)
