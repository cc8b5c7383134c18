"""DPoP end to end: a real client (panva's ``dpop`` npm package under Node) against the project's
own auth service and an API behind the middleware, under uvicorn and under a threaded WSGI server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from servers import free_socket, uvicorn_server, wsgi_server

from jwt_middleware import (
    JWTMiddleware,
    JWTWSGIMiddleware,
    MemoryRefreshStore,
    MemoryRevocationStore,
    SigningKey,
    TokenIssuer,
    TokenService,
)
from jwt_middleware.core.dpop import NonceSource
from jwt_middleware.server.apps import auth_asgi_app, auth_wsgi_app
from jwt_middleware.server.endpoints import AuthEndpoints

DPOP_VERSION = "2.1.2"
OIDC_PROVIDER_VERSION = "8.8.1"
NODE = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def node_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The npm ``dpop`` and ``oidc-provider`` packages installed into this test's own scratch folder, as CI would."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "Node.js and npm are needed (make system-deps installs them)"
    folder = tmp_path_factory.mktemp("dpop-client")
    (folder / "package.json").write_text(json.dumps({"name": "dpop-client", "private": True, "type": "module"}))
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--silent", f"dpop@{DPOP_VERSION}", f"oidc-provider@{OIDC_PROVIDER_VERSION}"],
        cwd=folder,
        check=True,
        timeout=300,
    )
    for script in NODE.glob("*.mjs"):
        shutil.copy(script, folder / script.name)
    return folder


def authenticate(username: str, password: str) -> dict[str, Any] | None:
    return {"sub": username, "scope": "notes:read"} if (username, password) == ("alice", "wonderland") else None


def me(claims: Any) -> dict[str, Any]:
    return {"sub": claims["sub"], "cnf": claims.get("cnf")}


def asgi_api(settings: dict[str, Any]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps(me(scope["jwt_middleware.claims"])).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    return JWTMiddleware(app, settings)


def wsgi_api(settings: dict[str, Any]) -> Any:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(me(environ["jwt_middleware.claims"])).encode()]

    return JWTWSGIMiddleware(app, settings)


class Site:
    """The auth service and two APIs (one asking for nonces) on one server, routed by path.

    Built once the server's address is known: the token endpoint's URL is what proofs name.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.routes: dict[str, Any] = {}

    def build(self, base: str) -> None:
        revocation = MemoryRevocationStore()
        issuer = TokenIssuer(SigningKey.generate("ES256"), issuer=base, audience="notes")
        tokens = TokenService(issuer, MemoryRefreshStore(), revocation=revocation)
        endpoints = AuthEndpoints(tokens, authenticate, base_url=base)
        settings = {**issuer.settings(revocation=revocation), "origin": base}  # the URL proofs name
        api, auth = (asgi_api, auth_asgi_app) if self.kind == "asgi" else (wsgi_api, auth_wsgi_app)
        self.routes = {
            "/auth": auth(endpoints),
            "/api": api(settings),
            "/nonce": api({**settings, "dpop_nonce": NonceSource(lifetime=300)}),
        }

    def route(self, path: str) -> Any:
        return self.routes["/" + path.lstrip("/").split("/", 1)[0]]

    def asgi(self) -> Callable[..., Any]:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                await receive()
                await send({"type": "lifespan.startup.complete"})
                await receive()
                await send({"type": "lifespan.shutdown.complete"})
                return
            await self.route(scope["path"])(scope, receive, send)

        return app

    def wsgi(self) -> Callable[..., Any]:
        def app(environ: Any, start_response: Any) -> Any:
            return self.route(environ["PATH_INFO"])(environ, start_response)

        return app


@pytest.fixture(params=["asgi", "wsgi"])
def site(request: pytest.FixtureRequest) -> Iterator[str]:
    s = Site(request.param)
    with uvicorn_server(s.asgi()) if request.param == "asgi" else wsgi_server(s.wsgi()) as address:
        base = f"http://{address}"
        s.build(base)
        yield base


@pytest.mark.parametrize("alg", ["ES256", "PS256", "Ed25519"])
def test_a_dpop_client_logs_in_and_calls_the_api(node_folder: Path, site: str, alg: str) -> None:
    flow = node_folder / "dpop_flow.mjs"
    done = subprocess.run(["node", str(flow), site, alg], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    login = out["login"]
    assert (login["status"], login["body"]["token_type"]) == (200, "DPoP")
    assert out["me"]["status"] == 200 and out["me"]["body"] == {"sub": "alice", "cnf": {"jkt": out["jkt"]}}
    assert out["again"]["status"] == 200
    for attack in ("replayed", "stolen", "wrong_url"):
        assert out[attack]["status"] == 401, attack
        assert out[attack]["challenge"].startswith('DPoP error="invalid_dpop_proof"'), attack
    assert out["bearer"]["status"] == 401 and out["bearer"]["challenge"].startswith('DPoP error="invalid_token"')
    assert "Bearer" in out["bearer"]["challenge"]
    first = out["nonce_first"]
    assert (first["status"], first["challenge"].split(",")[0]) == (401, 'DPoP error="use_dpop_nonce"') and first["nonce"]
    assert out["nonce_retry"]["status"] == 200
    refreshed = out["refreshed"]
    assert (refreshed["status"], refreshed["body"]["token_type"]) == (200, "DPoP")
    assert out["me_refreshed"]["body"]["cnf"] == {"jkt": out["jkt"]}
    assert (out["refresh_unproven"]["status"], out["refresh_unproven"]["body"]["error"]) == (400, "invalid_grant")
    assert out["refresh_after"]["status"] == 400, "a refresh without the key revoked the session"
    assert out["me_after_theft"]["status"] == 401, "and its latest access token"


@pytest.fixture(scope="module")
def oidc_provider(node_folder: Path) -> Iterator[str]:
    """node-oidc-provider on a free loopback port, with its own ES256 signing key."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key))
    env = {**os.environ, "PROVIDER_JWKS": json.dumps({"keys": [{**jwk, "kid": "provider-es256", "use": "sig", "alg": "ES256"}]})}
    script = node_folder / "oidc_provider.mjs"
    proc = subprocess.Popen(
        ["node", str(script), str(port), AUDIENCE], cwd=node_folder, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        while (line := proc.stdout.readline()) and line.strip() != "ready":
            pass
        assert line.strip() == "ready", "node-oidc-provider did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


AUDIENCE = "https://notes.example"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_dpop_bound_token_from_node_oidc_provider(node_folder: Path, oidc_provider: str, kind: str) -> None:
    """A real OpenID provider's DPoP-bound access token (RFC 9068, cnf.jkt): accepted with its proof, refused without."""
    settings = {
        "algorithms": ["ES256"],
        "issuer": oidc_provider,
        "oidc_discovery": True,
        "audience": AUDIENCE,
        "token_types": ["at+jwt"],
        "dpop": "required",
    }
    built: list[Any] = []  # the app, once the server's address (the origin proofs name) is known

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        await built[0](scope, receive, send)

    def wsgi(environ: Any, start_response: Any) -> Any:
        return built[0](environ, start_response)

    with uvicorn_server(asgi, lifespan="off") if kind == "asgi" else wsgi_server(wsgi) as address:
        served = {**settings, "origin": f"http://{address}"}
        built.append(asgi_api(served) if kind == "asgi" else wsgi_api(served))
        flow = node_folder / "provider_flow.mjs"
        api = f"http://{address}/api/me"
        done = subprocess.run(["node", str(flow), oidc_provider, api], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert (out["token_status"], out.get("token_type")) == (200, "DPoP"), done.stdout
    assert out["dpop"]["status"] == 200, out["dpop"]
    assert json.loads(out["dpop"]["body"]) == {"sub": "notes-client", "cnf": {"jkt": out["jkt"]}}
    assert out["replayed"]["status"] == 401 and out["replayed"]["challenge"].startswith('DPoP error="invalid_dpop_proof"')
    assert out["bearer"]["status"] == 401 and out["bearer"]["challenge"].startswith('DPoP error="invalid_token"')
    assert "Bearer" not in out["bearer"]["challenge"], "dpop: required names DPoP alone"
