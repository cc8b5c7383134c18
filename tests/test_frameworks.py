"""get_claims on each framework's own request object, behind the real adapters."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from typing import Any
from wsgiref.util import setup_testing_defaults

import flask
import pytest
from tokens import SECRET, mint
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from jwt_middleware import CLAIMS_KEY, JWTMiddleware, JWTWSGIMiddleware, get_claims

HS = {"algorithms": ["HS256"], "secret": SECRET}
AUTH = {"Authorization": f"Bearer {mint()}"}


def test_scope_and_environ_mappings() -> None:
    assert get_claims({CLAIMS_KEY: {"sub": "a"}}) == {"sub": "a"}
    assert get_claims({}) is None
    assert get_claims(object()) is None


def test_werkzeug_request() -> None:
    @Request.application  # type: ignore[arg-type]
    def app(request: Request) -> Response:
        return Response(json.dumps(get_claims(request)), mimetype="application/json")

    client = Client(JWTWSGIMiddleware(app, settings=HS))
    assert client.get("/", headers=AUTH).json["sub"] == "alice"  # type: ignore[index]
    assert client.get("/").status_code == 401


def test_flask_request() -> None:
    app = flask.Flask(__name__)

    @app.get("/me")
    def me() -> Any:
        return {"sub": get_claims(flask.request)["sub"], "remote_user": flask.request.remote_user}  # type: ignore[index]

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings=HS)  # type: ignore[method-assign]
    client = app.test_client()
    assert client.get("/me", headers=AUTH).json == {"sub": "alice", "remote_user": "alice"}
    r = client.get("/me")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


@pytest.fixture
def django_setup() -> Any:
    """The shared Django project, with this module's URLs and no MIDDLEWARE: the adapters wrap the handlers."""
    import django_project
    from django.test import override_settings

    django_project.configure()
    with override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[]) as settings:
        yield settings


def django_view(request: Any) -> Any:
    from django.http import JsonResponse

    return JsonResponse({"claims": get_claims(request)})


urlpatterns: list[Any] = []


def _urls() -> None:
    from django.urls import path

    if not urlpatterns:
        urlpatterns.append(path("me", django_view))


def test_django_wsgi_request(django_setup: Any) -> None:
    from django.core.handlers.wsgi import WSGIHandler

    _urls()
    app = JWTWSGIMiddleware(WSGIHandler(), settings=HS)
    environ: dict[str, Any] = {"PATH_INFO": "/me", "REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": AUTH["Authorization"]}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    out: dict[str, Any] = {}
    body = b"".join(app(environ, lambda s, h, e=None: out.update(status=s)))
    assert out["status"].startswith("200")
    assert json.loads(body)["claims"]["sub"] == "alice"


def test_django_asgi_request(django_setup: Any) -> None:
    from django.core.handlers.asgi import ASGIHandler

    _urls()
    app = JWTMiddleware(ASGIHandler(), settings=HS)
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "path": "/me",
        "raw_path": b"/me",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"authorization", AUTH["Authorization"].encode())],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "scheme": "http",
    }

    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)  # the client stays connected until the response is done
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert json.loads(body)["claims"]["sub"] == "alice"


def test_module_is_importable_as_urlconf() -> None:
    assert sys.modules[__name__].urlpatterns is urlpatterns
