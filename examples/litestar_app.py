"""Litestar: ``DefineMiddleware(JWTMiddleware, settings=...)`` and the claims on Litestar's own request.

JWT_SECRET=... uvicorn examples.litestar_app:app
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from litestar import Litestar, Request, get
from litestar.middleware import DefineMiddleware

from jwt_middleware import JWTMiddleware, Settings, get_claims, get_scopes, load_settings


@get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@get("/me")
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    claims = get_claims(request) or {}
    return {"sub": claims.get("sub"), "scopes": get_scopes(request), "user": request.scope["user"].display_name}


def build_app(settings: Settings | Mapping[str, Any]) -> Litestar:
    checked = load_settings(settings, exclude_paths=["/health", "/schema/*"])
    return Litestar(route_handlers=[health, me], middleware=[DefineMiddleware(JWTMiddleware, settings=checked)])


app = build_app({"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32)})
