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
)
from ._identity import CLAIMS_KEY, AnonymousUser, JWTAuth, JWTUser, get_claims
from ._responses import Challenge
from ._settings import Provider, Settings, load_settings
from ._verify import Verifier
from .asgi import JWTMiddleware
from .wsgi import JWTWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "CLAIMS_KEY",
    "AnonymousUser",
    "AuthError",
    "Challenge",
    "Claims",
    "ConfigError",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "JWTAuth",
    "JWTMiddleware",
    "JWTMiddlewareError",
    "JWTUser",
    "JWTWSGIMiddleware",
    "KeySourceUnavailable",
    "MissingToken",
    "Provider",
    "Settings",
    "Verifier",
    "__version__",
    "get_claims",
    "load_settings",
]
