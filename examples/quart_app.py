"""Quart: the ASGI middleware around ``app.asgi_app``, and the claims on Quart's request.

JWT_SECRET=... uvicorn examples.quart_app:app
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import quart

from jwt_middleware import JWTMiddleware, Settings, get_claims, load_settings


def build_app(settings: Settings | Mapping[str, Any]) -> quart.Quart:
    checked = load_settings(settings, exclude_paths=["/health", "/static/*"])
    app = quart.Quart(__name__)

    @app.get("/health")
    async def health() -> Any:
        return {"ok": True}

    @app.get("/me")
    async def me() -> Any:
        claims = get_claims(quart.request) or {}
        return {"sub": claims.get("sub")}

    app.asgi_app = JWTMiddleware(app.asgi_app, settings=checked)  # type: ignore[method-assign]
    return app


app = build_app({"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32)})
