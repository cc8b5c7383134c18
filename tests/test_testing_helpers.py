"""``jwt_middleware.testing``: the code of docs/testing.md, run with each framework's own test client."""

from __future__ import annotations

from typing import Any

import pytest

from jwt_middleware import InvalidToken, JWTMiddleware, JWTWSGIMiddleware, Verifier, load_settings
from jwt_middleware.integrations.fastapi import Claims, Requires  # at module level: FastAPI reads annotations from here
from jwt_middleware.testing import TestIssuer


def test_the_fixture_comes_from_the_entry_point(request: pytest.FixtureRequest, jwt_issuer: TestIssuer) -> None:
    assert isinstance(jwt_issuer, TestIssuer)
    plugin = request.config.pluginmanager.get_plugin("jwt_middleware")
    assert plugin is not None and plugin.__name__ == "jwt_middleware.testing", "registered as a pytest11 plugin"


def test_tokens_verify_with_its_settings_and_carry_what_was_asked(jwt_issuer: TestIssuer) -> None:
    verifier = Verifier(load_settings(jwt_issuer.settings()))
    identity = verifier.identify(jwt_issuer.token("alice", scope=["notes:read", "notes:write"], roles=["admin"], tier="gold"))
    assert identity.claims["sub"] == "alice" and identity.claims["tier"] == "gold"
    assert list(identity.scopes) == ["notes:read", "notes:write"] and list(identity.roles) == ["admin"]
    assert identity.claims["iss"] == "https://issuer.test" and identity.claims["aud"] == "api"
    with pytest.raises(InvalidToken) as expired:
        verifier.verify(jwt_issuer.token(ttl=-60))
    assert expired.value.reason == "expired"
    with pytest.raises(InvalidToken) as foreign:
        verifier.verify(TestIssuer().token())  # another issuer's key never verifies
    assert foreign.value.reason == "unknown_key"  # its kid is the other key's thumbprint


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA", "HS256"])
def test_every_algorithm(algorithm: str) -> None:
    issuer = TestIssuer(algorithm, issuer="https://login.test", audience=None)
    assert Verifier(load_settings(issuer.settings())).verify(issuer.token("bob"))["sub"] == "bob"


def test_starlette_test_client(jwt_issuer: TestIssuer) -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def me(request: Any) -> JSONResponse:
        return JSONResponse({"user": request.user.identity})

    app = Starlette(routes=[Route("/me", me)], middleware=[Middleware(JWTMiddleware, settings=jwt_issuer.settings())])
    client = TestClient(app)
    assert client.get("/me", headers=jwt_issuer.headers("alice")).json() == {"user": "alice"}
    assert client.get("/me").status_code == 401


def test_fastapi(jwt_issuer: TestIssuer) -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()

    @app.post("/notes", dependencies=[Depends(Requires("notes:write"))])
    def write(claims: Claims) -> dict[str, str]:
        return {"by": claims["sub"]}

    app.add_middleware(JWTMiddleware, settings=jwt_issuer.settings())
    client = TestClient(app)
    assert client.post("/notes", headers=jwt_issuer.headers("alice", scope="notes:write")).json() == {"by": "alice"}
    assert client.post("/notes", headers=jwt_issuer.headers("alice")).status_code == 403


def test_flask_test_client(jwt_issuer: TestIssuer) -> None:
    import flask

    from jwt_middleware.integrations.flask import current_user, require

    app = flask.Flask(__name__)

    @app.get("/admin")
    @require(roles=["admin"])
    def admin() -> Any:
        return {"admin": current_user.username}

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings=jwt_issuer.settings())  # type: ignore[method-assign]
    client = app.test_client()
    assert client.get("/admin", headers=jwt_issuer.headers("root", roles=["admin"])).json == {"admin": "root"}
    assert client.get("/admin", headers=jwt_issuer.headers("guest")).status_code == 403


def test_django_client(jwt_issuer: TestIssuer) -> None:
    import django_project
    from django.test import Client, override_settings

    django_project.configure()
    with override_settings(JWT_MIDDLEWARE=jwt_issuer.settings()):
        client = Client()
        assert client.get("/me", headers=jwt_issuer.headers("alice")).json()["username"] == "alice"
        assert client.get("/me").status_code == 401


def test_dpop_key_makes_proofs_the_middleware_accepts_once() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from jwt_middleware import JWTMiddleware
    from jwt_middleware.testing import DPoPKey, TestIssuer

    issuer = TestIssuer()

    async def me(request: Request) -> JSONResponse:
        return JSONResponse(request.scope["jwt_middleware.claims"])

    app = Starlette(routes=[Route("/me", me)])
    app.add_middleware(JWTMiddleware, settings=issuer.settings())
    client = TestClient(app)
    for alg in ("ES256", "ES384", "PS256", "RS256", "EdDSA"):
        key = DPoPKey(alg)
        headers = issuer.dpop_headers(key, "GET", "http://testserver/me?page=2", sub="alice")
        first = client.get("/me", headers=headers)
        assert (first.status_code, first.json()["cnf"]) == (200, {"jkt": key.jkt}), alg
        replayed = client.get("/me", headers=headers)
        assert replayed.status_code == 401 and 'error="invalid_dpop_proof"' in replayed.headers["www-authenticate"], alg
    with pytest.raises(ValueError, match="algorithm"):
        DPoPKey("HS256")


def test_testing_issuer_and_production_read_roles_alike() -> None:
    """Issue 22 item 17: the settings a test gets read roles exactly as the defaults do."""
    from jwt_middleware import Verifier, load_settings
    from jwt_middleware.testing import TestIssuer

    issuer = TestIssuer()
    test_settings = issuer.settings()
    assert "role_claims" not in test_settings
    production = {k: v for k, v in test_settings.items() if k != "role_claims"}
    token = issuer.token("alice", roles=["admin"])
    assert (
        Verifier(load_settings(test_settings)).identify(token).roles == Verifier(load_settings(production)).identify(token).roles
    )
    assert Verifier(load_settings(production)).identify(token).roles == ["admin"]
