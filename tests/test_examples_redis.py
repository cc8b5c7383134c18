"""The multi-process recipe: two real uvicorn processes, one real Redis, shared logout."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_socket
from tokens import SECRET, claims, mint

ROOT = Path(__file__).resolve().parent.parent


def call(port: int, method: str, path: str, token: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


@pytest.fixture
def two_processes(redis_server: Any) -> Iterator[list[int]]:
    env = {**os.environ, "JWT_SECRET": SECRET, "REDIS_URL": redis_server.url}
    procs, ports = [], []
    for _ in range(2):
        sock = free_socket()
        port = sock.getsockname()[1]
        sock.close()
        args = [sys.executable, "-m", "uvicorn", "examples.shared_revocation:app", "--port", str(port), "--log-level", "warning"]
        procs.append(subprocess.Popen(args, cwd=ROOT, env=env))
        ports.append(port)
    try:
        deadline = time.monotonic() + 20
        for port in ports:
            while True:
                try:
                    call(port, "GET", "/me", "x")
                    break
                except OSError:
                    assert time.monotonic() < deadline, "example server did not start"
                    time.sleep(0.1)
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_logout_in_one_process_is_seen_by_the_other(two_processes: list[int]) -> None:
    a, b = two_processes
    token = mint(claims(jti=uuid.uuid4().hex, sub=f"u-{uuid.uuid4().hex}"))
    assert call(a, "GET", "/me", token)[0] == 200
    assert call(b, "GET", "/me", token)[0] == 200
    assert call(a, "POST", "/logout", token)[0] == 204
    assert call(b, "GET", "/me", token)[0] == 401
    assert call(a, "GET", "/me", token)[0] == 401


def test_logout_everywhere_across_processes(two_processes: list[int]) -> None:
    a, b = two_processes
    sub = f"u-{uuid.uuid4().hex}"
    first = mint(claims(jti="1", sub=sub, iat=int(time.time()) - 5))
    second = mint(claims(jti="2", sub=sub, iat=int(time.time()) - 5))
    assert call(b, "POST", "/logout-everywhere", first)[0] == 204
    assert call(a, "GET", "/me", second)[0] == 401
    assert call(b, "GET", "/me", second)[0] == 401
