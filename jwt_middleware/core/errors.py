"""The exception tree, split by whose fault a failure is.

    JWTMiddlewareError
    ├── ConfigError (also ValueError)   the operator's fault: bad settings, raised at start-up
    ├── AuthError                        the client's fault: answered with 400/401/403
    │   ├── InvalidRequest               400 invalid_request (two tokens, bad bearer syntax)
    │   ├── MissingToken                 401 with a bare challenge
    │   ├── InvalidToken                 401 invalid_token (every bad token)
    │   └── InsufficientScope            403 insufficient_scope
    └── Unavailable                      a dependency's fault: 503 with Retry-After
        ├── KeySourceUnavailable         no usable keys (cold cache, provider down)
        └── RevocationUnavailable        the revocation store cannot answer (fail-closed policy)

Every AuthError and Unavailable carries a ``reason``: a short stable code that is
logged and documented. Descriptions are fixed strings: they never contain token or key bytes.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "InsufficientScope",
    "InvalidRequest",
    "InvalidToken",
    "JWTMiddlewareError",
    "KeySourceUnavailable",
    "MissingToken",
    "RevocationUnavailable",
    "Unavailable",
]


class JWTMiddlewareError(Exception):
    """Root of every exception this package raises."""


class ConfigError(JWTMiddlewareError, ValueError):
    """A setting is wrong. Raised at construction; the message names the key.

    Args:
        key: the setting's name (``providers[0].issuer`` for a nested one); kept as ``.key``.
        message: what is wrong, with the closest valid key for a misspelt one.
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"{key}: {message}")


class AuthError(JWTMiddlewareError):
    """A request failed authentication or authorization; maps to an RFC 6750 challenge.

    ``status`` and ``error`` (the RFC 6750 code) are class attributes of each subclass.

    Args:
        reason: a short stable code, logged and documented (docs/errors.md).
        description: a fixed sentence for ``error_description``; never token or key bytes.
    """

    status = 401
    error: str | None = "invalid_token"

    def __init__(self, reason: str, description: str) -> None:
        self.reason = reason
        self.description = description
        super().__init__(f"{reason}: {description}")


class InvalidRequest(AuthError):
    """400 ``invalid_request``: two tokens, a malformed ``Authorization`` header, a failed CSRF check."""

    status = 400
    error = "invalid_request"


class MissingToken(AuthError):
    """401 with a bare ``Bearer`` challenge (no ``error``, RFC 6750 §3.1): no token on a protected route."""

    status = 401
    error = None

    def __init__(self) -> None:
        super().__init__("missing_token", "no bearer token in the request")


class InvalidToken(AuthError):
    """401 ``invalid_token``: every bad token (malformed, bad signature, expired, revoked, ...)."""

    status = 401
    error = "invalid_token"


class InsufficientScope(AuthError):
    """403 ``insufficient_scope``: a valid token without a required scope or role.

    Args:
        reason: the reason code.
        description: the fixed description.
        scope: the scopes that were needed, space-separated (the challenge's ``scope``).
        roles: the roles that were needed, space-separated (the body's ``roles``).
    """

    status = 403
    error = "insufficient_scope"

    def __init__(self, reason: str, description: str, scope: str = "", roles: str = "") -> None:
        super().__init__(reason, description)
        self.scope = scope
        self.roles = roles


class Unavailable(JWTMiddlewareError):
    """A dependency cannot answer: 503 with Retry-After, never a 500 and never a pass.

    Args:
        reason: the reason code.
        description: a fixed description.
        retry_after: seconds for the ``Retry-After`` header (default 5).
    """

    status = 503

    def __init__(self, reason: str, description: str, retry_after: int = 5) -> None:
        self.reason = reason
        self.description = description
        self.retry_after = retry_after
        super().__init__(f"{reason}: {description}")


class KeySourceUnavailable(Unavailable):
    """No usable keys could be had (cold cache, provider down)."""


class RevocationUnavailable(Unavailable):
    """The revocation store did not answer in time (and failing open was not chosen)."""
