"""FastAPI dependencies over what ``JWTMiddleware`` verified, built on FastAPI's security classes.

    from fastapi import Depends, FastAPI
    from jwt_middleware import JWTMiddleware, load_settings
    from jwt_middleware.integrations.fastapi import Claims, CurrentUser, Requires

    SETTINGS = load_settings({...})          # at import: a bad setting stops the server

    app = FastAPI()
    app.add_middleware(JWTMiddleware, settings=SETTINGS)

    @app.get("/me")
    def me(claims: Claims): return {"sub": claims["sub"]}

    @app.get("/profile")
    async def profile(user: CurrentUser): ...          # the user_loader's user, or the token user

    @app.delete("/items/{id}", dependencies=[Depends(Requires("items:delete"))])
    def delete(id: int): ...

Each dependency names the ``JWTBearer`` scheme, so ``/openapi.json`` lists an HTTP bearer
scheme (``bearerFormat: JWT``), each route names it in ``security`` with the scopes that
``Requires`` demands, and Swagger UI shows "Authorize". The token is never read twice: the
scheme hands over what the middleware verified. Refusals are the middleware's own, byte for
byte (status, ``WWW-Authenticate``, ``Cache-Control``, body, ``on_error``): a dependency
raises ``Refusal`` and the middleware answers it. Without the middleware in front of the
app a dependency raises ``RuntimeError`` saying so, never a misleading 401.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer, OAuth2PasswordBearer

from ..core.errors import AuthError, MissingToken, Unavailable
from ..core.grants import check_match, demand
from ..core.identity import Identity
from ..gate.doors import Refusal, identity_of, load_user_async

__all__ = ["Claims", "CurrentUser", "JWTBearer", "JWTPasswordBearer", "Requires", "bearer", "current_claims", "current_user"]
_DOOR = "jwt_middleware.integrations.fastapi"


class JWTBearer(HTTPBearer):
    """The HTTP bearer scheme (``bearerFormat: JWT``) as OpenAPI shows it; returns the request's ``Identity``.

    It reads nothing from the request itself: ``JWTMiddleware`` in front of the app found
    and verified the token. Anonymous requests (``optional``, public paths) give ``None``.

    Args:
        scheme_name: the scheme's name in ``components.securitySchemes`` (default ``JWT``).
        description: shown by Swagger UI in the "Authorize" dialog.
    """

    def __init__(self, *, scheme_name: str = "JWT", description: str | None = None) -> None:
        super().__init__(bearerFormat="JWT", scheme_name=scheme_name, description=description, auto_error=False)

    async def __call__(self, request: Request) -> Identity | None:  # type: ignore[override]
        """The request's identity, or ``None`` when anonymous.

        Args:
            request: the request (injected by FastAPI).
        """
        return identity_of(request.scope, _DOOR)


class JWTPasswordBearer(OAuth2PasswordBearer):
    """The OAuth 2.0 password flow as OpenAPI shows it: Swagger UI's "Authorize" asks for a username
    and a password and gets the token from ``tokenUrl`` (such as ``jwt_middleware.server``'s
    ``/auth/token``). Like ``JWTBearer`` it reads nothing itself and returns the request's ``Identity``.

    Use it through ``Requires(..., scheme=...)``, which returns the claims.

    Args:
        tokenUrl: the token endpoint's URL, as the browser reaches it.
        scheme_name: the scheme's name in OpenAPI (default ``OAuth2``).
        description: shown by Swagger UI.
    """

    def __init__(self, tokenUrl: str, *, scheme_name: str = "OAuth2", description: str | None = None) -> None:
        super().__init__(tokenUrl=tokenUrl, scheme_name=scheme_name, description=description, auto_error=False)

    async def __call__(self, request: Request) -> Identity | None:  # type: ignore[override]
        """The request's identity, or ``None`` when anonymous.

        Args:
            request: the request (injected by FastAPI).
        """
        return identity_of(request.scope, _DOOR)


bearer = JWTBearer(description="A JWT access token: paste it without the 'Bearer ' prefix.")
"""The scheme the dependencies below name; use your own ``JWTBearer`` for another name or description."""


def current_claims(identity: Identity | None = Security(bearer)) -> Mapping[str, Any]:
    """The verified claims; 401 (the middleware's) when the request is anonymous.

    Args:
        identity: the request's identity, from ``bearer``.
    """
    if identity is None:
        raise Refusal(MissingToken())
    return identity.claims


Claims = Annotated[Mapping[str, Any], Depends(current_claims)]
"""A parameter annotation for the verified claims: ``def me(claims: Claims)``."""


async def current_user(request: Request, identity: Identity | None = Security(bearer)) -> Any:
    """The request's user: ``user_loader``'s (at most once per request) or the token user (``JWTUser``).

    Anonymous: 401; the loader returns ``None``: 401 ``invalid_token``; the loader raises:
    503 with ``Retry-After``. Every answer is the middleware's.

    Args:
        request: the request (injected).
        identity: the request's identity, from ``bearer`` (named so that OpenAPI shows the scheme).
    """
    try:
        return await load_user_async(request.scope, _DOOR)
    except (AuthError, Unavailable) as exc:
        raise Refusal(exc) from None


CurrentUser = Annotated[Any, Depends(current_user)]
"""A parameter annotation for the request's user: ``async def profile(user: CurrentUser)``."""


class Requires:
    """A dependency demanding ``scopes`` (and/or ``roles``): all, or any with ``match="any"``.

    ``dependencies=[Depends(Requires("items:delete"))]``, or as a parameter to get the claims.
    Anonymous: 401; without the grants: 403 ``insufficient_scope`` naming them. OpenAPI
    lists the scopes and roles under the route's ``security``.

    Args:
        scopes: the scopes demanded.
        roles: the roles demanded.
        match: ``all`` (default) or ``any``, over scopes and roles together.
        scheme: the scheme to name in OpenAPI: ``bearer`` (default), another ``JWTBearer``, or a
            ``JWTPasswordBearer`` for Swagger UI's username-and-password dialog.
    """

    def __init__(
        self, *scopes: str, roles: Sequence[str] = (), match: str = "all", scheme: JWTBearer | JWTPasswordBearer = bearer
    ) -> None:
        check_match(match)
        self.scopes, self.roles, self.match = scopes, tuple(roles), match
        # FastAPI reads a dependency's parameters from its signature: this instance's names its scopes.
        wanted = Security(scheme, scopes=[*scopes, *self.roles])
        identity = inspect.Parameter("identity", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=wanted, annotation=Any)
        self.__signature__ = inspect.Signature([identity])

    def __call__(self, identity: Identity | None = None) -> Mapping[str, Any]:
        """Check the grants; return the claims.

        Args:
            identity: the request's identity (injected through the scheme).
        """
        try:
            demand(identity, self.scopes, self.roles, self.match)
        except AuthError as exc:
            raise Refusal(exc) from None
        assert identity is not None  # demand refuses the anonymous
        return identity.claims

    def __repr__(self) -> str:
        return f"Requires({', '.join(map(repr, self.scopes))}, roles={list(self.roles)!r}, match={self.match!r})"
