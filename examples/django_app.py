"""Django in one file: ``JWTAuthenticationMiddleware`` in ``MIDDLEWARE``, plain views and DRF views.

    JWT_SECRET=... uvicorn examples.django_app:asgi_app          # ASGI
    JWT_SECRET=... python -m examples.django_app 8002             # WSGI (wsgiref)

In a real project the two settings below go in ``settings.py``; ``asgi.py`` and ``wsgi.py``
stay as ``startproject`` wrote them.
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
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        DATABASES={},
        MIDDLEWARE=["jwt_middleware.integrations.django.JWTAuthenticationMiddleware"],
        JWT_MIDDLEWARE={
            "algorithms": ["HS256"],
            "secret": os.environ.get("JWT_SECRET", "x" * 32),
            "exclude_paths": ["/health"],
        },
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["jwt_middleware.integrations.drf.JWTAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jwt_middleware import get_scopes
from jwt_middleware.integrations.drf import TokenHasScope


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def me(request: HttpRequest) -> JsonResponse:
    # request.user: the token user (or your user_loader's); request.auth: the verified claims
    auth: Any = request.auth  # type: ignore[attr-defined]
    return JsonResponse({"username": request.user.get_username(), "sub": auth["sub"], "scopes": get_scopes(request)})


async def me_async(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({"username": user.get_username()})


class Notes(APIView):
    permission_classes = [TokenHasScope]
    required_scopes = ["notes:read"]

    def get(self, request: Request) -> Response:
        return Response({"notes": ["first"], "for": request.user.username})


urlpatterns = [path("health", health), path("me", me), path("me-async", me_async), path("api/notes", Notes.as_view())]

asgi_app = ASGIHandler()
wsgi_app = WSGIHandler()

if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    with make_server("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8002, wsgi_app) as server:
        server.serve_forever()
