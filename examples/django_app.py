"""Django in one file, served as ASGI and as WSGI behind the middleware.

    JWT_SECRET=... uvicorn examples.django_app:asgi_app          # ASGI
    JWT_SECRET=... python -m examples.django_app 8002             # WSGI (wsgiref)

In a real project: wrap ``application`` in ``asgi.py`` / ``wsgi.py`` the same way, and read
the settings from ``django.conf.settings`` (for example ``settings.JWT_MIDDLEWARE``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-" + "x" * 40),
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        JWT_MIDDLEWARE={"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", "x" * 32), "exclude_paths": ["/health"]},
    )
    django.setup()

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, JsonResponse
from django.urls import path

from jwt_middleware import JWTMiddleware, JWTWSGIMiddleware, get_claims, get_scopes


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def me(request: HttpRequest) -> JsonResponse:
    claims: Any = get_claims(request) or {}
    return JsonResponse({"sub": claims.get("sub"), "scopes": get_scopes(request)})


urlpatterns = [path("health", health), path("me", me)]

asgi_app = JWTMiddleware(ASGIHandler(), settings=settings.JWT_MIDDLEWARE)
wsgi_app = JWTWSGIMiddleware(WSGIHandler(), settings=settings.JWT_MIDDLEWARE)

if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    with make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8002, wsgi_app) as server:
        server.serve_forever()
