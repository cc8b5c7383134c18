"""Every framework example runs, and does what its docstring says."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from keyserver import KeyServer
from servers import free_socket, uvicorn_processes
from starlette.testclient import TestClient
from tokens import SECRET, claims, mint, rsa_pair

from examples import fastapi_app, flask_app, litestar_app, multi_issuer, oidc_provider, quart_app, starlette_app

HS = {"algorithms": ["HS256"], "secret": SECRET}
ROOT = Path(__file__).resolve().parent.parent


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_starlette_example() -> None:
    with TestClient(starlette_app.build_app(HS)) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/me").status_code == 401
        body = c.get("/me", headers=auth(mint(claims(name="Alice")))).json()
        assert body["user"] == "Alice" and "authenticated" in body["scopes"] and body["claims"]["sub"] == "alice"
        assert c.post("/notes", headers=auth(mint())).status_code == 403
        assert c.post("/notes", headers=auth(mint(claims(scope="notes:write")))).json() == {"written_by": "alice"}


def test_fastapi_example() -> None:
    with TestClient(fastapi_app.build_app(HS)) as c:
        assert c.get("/health").json() == {"ok": True}
        assert c.get("/me", headers=auth(mint())).json() == {"sub": "alice", "scope": "read write"}
        assert c.get("/profile", headers=auth(mint(claims(sub="bob")))).json() == {"username": "bob"}
        denied = c.post("/notes", headers=auth(mint()))
        assert denied.status_code == 403 and 'scope="notes:write"' in denied.headers["www-authenticate"]
        assert c.post("/notes", headers=auth(mint(claims(scope="notes:write")))).json() == {"written": True}
        assert c.get("/docs").status_code == 200 and c.get("/openapi.json").status_code == 200


def test_flask_example() -> None:
    c = flask_app.build_app(HS).test_client()
    assert c.get("/health").status_code == 200 and c.get("/me").status_code == 401
    assert c.get("/me", headers=auth(mint())).json == {"sub": "alice", "username": "alice", "remote_user": "alice"}
    assert c.post("/notes", headers=auth(mint())).status_code == 403
    assert c.post("/notes", headers=auth(mint(claims(scope="notes:write")))).status_code == 200
    static = c.get("/static/site.css")
    assert static.status_code == 200 and b"font-family" in static.data  # public, as exclude_paths says
    static.close()


def test_litestar_example() -> None:
    from litestar.testing import TestClient as LitestarClient

    with LitestarClient(litestar_app.build_app(HS)) as c:
        assert c.get("/health").status_code == 200
        refused = c.get("/me")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        body = c.get("/me", headers=auth(mint(claims(name="Alice")))).json()
        assert body == {"sub": "alice", "scopes": ["read", "write"], "user": "Alice"}


def test_quart_example() -> None:
    import asyncio

    async def run() -> None:
        c = quart_app.build_app(HS).test_client()
        assert (await c.get("/health")).status_code == 200
        refused = await c.get("/me")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert await (await c.get("/me", headers=auth(mint()))).get_json() == {"sub": "alice"}

    asyncio.run(run())


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def _django_example_answers(port: int, asgi: bool) -> None:
    assert _get(port, "/health")[0] == 200 and _get(port, "/me")[0] == 401
    assert _get(port, "/me", auth(mint())) == (200, {"username": "alice", "sub": "alice", "scopes": ["read", "write"]})
    if asgi:  # an async view, reading the user with await request.auser()
        assert _get(port, "/me-async", auth(mint(claims(sub="bob")))) == (200, {"username": "bob"})
    status, body = _get(port, "/api/notes", auth(mint()))  # DRF: TokenHasScope wants notes:read
    assert (status, body["detail"]) == (403, "the token lacks the required scope")
    assert _get(port, "/api/notes", auth(mint(claims(scope="notes:read")))) == (200, {"notes": ["first"], "for": "alice"})


def test_django_example_under_asgi_and_wsgi() -> None:
    env = {"JWT_SECRET": SECRET}
    with uvicorn_processes("examples.django_app:asgi_app", env) as (port,):
        _django_example_answers(port, asgi=True)
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "examples.django_app", str(port)], cwd=ROOT, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert _get(port, "/health")[0] == 200
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "WSGI example did not start"
                time.sleep(0.1)
        _django_example_answers(port, asgi=False)
    finally:
        proc.terminate()
        proc.wait(10)


def test_oidc_provider_example_with_readiness() -> None:
    ks = KeyServer()
    kp = rsa_pair()
    ks.keys = [kp.jwk()]
    ks.discovery = {"issuer": ks.base, "jwks_uri": ks.jwks_url}
    try:
        app = oidc_provider.build_app({"algorithms": ["RS256"], "issuer": ks.base, "oidc_discovery": True, "audience": "api"})
        with TestClient(app) as c:
            assert c.get("/ready").status_code == 200  # cold and never failed: ready to try
            token = kp.sign(claims(iss=ks.base, aud="api"))
            assert c.get("/me", headers=auth(token)).json() == {"sub": "alice", "iss": ks.base}
            ready = c.get("/ready").json()["providers"][0]
            assert (ready["state"], ready["key_ids"]) == ("fresh", [kp.kid])
    finally:
        ks.stop()
    app = oidc_provider.build_app({"algorithms": ["RS256"], "issuer": ks.base, "oidc_discovery": True})
    with TestClient(app) as c:
        assert c.get("/me", headers=auth(kp.sign(claims(iss=ks.base)))).status_code == 503
        assert c.get("/ready").status_code == 503


def test_multi_issuer_example() -> None:
    ks = KeyServer()
    partner = rsa_pair("partner")
    ks.keys = [partner.jwk()]
    try:
        app = multi_issuer.build_app(
            [
                {"issuer": "https://login.internal", "algorithms": ["HS256"], "secret": SECRET, "audience": "api"},
                {"issuer": "https://idp.partner", "algorithms": ["RS256"], "jwks_url": ks.jwks_url, "audience": "partner-api"},
            ]
        )
        with TestClient(app) as c:
            ours = mint(claims(iss="https://login.internal", aud="api"))
            theirs = partner.sign(claims(iss="https://idp.partner", aud="partner-api", sub="p1"))
            assert c.get("/", headers=auth(ours)).json() == {"sub": "alice", "iss": "https://login.internal"}
            assert c.get("/", headers=auth(theirs)).json() == {"sub": "p1", "iss": "https://idp.partner"}
            forged = mint(claims(iss="https://idp.partner", aud="partner-api"))
            assert c.get("/", headers=auth(forged)).status_code == 401
    finally:
        ks.stop()


@pytest.mark.parametrize(
    "module",
    [
        "raw_asgi",
        "raw_wsgi",
        "starlette_app",
        "fastapi_app",
        "flask_app",
        "litestar_app",
        "quart_app",
        "fastapi_login",
        "auth_service",
        "resource_service",
    ],
)
def test_every_example_imports_without_side_effects(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", f"import examples.{module}"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
