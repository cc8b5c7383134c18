"""Several issuers in one middleware: the token's ``iss`` picks the provider.

    uvicorn examples.multi_issuer:app

Here: your own login service (HS256, a local secret) and a partner's identity provider (a
remote JWKS), each with its own audience and algorithms. A partner key never verifies a
token that claims to be yours, and the other way round.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from jwt_middleware import JWTMiddleware, get_claims

from .raw_asgi import lifespan


async def api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    claims = get_claims(scope) or {}
    body = json.dumps({"sub": claims.get("sub"), "iss": claims.get("iss")}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def build_app(providers: Sequence[Mapping[str, Any]]) -> JWTMiddleware:
    return JWTMiddleware(api, settings={"providers": list(providers)})


if os.environ.get("INTERNAL_SECRET") and os.environ.get("PARTNER_JWKS_URL"):
    app = build_app(
        [
            {
                "issuer": "https://login.internal",
                "algorithms": ["HS256"],
                "secret": os.environ["INTERNAL_SECRET"],
                "audience": "api",
            },
            {
                "issuer": os.environ.get("PARTNER_ISSUER", "https://idp.partner.example/"),
                "algorithms": ["RS256"],
                "jwks_url": os.environ["PARTNER_JWKS_URL"],
                "audience": "partner-api",
            },
        ]
    )
