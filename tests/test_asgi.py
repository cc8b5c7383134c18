"""ASGI-only behaviour: WebSockets, pass-through scopes, Starlette conventions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from harness import ASGIHarness
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse
from starlette.websockets import WebSocket
from tokens import SECRET, claims, mint

from jwt_middleware import JWTMiddleware, get_claims

HS = {"algorithms": ["HS256"], "secret": SECRET}


def test_websocket_with_token_is_accepted() -> None:
    h = ASGIHarness({**HS, "query_param": "access_token"})
    sent = h.websocket(query=f"access_token={mint()}")
    assert sent[0] == {"type": "websocket.accept"}
    assert h.seen["claims"]["sub"] == "alice"


def test_websocket_refused_before_accept_with_1008() -> None:
    h = ASGIHarness(HS)
    sent = h.websocket()
    assert [m["type"] for m in sent] == ["websocket.close"]
    assert sent[0]["code"] == 1008
    assert not h.seen


def test_websocket_denial_response_when_server_offers_it() -> None:
    h = ASGIHarness(HS)
    sent = h.websocket(headers=[("Authorization", "Bearer nope.nope.nope")], extensions={"websocket.http.response": {}})
    assert [m["type"] for m in sent] == ["websocket.http.response.start", "websocket.http.response.body"]
    assert sent[0]["status"] == 401
    headers = dict(sent[0]["headers"])
    assert headers[b"www-authenticate"].startswith(b'Bearer error="invalid_token"')
    assert b"nope" not in headers[b"www-authenticate"] + sent[1]["body"]
    assert not h.seen


@pytest.mark.parametrize("kind", ["lifespan", "custom"])
def test_other_scope_types_pass_through_untouched(kind: str) -> None:
    seen: list[dict[str, Any]] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(dict(scope))

    scope = {"type": kind, "asgi": {"version": "3.0"}}
    asyncio.run(JWTMiddleware(inner, settings=HS)(scope, None, None))  # type: ignore[arg-type]
    assert seen == [{"type": kind, "asgi": {"version": "3.0"}}]


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "claims": get_claims(request),
            "user": request.user.display_name,
            "authenticated": request.user.is_authenticated,
            "scopes": request.auth.scopes,
        }
    )


@requires("admin")
async def admin(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def ws_echo(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json({"sub": get_claims(ws)["sub"]})  # type: ignore[index]
    await ws.close()


def starlette_app(**settings: Any) -> Starlette:
    return Starlette(
        routes=[Route("/me", whoami), Route("/admin", admin), Route("/health", whoami), WebSocketRoute("/ws", ws_echo)],
        middleware=[Middleware(JWTMiddleware, settings={**HS, "exclude_paths": ["/health"], "query_param": "token", **settings})],
    )


def test_starlette_add_middleware_and_request_user() -> None:
    app = Starlette(routes=[Route("/me", whoami)])
    app.add_middleware(JWTMiddleware, settings=HS)
    with TestClient(app) as client:
        r = client.get("/me", headers={"Authorization": f"Bearer {mint(claims(name='Alice A.'))}"})
        assert r.status_code == 200
        body = r.json()
        assert (body["user"], body["authenticated"], body["scopes"]) == ("Alice A.", True, ["authenticated", "read", "write"])
        assert body["claims"]["sub"] == "alice"
        assert client.get("/me").status_code == 401


def test_starlette_requires_reads_our_scopes() -> None:
    with TestClient(starlette_app()) as client:
        assert client.get("/admin", headers={"Authorization": f"Bearer {mint()}"}).status_code == 403
        token = mint(claims(scope="read admin"))
        assert client.get("/admin", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_starlette_public_path_is_anonymous() -> None:
    with TestClient(starlette_app()) as client:
        body = client.get("/health").json()
        assert (body["claims"], body["authenticated"], body["scopes"]) == (None, False, [])


def test_starlette_websocket() -> None:
    with TestClient(starlette_app()) as client:
        with client.websocket_connect(f"/ws?token={mint()}") as ws:
            assert ws.receive_json() == {"sub": "alice"}
        with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect("/ws") as ws:
            ws.receive_json()
        assert info.value.status_code == 401
        assert info.value.headers["www-authenticate"] == "Bearer"


COOKIE_MODE = {**HS, "cookie": "access_token"}


@pytest.mark.parametrize(
    ("origin", "host", "accepted"),
    [
        pytest.param("http://app.example", "app.example", True, id="same-origin"),
        pytest.param("https://APP.example:8443", "app.example:8443", True, id="same-origin-case-port"),
        pytest.param("https://evil.example", "app.example", False, id="cross-site"),
        pytest.param("https://app.example.evil", "app.example", False, id="suffix-trick"),
        pytest.param("null", "app.example", False, id="opaque-origin"),
        pytest.param(None, "app.example", True, id="no-origin-non-browser"),
    ],
)
def test_cookie_websocket_handshake_must_be_same_origin(origin: str | None, host: str, accepted: bool) -> None:
    h = ASGIHarness(COOKIE_MODE)
    headers = [("Cookie", f"access_token={mint()}"), ("Host", host)] + ([("Origin", origin)] if origin else [])
    sent = h.websocket(headers=headers)
    assert (sent[0]["type"] == "websocket.accept") is accepted
    if not accepted:
        assert sent[0] == {"type": "websocket.close", "code": 1008, "reason": "csrf_failed"}


def test_cross_site_websocket_with_a_header_token_is_fine() -> None:
    h = ASGIHarness(COOKIE_MODE)
    sent = h.websocket(headers=[("Authorization", f"Bearer {mint()}"), ("Origin", "https://other.example"), ("Host", "a")])
    assert sent[0]["type"] == "websocket.accept"
