"""A raw ASGI app behind JWTMiddleware: HTTP, a WebSocket and a public health check.

uvicorn examples.raw_asgi:app     (reads JWT_SECRET from the environment)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from jwt_middleware import JWTMiddleware, get_claims


async def lifespan(receive: Any, send: Any) -> None:
    """The ASGI lifespan protocol, with nothing to start or stop."""
    while (message := await receive())["type"] != "lifespan.shutdown":
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
    await send({"type": "lifespan.shutdown.complete"})


async def api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    claims = get_claims(scope)
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": json.dumps({"hello": claims and claims["sub"]})})
        await send({"type": "websocket.close", "code": 1000})
        return
    body = json.dumps({"path": scope["path"], "sub": claims and claims.get("sub")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def build_app(settings: Mapping[str, Any]) -> JWTMiddleware:
    return JWTMiddleware(api, settings={"exclude_paths": ["/health"], "query_param": "access_token", **settings})


if os.environ.get("JWT_SECRET"):
    app = build_app({"algorithms": ["HS256"], "secret": os.environ["JWT_SECRET"]})
