"""The one Django project of the in-process tests: Django is configured once per process.

Its database is a file in a temporary folder (an in-memory SQLite database is not shared
with the worker thread that serves AsyncClient's sync code). Tests change settings with
``django.test.override_settings``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tokens import SECRET

from jwt_middleware import get_claims

DB_DIR = tempfile.mkdtemp(prefix="jwt-django-")
MIDDLEWARE = ["jwt_middleware.integrations.django.JWTAuthenticationMiddleware"]
JWT = {"algorithms": ["HS256"], "secret": SECRET, "exclude_paths": ["/health"]}
REST = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["jwt_middleware.integrations.drf.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": None,
}


def load_user(claims: Any) -> Any:
    """A user_loader over Django's own User model."""
    from django.contrib.auth.models import User

    return User.objects.filter(username=claims["sub"]).first()


def configure() -> None:
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only-" + "x" * 40,
        ROOT_URLCONF="django_project",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(DB_DIR) / "db.sqlite3")}},
        MIDDLEWARE=MIDDLEWARE,
        JWT_MIDDLEWARE=JWT,
        REST_FRAMEWORK=REST,
        USE_TZ=True,
    )
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User.objects.create_user("alice", email="alice@example.test")


# -- views (imported by Django as ROOT_URLCONF once configured) ---------------------------------


def _views() -> list[Any]:
    from django.http import HttpRequest, JsonResponse
    from django.urls import path
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from jwt_middleware.integrations.drf import JWTAuthentication, TokenHasScope

    def describe(request: HttpRequest, user: Any) -> JsonResponse:
        return JsonResponse(
            {
                "type": user.__class__.__name__,  # a lazy user proxies __class__
                "username": user.get_username() if user.is_authenticated else "",
                "is_authenticated": user.is_authenticated,
                "is_anonymous": user.is_anonymous,
                "pk": user.pk,
                "auth_sub": (request.auth or {}).get("sub"),  # type: ignore[attr-defined]
                "claims_sub": (get_claims(request) or {}).get("sub"),
            }
        )

    def me(request: HttpRequest) -> JsonResponse:
        return describe(request, request.user)

    async def me_async(request: HttpRequest) -> JsonResponse:
        return describe(request, await request.auser())

    class Notes(APIView):
        permission_classes = [TokenHasScope]
        required_scopes = ["notes:read"]

        def get(self, request: Request) -> Response:
            return Response({"user": type(request.user).__name__, "sub": request.auth["sub"]})

        def post(self, request: Request) -> Response:
            return Response({"posted": request.auth["sub"]})

    class Open(APIView):
        authentication_classes = [JWTAuthentication]
        permission_classes: list[Any] = []

        def get(self, request: Request) -> Response:
            return Response({"user": getattr(request.user, "username", None), "auth": request.auth})

    class Private(APIView):
        authentication_classes = [JWTAuthentication]

        def get(self, request: Request) -> Response:
            return Response({"username": request.user.username})

    return [
        path("health", me),
        path("me", me),
        path("me-async", me_async),
        path("api/notes", Notes.as_view()),
        path("api/open", Open.as_view()),
        path("api/private", Private.as_view()),
    ]


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":
        return _views()
    raise AttributeError(name)
