"""End to end: the example apps under real servers, driven over loopback HTTP and WebSocket."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import time
from typing import Any

import pytest
import websockets.exceptions
import websockets.sync.client
from servers import uvicorn_server, wsgi_server
from tokens import SECRET, claims, mint

from examples import raw_asgi, raw_wsgi

SETTINGS = {"algorithms": ["HS256"], "secret": SECRET}


def get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(base, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


@pytest.fixture(params=["uvicorn", "wsgiref-threaded"])
def server(request: pytest.FixtureRequest) -> Any:
    if request.param == "uvicorn":
        with uvicorn_server(raw_asgi.build_app(SETTINGS)) as base:
            yield base
    else:
        with wsgi_server(raw_wsgi.build_app(SETTINGS)) as base:
            yield base


def test_valid_token_200(server: str) -> None:
    status, _, body = get(server, "/hello", {"Authorization": f"Bearer {mint()}"})
    assert status == 200 and json.loads(body)["sub"] == "alice"


def test_no_token_401(server: str) -> None:
    status, headers, body = get(server, "/hello")
    assert (status, headers["www-authenticate"], json.loads(body)["error"]) == (401, "Bearer", "unauthorized")
    assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"


def test_expired_token_401(server: str) -> None:
    status, headers, _ = get(server, "/hello", {"Authorization": f"Bearer {mint(claims(exp=int(time.time()) - 60))}"})
    assert status == 401
    assert headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="token has expired"'


def test_public_path_and_malformed_request(server: str) -> None:
    assert get(server, "/health")[0] == 200
    assert get(server, "/hello", {"Authorization": "Bearer a b"})[0] == 400


def test_concurrent_requests(server: str) -> None:
    tokens = [mint(claims(sub=f"user{i}")) for i in range(40)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda t: get(server, "/hello", {"Authorization": f"Bearer {t}"}), tokens))
    assert [json.loads(b)["sub"] for _, _, b in results] == [f"user{i}" for i in range(40)]


@pytest.mark.parametrize("ws", ["websockets-sansio", "wsproto"])
def test_websocket_under_uvicorn(ws: str) -> None:
    with uvicorn_server(raw_asgi.build_app(SETTINGS), ws=ws) as base:
        with websockets.sync.client.connect(f"ws://{base}/ws?access_token={mint()}", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10)) == {"hello": "alice"}
        with pytest.raises(websockets.exceptions.InvalidStatus) as info:
            websockets.sync.client.connect(f"ws://{base}/ws", open_timeout=10)
        assert info.value.response.status_code == 401  # uvicorn offers websocket.http.response
        assert info.value.response.headers["www-authenticate"] == "Bearer"
        with pytest.raises(websockets.exceptions.InvalidStatus):
            websockets.sync.client.connect(
                f"ws://{base}/ws", additional_headers={"Authorization": "Bearer x.y.z"}, open_timeout=10
            )


def test_query_token_never_reaches_the_access_log_or_the_app() -> None:
    import logging

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await raw_asgi.lifespan(receive, send)
            return
        seen["query"] = scope["query_string"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    from jwt_middleware import JWTMiddleware

    token = mint()
    handler = Keep()
    with uvicorn_server(JWTMiddleware(app, settings={**SETTINGS, "query_param": "access_token"}), log_level="info") as base:
        logging.getLogger("uvicorn.access").addHandler(handler)
        try:
            assert get(base, f"/hello?x=1&access_token={token}&y=2")[0] == 200
            assert get(base, "/hello?access_token=garbage")[0] == 401
        finally:
            logging.getLogger("uvicorn.access").removeHandler(handler)
    assert seen["query"] == b"x=1&y=2"
    assert any("/hello?x=1&y=2" in r for r in records), records
    assert not any(token in r or "garbage" in r for r in records), records


def test_wsgi_app_does_not_see_the_query_token() -> None:
    from harness import WSGIHarness

    seen: dict[str, Any] = {}
    h = WSGIHarness({**SETTINGS, "query_param": "access_token"})
    inner = h.middleware.app

    def spy(environ: dict[str, Any], start_response: Any) -> Any:
        seen["query"] = environ["QUERY_STRING"]
        return inner(environ, start_response)

    h.middleware.app = spy
    assert h.request(query=f"a=1&access_token={mint()}").status == 200
    assert seen["query"] == "a=1"
