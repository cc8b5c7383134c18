"""Requests per second through uvicorn on loopback, bounded in time; and JWKS fetches."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 16
SECONDS = 4.0  # per stack, in ROUNDS turns
ROUNDS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(port: int, request: bytes, stop: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    try:
        while time.monotonic() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
            done += 1
            if b"\r\nconnection: close" in head.lower():  # werkzeug's server answers one request per connection
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        counts.append(done)
        writer.close()


async def _load(port: int, token: str, seconds: float) -> float:
    request = f"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    counts: list[int] = []
    start = time.monotonic()
    await asyncio.gather(*(_client(port, request, start + seconds, counts) for _ in range(CONNECTIONS)))
    return sum(counts) / (time.monotonic() - start)


def _start(app: str, env: dict[str, str], module: str = "benchmarks.http_apps") -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    return _serve(
        ["-m", "uvicorn", f"{module}:{app}", "--port", str(port), "--log-level", "warning", "--no-access-log"], port, env
    )


def _serve(args: list[str], port: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """``python <args>`` started, once it accepts connections on ``port``."""
    server = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            if time.monotonic() > deadline:
                server.terminate()
                raise RuntimeError(f"{args} did not start") from None
            time.sleep(0.05)


def http_section() -> dict[str, float]:
    """All three servers up at once, loaded in turn, one second each, for ``ROUNDS`` rounds.

    As in process, taking turns spreads this VM's slow patches over every stack alike, so
    the ratio holds even when the absolute rate drifts.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    now = int(time.time())
    token = jwt.encode({"sub": "alice", "iat": now, "exp": now + 3600, "scope": "read"}, key, algorithm="RS256")
    env = {**os.environ, "BENCH_PUBLIC_PEM": pem}
    apps = ("bare", "ours", "theirs")
    servers = {}
    try:
        for app in apps:
            servers[app] = _start(app, env)
        results = _in_turns({app: port for app, (_, port) in servers.items()}, token)
    finally:
        _stop(servers)
    for app in apps:
        print(
            f"  uvicorn + Starlette {app:<8} {results[app]:10.0f} req/s"
            f"  ({CONNECTIONS} keep-alive connections, {ROUNDS} turns of {SECONDS / ROUNDS:g} s)",
            flush=True,
        )
    return results


def _in_turns(ports: dict[str, int], token: str) -> dict[str, float]:
    """Requests/s of every server, loaded in turn for ``ROUNDS`` rounds after a warm-up."""
    for port in ports.values():
        asyncio.run(_load(port, token, 0.5))
    done = dict.fromkeys(ports, 0.0)
    for _ in range(ROUNDS):
        for name, port in ports.items():
            done[name] += asyncio.run(_load(port, token, SECONDS / ROUNDS)) * SECONDS / ROUNDS
    return {name: done[name] / SECONDS for name in ports}


def _stop(servers: dict[str, tuple[subprocess.Popen[bytes], int]]) -> None:
    for server, _ in servers.values():
        server.terminate()
        server.wait(10)


def wsgi_section() -> dict[str, float]:
    """Flask and Django, bare and with our middleware, each in werkzeug's threaded server, loaded in turn."""
    from .wsgi_apps import STACKS

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    now = int(time.time())
    token = jwt.encode({"sub": "alice", "iat": now, "exp": now + 3600, "scope": "read"}, key, algorithm="RS256")
    env = {**os.environ, "BENCH_PUBLIC_PEM": pem}
    servers = {}
    try:
        for stack in STACKS:
            port = _free_port()
            servers[stack] = _serve(["-m", "benchmarks.wsgi_apps", stack, str(port)], port, env)
        results = _in_turns({stack: port for stack, (_, port) in servers.items()}, token)
    finally:
        _stop(servers)
    for stack, rate in results.items():
        bare = results[stack.split()[0] + " bare"]
        print(f"  werkzeug threaded + {stack:<36} {rate:8.0f} req/s  {rate / bare:5.2f} x bare", flush=True)
    print(
        f"  ({CONNECTIONS} clients, a new connection per request as werkzeug closes each one, "
        f"{ROUNDS} turns of {SECONDS / ROUNDS:g} s, the same RS256 token)"
    )
    return results


def jwks_section() -> int:
    """50 concurrent requests on a cold cache against a slow key server: how many fetches."""
    from jwt_middleware import Verifier, load_settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**jwt.get_algorithm_by_name("RS256").to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    fetches: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(1)
            time.sleep(0.2)
            body = json.dumps({"keys": [jwk]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
        verifier = Verifier(load_settings({"algorithms": ["RS256"], "jwks_url": url}))
        now = int(time.time())
        tokens = [jwt.encode({"sub": f"u{i}", "exp": now + 60}, key, algorithm="RS256", headers={"kid": "k1"}) for i in range(50)]

        async def cold() -> None:
            await asyncio.gather(*(verifier.verify_async(t) for t in tokens))

        asyncio.run(cold())
    finally:
        server.shutdown()
    print(f"  50 concurrent cold requests (asyncio) made {len(fetches)} JWKS fetch(es)")
    return len(fetches)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        http_section()
        wsgi_section()
        jwks_section()
