"""What the endpoint rooms (documents, grants, browser mode) read of the configured endpoints.

``AuthEndpoints`` is the one implementation; the rooms are written against this protocol, so
that they depend on what they read and the core that routes to them depends on them, never
the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

from ..config.dpop import DPoPPolicy
from ..gate.verifier import Verifier
from ..issuing.refresh import TokenService
from .messages import Request
from .throttle import LegacyLoginThrottle, LoginThrottle

__all__ = ["CookieNames", "Service", "cookie_names"]


class CookieNames(NamedTuple):
    """The browser mode's cookie names (give ``access`` and ``csrf`` to the middleware's ``cookie`` and ``csrf_cookie``).

    Attributes:
        access: the access token's cookie.
        refresh: the refresh token's cookie.
        csrf: the double-submit CSRF cookie.
    """

    access: str
    refresh: str
    csrf: str


def cookie_names(secure: bool) -> CookieNames:
    """``__Host-access_token``, ``__Secure-refresh_token``, ``__Host-csrf_token`` when ``secure``; else unprefixed.

    Args:
        secure: whether the cookies are ``Secure`` (browsers refuse prefixed names otherwise).
    """
    if not secure:
        return CookieNames("access_token", "refresh_token", "csrf_token")
    return CookieNames("__Host-access_token", "__Secure-refresh_token", "__Host-csrf_token")


class Service(Protocol):
    """The configured endpoints as the rooms see them (``AuthEndpoints``)."""

    tokens: TokenService
    authenticate: Callable[[str, str], Any]
    base_url: str
    base_path: str
    throttle: LoginThrottle | LegacyLoginThrottle
    limits: tuple[int, int, float]
    dpop: DPoPPolicy
    secure: bool
    cookie_names: CookieNames
    origins: frozenset[str]

    @property
    def verifier(self) -> Verifier:
        """The verifier of the service's own access tokens."""
        ...

    def client(self, request: Request) -> str | None:
        """The client's address (behind trusted proxies, the forwarded one).

        Args:
            request: the request.
        """
        ...

    def event(self, kind: str, reason: str, username: str, request: Request) -> None:
        """Emit an auth event for the request.

        Args:
            kind: the event kind.
            reason: the reason code.
            username: the account named (digested in the event), or ``""``.
            request: the request.
        """
        ...
