"""FastAPI: claims through a dependency, scopes through another.

JWT_SECRET=... uvicorn examples.fastapi_app:app
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, FastAPI

from jwt_middleware import JWTMiddleware
from jwt_middleware.integrations.fastapi import Claims, Requires


def build_app(settings: Mapping[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/me")
    def me(claims: Claims) -> dict[str, Any]:
        return {"sub": claims["sub"], "scope": claims.get("scope")}

    @app.post("/notes", dependencies=[Depends(Requires("notes:write"))])
    def write() -> dict[str, bool]:
        return {"written": True}

    app.add_middleware(JWTMiddleware, settings={"exclude_paths": ["/health", "/docs", "/openapi.json"], **settings})
    return app


app = build_app({"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32)})
