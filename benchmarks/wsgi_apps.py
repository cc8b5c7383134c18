"""The WSGI stacks of the HTTP benchmark, each served by werkzeug's threaded server.

``python -m benchmarks.wsgi_apps <stack> <port>`` serves one of ``STACKS`` on 127.0.0.1
(one stack per process: Django is configured once per process). The same route, ``/api``,
answers ``{"sub": ...}``: the token's subject behind our middleware, "anonymous" bare.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

PUBLIC_PEM = os.environ.get("BENCH_PUBLIC_PEM", "")
SETTINGS = {"algorithms": ["RS256"], "keys": [PUBLIC_PEM]}


def flask_app(ours: bool) -> Any:
    import flask

    from jwt_middleware import JWTWSGIMiddleware, get_claims

    app = flask.Flask("bench")

    @app.get("/api")
    def me() -> Any:
        claims = get_claims(flask.request)
        return {"sub": claims["sub"] if claims is not None else "anonymous"}

    return JWTWSGIMiddleware(app.wsgi_app, settings=SETTINGS) if ours else app.wsgi_app


def django_app(ours: bool) -> Any:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-" + "x" * 40,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        MIDDLEWARE=["jwt_middleware.integrations.django.JWTAuthenticationMiddleware"] if ours else [],
        JWT_MIDDLEWARE=SETTINGS,
    )
    django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _django_view(request: Any) -> Any:
    from django.http import JsonResponse

    claims = getattr(request, "auth", None)
    response = JsonResponse({"sub": claims["sub"] if claims is not None else "anonymous"})
    response["Content-Length"] = str(len(response.content))  # keep-alive without chunking, as Flask answers
    return response


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":  # read by Django only once configured, so django.urls is imported lazily
        from django.urls import path

        return [path("api", _django_view)]
    raise AttributeError(name)


STACKS: dict[str, Callable[[], Any]] = {
    "Flask bare": lambda: flask_app(ours=False),
    "Flask + JWTWSGIMiddleware": lambda: flask_app(ours=True),
    "Django bare": lambda: django_app(ours=False),
    "Django + JWTAuthenticationMiddleware": lambda: django_app(ours=True),
}


def main() -> None:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    stack, port = sys.argv[1], int(sys.argv[2])
    make_server("127.0.0.1", port, STACKS[stack](), threaded=True).serve_forever()


if __name__ == "__main__":
    main()
