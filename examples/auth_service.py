"""An auth service in a few lines over the ready endpoints: OAuth 2.0 token and revocation endpoints,
the browser's cookie mode, metadata, the JWKS, login throttling and /metrics.

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
import os
import secrets
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from jwt_middleware import KeyRing, MemoryRefreshStore, MemoryRevocationStore, SigningKey, TokenIssuer, TokenService
from jwt_middleware.metrics.prometheus import PrometheusMetrics
from jwt_middleware.server.apps import auth_asgi_app
from jwt_middleware.server.endpoints import AuthEndpoints
from jwt_middleware.server.throttle import MemoryLoginThrottle


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
UNKNOWN_USER = hash_password(secrets.token_urlsafe(16))  # hashed against for unknown users: the same time as a wrong password
AUDIENCE = "notes-api"
SECURE_COOKIES = ISSUER.startswith("https://")


def _signing_key() -> SigningKey:
    path = os.environ.get("AUTH_KEY_FILE")
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            return SigningKey.from_pem(f.read())
    return SigningKey.generate("ES256")


def _stores() -> tuple[Any, Any, Any]:
    url = os.environ.get("REDIS_URL")
    if not url:
        return MemoryRefreshStore(), MemoryRevocationStore(), MemoryLoginThrottle()
    from jwt_middleware.stores.redis import RedisLoginThrottle, RedisRefreshStore, RedisRevocationStore

    throttle = RedisLoginThrottle(url, prefix=os.environ.get("AUTH_THROTTLE_PREFIX", "jwt_middleware:"))
    return RedisRefreshStore(url), RedisRevocationStore(url), throttle


def _dpop_replay() -> Any:
    """Where the token endpoint records DPoP proofs: Redis when processes share it, else memory (the default)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    from jwt_middleware.stores.redis import RedisDPoPReplay

    return RedisDPoPReplay(url)


ring = KeyRing(_signing_key())
issuer = TokenIssuer(ring, issuer=ISSUER, audience=AUDIENCE, access_ttl=int(os.environ.get("AUTH_ACCESS_TTL", "300")))
refresh_store, revocation, throttle = _stores()
metrics = PrometheusMetrics()
tokens = TokenService(issuer, refresh_store, revocation=revocation, refresh_ttl=7 * 86400, on_event=metrics)


def authenticate(username: str, password: str) -> dict[str, Any] | None:
    """The service's own users: the subject and its scopes, or None for wrong credentials.

    An unknown user costs one password hash too, so the answer's timing never tells which
    usernames exist.
    """
    user = USERS.get(username)
    matches = check_password(password, user[0] if user is not None else UNKNOWN_USER)
    if user is None or not matches:
        return None
    return {"sub": username, "scope": user[1]}


endpoints = AuthEndpoints(
    tokens, authenticate, base_url=ISSUER, throttle=throttle, secure_cookies=SECURE_COOKIES, dpop_replay=_dpop_replay()
)


async def metrics_page(request: Request) -> Response:
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


# /auth/token, /auth/revoke, /auth/login, /auth/refresh, /auth/logout, and the /.well-known documents
app = Starlette(routes=[Route("/metrics", metrics_page), Mount("/", auth_asgi_app(endpoints))])
