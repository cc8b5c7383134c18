from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from harness import HARNESSES, ASGIHarness, Harness
from tokens import SECRET


@pytest.fixture(params=sorted(HARNESSES))
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Harness]]:
    """Build the same app under the ASGI or the WSGI adapter: ``make(settings, **overrides)``.

    ASGI apps share one event loop for the test, as under a real server.
    """
    cls = HARNESSES[request.param]
    loop = asyncio.new_event_loop()

    def build(settings: Any = None, **overrides: Any) -> Harness:
        if cls is ASGIHarness:
            overrides["loop"] = loop
        return cls(settings if settings is not None else {"algorithms": ["HS256"], "secret": SECRET}, **overrides)

    yield build
    loop.close()


@pytest.fixture
def hs() -> dict[str, Any]:
    return {"algorithms": ["HS256"], "secret": SECRET}


@pytest.fixture(scope="session")
def redis_server() -> Any:
    from redis_server import RedisServer

    server = RedisServer()
    yield server
    server.cleanup()
