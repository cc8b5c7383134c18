"""Flask: the WSGI middleware around ``app.wsgi_app``; ``require``, ``current_user``, ``current_claims``.

JWT_SECRET=... flask --app examples.flask_app run

Flask serves ``/static/*`` through the same ``wsgi_app``, so the static files are protected
unless excluded: ``exclude_paths`` lists them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import flask

from jwt_middleware import JWTWSGIMiddleware, Settings, load_settings
from jwt_middleware.integrations.flask import current_claims, current_user, require


def build_app(settings: Settings | Mapping[str, Any]) -> flask.Flask:
    checked = load_settings(settings, exclude_paths=["/health", "/static/*"])  # a bad setting stops the import
    app = flask.Flask(__name__, static_folder="static")

    @app.get("/health")
    def health() -> Any:
        return {"ok": True}

    @app.get("/me")
    def me() -> Any:
        return {"sub": current_claims["sub"], "username": current_user.username, "remote_user": flask.request.remote_user}

    @app.post("/notes")
    @require("notes:write")
    def write() -> Any:
        return {"written": True}

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings=checked)  # type: ignore[method-assign]
    return app


app = build_app({"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32)})
