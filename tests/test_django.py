"""Django's MIDDLEWARE class and DRF's authentication, through Django's own Client and AsyncClient."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import django_project
import pytest
from harness import WSGIHarness
from tokens import SECRET, claims, mint

from jwt_middleware import ConfigError

AUTH = {"Authorization": f"Bearer {mint()}"}


@pytest.fixture(autouse=True)
def django() -> Iterator[None]:
    django_project.configure()
    yield


def client() -> Any:
    from django.test import Client

    return Client()


def async_get(path: str, headers: dict[str, str] | None = None) -> Any:
    from django.test import AsyncClient

    return asyncio.run(AsyncClient().get(path, headers=headers))


def headers_of(response: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


# -- the middleware ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me", "/me-async"])
def test_a_token_user_in_sync_and_async_views_through_client_and_async_client(path: str) -> None:
    for response in (client().get(path, headers=AUTH), async_get(path, AUTH)):
        assert response.status_code == 200
        body = response.json()
        assert body == {
            "type": "TokenUser",
            "username": "alice",
            "is_authenticated": True,
            "is_anonymous": False,
            "pk": "alice",
            "auth_sub": "alice",
            "claims_sub": "alice",
        }


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no-token"),
        pytest.param({"Authorization": f"Bearer {mint(claims(exp=1))}"}, 401, id="expired"),
        pytest.param({"Authorization": "Bearer a b"}, 400, id="malformed"),
    ],
)
def test_refusals_are_exactly_the_adapters(headers: dict[str, str], status: int) -> None:
    adapter = WSGIHarness(django_project.JWT).request("/me", headers=list(headers.items()))
    for response in (client().get("/me", headers=headers), async_get("/me", headers)):
        assert response.status_code == adapter.status == status
        assert response.content == adapter.body
        got = headers_of(response)
        for name in ("www-authenticate", "cache-control", "content-type"):
            assert got[name] == adapter.headers[name], name


def test_the_django_test_client_goes_through_the_middleware() -> None:
    """What wrapping wsgi.py never did: Django's test client sees the 401."""
    assert client().get("/me").status_code == 401


def test_anonymous_passes_keep_an_anonymous_user() -> None:
    for response in (client().get("/health"), async_get("/health")):
        assert response.json()["type"] == "AnonymousUser" and response.json()["is_authenticated"] is False


def test_optional_anonymous_request_and_cors_preflight() -> None:
    from django.test import override_settings

    with override_settings(JWT_MIDDLEWARE={**django_project.JWT, "optional": True}):
        assert client().get("/me").json()["type"] == "AnonymousUser"
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    assert client().options("/me", headers=preflight).status_code == 200  # the view answers; no token needed
    with override_settings(JWT_MIDDLEWARE={**django_project.JWT, "cors_preflight": False}):
        assert client().options("/me", headers=preflight).status_code == 401


def test_a_user_loader_gives_the_django_user_lazily_and_once() -> None:
    from django.test import override_settings

    calls: list[str] = []

    def loader(claims: Any) -> Any:
        calls.append(claims["sub"])
        return django_project.load_user(claims)

    with override_settings(JWT_MIDDLEWARE={**django_project.JWT, "user_loader": loader}):
        body = client().get("/me", headers=AUTH).json()
        assert (body["type"], body["username"], body["pk"]) == ("User", "alice", 1)
        assert calls == ["alice"]  # the view read request.user several times
        assert async_get("/me-async", AUTH).json()["type"] == "User"  # sync ORM loader, run off the event loop
        unknown = client().get("/me", headers={"Authorization": f"Bearer {mint(claims(sub='nobody'))}"})
        assert unknown.status_code == 401
        assert headers_of(unknown)["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_a_failing_user_loader_is_a_503_never_a_pass(caplog: pytest.LogCaptureFixture) -> None:
    from django.test import override_settings

    def broken(claims: Any) -> Any:
        raise OSError("database is down")

    with override_settings(JWT_MIDDLEWARE={**django_project.JWT, "user_loader": broken}):
        caplog.set_level(logging.WARNING, logger="jwt_middleware")
        response = client().get("/me", headers=AUTH)
    assert response.status_code == 503 and headers_of(response)["retry-after"] == "5"
    assert any("reason=user_loader_error" in r.getMessage() for r in caplog.records)
    assert AUTH["Authorization"].split()[1] not in caplog.text


def test_a_missing_or_bad_setting_stops_django_at_start_up() -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    with (
        override_settings(JWT_MIDDLEWARE={"algorithm": ["HS256"], "secret": SECRET}),
        pytest.raises(ConfigError, match="algorithms"),
    ):
        WSGIHandler()
    with override_settings(JWT_MIDDLEWARE=None), pytest.raises(ConfigError, match="JWT_MIDDLEWARE"):
        WSGIHandler()


# -- DRF --------------------------------------------------------------------------------------


def test_drf_no_token_lets_permissions_decide() -> None:
    from django.test import override_settings

    with override_settings(MIDDLEWARE=[]):
        assert client().get("/api/open").json() == {"user": None, "auth": None}
        private = client().get("/api/private")
        assert private.status_code == 401 and headers_of(private)["www-authenticate"] == "Bearer"


def test_drf_bad_token_is_a_401_with_the_rfc_6750_challenge() -> None:
    from django.test import override_settings

    expired = f"Bearer {mint(claims(exp=1))}"
    with override_settings(MIDDLEWARE=[]):  # DRF verifies on its own, with the same gate
        response = client().get("/api/private", headers={"Authorization": expired})
    assert response.status_code == 401
    assert headers_of(response)["www-authenticate"] == 'Bearer error="invalid_token", error_description="token has expired"'
    assert response.json() == {"detail": "token has expired"}


@pytest.mark.parametrize("middleware", [django_project.MIDDLEWARE, []], ids=["with-middleware", "drf-alone"])
def test_drf_good_token_and_scopes(middleware: list[str]) -> None:
    from django.test import override_settings

    with override_settings(MIDDLEWARE=middleware):
        ok = client().get("/api/notes", headers={"Authorization": f"Bearer {mint(claims(scope='notes:read'))}"})
        assert ok.json() == {"user": "TokenUser", "sub": "alice"}
        denied = client().get("/api/notes", headers=AUTH)
        assert denied.status_code == 403
        assert headers_of(denied)["www-authenticate"] == (
            'Bearer error="insufficient_scope", error_description="the token lacks the required scope", scope="notes:read"'
        )
        assert client().get("/api/private", headers=AUTH).json() == {"username": "alice"}


def test_drf_with_the_middleware_verifies_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from jwt_middleware.gate.verifier import Verifier

    calls: list[str] = []
    real = Verifier.start  # every door's verification starts here

    def counting(self: Verifier, token: str, now: float) -> Any:
        calls.append(token)
        return real(self, token, now)

    monkeypatch.setattr(Verifier, "start", counting)
    assert client().get("/api/private", headers={"Authorization": f"Bearer {mint(claims(sub='once'))}"}).json() == {
        "username": "once"
    }
    assert len(calls) == 1


def test_a_bearer_header_post_passes_djangos_csrf_check_a_cookie_one_does_not() -> None:
    """Issue 22 item 16: ``CsrfViewMiddleware`` refused bearer-header POSTs to plain views."""
    from django.test import Client, override_settings

    csrf = "django.middleware.csrf.CsrfViewMiddleware"
    settings = {**django_project.JWT, "cookie": "access_token"}
    with override_settings(MIDDLEWARE=[csrf, *django_project.MIDDLEWARE], JWT_MIDDLEWARE=settings):
        web = Client(enforce_csrf_checks=True)
        assert web.post("/me", headers=AUTH).json()["username"] == "alice"
        cookie = {"Cookie": f"access_token={mint()}; csrf_token=abc", "X-CSRF-Token": "abc"}
        assert web.post("/me", headers=cookie).status_code == 403  # a browser credential: Django's check stands
        assert web.post("/health").status_code == 403  # a public path: no token, Django checks as ever
        browser_added = {**cookie, "Authorization": "Basic dXNlcjpwYXNz"}  # a browser sends these cross-site itself
        assert web.post("/me", headers=browser_added).status_code == 403, "a cookie token keeps Django's check"


def test_drf_alone_checks_csrf_for_cookie_tokens() -> None:
    """Issue 22 item 1: DRF without the middleware took a cookie token POSTed cross-site with no CSRF header."""
    from django.test import override_settings

    token = mint(claims(scope="notes:read"))
    settings = {**django_project.JWT, "cookie": "access_token"}
    with override_settings(MIDDLEWARE=[], JWT_MIDDLEWARE=settings):
        forged = client().post("/api/notes", headers={"Cookie": f"access_token={token}"})
        assert forged.status_code == 400
        assert headers_of(forged)["www-authenticate"].startswith('Bearer error="invalid_request"')
        sent = {"Cookie": f"access_token={token}; csrf_token=abc", "X-CSRF-Token": "abc"}
        assert client().post("/api/notes", headers=sent).json() == {"posted": "alice"}


@pytest.mark.parametrize("middleware", [django_project.MIDDLEWARE, []], ids=["with-middleware", "drf-alone"])
def test_drf_applies_the_route_rules(middleware: list[str]) -> None:
    """Issue 22 item 1: bob (``notes:read``) POSTed where a rule needs ``notes:write``; through the middleware he is refused."""
    from django.test import override_settings

    rules = [{"path": "/api/notes", "methods": ["POST"], "scopes": ["notes:write"]}]
    bob = {"Authorization": f"Bearer {mint(claims(sub='bob', scope='notes:read'))}"}
    with override_settings(MIDDLEWARE=middleware, JWT_MIDDLEWARE={**django_project.JWT, "rules": rules}):
        denied = client().post("/api/notes", headers=bob)
        assert denied.status_code == 403
        assert 'error="insufficient_scope"' in headers_of(denied)["www-authenticate"]
        assert 'scope="notes:write"' in headers_of(denied)["www-authenticate"]
        assert client().get("/api/notes", headers=bob).json() == {"user": "TokenUser", "sub": "bob"}
        writer = {"Authorization": f"Bearer {mint(claims(sub='carol', scope='notes:read notes:write'))}"}
        assert client().post("/api/notes", headers=writer).json() == {"posted": "carol"}


def test_a_query_token_never_reaches_uvicorns_access_log_under_django_asgi() -> None:
    """Issue 22 item 13: under Django's ASGI handler the middleware cleaned ``META`` only, while
    uvicorn logs the scope's query string; the scope is cleaned too."""
    from django.core.asgi import get_asgi_application
    from django.test import override_settings
    from servers import uvicorn_server
    from test_e2e import get

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    token = mint()
    handler = Keep()
    with override_settings(JWT_MIDDLEWARE={**django_project.JWT, "query_param": "access_token"}):
        app = get_asgi_application()
        with uvicorn_server(app, lifespan="off", log_level="info") as base:
            logging.getLogger("uvicorn.access").addHandler(handler)
            try:
                status, _, body = get(base, f"/me?x=1&access_token={token}&y=2")
            finally:
                logging.getLogger("uvicorn.access").removeHandler(handler)
    assert status == 200 and b'"alice"' in body
    assert any("/me?x=1&y=2" in r for r in records), records
    assert not any(token in r for r in records), records


# -- DPoP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("middleware", [django_project.MIDDLEWARE, []], ids=["with-middleware", "drf-alone"])
def test_dpop_bound_tokens_need_their_proof_in_django_and_drf(middleware: list[str]) -> None:
    from django.test import override_settings

    from jwt_middleware.testing import DPoPKey

    served = {**django_project.JWT, "origin": "http://testserver", "jwks_allow_http": True}  # what proofs name
    key = DPoPKey()
    token = mint(claims(cnf={"jkt": key.jkt}, scope="notes:read"))
    path = "/api/notes"
    with override_settings(MIDDLEWARE=middleware, JWT_MIDDLEWARE=served):
        web = client()  # one handler, as in a process: its middleware (and replay cache) built once
        good = key.headers(token, "GET", f"http://testserver{path}")
        assert web.get(path, headers=good).json() == {"user": "TokenUser", "sub": "alice"}
        replayed = web.get(path, headers=good)
        assert replayed.status_code == 401
        assert headers_of(replayed)["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
        as_bearer = web.get(path, headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401
        assert headers_of(as_bearer)["www-authenticate"].startswith('DPoP error="invalid_token"')
        other_url = web.get(path, headers=key.headers(token, "GET", "http://testserver/api/private"))
        assert other_url.status_code == 401
        lacking = mint(claims(cnf={"jkt": key.jkt}, scope="other"))
        denied = web.get(path, headers=key.headers(lacking, "GET", f"http://testserver{path}"))
        assert denied.status_code == 403
        assert headers_of(denied)["www-authenticate"].startswith('DPoP error="insufficient_scope"')
    if middleware:  # the async path of the middleware too
        with override_settings(JWT_MIDDLEWARE=served):
            assert async_get("/me", key.headers(token, "GET", "http://testserver/me")).status_code == 200
            assert async_get("/me", {"Authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("middleware", [django_project.MIDDLEWARE, []], ids=["with-middleware", "drf-alone"])
def test_a_dpop_proof_names_the_origin_never_the_host_in_django_and_drf(middleware: list[str]) -> None:
    """Issue 22 item 2: a proof A accepted, sent to B with ``Host: a.test``, and a ``Host`` holding
    a path and a query, are refused; with no origin, the server's own address (``testserver``) decides."""
    from django.test import override_settings

    from jwt_middleware.testing import DPoPKey

    key = DPoPKey()
    token = mint(claims(cnf={"jkt": key.jkt}, scope="notes:read"))
    path = "/api/notes"
    a, b = ({**django_project.JWT, "origin": origin, "jwks_allow_http": True} for origin in ("http://a.test", "http://b.test"))
    accepted = key.headers(token, "GET", f"http://a.test{path}")
    with override_settings(MIDDLEWARE=middleware, JWT_MIDDLEWARE=a):
        assert client().get(path, headers={**accepted, "Host": "a.test"}).status_code == 200
    with override_settings(MIDDLEWARE=middleware, JWT_MIDDLEWARE=b):
        replayed = client().get(path, headers={**accepted, "Host": "a.test"})
        assert replayed.status_code == 401
        assert headers_of(replayed)["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
        other_path = key.headers(token, "GET", "http://b.test/other")  # the old URL: http://b.test/other?/api/notes
        assert client().get(path, headers={**other_path, "Host": "b.test/other?"}).status_code == 401
    with override_settings(MIDDLEWARE=middleware, JWT_MIDDLEWARE=django_project.JWT):
        assert (
            client().get(path, headers={**key.headers(token, "GET", f"http://a.test{path}"), "Host": "a.test"}).status_code == 401
        )
        assert (
            client().get(path, headers={**key.headers(token, "GET", f"http://testserver{path}"), "Host": "a.test"}).status_code
            == 200
        )
    if middleware:  # the async path of the middleware too
        with override_settings(JWT_MIDDLEWARE=b):
            assert async_get("/me", {**key.headers(token, "GET", "http://a.test/me"), "Host": "a.test"}).status_code == 401
            assert async_get("/me", {**key.headers(token, "GET", "http://b.test/me"), "Host": "a.test"}).status_code == 200


def test_async_django_with_a_cookie_token_is_not_taken_for_a_cross_site_websocket() -> None:
    """The async path once passed the client's address where the gate reads ``cross_site``."""
    from django.test import override_settings

    with override_settings(JWT_MIDDLEWARE={**django_project.JWT, "cookie": "access_token"}):
        response = async_get("/me", {"Cookie": f"access_token={mint()}"})
    assert response.status_code == 200 and response.json()["username"] == "alice"


def test_the_django_middleware_serves_the_resource_metadata() -> None:
    from django.test import override_settings

    meta = {"resource": "https://api.test", "authorization_servers": ["https://auth.test"]}
    with override_settings(JWT_MIDDLEWARE={**django_project.JWT, "resource_metadata": meta}):
        for response in (
            client().get("/.well-known/oauth-protected-resource"),
            async_get("/.well-known/oauth-protected-resource"),
        ):
            assert response.status_code == 200
            assert response.json()["authorization_servers"] == ["https://auth.test"]
        refused = client().get("/me")
        assert (
            headers_of(refused)["www-authenticate"]
            == 'Bearer resource_metadata="https://api.test/.well-known/oauth-protected-resource"'
        )
