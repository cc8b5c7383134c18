"""Drive the ASGI and the WSGI adapter with the same requests, in process."""

from __future__ import annotations

import asyncio
import io
import json
import wsgiref.validate
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from wsgiref.util import setup_testing_defaults

from jwt_middleware import CLAIMS_KEY, JWTMiddleware, JWTWSGIMiddleware, get_roles, get_scopes


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    header_list: list[tuple[str, str]]
    body: bytes
    called: bool
    seen: dict[str, Any] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def challenge(self) -> str:
        return self.headers.get("www-authenticate", "")


class Harness:
    kind: str
    middleware: Any

    def request(
        self, path: str = "/api", headers: Sequence[tuple[str, str]] = (), query: str = "", method: str = "GET"
    ) -> Result:
        raise NotImplementedError


class ASGIHarness(Harness):
    """With ``loop``, every request runs on that one event loop, as under a real server."""

    kind = "asgi"

    def __init__(self, settings: Any, loop: asyncio.AbstractEventLoop | None = None, **overrides: Any) -> None:
        self.seen: dict[str, Any] = {}
        self.loop = loop

        async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
            self.seen.update(
                called=True,
                claims=scope.get(CLAIMS_KEY),
                user=scope.get("user"),
                auth=scope.get("auth"),
                type=scope["type"],
                query=scope.get("query_string", b"").decode("latin-1"),
                scopes=get_scopes(scope),
                roles=get_roles(scope),
            )
            if scope["type"] == "websocket":
                await receive()
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 1000})
                return
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": json.dumps({"ok": True}).encode()})

        self.middleware = JWTMiddleware(inner, settings, **overrides)
        self.app = self.middleware

    def _scope(self, kind: str, path: str, headers: Sequence[tuple[str, str]], query: str, method: str) -> dict[str, Any]:
        scope: dict[str, Any] = {
            "type": kind,
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "path": path,
            "raw_path": path.encode("latin-1", "replace"),
            "query_string": query.encode("latin-1", "replace"),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            "scheme": "http" if kind == "http" else "ws",
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        if kind == "http":
            scope["method"] = method
        return scope

    def request(
        self, path: str = "/api", headers: Sequence[tuple[str, str]] = (), query: str = "", method: str = "GET"
    ) -> Result:
        self.seen = {}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        self._run(self.app(self._scope("http", path, headers, query, method), receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        hl = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        return Result(start["status"], dict(hl), hl, body, bool(self.seen.get("called")), dict(self.seen))

    def websocket(
        self,
        path: str = "/ws",
        headers: Sequence[tuple[str, str]] = (),
        query: str = "",
        extensions: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        self.seen = {}
        sent: list[dict[str, Any]] = []
        scope = self._scope("websocket", path, headers, query, "GET")
        if extensions is not None:
            scope["extensions"] = extensions

        async def receive() -> dict[str, Any]:
            return {"type": "websocket.connect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        self._run(self.app(scope, receive, send))
        return sent

    def _run(self, coroutine: Any) -> None:
        if self.loop is None:
            asyncio.run(coroutine)
        else:
            self.loop.run_until_complete(coroutine)


class WSGIHarness(Harness):
    kind = "wsgi"

    def __init__(self, settings: Any, **overrides: Any) -> None:
        self.seen: dict[str, Any] = {}

        def inner(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            self.seen.update(
                called=True,
                claims=environ.get(CLAIMS_KEY),
                remote_user=environ.get("REMOTE_USER"),
                query=environ.get("QUERY_STRING", ""),
                scopes=get_scopes(environ),
                roles=get_roles(environ),
            )
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"ok": True}).encode()]

        self.middleware = JWTWSGIMiddleware(wsgiref.validate.validator(inner), settings, **overrides)
        self.app = wsgiref.validate.validator(self.middleware)

    def request(
        self, path: str = "/api", headers: Sequence[tuple[str, str]] = (), query: str = "", method: str = "GET"
    ) -> Result:
        self.seen = {}
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "REMOTE_ADDR": "127.0.0.1",
        }
        for name, value in headers:
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = f"{environ[key]},{value}" if key in environ else value  # how servers merge repeats
        setup_testing_defaults(environ)  # after the headers: a Host header given replaces its default
        environ["wsgi.input"] = io.BytesIO(b"")
        environ["wsgi.errors"] = io.StringIO()
        captured: dict[str, Any] = {}

        def start_response(status: str, hl: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, hl
            return lambda data: None

        iterable = self.app(environ, start_response)
        try:
            body = b"".join(iterable)
        finally:
            iterable.close()  # type: ignore[attr-defined]
        hl = [(k.lower(), v) for k, v in captured["headers"]]
        return Result(int(captured["status"].split()[0]), dict(hl), hl, body, bool(self.seen.get("called")), dict(self.seen))


HARNESSES = {"asgi": ASGIHarness, "wsgi": WSGIHarness}
