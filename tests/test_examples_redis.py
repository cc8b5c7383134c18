"""The multi-process recipe: two real uvicorn processes, one real Redis, shared logout."""

from __future__ import annotations

import http.client
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from servers import uvicorn_processes
from tokens import SECRET, claims, mint


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
    with uvicorn_processes(
        "examples.shared_revocation:app", {"JWT_SECRET": SECRET, "REDIS_URL": redis_server.url}, count=2
    ) as ports:
        yield ports


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
