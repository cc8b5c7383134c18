"""What the adapters attach to a request, and ``get_claims`` to read it back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .claims import ClaimList, Claims
from .grants import grants

CLAIMS_KEY = "jwt_middleware.claims"
"""The scope (ASGI) or environ (WSGI) key of the verified claims; ``None`` when anonymous."""
IDENTITY_KEY = "jwt_middleware.identity"
"""The scope or environ key of the request's ``Identity``; ``None`` when anonymous."""


class JWTUser:
    """The token user: who a verified token names, when no ``user_loader`` loads a user of your own.

    It follows Starlette's user protocol (``is_authenticated``, ``display_name``,
    ``identity``) and the parts of Django's that identify a user (``username``,
    ``get_username()``, ``pk``, ``is_anonymous``), each read from ``sub``.

    Args:
        claims: the verified claims.
    """

    __slots__ = ("_claims",)

    def __init__(self, claims: Mapping[str, Any]) -> None:
        self._claims = claims

    @property
    def claims(self) -> Mapping[str, Any]:
        """The verified claims."""
        return self._claims

    @property
    def is_authenticated(self) -> bool:
        """Always true."""
        return True

    @property
    def identity(self) -> str:
        """The ``sub`` claim (empty when absent)."""
        sub = self._claims.get("sub")
        return sub if isinstance(sub, str) else ""

    @property
    def is_anonymous(self) -> bool:
        """Always false."""
        return False

    @property
    def username(self) -> str:
        """The ``sub`` claim, as Django's ``username``."""
        return self.identity

    @property
    def pk(self) -> str:
        """The ``sub`` claim, as Django's primary key."""
        return self.identity

    def get_username(self) -> str:
        """The ``sub`` claim (Django's ``get_username()``)."""
        return self.identity

    @property
    def display_name(self) -> str:
        """The first of ``name``, ``preferred_username``, ``email`` and ``sub`` that is a string."""
        for name in ("name", "preferred_username", "email", "sub"):
            value = self._claims.get(name)
            if isinstance(value, str):
                return value
        return ""

    def __repr__(self) -> str:
        return f"JWTUser(identity={self.identity!r})"


class AnonymousUser:
    """``scope["user"]`` of an anonymous request (``optional`` or a public path): not authenticated."""

    __slots__ = ()
    is_authenticated = False
    display_name = ""
    identity = ""

    def __repr__(self) -> str:
        return "AnonymousUser()"


class JWTAuth:
    """Starlette's ``request.auth``: ``scopes`` as ``starlette.authentication.requires`` reads them.

    Read-only: one verified token's ``JWTAuth`` serves every request that presents it.

    Args:
        claims: the verified claims, or ``None`` for the anonymous auth.
        scopes: the token's scopes.
        roles: the token's roles.
    """

    __slots__ = ("_claims", "_paths", "_roles", "_scopes")

    def __init__(self, claims: Mapping[str, Any] | None, scopes: Sequence[str] = (), roles: Sequence[str] = ()) -> None:
        self._claims = claims
        self._paths: tuple[Sequence[str], Sequence[str]] | None = None
        self._roles = ClaimList(roles)
        granted = ["authenticated", *scopes, *roles] if claims is not None else []  # Starlette's convention
        self._scopes = ClaimList(dict.fromkeys(granted))

    @classmethod
    def _of(cls, identity: Identity) -> JWTAuth:
        """An auth whose grants are read from the claims only when first asked for.

        It keeps the claims and where to read the grants, not the identity: an identity that
        holds its auth, held by its auth, would be a reference cycle per verified token, kept
        alive after the token cache forgets it until a full garbage collection.
        """
        auth = cls.__new__(cls)
        auth._claims = identity.claims
        auth._paths = identity._grant_paths
        return auth

    def _grants(self) -> None:
        paths, claims = self._paths, self._claims
        if paths is None or claims is None:  # another thread got here first; it set both
            return
        roles = ClaimList(grants(claims, paths[1]))
        self._roles = roles
        self._scopes = ClaimList(dict.fromkeys(["authenticated", *grants(claims, paths[0]), *roles]))
        self._paths = None

    @property
    def claims(self) -> Mapping[str, Any] | None:
        """The verified claims, or ``None`` when anonymous."""
        return self._claims

    @property
    def scopes(self) -> list[str]:
        """``authenticated``, the scopes and the roles: what ``starlette.authentication.requires`` checks."""
        if self._paths is not None:
            self._grants()
        return self._scopes

    @property
    def roles(self) -> list[str]:
        """The roles read by ``role_claims``."""
        if self._paths is not None:
            self._grants()
        return self._roles

    def __repr__(self) -> str:
        return f"JWTAuth(scopes={list(self.scopes)!r})"


class Identity:
    """What a verified token attaches to each request; built once per token, then shared.

    Everything but the claims is worked out on first use (``scopes``, ``roles``, ``user``,
    ``auth``, ``subject``) and kept: a request that never asks never pays. Two threads
    asking at once may both work it out; they get equal values.

    Args:
        claims: the verified claims.
        scope_claims: where scopes are read (the ``scope_claims`` setting).
        role_claims: where roles are read (the ``role_claims`` setting).
    """

    __slots__ = ("_auth", "_grant_paths", "_roles", "_scopes", "_user", "claims")

    def __init__(self, claims: Claims, scope_claims: Sequence[str] = ("scope", "scp"), role_claims: Sequence[str] = ()) -> None:
        self.claims = claims
        self._grant_paths = (scope_claims, role_claims)
        self._scopes: ClaimList | None = None
        self._roles: ClaimList | None = None
        self._user: JWTUser | None = None
        self._auth: JWTAuth | None = None

    @property
    def scopes(self) -> ClaimList:
        """The scopes read by ``scope_claims`` (read-only)."""
        scopes = self._scopes
        if scopes is None:
            scopes = self._scopes = ClaimList(grants(self.claims, self._grant_paths[0]))
        return scopes

    @property
    def roles(self) -> ClaimList:
        """The roles read by ``role_claims`` (read-only)."""
        roles = self._roles
        if roles is None:
            roles = self._roles = ClaimList(grants(self.claims, self._grant_paths[1]))
        return roles

    @property
    def user(self) -> JWTUser:
        """A ``JWTUser`` (``scope["user"]`` under ASGI)."""
        user = self._user
        if user is None:
            user = self._user = JWTUser(self.claims)
        return user

    @property
    def auth(self) -> JWTAuth:
        """A ``JWTAuth`` (``scope["auth"]`` under ASGI)."""
        auth = self._auth
        if auth is None:
            auth = self._auth = JWTAuth._of(self)
        return auth

    @property
    def subject(self) -> str | None:
        """The ``sub`` claim, or ``None``."""
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else None


ANONYMOUS = AnonymousUser()
ANONYMOUS_AUTH = JWTAuth(None)


def _holder(request: Any) -> Mapping[str, Any] | None:
    if isinstance(request, Mapping):
        return request
    for attribute in ("scope", "environ", "META"):
        holder = getattr(request, attribute, None)
        if isinstance(holder, Mapping) and CLAIMS_KEY in holder:
            return holder
    return None


def get_claims(request: Any) -> Mapping[str, Any] | None:
    """The verified claims of a request, or ``None`` when it is anonymous.

    ``request`` may be an ASGI scope, a WSGI environ, or any request object with a
    ``scope`` (Starlette, FastAPI, Django ASGI, Quart, Litestar), an ``environ``
    (Werkzeug, Flask, Pyramid, Bottle, Django WSGI) or a ``META`` (Django).

    Args:
        request: the scope, environ or request.
    """
    holder = _holder(request)
    return None if holder is None else holder.get(CLAIMS_KEY)


def get_scopes(request: Any) -> list[str]:
    """The request's scopes (read from ``scope_claims``); empty when anonymous.

    Args:
        request: as for ``get_claims``.
    """
    identity = _identity(request)
    return identity.scopes if identity is not None else []


def get_roles(request: Any) -> list[str]:
    """The request's roles (read from ``role_claims``); empty when anonymous.

    Args:
        request: as for ``get_claims``.
    """
    identity = _identity(request)
    return identity.roles if identity is not None else []


def _identity(request: Any) -> Identity | None:
    holder = _holder(request)
    identity = None if holder is None else holder.get(IDENTITY_KEY)
    return identity if isinstance(identity, Identity) else None
