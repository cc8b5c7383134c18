"""The ready auth endpoints, driven by a real OAuth 2.0 client (authlib) under uvicorn and a threaded WSGI server."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from servers import uvicorn_processes, uvicorn_server, wsgi_server
from tokens import SECRET

from jwt_middleware import (
    AuthEvent,
    MemoryRefreshStore,
    MemoryRevocationStore,
    SigningKey,
    TokenIssuer,
    TokenService,
    Verifier,
    load_settings,
)
from jwt_middleware.server.apps import auth_asgi_app, auth_wsgi_app
from jwt_middleware.server.endpoints import AuthEndpoints

USERS = {"alice": ("wonderland", "notes:read notes:write"), "bob": ("builder", "notes:read")}


def authenticate(username: str, password: str) -> dict[str, Any] | None:
    user = USERS.get(username)
    return {"sub": username, "scope": user[1], "tier": "gold"} if user and password == user[0] else None


async def authenticate_async(username: str, password: str) -> dict[str, Any] | None:
    return authenticate(username, password)


class Service:
    def __init__(self, kind: str, **options: Any) -> None:
        self.events: list[AuthEvent] = []
        self.revocation = MemoryRevocationStore()
        issuer = TokenIssuer(SigningKey.generate("ES256"), issuer="https://auth.test", audience="api")
        self.tokens = TokenService(issuer, MemoryRefreshStore(), revocation=self.revocation, on_event=self.events.append)
        check = authenticate_async if kind == "asgi" else authenticate
        self.endpoints = AuthEndpoints(self.tokens, check, base_url="https://auth.test", **options)
        self.app = auth_asgi_app(self.endpoints) if kind == "asgi" else auth_wsgi_app(self.endpoints)
        self.verifier = Verifier(load_settings(issuer.settings(revocation=self.revocation)))


@pytest.fixture(params=["asgi", "wsgi"])
def service(request: pytest.FixtureRequest) -> Iterator[tuple[Service, str]]:
    svc = Service(request.param, trusted_proxies=["127.0.0.1"])
    with uvicorn_server(svc.app) if request.param == "asgi" else wsgi_server(svc.app) as base:
        yield svc, base


def post(base: str, path: str, form: dict[str, str], **headers: str) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection(base, timeout=10)
    try:
        body = urllib.parse.urlencode(form)
        conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", **headers})
        r = conn.getresponse()
        raw = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, json.loads(raw) if raw else None
    finally:
        conn.close()


def test_an_oauth_client_logs_in_refreshes_and_revokes(service: tuple[Service, str]) -> None:
    from authlib.integrations.requests_client import OAuth2Session

    svc, base = service
    import requests

    client = OAuth2Session(client_id="first-party")
    metadata = requests.get(f"http://{base}/.well-known/oauth-authorization-server", timeout=10).json()
    assert metadata["token_endpoint"] == "https://auth.test/auth/token" and metadata["grant_types_supported"] == [
        "password",
        "refresh_token",
    ]
    assert set(metadata) >= {"issuer", "token_endpoint", "revocation_endpoint", "jwks_uri"}
    assert requests.get(f"http://{base}/.well-known/jwks.json", timeout=10).json()["keys"][0]["kty"] == "EC"
    token = client.fetch_token(f"http://{base}/auth/token", username="alice", password="wonderland")
    assert token["token_type"] == "Bearer" and token["scope"] == "notes:read notes:write" and token["expires_in"] == 900
    claims = svc.verifier.verify(token["access_token"])
    assert (claims["sub"], claims["tier"], claims["aud"]) == ("alice", "gold", "api")
    renewed = client.refresh_token(f"http://{base}/auth/token", refresh_token=token["refresh_token"])
    assert renewed["refresh_token"] != token["refresh_token"]
    revoked = client.revoke_token(f"http://{base}/auth/revoke", token=renewed["refresh_token"], token_type_hint="refresh_token")
    assert revoked.status_code == 200
    status, _, body = post(base, "/auth/token", {"grant_type": "refresh_token", "refresh_token": renewed["refresh_token"]})
    assert (status, body["error"]) == (400, "invalid_grant")
    access = client.revoke_token(f"http://{base}/auth/revoke", token=renewed["access_token"], token_type_hint="access_token")
    assert access.status_code == 200
    with pytest.raises(Exception, match="revoked"):
        svc.verifier.verify(renewed["access_token"])


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        pytest.param(
            {"grant_type": "password", "username": "alice", "password": "nope"}, 400, "invalid_grant", id="wrong-password"
        ),
        pytest.param({"grant_type": "password", "username": "alice"}, 400, "invalid_request", id="no-password"),
        pytest.param({"grant_type": "client_credentials"}, 400, "unsupported_grant_type", id="unsupported"),
        pytest.param({}, 400, "invalid_request", id="no-grant"),
        pytest.param({"grant_type": "refresh_token", "refresh_token": "x.y"}, 400, "invalid_grant", id="unknown-refresh"),
    ],
)
def test_token_endpoint_errors_are_rfc_6749_shaped(
    service: tuple[Service, str], form: dict[str, str], status: int, error: str
) -> None:
    _, base = service
    got, headers, body = post(base, "/auth/token", form)
    assert (got, body["error"]) == (status, error) and isinstance(body["error_description"], str)
    assert headers["cache-control"] == "no-store" and headers["content-type"] == "application/json"


def test_json_bodies_are_accepted_too(service: tuple[Service, str]) -> None:
    _, base = service
    conn = http.client.HTTPConnection(base, timeout=10)
    body = json.dumps({"grant_type": "password", "username": "bob", "password": "builder"})
    conn.request("POST", "/auth/token", body, {"Content-Type": "application/json"})
    answer = json.loads(conn.getresponse().read())
    conn.close()
    assert answer["scope"] == "notes:read"


def test_brute_force_on_one_account_from_one_and_from_many_addresses(service: tuple[Service, str]) -> None:
    svc, base = service
    wrong = {"grant_type": "password", "username": "alice", "password": "guess"}
    right = {**wrong, "password": "wonderland"}
    statuses = [post(base, "/auth/token", wrong, **{"X-Forwarded-For": f"203.0.113.{i}"})[0] for i in range(20)]
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}, statuses  # many addresses: the account's limit holds
    status, headers, body = post(base, "/auth/token", right, **{"X-Forwarded-For": "198.51.100.1"})
    assert (status, body["error"]) == (429, "slow_down") and int(headers["retry-after"]) > 0, "the right password waits too"
    kinds = {(e.kind, e.reason) for e in svc.events}
    assert ("login.failed", "invalid_credentials") in kinds and ("login.throttled", "throttled") in kinds
    assert post(base, "/auth/token", {**right, "username": "bob", "password": "builder"})[0] == 200, "other accounts go on"


def test_one_address_trying_many_accounts_is_throttled(service: tuple[Service, str]) -> None:
    _, base = service
    codes = [post(base, "/auth/token", {"grant_type": "password", "username": f"user{i}", "password": "x"})[0] for i in range(22)]
    assert codes[:20] == [400] * 20 and codes[20:] == [429, 429]
    status, _, _ = post(base, "/auth/token", {"grant_type": "password", "username": "alice", "password": "wonderland"})
    assert status == 429, "the address is over its limit, whatever the account"


def test_a_success_resets_the_account() -> None:
    svc = Service("wsgi")
    wrong = {"username": "alice", "password": "guess"}
    for _ in range(4):
        svc.endpoints.throttle.failed([f"account:{wrong['username']}", "address:x"], 900)
    assert svc.endpoints.throttle.blocked([("account:alice", 5)], 900) == 0
    svc.endpoints.throttle.succeeded("account:alice")
    svc.endpoints.throttle.failed(["account:alice"], 900)
    assert svc.endpoints.throttle.blocked([("account:alice", 2)], 900) == 0, "the four before the success are forgotten"


def test_no_event_or_log_line_holds_the_password_or_a_token(
    service: tuple[Service, str], caplog: pytest.LogCaptureFixture
) -> None:
    svc, base = service
    caplog.set_level("DEBUG", logger="jwt_middleware")
    secret_password = f"pw-{uuid.uuid4().hex}"
    post(base, "/auth/token", {"grant_type": "password", "username": "alice", "password": secret_password})
    _, _, pair = post(base, "/auth/token", {"grant_type": "password", "username": "alice", "password": "wonderland"})
    post(base, "/auth/token", {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
    text = repr(svc.events) + caplog.text + "".join(repr(r.__dict__) for r in caplog.records)
    for value in (secret_password, "wonderland", pair["refresh_token"], pair["access_token"], SECRET):
        assert value not in text


def test_the_example_service_throttles_through_redis_across_two_processes_and_counts_in_metrics(redis_server: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    # A prefix of its own: the session's Redis is shared, and other tests log in from 127.0.0.1 too.
    env = {"REDIS_URL": redis_server.url, "AUTH_ISSUER": "http://127.0.0.1:1", "AUTH_THROTTLE_PREFIX": f"t-{uuid.uuid4().hex}:"}
    with uvicorn_processes("examples.auth_service:app", env, count=2) as (a, b):
        wrong = json.dumps({"username": "mallory", "password": "wrong"})
        codes = []
        for i in range(7):
            conn = http.client.HTTPConnection("127.0.0.1", (a, b)[i % 2], timeout=10)
            conn.request("POST", "/auth/login", wrong, {"Content-Type": "application/json"})
            codes.append(conn.getresponse().status)
            conn.close()
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429], codes  # one count, shared by both processes
        conn = http.client.HTTPConnection("127.0.0.1", a, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    counts = {
        (s.labels["kind"], s.labels["reason"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "jwt_middleware_events"
        for s in family.samples
        if s.name.endswith("_total")
    }
    assert counts.get(("login.failed", "invalid_credentials"), 0) >= 2 and counts.get(("login.throttled", "throttled"), 0) >= 1


def test_mounted_under_a_prefix_in_starlette_and_werkzeug() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client
    from werkzeug.wrappers import Response as WerkzeugResponse

    asgi = Service("asgi")
    with TestClient(Starlette(routes=[Mount("/identity", auth_asgi_app(asgi.endpoints))])) as c:
        assert c.get("/identity/.well-known/oauth-authorization-server").json()["issuer"] == "https://auth.test"
        token = c.post("/identity/auth/token", data={"grant_type": "password", "username": "bob", "password": "builder"})
        assert token.status_code == 200 and token.json()["scope"] == "notes:read"
        assert c.get("/identity/auth/token").status_code == 405 and c.get("/identity/nowhere").status_code == 404

    wsgi = Service("wsgi")
    dispatched = DispatcherMiddleware(WerkzeugResponse("app"), {"/identity": auth_wsgi_app(wsgi.endpoints)})
    client = Client(dispatched)
    answer = client.post("/identity/auth/token", data={"grant_type": "password", "username": "bob", "password": "builder"})
    assert answer.status_code == 200 and answer.json["token_type"] == "Bearer"  # type: ignore[index]
    assert client.get("/identity/.well-known/jwks.json").json["keys"]  # type: ignore[index]
