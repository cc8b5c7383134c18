"""The apps the revocation benchmark serves with uvicorn: one route, revocation in memory or through Redis."""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from jwt_middleware import JWTMiddleware, MemoryRevocationStore, load_settings

from .http_apps import me

SETTINGS = {"algorithms": ["RS256"], "keys": [os.environ.get("BENCH_PUBLIC_PEM", "")]}


def _app(store: Any) -> Starlette:
    return Starlette(
        routes=[Route("/api", me)], middleware=[Middleware(JWTMiddleware, settings=load_settings(SETTINGS, revocation=store))]
    )


def __getattr__(name: str) -> Starlette:
    if name == "memory":
        return _app(MemoryRevocationStore())
    if name == "redis":
        from jwt_middleware.stores.redis import RedisRevocationStore

        return _app(RedisRevocationStore(os.environ["REDIS_URL"]))
    raise AttributeError(name)
