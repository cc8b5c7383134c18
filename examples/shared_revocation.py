"""Logout shared by every process: revocations in Redis.

    JWT_SECRET=... REDIS_URL=redis://127.0.0.1:6379/0 uvicorn examples.shared_revocation:app --workers 4

GET /me needs a token; POST /logout revokes the presented token (its jti); POST
/logout-everywhere revokes every token of its subject issued until now. Whichever worker
takes the logout, every worker refuses the token within milliseconds: each keeps a mirror of
the deny-list, fed by a Redis stream, so checking a token makes no round trip.
"""

from __future__ import annotations

import json
import os
from typing import Any

from jwt_middleware import JWTMiddleware, get_claims, revoke_token_async
from jwt_middleware.stores.redis import RedisRevocationStore

store = RedisRevocationStore(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    max_staleness_seconds=float(os.environ.get("REVOCATION_MAX_STALENESS", "5")),
)


async def api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
        store.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    claims = get_claims(scope)
    status, body = 200, {"sub": claims and claims["sub"], "pid": os.getpid()}
    if scope["method"] == "POST" and claims is not None:
        if scope["path"] == "/logout":  # awaitable forms: a slow Redis never stalls the event loop
            await revoke_token_async(store, claims)
        elif scope["path"] == "/logout-everywhere":
            await store.revoke_subject_async(claims["sub"])
        status, body = 204, {}
    payload = json.dumps(body).encode() if status != 204 else b""
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


app = JWTMiddleware(api, settings={"algorithms": ["HS256"], "secret": os.environ.get("JWT_SECRET", ""), "revocation": store})
