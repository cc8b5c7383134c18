"""FastAPI with its own login: the ready auth endpoints mounted beside the API, and Swagger UI's
"Authorize" asking for a username and a password (the OAuth 2.0 password flow against /auth/token).

    uvicorn examples.fastapi_login:app      # then open http://127.0.0.1:8000/docs: alice / wonderland
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Depends, FastAPI

from examples.fastapi_app import DOCS_PATHS, add_docs
from jwt_middleware import (
    JWTMiddleware,
    MemoryRefreshStore,
    MemoryRevocationStore,
    SigningKey,
    TokenIssuer,
    TokenService,
    load_settings,
)
from jwt_middleware.integrations.fastapi import JWTPasswordBearer, Requires
from jwt_middleware.server.apps import auth_asgi_app
from jwt_middleware.server.endpoints import AuthEndpoints

USERS = {"alice": ("wonderland", "notes:read notes:write"), "bob": ("builder", "notes:read")}  # a real app checks a hash


def authenticate(username: str, password: str) -> dict[str, Any] | None:
    user = USERS.get(username)
    return {"sub": username, "scope": user[1]} if user and password == user[0] else None


def build_app(issuer_url: str = "http://127.0.0.1:8000") -> FastAPI:
    revocation = MemoryRevocationStore()
    issuer = TokenIssuer(SigningKey.generate("ES256"), issuer=issuer_url, audience="notes-api")
    tokens = TokenService(issuer, MemoryRefreshStore(), revocation=revocation)
    login = JWTPasswordBearer(tokenUrl="/auth/token")
    app = FastAPI(title="Notes API", docs_url=None, redoc_url=None)
    add_docs(app)

    @app.get("/notes")
    def notes(claims: Mapping[str, Any] = Depends(Requires("notes:read", scheme=login))) -> dict[str, Any]:
        return {"notes": ["first"], "for": claims["sub"]}

    app.mount("/", auth_asgi_app(AuthEndpoints(tokens, authenticate, base_url=issuer_url, secure_cookies=False)))
    public = [*DOCS_PATHS, "/auth/*", "/.well-known/*"]
    app.add_middleware(JWTMiddleware, settings=load_settings(issuer.settings(revocation=revocation, exclude_paths=public)))
    return app


app = build_app()
