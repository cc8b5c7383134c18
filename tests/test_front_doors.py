"""What every front door shares, through both adapters: CORS preflights, refusals from inside an app, the user."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from typing import Any
from wsgiref.util import setup_testing_defaults

import flask
import pytest
from tokens import SECRET, claims, mint

from jwt_middleware import Challenge, ConfigError, InvalidToken, JWTMiddleware, JWTWSGIMiddleware, Unavailable
from jwt_middleware.gate.doors import Refusal

HS = {"algorithms": ["HS256"], "secret": SECRET}
PREFLIGHT = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]


@pytest.mark.parametrize(
    ("headers", "setting", "status"),
    [
        pytest.param(PREFLIGHT, True, 200, id="preflight-passes"),
        pytest.param(PREFLIGHT, False, 401, id="preflight-authenticated-when-off"),
        pytest.param(PREFLIGHT[:1], True, 401, id="options-without-request-method-is-no-preflight"),
    ],
)
def test_cors_preflight(make: Any, headers: list[tuple[str, str]], setting: bool, status: int) -> None:
    r = make({**HS, "cors_preflight": setting}).request("/api", headers=headers, method="OPTIONS")
    assert (r.status, r.called) == (status, status == 200)
    if status == 200:
        assert r.seen["claims"] is None  # an anonymous pass


def test_a_preflight_is_only_an_options_request(make: Any) -> None:
    assert make(HS).request("/api", headers=PREFLIGHT, method="POST").status == 401


def tagged(challenge: Challenge) -> Challenge:
    return dataclasses.replace(challenge, headers=(*challenge.headers, ("x-reason", challenge.reason)))


def test_a_refusal_raised_inside_an_asgi_app_is_answered_by_the_gate() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise Refusal(InvalidToken("unknown_user", "the token's user is unknown"))

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    scope = {
        "type": "http",
        "path": "/",
        "method": "GET",
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {mint()}".encode())],
    }
    asyncio.run(JWTMiddleware(app, settings={**HS, "realm": "api", "on_error": tagged})(scope, receive, send))
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 401
    assert (
        headers[b"www-authenticate"]
        == b'Bearer realm="api", error="invalid_token", error_description="the token\'s user is unknown"'
    )
    assert headers[b"x-reason"] == b"unknown_user"


def test_a_refusal_raised_inside_a_wsgi_app_is_answered_by_the_gate() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise Refusal(Unavailable("user_loader_error", "the user could not be loaded", 5))

    environ: dict[str, Any] = {"PATH_INFO": "/", "REQUEST_METHOD": "GET", "HTTP_AUTHORIZATION": f"Bearer {mint()}"}
    setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    seen: dict[str, Any] = {}
    body = JWTWSGIMiddleware(app, settings={**HS, "on_error": tagged})(
        environ, lambda s, h, e=None: seen.update(status=s, headers=dict(h))
    )
    assert seen["status"] == "503 Service Unavailable" and seen["headers"]["retry-after"] == "5"
    assert seen["headers"]["x-reason"] == "user_loader_error" and b"temporarily_unavailable" in b"".join(body)


def flask_app(**settings: Any) -> flask.Flask:
    from jwt_middleware.integrations.flask import current_user

    app = flask.Flask(__name__)

    @app.get("/me")
    def me() -> Any:
        return {"user": str(current_user)}

    @app.get("/open")
    def open_() -> Any:
        return {"ok": True}

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings={**HS, **settings})  # type: ignore[method-assign]
    return app


def test_flask_current_user_with_a_loader_its_none_and_its_failure() -> None:
    calls: list[str] = []

    def loader(c: Any) -> str | None:
        calls.append(c["sub"])
        return f"<{c['sub']}>" if c["sub"] == "alice" else None

    c = flask_app(user_loader=loader).test_client()
    assert c.get("/me", headers={"Authorization": f"Bearer {mint()}"}).json == {"user": "<alice>"}
    unknown = c.get("/me", headers={"Authorization": f"Bearer {mint(claims(sub='eve'))}"})
    assert unknown.status_code == 401 and 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
    assert c.get("/open", headers={"Authorization": f"Bearer {mint()}"}).status_code == 200
    assert calls == ["alice", "eve"], "the loader runs only when the view asks for the user"

    def broken(c: Any) -> None:
        raise ConnectionError("ldap down")

    failed = flask_app(user_loader=broken).test_client().get("/me", headers={"Authorization": f"Bearer {mint()}"})
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"


def test_an_async_user_loader_is_a_config_error_under_wsgi() -> None:
    async def loader(c: Any) -> str:
        return "x"

    with pytest.raises(ConfigError, match="user_loader"):
        JWTWSGIMiddleware(lambda e, s: [], settings={**HS, "user_loader": loader})


def test_the_flask_helpers_without_the_middleware_fail_loudly() -> None:
    from jwt_middleware.integrations.flask import current_claims

    app = flask.Flask(__name__)

    @app.get("/me")
    def me() -> Any:
        return dict(current_claims)

    app.testing = True  # let the error through instead of a 500 page
    with pytest.raises(RuntimeError, match="needs the jwt_middleware middleware"):
        app.test_client().get("/me")


def test_litestar_passes_the_app_by_keyword_and_no_app_is_a_type_error() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    assert JWTMiddleware(app=app, settings=HS).app is app
    with pytest.raises(TypeError, match="needs the ASGI app"):
        JWTMiddleware(settings=HS)


@pytest.mark.parametrize(
    ("rule", "description", "scope", "roles"),
    [
        pytest.param({"roles": ["admin"]}, "the token lacks the required role", None, "admin", id="one-role"),
        pytest.param(
            {"roles": ["admin", "owner"], "match": "any"},
            "the token lacks a required role (any one of them is enough)",
            None,
            "admin owner",
            id="any-role",
        ),
        pytest.param(
            {"scopes": ["notes:write"], "roles": ["editor"]},
            "the token lacks a required scope or role (all of them are needed)",
            "notes:write",
            "editor",
            id="scope-and-role",
        ),
    ],
)
def test_a_roles_refusal_keeps_roles_out_of_the_rfc_6750_scope(
    make: Any, rule: dict[str, Any], description: str, scope: str | None, roles: str
) -> None:
    h = make({**HS, "role_claims": ["roles"], "rules": [{"path": "/api", **rule}]})
    r = h.request(headers=[("Authorization", f"Bearer {mint(claims(roles=['viewer']))}")])
    assert r.status == 403 and r.json["error_description"] == description
    assert r.json.get("scope") == scope and r.json["roles"] == roles
    assert ("scope=" in r.challenge) == (scope is not None)


def test_a_match_other_than_all_or_any_is_refused_where_a_view_is_declared() -> None:
    from jwt_middleware.integrations.fastapi import Requires
    from jwt_middleware.integrations.flask import require
    from jwt_middleware.wsgi import require_scopes

    for declare in (require_scopes, require, Requires):
        with pytest.raises(ValueError, match="'all' or 'any'"):
            declare("notes:read", match="some")
        assert declare("notes:read", match="any") is not None


def test_a_second_middleware_around_the_same_app_is_named_once(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 22 item 14: an app a framework page wrapped, wrapped again by a test, refused the test's
    token with a baffling 401; the inner middleware now says what is wrong (once)."""

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b""]

    other = {"algorithms": ["HS256"], "secret": "another-secret-of-32-bytes-or-more"}
    twice = JWTMiddleware(JWTMiddleware(asgi_app, settings=other), settings=HS)
    twice_wsgi = JWTWSGIMiddleware(JWTWSGIMiddleware(wsgi_app, settings=other), settings=HS)
    auth = [(b"authorization", f"Bearer {mint()}".encode())]

    async def call() -> int:
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b""}

        async def send(message: Any) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/api", "headers": auth, "query_string": b""}
        await twice(scope, receive, send)
        return int(sent[0]["status"])

    def call_wsgi() -> str:
        environ: dict[str, Any] = {"PATH_INFO": "/api", "HTTP_AUTHORIZATION": f"Bearer {mint()}"}
        setup_testing_defaults(environ)
        seen: list[str] = []
        twice_wsgi(environ, lambda status, headers, exc_info=None: seen.append(status))
        return seen[0]

    with caplog.at_level("ERROR", logger="jwt_middleware"):
        assert [asyncio.run(call()) for _ in range(3)] == [401, 401, 401]
        assert [call_wsgi()[:3] for _ in range(3)] == ["401", "401", "401"]
    named = [r for r in caplog.records if getattr(r, "auth_reason", None) == "nested_middleware"]
    assert len(named) == 2  # once per inner middleware, not once per request


def test_one_middleware_says_nothing_of_nesting(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="jwt_middleware"):
        assert make(HS).request("/api", headers=[("Authorization", f"Bearer {mint()}")]).status == 200
    assert not [r for r in caplog.records if getattr(r, "auth_reason", None) == "nested_middleware"]
