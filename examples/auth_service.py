"""An auth service: login with a password, refresh with rotation, logout; publishes its JWKS.

    AUTH_KEY_FILE=key.pem AUTH_ISSUER=http://127.0.0.1:9000 REDIS_URL=redis://... \\
        uvicorn examples.auth_service:app --port 9000

Passwords are hashed with scrypt (Python's standard library). Tokens come back as JSON
(for API clients) and as cookies (for browsers: HttpOnly access and refresh cookies, and
a readable CSRF cookie); a browser page sends ``X-Token-Delivery: cookie`` so that the
tokens never appear in a body its scripts can read. With REDIS_URL set, refresh families and revocations live in
Redis, so any number of processes share them; without it, in memory (one process).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from jwt_middleware import (
    JWTMiddleware,
    KeyRing,
    MemoryRefreshStore,
    MemoryRevocationStore,
    RefreshRejected,
    SigningKey,
    TokenIssuer,
    TokenPair,
    TokenService,
    get_claims,
    load_settings,
)
from jwt_middleware.issuing.cookies import access_cookie, clear_cookie, csrf_cookie, new_csrf_token, refresh_cookie
from jwt_middleware.issuing.publish import jwks_asgi_app


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    _, salt, _ = stored.split("$")
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)


USERS = {  # username -> (password hash, scopes); a real service reads these from its database
    "alice": (hash_password("wonderland"), "notes:read notes:write"),
    "bob": (hash_password("builder"), "notes:read"),
}
ISSUER = os.environ.get("AUTH_ISSUER", "http://127.0.0.1:9000")
AUDIENCE = "notes-api"
SECURE_COOKIES = ISSUER.startswith("https://")


def _signing_key() -> SigningKey:
    path = os.environ.get("AUTH_KEY_FILE")
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            return SigningKey.from_pem(f.read())
    return SigningKey.generate("ES256")


def _stores() -> tuple[Any, Any]:
    url = os.environ.get("REDIS_URL")
    if not url:
        return MemoryRefreshStore(), MemoryRevocationStore()
    from jwt_middleware.stores.redis import RedisRefreshStore, RedisRevocationStore

    return RedisRefreshStore(url), RedisRevocationStore(url)


ring = KeyRing(_signing_key())
issuer = TokenIssuer(ring, issuer=ISSUER, audience=AUDIENCE, access_ttl=int(os.environ.get("AUTH_ACCESS_TTL", "300")))
refresh_store, revocation = _stores()
tokens = TokenService(issuer, refresh_store, revocation=revocation, refresh_ttl=7 * 86400)


def _with_cookies(pair: TokenPair, request: Request) -> JSONResponse:
    body = pair.as_dict()
    if request.headers.get("x-token-delivery") == "cookie":  # a browser page: tokens only in HttpOnly cookies
        body = {"token_type": "Bearer", "expires_in": pair.expires_in, "scope": pair.scope}
    response = JSONResponse(body)
    response.headers.append("set-cookie", access_cookie(pair.access_token, max_age=pair.expires_in, secure=SECURE_COOKIES))
    response.headers.append("set-cookie", refresh_cookie(pair.refresh_token, path="/auth", secure=SECURE_COOKIES))
    response.headers.append("set-cookie", csrf_cookie(new_csrf_token(), secure=SECURE_COOKIES))
    return response


def _cleared(status: int, body: dict[str, Any] | None = None) -> Response:
    response: Response = JSONResponse(body, status) if body is not None else Response(status_code=status)
    for name, path in (("access_token", "/"), ("refresh_token", "/auth"), ("csrf_token", "/")):
        response.headers.append("set-cookie", clear_cookie(name, path=path, secure=SECURE_COOKIES))
    return response


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def _field(request: Request, name: str) -> str | None:
    value = (await _json(request)).get(name)
    return value if isinstance(value, str) else request.cookies.get(name)


async def login(request: Request) -> Response:
    body = await _json(request)
    user = USERS.get(str(body.get("username", "")))
    if user is None or not check_password(str(body.get("password", "")), user[0]):
        return JSONResponse({"error": "invalid_grant", "error_description": "wrong username or password"}, 401)
    return _with_cookies(tokens.login(str(body["username"]), scope=user[1]), request)


async def refresh(request: Request) -> Response:
    token = await _field(request, "refresh_token")
    try:
        return _with_cookies(await tokens.refresh_async(token or ""), request)  # never blocks the loop
    except RefreshRejected as exc:
        return _cleared(401, {"error": "invalid_grant", "error_description": f"refresh token {exc.reason}"})


async def logout(request: Request) -> Response:
    await tokens.logout_async(await _field(request, "refresh_token"), get_claims(request))
    return _cleared(204)


app = Starlette(
    routes=[
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/refresh", refresh, methods=["POST"]),
        Route("/auth/logout", logout, methods=["POST"]),
        Mount("/.well-known", jwks_asgi_app(ring, issuer=ISSUER)),
    ]
)
# Logout reads the access token when one is presented (optional), to revoke it at once.
SETTINGS = load_settings(
    issuer.settings(
        optional=True,
        exclude_paths=["/auth/login", "/auth/refresh", "/.well-known/*"],
        revocation=revocation,
        cookie="access_token",
    )
)
app.add_middleware(JWTMiddleware, settings=SETTINGS)
