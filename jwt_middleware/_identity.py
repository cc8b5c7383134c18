"""What the adapters attach to a request, and ``get_claims`` to read it back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CLAIMS_KEY = "jwt_middleware.claims"


def scopes_of(claims: Mapping[str, Any]) -> list[str]:
    """Scopes from ``scope`` (space-separated, RFC 8693/9068) or ``scp`` (string or list)."""
    found: list[str] = []
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            found.extend(value.split())
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str))
    return found


class JWTUser:
    """Starlette's user protocol (``is_authenticated``, ``display_name``, ``identity``) over claims."""

    __slots__ = ("claims",)

    def __init__(self, claims: Mapping[str, Any]) -> None:
        self.claims = claims

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def identity(self) -> str:
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else ""

    @property
    def display_name(self) -> str:
        for name in ("name", "preferred_username", "email", "sub"):
            value = self.claims.get(name)
            if isinstance(value, str):
                return value
        return ""

    def __repr__(self) -> str:
        return f"JWTUser(identity={self.identity!r})"


class AnonymousUser:
    __slots__ = ()
    is_authenticated = False
    display_name = ""
    identity = ""

    def __repr__(self) -> str:
        return "AnonymousUser()"


class JWTAuth:
    """Starlette's ``request.auth``: ``scopes`` as ``starlette.authentication.requires`` reads them."""

    __slots__ = ("claims", "scopes")

    def __init__(self, claims: Mapping[str, Any] | None) -> None:
        self.claims = claims
        self.scopes = scopes_of(claims) if claims is not None else []

    def __repr__(self) -> str:
        return f"JWTAuth(scopes={self.scopes!r})"


ANONYMOUS = AnonymousUser()


def get_claims(request: Any) -> Mapping[str, Any] | None:
    """The verified claims of a request, or ``None`` when it is anonymous.

    ``request`` may be an ASGI scope, a WSGI environ, or any request object with a
    ``scope`` (Starlette, FastAPI, Django ASGI, Quart, Litestar), an ``environ``
    (Werkzeug, Flask, Pyramid, Bottle, Django WSGI) or a ``META`` (Django).
    """
    if isinstance(request, Mapping):
        return request.get(CLAIMS_KEY)
    for attribute in ("scope", "environ", "META"):
        holder = getattr(request, attribute, None)
        if isinstance(holder, Mapping) and CLAIMS_KEY in holder:
            return holder[CLAIMS_KEY]  # type: ignore[no-any-return]
    return None
