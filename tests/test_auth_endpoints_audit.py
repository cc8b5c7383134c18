"""Issue 22's findings at the auth endpoints (docs/security.md, "Audit findings (issue 22)"), each through
the ASGI app under uvicorn and the WSGI app under a threaded server."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import websockets.exceptions
import websockets.sync.client
from servers import uvicorn_server, wsgi_server

from jwt_middleware import (
    KeyRing,
    MemoryRefreshStore,
    MemoryRevocationStore,
    SigningKey,
    TokenIssuer,
    TokenService,
    Verifier,
    load_settings,
)
from jwt_middleware.server import AuthEndpoints, auth_asgi_app, auth_wsgi_app

FORM = "application/x-www-form-urlencoded"
ALICE = "grant_type=password&username=alice&password=wonderland"


def authenticate(username: str, password: str) -> str | None:
    return username if (username, password) == ("alice", "wonderland") else None


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status, raw = response.status, response.read()
        self.headers = response.getheaders()
        self.raw = raw
        self.json: Any = json.loads(raw) if raw and response.getheader("content-type") == "application/json" else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def cookies(self) -> dict[str, str]:
        """Set-Cookie values by cookie name."""
        return {v.partition("=")[0]: v for k, v in self.headers if k.lower() == "set-cookie"}


class Auth:
    """The endpoints over a key ring, served by a real server; ``call`` makes one request."""

    def __init__(self, kind: str, mount: str = "", **options: Any) -> None:
        self.kind, self.mount, self.ring = kind, mount, KeyRing(SigningKey.generate("ES256"))
        self.revocation = MemoryRevocationStore()
        self.issuer = TokenIssuer(self.ring, issuer="https://auth.test", audience="api")
        self.tokens = TokenService(self.issuer, MemoryRefreshStore(), revocation=self.revocation)
        self.endpoints = AuthEndpoints(self.tokens, authenticate, base_url="https://auth.test", **options)
        self.base = ""

    @contextlib.contextmanager
    def served(self) -> Iterator[Auth]:
        if self.kind == "asgi":
            app = auth_asgi_app(self.endpoints)
            if self.mount:
                from starlette.applications import Starlette
                from starlette.routing import Mount

                app = Starlette(routes=[Mount(self.mount, app)])
            server = uvicorn_server(app)
        else:
            app = auth_wsgi_app(self.endpoints)
            if self.mount:
                from werkzeug.middleware.dispatcher import DispatcherMiddleware
                from werkzeug.wrappers import Response

                app = DispatcherMiddleware(Response("app"), {self.mount: app})
            server = wsgi_server(app)
        with server as self.base:
            yield self

    def call(self, method: str, path: str, body: str | bytes = b"", kind: str = FORM, **headers: str) -> Answer:
        conn = http.client.HTTPConnection(self.base, timeout=10)
        try:
            sent = {k.replace("_", "-"): v for k, v in headers.items()}
            if body:
                sent["Content-Type"] = kind
            conn.request(method, self.mount + path, body, sent)
            return Answer(conn.getresponse())
        finally:
            conn.close()

    def verifier(self) -> Verifier:
        """A resource server's verifier, with the ring's keys of now."""
        return Verifier(load_settings(self.issuer.settings(revocation=self.revocation)))


@pytest.fixture(params=["asgi", "wsgi"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def auth(kind: str) -> Iterator[Auth]:
    with Auth(kind, secure_cookies=False).served() as served:
        yield served


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text


# -- 7. revocation after a key rotation ---------------------------------------------------


@pytest.mark.parametrize("door", ["revoke", "logout"])
def test_finding_7_a_token_of_a_newer_key_is_revoked(auth: Auth, door: str) -> None:
    auth.ring.rotate()  # after the endpoints were built: the token below is signed by a key they never saw
    pair = auth.call("POST", "/auth/token", ALICE).json
    assert auth.verifier().verify(pair["access_token"])["sub"] == "alice"
    if door == "revoke":
        assert auth.call("POST", "/auth/revoke", f"token={pair['access_token']}").status == 200
    else:
        assert auth.call("POST", "/auth/logout", b"", Authorization=f"Bearer {pair['access_token']}").status == 204
    with pytest.raises(Exception, match="revoked"):
        auth.verifier().verify(pair["access_token"])


# -- 8. repeated parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "kind_"),
    [
        pytest.param("/auth/token", ALICE + "&username=bob", FORM, id="form-token"),
        pytest.param("/auth/token", ALICE + "&grant_type=refresh_token", FORM, id="form-grant"),
        pytest.param("/auth/revoke", "token=a.b&token=c.d", FORM, id="form-revoke"),
        pytest.param(
            "/auth/login", '{"username":"alice","password":"x","password":"wonderland"}', "application/json", id="json-login"
        ),
        pytest.param("/auth/token", '{"grant_type":"password","a":{"b":1,"b":2}}', "application/json", id="json-nested"),
    ],
)
def test_finding_8_a_repeated_parameter_is_invalid_request(auth: Auth, path: str, body: str, kind_: str) -> None:
    answer = auth.call("POST", path, body, kind_)
    assert (answer.status, answer.json["error"]) == (400, "invalid_request"), answer.raw
    assert "more than once" in answer.json["error_description"] and "set-cookie" not in dict(answer.headers)


# -- 9. malformed requests are 400s, HEAD is a GET without body, the logout bug -----------


def test_finding_9_deep_json_is_a_400(auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    deep = '{"grant_type":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    answer = auth.call("POST", "/auth/token", deep, "application/json")
    assert (answer.status, answer.json["error"]) == (400, "invalid_request")
    no_traceback(caplog)


def test_finding_9_a_websocket_upgrade_is_refused_cleanly(auth: Auth, caplog: pytest.LogCaptureFixture) -> None:
    if auth.kind == "asgi":
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            websockets.sync.client.connect(f"ws://{auth.base}/auth/token", open_timeout=10)
        assert refused.value.response.status_code == 403
    else:  # WSGI has no WebSocket: the handshake is a GET that no endpoint answers
        answer = auth.call("GET", "/auth/token", Upgrade="websocket", Connection="Upgrade")
        assert answer.status == 405
    no_traceback(caplog)


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/.well-known/jwks.json"])
def test_finding_9_head_on_a_document_is_a_get_without_body(auth: Auth, path: str) -> None:
    got, head = auth.call("GET", path), auth.call("HEAD", path)
    assert (head.status, head.raw) == (200, b"") and head.header("content-type") == "application/json"
    assert head.header("content-length") == str(len(got.raw)) and head.header("cache-control") == got.header("cache-control")


def test_finding_9_logout_with_an_empty_refresh_token_and_no_cookie(auth: Auth) -> None:
    answer = auth.call("POST", "/auth/logout", "refresh_token=")
    assert answer.status == 204 and set(auth.endpoints.cookie_names) <= set(answer.cookies)


# -- 11. the browser mode ------------------------------------------------------------------


def login_cookies(auth: Auth, **headers: str) -> dict[str, str]:
    answer = auth.call("POST", "/auth/login", "username=alice&password=wonderland", **headers)
    assert answer.status == 200, answer.raw
    return {name: value.partition("=")[2].partition(";")[0] for name, value in answer.cookies.items()}


def test_finding_11_logout_with_only_the_refresh_cookie_needs_the_csrf_token(auth: Auth) -> None:
    names = auth.endpoints.cookie_names
    jar = login_cookies(auth)
    cookie = f"{names.refresh}={jar[names.refresh]}; {names.csrf}={jar[names.csrf]}"
    refused = auth.call("POST", "/auth/logout", b"", Cookie=cookie)
    assert (refused.status, refused.json["error"]) == (400, "invalid_request")
    assert auth.call("POST", "/auth/refresh", f"refresh_token={jar[names.refresh]}").status == 200, "not logged out"
    jar = login_cookies(auth)
    cookie = f"{names.refresh}={jar[names.refresh]}; {names.csrf}={jar[names.csrf]}"
    assert auth.call("POST", "/auth/logout", b"", Cookie=cookie, X_CSRF_Token=jar[names.csrf]).status == 204
    assert auth.call("POST", "/auth/refresh", f"refresh_token={jar[names.refresh]}").status == 401, "logged out"


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, False, id="fetch-cross-site"),
        pytest.param({"Origin": "https://evil.example"}, False, id="origin-only"),
        pytest.param({"Origin": "null"}, False, id="opaque-origin"),
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": "https://auth.test"}, True, id="same-origin"),
        pytest.param({"Sec-Fetch-Site": "same-site", "Origin": "https://app.auth.test"}, True, id="same-site"),
        pytest.param({"Origin": "https://auth.test"}, True, id="own-origin"),
        pytest.param({}, True, id="no-browser"),
    ],
)
def test_finding_11_cross_site_browser_requests_are_refused(auth: Auth, headers: dict[str, str], allowed: bool) -> None:
    for path in ("/auth/login", "/auth/refresh", "/auth/logout"):
        answer = auth.call("POST", path, "username=alice&password=wonderland", **headers)
        if allowed:
            assert answer.status != 403, (path, answer.raw)
        else:
            assert (answer.status, answer.json["error"]) == (403, "access_denied") and not answer.cookies, path


def test_finding_11_two_refresh_cookies_are_ambiguous(auth: Auth) -> None:
    name = auth.endpoints.cookie_names.refresh
    mine = login_cookies(auth)[name]
    planted = login_cookies(auth)[name]
    answer = auth.call("POST", "/auth/refresh", b"", Cookie=f"{name}={planted}; {name}={mine}")
    assert (answer.status, answer.json["error"]) == (400, "invalid_request") and not answer.cookies
    assert auth.call("POST", "/auth/refresh", b"", Cookie=f"{name}={mine}").status == 200, "nothing was rotated"


def test_finding_11_secure_cookies_carry_host_and_secure_prefixes(kind: str) -> None:
    with Auth(kind).served() as auth:  # secure_cookies on, the default
        cookies = auth.call("POST", "/auth/login", "username=alice&password=wonderland").cookies
        assert set(cookies) == {"__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token"}
        for name in ("__Host-access_token", "__Host-csrf_token"):
            assert "; Path=/;" in cookies[name] and "Secure" in cookies[name] and "Domain" not in cookies[name]
        assert "Path=/auth;" in cookies["__Secure-refresh_token"] and "Secure" in cookies["__Secure-refresh_token"]
        refresh = cookies["__Secure-refresh_token"].partition("=")[2].partition(";")[0]
        assert auth.call("POST", "/auth/refresh", b"", Cookie=f"__Secure-refresh_token={refresh}").status == 200
        unprefixed = auth.call("POST", "/auth/refresh", b"", Cookie=f"refresh_token={refresh}")
        assert unprefixed.status == 400, "a cookie without the prefix could have been planted: it is not read"


def test_finding_11_the_refresh_cookie_path_includes_the_mount_prefix(kind: str) -> None:
    with Auth(kind, mount="/identity", secure_cookies=False).served() as auth:
        answer = auth.call("POST", "/auth/login", "username=alice&password=wonderland")
        refresh = answer.cookies["refresh_token"]
        assert "; Path=/identity/auth;" in refresh, refresh
        value = refresh.partition("=")[2].partition(";")[0]
        rotated = auth.call("POST", "/auth/refresh", b"", Cookie=f"refresh_token={value}")
        assert rotated.status == 200 and "; Path=/identity/auth;" in rotated.cookies["refresh_token"]
        cleared = auth.call("POST", "/auth/logout", b"", Cookie=f"refresh_token={value}", X_CSRF_Token="x")
        assert cleared.status == 400, "no CSRF cookie to match"


def test_finding_13_failed_logins_never_fill_the_token_endpoints_replay_cache(kind: str) -> None:
    """Issue 22 item 13: a token request's proof is recorded only once its credentials passed."""
    from jwt_middleware.core.dpop import MemoryReplay
    from jwt_middleware.testing import DPoPKey

    replay = MemoryReplay()
    key = DPoPKey()
    url = "https://auth.test/auth/token"
    wrong = "grant_type=password&username=alice&password=nope"
    with Auth(kind, dpop_replay=replay).served() as auth:
        for _ in range(3):
            refused = auth.call("POST", "/auth/token", wrong, DPoP=key.proof("POST", url))
            assert refused.status == 400 and refused.json["error"] == "invalid_grant"
        assert len(replay) == 0
        proof = key.proof("POST", url)
        granted = auth.call("POST", "/auth/token", ALICE, DPoP=proof)
        assert granted.status == 200 and granted.json["token_type"] == "DPoP"
        assert len(replay) == 1
        replayed = auth.call("POST", "/auth/token", ALICE, DPoP=proof)
        assert replayed.status == 400 and replayed.json["error"] == "invalid_dpop_proof"
