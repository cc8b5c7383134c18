"""End to end: two auth-service processes and a resource service, over loopback HTTP,
sharing a real Redis; the resource service verifies through the published JWKS."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import free_socket, uvicorn_processes

from jwt_middleware import SigningKey


class Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            data = json.dumps(body).encode() if body is not None else None
            sent = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
            conn.request(method, path, body=data, headers=sent)
            r = conn.getresponse()
            raw = r.read()
            is_json = r.headers.get("content-type", "").startswith("application/json")
            return r.status, json.loads(raw) if raw and is_json else raw.decode(), r.headers
        finally:
            conn.close()


@pytest.fixture(scope="module")
def services(redis_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Client, Client]]:
    key_file = Path(tmp_path_factory.mktemp("auth")) / "signing-key.pem"
    key_file.write_text(SigningKey.generate("ES256").private_pem())
    socks = [free_socket(), free_socket()]
    auth_port, api_port = (sock.getsockname()[1] for sock in socks)
    for sock in socks:
        sock.close()
    issuer = f"http://127.0.0.1:{auth_port}"
    env = {"AUTH_KEY_FILE": str(key_file), "AUTH_ISSUER": issuer, "REDIS_URL": redis_server.url}
    served = {**env, "RESOURCE_URL": f"http://127.0.0.1:{api_port}"}  # the API's public URL: what DPoP proofs name
    with (
        uvicorn_processes("examples.auth_service:app", env, count=2, ports=[auth_port]) as (a, b),
        uvicorn_processes("examples.resource_service:app", served, ports=[api_port]) as (api,),
    ):
        yield Client(a), Client(b), Client(api)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_then_call_the_resource_service(services: tuple[Client, Client, Client]) -> None:
    auth, _, api = services
    status, body, headers = auth.call("POST", "/auth/login", {"username": "alice", "password": "wonderland"})
    assert status == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 300
    cookies = headers.get_all("set-cookie")
    assert any(c.startswith("access_token=") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith("refresh_token=") and "Path=/auth" in c and "SameSite=Strict" in c for c in cookies)
    status, me, _ = api.call("GET", "/api/me", headers=bearer(body["access_token"]))
    assert status == 200 and me["sub"] == "alice" and "notes:write" in me["scopes"]
    assert api.call("POST", "/api/notes", {"text": "hi"}, bearer(body["access_token"]))[0] == 200


def test_wrong_password_and_missing_scope(services: tuple[Client, Client, Client]) -> None:
    auth, _, api = services
    assert auth.call("POST", "/auth/login", {"username": "alice", "password": "nope"})[0] == 401
    _, bob, _ = auth.call("POST", "/auth/login", {"username": "bob", "password": "builder"})
    assert api.call("POST", "/api/notes", {"text": "x"}, bearer(bob["access_token"]))[0] == 403


def test_refresh_rotates_across_processes_and_reuse_revokes_the_family(services: tuple[Client, Client, Client]) -> None:
    auth_a, auth_b, api = services
    _, first, _ = auth_a.call("POST", "/auth/login", {"username": "alice", "password": "wonderland"})
    status, rotated, _ = auth_b.call("POST", "/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert status == 200 and rotated["refresh_token"] != first["refresh_token"]
    status, second, _ = auth_a.call("POST", "/auth/refresh", {"refresh_token": rotated["refresh_token"]})
    assert status == 200 and second["refresh_token"] != rotated["refresh_token"]
    assert api.call("GET", "/api/me", headers=bearer(second["access_token"]))[0] == 200
    # the first token, two rotations old (outside the grace window's one step back), as a thief would present it
    status, reused, _ = auth_a.call("POST", "/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert status == 401 and reused["error_description"] == "refresh token reused"
    assert auth_b.call("POST", "/auth/refresh", {"refresh_token": second["refresh_token"]})[0] == 401
    assert api.call("GET", "/api/me", headers=bearer(second["access_token"]))[0] == 401, "the family's access token is revoked"


def test_logout_revokes_everywhere(services: tuple[Client, Client, Client]) -> None:
    auth_a, auth_b, api = services
    _, pair, _ = auth_a.call("POST", "/auth/login", {"username": "alice", "password": "wonderland"})
    assert api.call("GET", "/api/me", headers=bearer(pair["access_token"]))[0] == 200
    status, _, headers = auth_b.call(
        "POST", "/auth/logout", {"refresh_token": pair["refresh_token"]}, bearer(pair["access_token"])
    )
    assert status == 204 and any(c.startswith("access_token=;") for c in headers.get_all("set-cookie"))
    assert api.call("GET", "/api/me", headers=bearer(pair["access_token"]))[0] == 401
    assert auth_a.call("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]})[0] == 401


def test_cookie_mode_needs_csrf_for_writes(services: tuple[Client, Client, Client]) -> None:
    auth, _, api = services
    _, pair, _ = auth.call("POST", "/auth/login", {"username": "alice", "password": "wonderland"})
    cookie = {"Cookie": f"access_token={pair['access_token']}; csrf_token=c5rf"}
    assert api.call("GET", "/api/me", headers=cookie)[0] == 200
    assert api.call("POST", "/api/notes", {"text": "x"}, cookie)[0] == 400
    assert api.call("POST", "/api/notes", {"text": "x"}, {**cookie, "X-CSRF-Token": "c5rf"})[0] == 200


def test_dpop_bound_tokens_across_two_auth_processes_sharing_redis(services: tuple[Client, Client, Client]) -> None:
    from jwt_middleware.testing import DPoPKey

    auth_a, auth_b, api = services
    key, thief = DPoPKey(), DPoPKey()
    token_url = f"http://127.0.0.1:{auth_a.port}/auth/token"  # the issuer's URL: where a load balancer sends both
    login = {"grant_type": "password", "username": "alice", "password": "wonderland"}
    proof = key.proof("POST", token_url)
    status, pair, _ = auth_a.call("POST", "/auth/token", login, {"DPoP": proof})
    assert (status, pair["token_type"]) == (200, "DPoP")
    status, again, _ = auth_b.call("POST", "/auth/token", login, {"DPoP": proof})
    assert (status, again["error"]) == (400, "invalid_dpop_proof"), "the other process saw the proof in Redis"
    api_url = f"http://127.0.0.1:{api.port}/api/me"
    status, me, _ = api.call("GET", "/api/me", headers=key.headers(pair["access_token"], "GET", api_url))
    assert (status, me["sub"]) == (200, "alice")
    assert api.call("GET", "/api/me", headers=bearer(pair["access_token"]))[0] == 401
    refresh = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    status, rotated, _ = auth_b.call("POST", "/auth/token", refresh, {"DPoP": key.proof("POST", token_url)})
    assert (status, rotated["token_type"]) == (200, "DPoP")
    stolen = {"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]}
    status, refused, _ = auth_a.call("POST", "/auth/token", stolen, {"DPoP": thief.proof("POST", token_url)})
    assert (status, refused["error_description"]) == (400, "refresh token dpop_key_mismatch")
    status, _, _ = auth_b.call("POST", "/auth/token", stolen, {"DPoP": key.proof("POST", token_url)})
    assert status == 400, "the session is over: the family was revoked"
    assert api.call("GET", "/api/me", headers=key.headers(rotated["access_token"], "GET", api_url))[0] == 401
