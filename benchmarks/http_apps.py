"""The apps the HTTP benchmark serves with uvicorn: the same Starlette route, three ways."""

from __future__ import annotations

import os
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwt_middleware import JWTMiddleware

PUBLIC_PEM = os.environ.get("BENCH_PUBLIC_PEM", "")


async def me(request: Request) -> JSONResponse:
    user = request.scope.get("user")
    return JSONResponse({"sub": user.display_name if user is not None else "anonymous"})


class PyJWTBackend(AuthenticationBackend):
    """What a Starlette user writes without us: PyJWT decode in an AuthenticationBackend."""

    def __init__(self, public_key: Any) -> None:
        self.public_key = public_key

    async def authenticate(self, conn: Any) -> Any:
        auth = conn.headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        try:
            claims = jwt.decode(auth[7:], self.public_key, algorithms=["RS256"])
        except jwt.PyJWTError as exc:
            raise AuthenticationError("invalid token") from exc
        return AuthCredentials(claims.get("scope", "").split()), SimpleUser(claims["sub"])


routes = [Route("/api", me)]
bare = Starlette(routes=routes)
ours = Starlette(routes=routes, middleware=[Middleware(JWTMiddleware, settings={"algorithms": ["RS256"], "keys": [PUBLIC_PEM]})])
theirs = Starlette(routes=routes, middleware=[Middleware(AuthenticationMiddleware, backend=PyJWTBackend(PUBLIC_PEM))])
