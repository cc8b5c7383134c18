"""Starlette: the middleware in the stack, ``request.user`` / ``request.auth``, and ``requires``.

JWT_SECRET=... uvicorn examples.starlette_app:app
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwt_middleware import JWTMiddleware, get_claims, load_settings


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


@requires("authenticated")
async def me(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.user.display_name, "scopes": request.auth.scopes, "claims": get_claims(request)})


@requires(["notes:write"])
async def write(request: Request) -> JSONResponse:
    return JSONResponse({"written_by": request.user.identity})


def build_app(settings: Mapping[str, Any]) -> Starlette:
    routes = [Route("/health", health), Route("/me", me), Route("/notes", write, methods=["POST"])]
    # "authenticated" is what Starlette's own AuthenticationMiddleware grants; give it to every token
    checked = load_settings(settings, exclude_paths=["/health"])  # validated here: a bad setting stops the import
    return Starlette(routes=routes, middleware=[Middleware(JWTMiddleware, settings=checked)])


app = build_app({"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32), "scope_claims": ["scope", "scp"]})
