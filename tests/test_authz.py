"""Scopes, roles and per-route rules, through both adapters; framework helpers."""

from __future__ import annotations

from typing import Any

import pytest
from tokens import SECRET, claims, hs_signed, mint

from jwt_middleware import ConfigError, JWTMiddleware, get_roles, get_scopes, load_settings
from jwt_middleware.integrations.fastapi import Claims, Requires

HS = {"algorithms": ["HS256"], "secret": SECRET}


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


RULES = [
    {"path": "/admin/*", "scopes": ["admin"]},
    {"path": "/items/*", "methods": ["POST", "DELETE"], "scopes": ["items:write"]},
    {"path": "/reports", "roles": ["auditor", "manager"], "match": "any"},
    {"paths": ["/both", "/both/*"], "scopes": ["a", "b"]},
]


@pytest.mark.parametrize(
    ("path", "method", "scope", "status"),
    [
        ("/admin/users", "GET", "read admin", 200),
        ("/admin/users", "GET", "read", 403),
        ("/admin", "GET", "read", 403),
        ("/administrator", "GET", "read", 200),
        ("/items/1", "GET", "read", 200),
        ("/items/1", "POST", "read", 403),
        ("/items/1", "DELETE", "items:write", 200),
        ("/both/x", "GET", "a", 403),
        ("/both/x", "GET", "a b", 200),
        ("/admin/../public", "GET", "read", 403),
        ("/items//1", "POST", "read", 403),
        ("/open", "GET", "", 200),
    ],
)
def test_route_rules(make: Any, path: str, method: str, scope: str, status: int) -> None:
    r = make({**HS, "rules": RULES}).request(path=path, method=method, headers=bearer(mint(claims(scope=scope))))
    assert r.status == status
    assert r.called is (status == 200)
    if status == 403:
        assert r.challenge.startswith('Bearer error="insufficient_scope", error_description="')
        assert 'scope="' in r.challenge
        assert r.json["error"] == "insufficient_scope"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_head_is_held_to_a_get_rule(make: Any, method: str) -> None:
    """Issue 22 item 3: RFC 9110 §9.3.2, HEAD is GET without a body, so a GET rule holds HEAD too."""
    rules = [{"path": "/reports/*", "methods": ["GET"], "scopes": ["reports:read"]}]
    h = make({**HS, "rules": rules})
    r = h.request(path="/reports/q3", method=method, headers=bearer(mint(claims(scope="other"))))
    assert r.status == 403 and not r.called
    assert h.request(path="/reports/q3", method=method, headers=bearer(mint(claims(scope="reports:read")))).status == 200
    assert h.request(path="/reports/q3", method="POST", headers=bearer(mint(claims(scope="other")))).status == 200


def test_403_names_the_required_scopes(make: Any) -> None:
    r = make({**HS, "rules": RULES}).request(path="/both", headers=bearer(mint(claims(scope="a"))))
    assert r.status == 403 and r.challenge.endswith('scope="a b"') and r.json["scope"] == "a b"


def test_roles_any_of(make: Any) -> None:
    h = make({**HS, "rules": RULES, "role_claims": ["roles"]})
    assert h.request(path="/reports", headers=bearer(mint(claims(roles=["manager"])))).status == 200
    assert h.request(path="/reports", headers=bearer(mint(claims(roles=["intern"])))).status == 403
    assert h.request(path="/reports", headers=bearer(mint(claims(scope="auditor")))).status == 403, "a scope is not a role"


def test_anonymous_on_a_ruled_path_is_401_not_403(make: Any) -> None:
    h = make({**HS, "rules": RULES, "optional": True})
    assert h.request(path="/open").status == 200
    r = h.request(path="/admin/x")
    assert (r.status, r.challenge) == (401, "Bearer")


@pytest.mark.parametrize(
    ("settings", "token_claims", "scopes", "roles"),
    [
        pytest.param({}, {"scope": "a b"}, ["a", "b"], [], id="scope-string"),
        pytest.param({}, {"scp": ["a", "b"]}, ["a", "b"], [], id="scp-list-entra"),
        pytest.param({}, {"scp": "a b"}, ["a", "b"], [], id="scp-string"),
        pytest.param({"role_claims": ["roles"]}, {"roles": ["Admin"]}, [], ["Admin"], id="entra-roles"),
        pytest.param({"scope_claims": ["permissions"]}, {"permissions": ["read:x"]}, ["read:x"], [], id="auth0-permissions"),
        pytest.param(
            {"role_claims": ["realm_access.roles"]}, {"realm_access": {"roles": ["r1"]}}, [], ["r1"], id="keycloak-realm"
        ),
        pytest.param(
            {"role_claims": ["resource_access.my-app.roles"]},
            {"resource_access": {"my-app": {"roles": ["r2"]}, "other": {"roles": ["x"]}}},
            [],
            ["r2"],
            id="keycloak-client",
        ),
        pytest.param(
            {"role_claims": ["cognito:groups"]}, {"cognito:groups": ["g1", "g2"]}, [], ["g1", "g2"], id="cognito-groups"
        ),
        pytest.param(
            {"role_claims": ["https://example.com/roles"]},
            {"https://example.com/roles": ["editor"]},
            [],
            ["editor"],
            id="auth0-namespaced-with-dots",
        ),
        pytest.param(
            {"role_claims": ["roles"]}, {"roles": "not-a-list-but-a-string"}, [], ["not-a-list-but-a-string"], id="roles-string"
        ),
        pytest.param({"role_claims": ["roles"]}, {"roles": [1, {"x": 1}, "ok"]}, [], ["ok"], id="non-strings-ignored"),
        pytest.param({"role_claims": ["a.b.c"]}, {"a": {"b": "not-a-mapping"}}, [], [], id="path-through-non-mapping"),
    ],
)
def test_claim_mapping_for_real_providers(
    make: Any, settings: dict[str, Any], token_claims: dict[str, Any], scopes: list[str], roles: list[str]
) -> None:
    body = {**claims(scope=None), **token_claims}
    h = make({**HS, **settings})
    r = h.request(headers=bearer(hs_signed({"alg": "HS256"}, body)))
    assert r.status == 200
    assert (r.seen["scopes"], r.seen["roles"]) == (scopes, roles)
    if h.kind == "asgi":
        assert r.seen["auth"].scopes == ["authenticated", *scopes, *roles]
        assert r.seen["auth"].roles == roles


def test_anonymous_has_no_grants(make: Any) -> None:
    r = make({**HS, "optional": True}).request()
    assert (r.status, r.seen["scopes"], r.seen["roles"]) == (200, [], [])
    assert get_scopes({}) == [] and get_roles(object()) == []


@pytest.mark.parametrize(
    ("rules", "key"),
    [
        pytest.param("nope", "rules", id="not-a-list"),
        pytest.param([{"scopes": ["a"]}], "rules[0].path", id="no-path"),
        pytest.param([{"path": "/a"}], "rules[0]", id="no-grants"),
        pytest.param([{"path": "/a", "scopes": ["a"], "match": "some"}], "rules[0].match", id="bad-match"),
        pytest.param([{"path": "/a", "scopes": ["a"], "method": ["GET"]}], "rules[0].method", id="typo-key"),
        pytest.param([{"path": "a", "scopes": ["a"]}], "rules[0].path[0]", id="bad-path"),
        pytest.param([{"path": "/a", "scopes": [5]}], "rules[0].scopes", id="bad-scope"),
        pytest.param([{"path": "/a", "scopes": ["a"], "methods": "GET"}], "rules[0].methods", id="methods-string"),
    ],
)
def test_bad_rules_are_config_errors(rules: Any, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({**HS, "rules": rules})
    assert info.value.key == key


def test_starlette_requires_sees_roles() -> None:
    from starlette.applications import Starlette
    from starlette.authentication import requires
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    @requires("admin")
    async def admin(request: Request) -> JSONResponse:
        return JSONResponse({"roles": request.auth.roles})

    app = Starlette(routes=[Route("/admin", admin)])
    app.add_middleware(JWTMiddleware, settings={**HS, "role_claims": ["realm_access.roles"]})
    with TestClient(app) as client:
        ok = client.get("/admin", headers={"Authorization": f"Bearer {mint(claims(realm_access={'roles': ['admin']}))}"})
        assert ok.status_code == 200 and ok.json() == {"roles": ["admin"]}
        assert client.get("/admin", headers={"Authorization": f"Bearer {mint()}"}).status_code == 403


def test_flask_require_decorator() -> None:
    import flask

    from jwt_middleware import JWTWSGIMiddleware
    from jwt_middleware.integrations.flask import require

    app = flask.Flask(__name__)

    @app.post("/items")
    @require("items:write")
    def create() -> Any:
        return {"ok": True}

    @app.get("/reports")
    @require(roles=["auditor", "manager"], match="any")
    def reports() -> Any:
        return {"ok": True}

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings={**HS, "role_claims": ["roles"], "optional": True})  # type: ignore[method-assign]
    c = app.test_client()
    assert c.post("/items", headers={"Authorization": f"Bearer {mint(claims(scope='items:write'))}"}).status_code == 200
    denied = c.post("/items", headers={"Authorization": f"Bearer {mint()}"})
    assert denied.status_code == 403 and denied.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')
    assert denied.json["error"] == "insufficient_scope"
    anon = c.post("/items")
    assert (anon.status_code, anon.headers["WWW-Authenticate"]) == (401, "Bearer")
    assert c.get("/reports", headers={"Authorization": f"Bearer {mint(claims(roles=['manager']))}"}).status_code == 200


def test_wsgi_require_scopes_decorator() -> None:
    from werkzeug.test import Client

    from jwt_middleware import JWTWSGIMiddleware
    from jwt_middleware.wsgi import require_scopes

    @require_scopes("admin")
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    client = Client(JWTWSGIMiddleware(app, settings=HS))
    assert client.get("/", headers={"Authorization": f"Bearer {mint(claims(scope='admin'))}"}).status_code == 200
    r = client.get("/", headers={"Authorization": f"Bearer {mint()}"})
    assert r.status_code == 403 and 'scope="admin"' in r.headers["WWW-Authenticate"]


def test_fastapi_dependencies() -> None:
    from fastapi import Depends, FastAPI
    from starlette.testclient import TestClient

    app = FastAPI()

    @app.get("/me")
    def me(claims: Claims) -> dict[str, Any]:
        return {"sub": claims["sub"]}

    @app.delete("/items/{item}", dependencies=[Depends(Requires("items:delete"))])
    def delete(item: int) -> dict[str, Any]:
        return {"deleted": item}

    @app.get("/staff")
    def staff(claims: dict[str, Any] = Depends(Requires(roles=["staff"]))) -> dict[str, Any]:
        return {"sub": claims["sub"]}

    app.add_middleware(JWTMiddleware, settings={**HS, "optional": True, "role_claims": ["roles"]})
    with TestClient(app) as c:
        assert c.get("/me", headers={"Authorization": f"Bearer {mint()}"}).json() == {"sub": "alice"}
        anon = c.get("/me")
        assert (anon.status_code, anon.headers["www-authenticate"]) == (401, "Bearer")
        ok = c.delete("/items/3", headers={"Authorization": f"Bearer {mint(claims(scope='items:delete'))}"})
        assert ok.json() == {"deleted": 3}
        no = c.delete("/items/3", headers={"Authorization": f"Bearer {mint()}"})
        assert no.status_code == 403 and no.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
        assert c.get("/staff", headers={"Authorization": f"Bearer {mint(claims(roles=['staff']))}"}).json() == {"sub": "alice"}
