"""JWT bearer authentication for any ASGI or WSGI app.

from jwt_middleware import JWTMiddleware, JWTWSGIMiddleware, get_claims, ConfigError
"""

from __future__ import annotations

from ._claims import Claims
from ._errors import (
    AuthError,
    ConfigError,
    InsufficientScope,
    InvalidRequest,
    InvalidToken,
    JWTMiddlewareError,
    KeySourceUnavailable,
    MissingToken,
    RevocationUnavailable,
    Unavailable,
)
from ._identity import CLAIMS_KEY, IDENTITY_KEY, AnonymousUser, Identity, JWTAuth, JWTUser, get_claims, get_roles, get_scopes
from ._issuer import TokenIssuer
from ._refresh import MemoryRefreshStore, RefreshRejected, RefreshStore, TokenPair, TokenService
from ._responses import Challenge
from ._revocation import MemoryRevocationStore, RevocationStore, revoke_token
from ._settings import Provider, Settings, load_settings
from ._signing import KeyRing, SigningKey, thumbprint
from ._verify import Verifier
from .asgi import JWTMiddleware
from .wsgi import JWTWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "CLAIMS_KEY",
    "IDENTITY_KEY",
    "AnonymousUser",
    "AuthError",
    "Challenge",
    "Claims",
    "ConfigError",
    "Identity",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "JWTAuth",
    "JWTMiddleware",
    "JWTMiddlewareError",
    "JWTUser",
    "JWTWSGIMiddleware",
    "KeyRing",
    "KeySourceUnavailable",
    "MemoryRefreshStore",
    "MemoryRevocationStore",
    "MissingToken",
    "Provider",
    "RefreshRejected",
    "RefreshStore",
    "RevocationStore",
    "RevocationUnavailable",
    "Settings",
    "SigningKey",
    "TokenIssuer",
    "TokenPair",
    "TokenService",
    "Unavailable",
    "Verifier",
    "__version__",
    "get_claims",
    "get_roles",
    "get_scopes",
    "load_settings",
    "revoke_token",
    "thumbprint",
]
