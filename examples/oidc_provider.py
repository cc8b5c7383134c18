"""A remote identity provider by OIDC discovery, with a readiness endpoint.

    OIDC_ISSUER=https://your-tenant.eu.auth0.com/ OIDC_AUDIENCE=https://api.example.com \\
        uvicorn examples.oidc_provider:app

The keys are found at ``{issuer}/.well-known/openid-configuration``, fetched on first need,
cached, refreshed and served stale through outages (see docs/key-sources.md). ``/ready``
reports the key source's health: 503 until keys have been fetched once and while none are
usable, so an orchestrator keeps traffic away.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from jwt_middleware import JWTMiddleware, get_claims

from .raw_asgi import lifespan


def build_app(settings: Mapping[str, Any]) -> JWTMiddleware:
    holder: dict[str, JWTMiddleware] = {}

    async def api(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["path"] == "/ready":
            health = holder["app"].health()
            ready = all(h["ready"] or (h["state"] == "cold" and h["consecutive_failures"] == 0) for h in health)
            status, body = (200 if ready else 503), {"providers": health}
        else:
            claims = get_claims(scope) or {}
            status, body = 200, {"sub": claims.get("sub"), "iss": claims.get("iss")}
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    holder["app"] = JWTMiddleware(api, settings={"exclude_paths": ["/ready"], **settings})
    return holder["app"]


if os.environ.get("OIDC_ISSUER"):
    app = build_app(
        {
            "algorithms": ["RS256", "ES256"],
            "issuer": os.environ["OIDC_ISSUER"],
            "oidc_discovery": True,
            "audience": os.environ.get("OIDC_AUDIENCE", ""),
        }
    )
