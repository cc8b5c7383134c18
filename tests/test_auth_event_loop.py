"""The auth ASGI app never waits on a store in its event loop: every call that may wait is yielded
to the awaiting driver (core.flow.run_async), which awaits it or moves it to a worker thread."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis_server import RedisServer

from jwt_middleware import MemoryRefreshStore, MemoryRevocationStore, SigningKey, TokenIssuer, TokenService
from jwt_middleware.server import AuthEndpoints, auth_asgi_app
from jwt_middleware.stores.redis import RedisLoginThrottle


@pytest.fixture
def paused_redis() -> Iterator[RedisServer]:
    server = RedisServer()  # its own: pausing the session's Redis would stall other tests
    try:
        yield server
    finally:
        server.signal(signal.SIGCONT)
        server.cleanup()


def authenticate(username: str, password: str) -> str | None:
    return username if password == "right" else None


async def call(app: Any, path: str, body: bytes) -> tuple[int, Any]:
    scope = {"type": "http", "method": "POST", "path": path, "root_path": "", "client": ("127.0.0.1", 5000),
             "headers": [(b"content-type", b"application/x-www-form-urlencoded")]}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    raw = sent[1]["body"]
    return sent[0]["status"], json.loads(raw) if raw else None


async def worst_lateness_while(work: Any) -> tuple[float, Any]:
    """Run ``work`` while a ticker sleeps 5 ms at a time; the worst lateness of a tick, in seconds."""
    worst, done = 0.0, asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - start - 0.005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # the ticker is ticking before the work starts
    try:
        result = await work
    finally:
        done.set()
        await task
    return worst, result


def test_a_paused_redis_throttle_never_stalls_the_event_loop(paused_redis: RedisServer) -> None:
    issuer = TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test", audience="api")
    tokens = TokenService(issuer, MemoryRefreshStore(), revocation=MemoryRevocationStore())
    throttle = RedisLoginThrottle(paused_redis.url, prefix="ticker:", timeout=0.5)
    app = auth_asgi_app(AuthEndpoints(tokens, authenticate, throttle=throttle))
    wrong = b"grant_type=password&username=alice&password=wrong"

    async def scenario() -> tuple[float, tuple[int, Any]]:
        assert (await call(app, "/auth/token", wrong))[0] == 400  # connected, counted: Redis works
        paused_redis.signal(signal.SIGSTOP)
        return await worst_lateness_while(call(app, "/auth/token", wrong))

    worst, (status, body) = asyncio.run(scenario())
    paused_redis.signal(signal.SIGCONT)
    assert status in (400, 503) and body["error"] in ("invalid_grant", "temporarily_unavailable"), (status, body)
    assert worst < 0.1, f"the event loop stalled {worst * 1000:.0f} ms"
    print(f"worst ticker lateness with Redis paused: {worst * 1000:.1f} ms (status {status})")
