"""A real HTTP server on 127.0.0.1 serving a JWKS and a discovery document; each test
changes its behaviour: rotate keys, answer 500, refuse connections, stall, send garbage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class KeyServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        self.body: bytes | None = None  # raw override of the JWKS body
        self.headers: dict[str, str] = {}
        self.etag: str | None = None
        self.discovery: dict[str, Any] | None = None
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    # -- control -----------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.base}/jwks"

    def count(self, path: str = "/jwks") -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def start(self) -> None:
        handler = _handler_for(self)
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        server.allow_reuse_address = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        """Close the listening socket: connections are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @contextmanager
    def down(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()

    # -- serving -----------------------------------------------------------------------
    def respond(self, path: str, request_headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append((path, request_headers))
        if self.delay:
            time.sleep(self.delay)
        if path == "/.well-known/openid-configuration" and self.discovery is not None:
            return 200, {"Content-Type": "application/json"}, json.dumps(self.discovery).encode()
        if path == "/redirect":
            return 302, {"Location": "/jwks"}, b""
        if path != "/jwks":
            return 404, {}, b"not found"
        if self.etag and request_headers.get("if-none-match") == self.etag:
            return 304, {"ETag": self.etag, **self.headers}, b""
        body = self.body if self.body is not None else json.dumps({"keys": self.keys}).encode()
        headers = {"Content-Type": "application/json", **self.headers}
        if self.etag:
            headers["ETag"] = self.etag
        return self.status, headers, body


def _handler_for(ks: KeyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status, headers, body = ks.respond(self.path, {k.lower(): v for k, v in self.headers.items()})
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
