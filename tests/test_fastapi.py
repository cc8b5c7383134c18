"""FastAPI: OpenAPI's bearer scheme and scopes, the docs' public paths, refusals byte for byte the middleware's."""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.testclient import TestClient
from servers import uvicorn_server
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import Route
from tokens import SECRET, claims, mint

from examples import fastapi_app
from jwt_middleware import Challenge, JWTMiddleware, load_settings
from jwt_middleware.integrations.fastapi import Claims, CurrentUser, Requires

HS = {"algorithms": ["HS256"], "secret": SECRET}
ROOT = Path(__file__).resolve().parent.parent


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_openapi_lists_the_bearer_scheme_and_each_routes_scopes() -> None:
    doc = TestClient(fastapi_app.build_app(HS)).get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["JWT"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT access token: paste it without the 'Bearer ' prefix.",
    }
    security = {(path, method): op.get("security") for path, ops in doc["paths"].items() for method, op in ops.items()}
    assert security[("/me", "get")] == [{"JWT": []}]
    assert security[("/profile", "get")] == [{"JWT": []}]
    assert security[("/notes", "get")] == [{"JWT": ["notes:read"]}]
    assert security[("/notes", "post")] == [{"JWT": ["notes:write"]}]
    assert security[("/health", "get")] is None


def test_the_docs_pages_are_public_and_load_nothing_from_a_cdn() -> None:
    c = TestClient(fastapi_app.build_app(HS))
    for path in ("/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc", "/docs-assets/swagger-ui-bundle.js"):
        assert c.get(path).status_code == 200, path
    for page in ("/docs", "/redoc"):
        html = c.get(page).text
        assert "https://" not in html and "http://" not in html, page
    for path in ("/docsx", "/docs/other", "/me", "/notes"):
        assert c.get(path).status_code == 401, path


def fastapi_with(settings: dict[str, Any], **routes: Any) -> FastAPI:
    app = FastAPI()

    @app.post("/notes", dependencies=[Depends(Requires("notes:write"))])
    def write() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/me")
    def me(c: Claims) -> dict[str, Any]:
        return {"sub": c["sub"]}

    @app.get("/user")
    async def user(u: CurrentUser) -> dict[str, Any]:
        return {"username": u.username, "kind": type(u).__name__}

    app.add_middleware(JWTMiddleware, settings=load_settings(settings))
    return app


def starlette_rule_app(settings: dict[str, Any]) -> Starlette:
    async def write(request: Any) -> JSONResponse:
        return JSONResponse({"ok": True})

    rules = [{"path": "/notes", "methods": ["POST"], "scopes": ["notes:write"]}]
    return Starlette(
        routes=[Route("/notes", write, methods=["POST"])],
        middleware=[Middleware(JWTMiddleware, settings={**settings, "rules": rules})],
    )


def add_header(challenge: Challenge) -> Challenge:
    return dataclasses.replace(challenge, headers=(*challenge.headers, ("x-refused", challenge.reason)))


@pytest.mark.parametrize(
    "extra",
    [pytest.param({}, id="default"), pytest.param({"realm": "notes", "on_error": add_header}, id="realm-and-on_error")],
)
@pytest.mark.parametrize("token", [pytest.param(mint(), id="missing-scope"), pytest.param(None, id="anonymous")])
def test_requires_refuses_byte_for_byte_as_the_middleware(extra: dict[str, Any], token: str | None) -> None:
    headers = auth(token) if token else {}
    settings = {**HS, **extra, "optional": True}
    ours = TestClient(fastapi_with(settings)).post("/notes", headers=headers)
    theirs = TestClient(starlette_rule_app(settings)).post("/notes", headers=headers)
    assert ours.status_code == theirs.status_code == (403 if token else 401)
    for name in ("www-authenticate", "cache-control", "content-type", "x-refused"):
        assert ours.headers.get(name) == theirs.headers.get(name), name
    assert ours.json() == theirs.json() and ours.content == theirs.content
    if token:
        assert ours.json() == {
            "error": "insufficient_scope",
            "error_description": "the token lacks the required scope",
            "scope": "notes:write",
        }
    if extra:
        assert ours.headers["x-refused"] in ("insufficient_scope", "missing_token")


def test_current_user_with_sync_and_async_loaders_none_and_failure() -> None:
    assert TestClient(fastapi_with(HS)).get("/user", headers=auth(mint())).json() == {"username": "alice", "kind": "JWTUser"}

    @dataclasses.dataclass
    class User:
        username: str

    calls: list[str] = []

    async def async_loader(c: Any) -> User | None:
        calls.append(c["sub"])
        await asyncio.sleep(0)
        return User(c["sub"]) if c["sub"] == "alice" else None

    def sync_loader(c: Any) -> User:
        calls.append(c["sub"])
        return User(c["sub"].upper())

    c = TestClient(fastapi_with({**HS, "user_loader": async_loader}))
    assert c.get("/user", headers=auth(mint())).json() == {"username": "alice", "kind": "User"}
    unknown = c.get("/user", headers=auth(mint(claims(sub="mallory"))))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_token"
    assert (
        TestClient(fastapi_with({**HS, "user_loader": sync_loader})).get("/user", headers=auth(mint())).json()["username"]
        == "ALICE"
    )
    assert calls == ["alice", "mallory", "alice"]
    assert TestClient(fastapi_with({**HS, "user_loader": sync_loader})).get("/me", headers=auth(mint())).status_code == 200
    assert calls == ["alice", "mallory", "alice"], "the loader runs only when the app asks for the user"

    def broken(c: Any) -> None:
        raise RuntimeError("directory down")

    failed = TestClient(fastapi_with({**HS, "user_loader": broken})).get("/user", headers=auth(mint()))
    assert failed.status_code == 503 and failed.headers["retry-after"] == "5"


def test_without_the_middleware_the_dependencies_fail_loudly() -> None:
    app = FastAPI()

    @app.get("/me")
    def me(c: Claims) -> dict[str, Any]:
        return dict(c)

    with pytest.raises(RuntimeError, match="needs the jwt_middleware middleware"):
        TestClient(app).get("/me", headers=auth(mint()))


def raw_get(base: str, method: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(base, timeout=10)
    try:
        conn.request(method, path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


PREFLIGHT = {
    "Origin": "https://app.example",
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}


@pytest.mark.parametrize("cors", ["outside", "inside"])
def test_a_browser_preflight_passes_through_a_real_uvicorn(cors: str) -> None:
    app = FastAPI()

    @app.get("/me")
    def me(c: Claims) -> dict[str, Any]:
        return {"sub": c["sub"]}

    cors_options = {"allow_origins": ["https://app.example"], "allow_headers": ["authorization"], "allow_methods": ["GET"]}
    if cors == "inside":  # added first: JWTMiddleware, added last, is outermost and sees the preflight first
        app.add_middleware(CORSMiddleware, **cors_options)
        app.add_middleware(JWTMiddleware, settings=load_settings(HS))
    else:
        app.add_middleware(JWTMiddleware, settings=load_settings(HS))
        app.add_middleware(CORSMiddleware, **cors_options)
    with uvicorn_server(app) as base:
        status, headers, _ = raw_get(base, "OPTIONS", "/me", PREFLIGHT)
        assert status == 200 and headers["access-control-allow-origin"] == "https://app.example"
        status, headers, body = raw_get(base, "GET", "/me", {"Origin": "https://app.example", **auth(mint())})
        assert (status, json.loads(body), headers["access-control-allow-origin"]) == (
            200,
            {"sub": "alice"},
            "https://app.example",
        )
        status, headers, _ = raw_get(base, "GET", "/me", {"Origin": "https://app.example"})
        assert status == 401
        # Outside, CORS headers ride on the 401 too, so a browser app can read it: the recommended order.
        assert ("access-control-allow-origin" in headers) == (cors == "outside")


def test_cors_preflight_false_authenticates_preflights() -> None:
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"])
    app.add_middleware(JWTMiddleware, settings=load_settings(HS, cors_preflight=False))
    assert TestClient(app).options("/me", headers=PREFLIGHT).status_code == 401


BAD_APP = textwrap.dedent(
    """
    from fastapi import FastAPI
    from jwt_middleware import JWTMiddleware, load_settings

    SETTINGS = load_settings({"algorithm": ["HS256"], "secret": "x" * 32})  # misspelt: algorithms
    app = FastAPI()
    app.add_middleware(JWTMiddleware, settings=SETTINGS)
    """
)


def test_a_bad_setting_stops_uvicorn_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "bad_app.py").write_text(BAD_APP)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "bad_app:app", "--port", "0", "--lifespan", "auto"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "ConfigError: algorithm: unknown setting; did you mean 'algorithms'?" in done.stderr
