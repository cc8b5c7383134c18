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

from examples import fastapi_app, flask_app, multi_issuer, oidc_provider, starlette_app

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
        denied = c.post("/notes", headers=auth(mint()))
        assert denied.status_code == 403 and 'scope="notes:write"' in denied.headers["www-authenticate"]
        assert c.post("/notes", headers=auth(mint(claims(scope="notes:write")))).json() == {"written": True}


def test_flask_example() -> None:
    c = flask_app.build_app(HS).test_client()
    assert c.get("/health").status_code == 200 and c.get("/me").status_code == 401
    assert c.get("/me", headers=auth(mint())).json == {"sub": "alice", "remote_user": "alice"}
    assert c.post("/notes", headers=auth(mint())).status_code == 403
    assert c.post("/notes", headers=auth(mint(claims(scope="notes:write")))).status_code == 200


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def test_django_example_under_asgi_and_wsgi() -> None:
    env = {"JWT_SECRET": SECRET}
    with uvicorn_processes("examples.django_app:asgi_app", env) as (port,):
        assert _get(port, "/health")[0] == 200 and _get(port, "/me")[0] == 401
        assert _get(port, "/me", auth(mint())) == (200, {"sub": "alice", "scopes": ["read", "write"]})
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
        assert _get(port, "/me")[0] == 401
        assert _get(port, "/me", auth(mint())) == (200, {"sub": "alice", "scopes": ["read", "write"]})
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
    "module", ["raw_asgi", "raw_wsgi", "starlette_app", "fastapi_app", "flask_app", "auth_service", "resource_service"]
)
def test_every_example_imports_without_side_effects(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", f"import examples.{module}"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
