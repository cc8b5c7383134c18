"""Flask: the WSGI middleware around ``app.wsgi_app``, ``get_claims`` and ``require``.

JWT_SECRET=... flask --app examples.flask_app run
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import flask

from jwt_middleware import JWTWSGIMiddleware, get_claims
from jwt_middleware.integrations.flask import require


def build_app(settings: Mapping[str, Any]) -> flask.Flask:
    app = flask.Flask(__name__)

    @app.get("/health")
    def health() -> Any:
        return {"ok": True}

    @app.get("/me")
    def me() -> Any:
        claims = get_claims(flask.request) or {}
        return {"sub": claims.get("sub"), "remote_user": flask.request.remote_user}

    @app.post("/notes")
    @require("notes:write")
    def write() -> Any:
        return {"written": True}

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings={"exclude_paths": ["/health"], **settings})  # type: ignore[method-assign]
    return app


app = build_app({"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32)})
