"""Real servers on 127.0.0.1 for end-to-end tests: uvicorn for ASGI, a threaded wsgiref for WSGI."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import uvicorn


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def uvicorn_server(app: Any, **config: Any) -> Iterator[str]:
    sock = free_socket()
    config.setdefault("lifespan", "on")
    config.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    host, port = sock.getsockname()
    try:
        yield f"{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 resets a burst of parallel clients


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgi_server(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def uvicorn_processes(target: str, env: dict[str, str], count: int = 1, ports: list[int] | None = None) -> Iterator[list[int]]:
    """``count`` separate uvicorn processes serving ``target`` (``module:app``) on loopback."""
    import http.client
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    chosen = list(ports or [])
    while len(chosen) < count:
        sock = free_socket()
        chosen.append(sock.getsockname()[1])
        sock.close()
    procs = []
    try:
        for port in chosen:
            args = [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--log-level", "warning"]
            procs.append(subprocess.Popen(args, cwd=root, env={**os.environ, **env}))
        deadline = time.monotonic() + 30
        for port, proc in zip(chosen, procs, strict=True):
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/health")
                    conn.getresponse().read()
                    conn.close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{target} did not start") from None
                    time.sleep(0.1)
        yield chosen
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
