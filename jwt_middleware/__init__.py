"""JWT bearer authentication for any ASGI or WSGI app.

from jwt_middleware import JWTMiddleware, JWTWSGIMiddleware, get_claims, ConfigError
"""

from __future__ import annotations

from .asgi import JWTMiddleware
from .config.environment import load_settings_from_env
from .config.settings import Provider, Settings, load_settings
from .core.claims import Claims
from .core.errors import (
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
from .core.events import AuthEvent, set_events_subject_key
from .core.identity import CLAIMS_KEY, IDENTITY_KEY, AnonymousUser, Identity, JWTAuth, JWTUser, get_claims, get_roles, get_scopes
from .core.keys import thumbprint
from .core.revocation import RevocationStore, revoke_token, revoke_token_async
from .gate.responses import Challenge
from .gate.verifier import Verifier
from .issuing.issuer import TokenIssuer
from .issuing.refresh import RefreshRejected, RefreshStore, TokenPair, TokenService
from .issuing.signing import KeyRing, SigningKey
from .stores.memory import MemoryRefreshStore, MemoryRevocationStore
from .wsgi import JWTWSGIMiddleware

__version__ = "0.1.0"

__all__ = [
    "CLAIMS_KEY",
    "IDENTITY_KEY",
    "AnonymousUser",
    "AuthError",
    "AuthEvent",
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
    "load_settings_from_env",
    "revoke_token",
    "revoke_token_async",
    "set_events_subject_key",
    "thumbprint",
]
