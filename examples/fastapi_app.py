"""FastAPI: the bearer scheme in OpenAPI, Swagger UI's "Authorize", claims, the current user, scopes.

    JWT_SECRET=... uvicorn examples.fastapi_app:app      # then open http://127.0.0.1:8000/docs

The docs pages are public, and their assets are served from a package (fastapi-offline's
copies of Swagger UI and ReDoc), as FastAPI's "self-hosting" recipe shows: a page of this
app loads nothing from a CDN.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from jwt_middleware import JWTMiddleware, Settings, load_settings
from jwt_middleware.integrations.fastapi import Claims, CurrentUser, Requires

ASSETS = Path(fastapi_offline.__file__).parent / "static"
# Exactly what FastAPI's docs need, and nothing more: every other path needs a token.
DOCS_PATHS = ["/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc", "/docs-assets/*"]


def add_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, with their assets served by the app itself."""
    app.mount("/docs-assets", StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Notes API",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="Notes API",
            redoc_js_url="/docs-assets/redoc.standalone.js",
            redoc_favicon_url="/docs-assets/favicon.png",
            with_google_fonts=False,
        )


def build_app(settings: Settings | Mapping[str, Any]) -> FastAPI:
    # Validated here, where the app is built: a bad setting stops the import, so uvicorn never starts.
    checked = load_settings(settings, exclude_paths=[*DOCS_PATHS, "/health"])
    app = FastAPI(title="Notes API", docs_url=None, redoc_url=None)
    add_docs(app)

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/me")
    def me(claims: Claims) -> dict[str, Any]:
        return {"sub": claims["sub"], "scope": claims.get("scope")}

    @app.get("/profile")
    async def profile(user: CurrentUser) -> dict[str, Any]:
        return {"username": user.username}

    @app.get("/notes", dependencies=[Depends(Requires("notes:read"))])
    def read() -> list[str]:
        return ["first note"]

    @app.post("/notes", dependencies=[Depends(Requires("notes:write"))])
    def write() -> dict[str, bool]:
        return {"written": True}

    app.add_middleware(JWTMiddleware, settings=checked)
    return app


app = build_app({"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32)})
