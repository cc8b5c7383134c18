"""A resource service that trusts the auth service through its published JWKS.

    AUTH_ISSUER=http://127.0.0.1:9000 REDIS_URL=redis://... uvicorn examples.resource_service:app --port 9001

It knows no key: it finds them at ``{AUTH_ISSUER}/.well-known/openid-configuration``.
Tokens come in the Authorization header (``Bearer``, or ``DPoP`` with a proof for a token
bound to the client's key) or the access cookie (then CSRF applies to writes). With
REDIS_URL, a logout at the auth service is honoured here at once. It publishes RFC 9728
metadata at ``/.well-known/oauth-protected-resource`` (RESOURCE_URL: its public URL,
default ``http://127.0.0.1:9001``). That URL's origin is also what a DPoP proof's ``htu`` must
name (the ``origin`` setting defaults to it): set RESOURCE_URL to the URL clients use.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwt_middleware import JWTMiddleware, get_claims, load_settings
from jwt_middleware.server.browser import cookie_names

ISSUER = os.environ.get("AUTH_ISSUER", "http://127.0.0.1:9000")
RESOURCE = os.environ.get("RESOURCE_URL", "http://127.0.0.1:9001")
NOTES: dict[str, list[str]] = {}
COOKIES = cookie_names(secure=ISSUER.startswith("https://"))  # the names the auth service sets (__Host- over HTTPS)


async def me(request: Request) -> JSONResponse:
    claims = get_claims(request) or {}
    return JSONResponse({"sub": claims.get("sub"), "scopes": request.auth.scopes})


@requires("notes:write")
async def add_note(request: Request) -> JSONResponse:
    text = (await request.json()).get("text", "")
    NOTES.setdefault(request.user.identity, []).append(str(text))
    return JSONResponse({"notes": NOTES[request.user.identity]})


def build_app(revocation: Any = None, dpop_max_age_seconds: float = 60) -> Starlette:
    """The service; ``revocation`` defaults to a Redis store when REDIS_URL is set."""
    replay = None  # DPoP proofs: remembered per process, or in Redis when processes share the load
    if os.environ.get("REDIS_URL"):
        from jwt_middleware.stores.redis import RedisDPoPReplay, RedisRevocationStore

        replay = RedisDPoPReplay(os.environ["REDIS_URL"])
        if revocation is None:
            revocation = RedisRevocationStore(os.environ["REDIS_URL"])
    settings: dict[str, Any] = {
        "algorithms": ["ES256", "RS256", "EdDSA"],
        "issuer": ISSUER,
        "oidc_discovery": True,
        "audience": "notes-api",
        "cookie": COOKIES.access,
        "csrf_cookie": COOKIES.csrf,
        "exclude_paths": ["/health"],
        "revocation": revocation,
        "dpop_max_age_seconds": dpop_max_age_seconds,
        "dpop_replay": replay,
        "resource_metadata": {
            "resource": RESOURCE,  # its origin is also the one DPoP proofs name (the origin setting's default)
            "authorization_servers": [ISSUER],
            "scopes_supported": ["notes:read", "notes:write"],
        },
    }
    app = Starlette(routes=[Route("/api/me", me), Route("/api/notes", add_note, methods=["POST"]), Route("/health", me)])
    app.add_middleware(JWTMiddleware, settings=load_settings(settings))  # validated now, not at the first request
    return app


app = build_app()
