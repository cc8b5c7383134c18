"""FastAPI dependencies that read what ``JWTMiddleware`` attached.

    from fastapi import Depends
    from jwt_middleware.integrations.fastapi import Claims, Requires

    @app.get("/me")
    def me(claims: Claims): return {"sub": claims["sub"]}

    @app.delete("/items/{id}", dependencies=[Depends(Requires("items:delete"))])
    def delete(id: int): ...

``Requires(...)`` answers 401 when anonymous and 403 ``insufficient_scope`` without the
grants, with the RFC 6750 ``WWW-Authenticate`` challenge; called as a dependency it returns
the claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from ..core.errors import AuthError, MissingToken
from ..core.grants import demand
from ..core.identity import IDENTITY_KEY, Identity
from ..gate.responses import challenge_for

__all__ = ["Claims", "Requires", "current_claims"]


def _refuse(exc: AuthError) -> HTTPException:
    challenge = challenge_for(exc, None)
    return HTTPException(
        challenge.status, detail=exc.description, headers={"WWW-Authenticate": dict(challenge.headers)["www-authenticate"]}
    )


def current_claims(request: Request) -> Mapping[str, Any]:
    """The verified claims; 401 when the request is anonymous (on an ``optional`` route).

    Args:
        request: the FastAPI request (injected).
    """
    identity = request.scope.get(IDENTITY_KEY)
    if not isinstance(identity, Identity):
        raise _refuse(MissingToken())
    return identity.claims


Claims = Annotated[Mapping[str, Any], Depends(current_claims)]
"""A parameter annotation for the verified claims: ``def me(claims: Claims)``; 401 when anonymous."""


class Requires:
    """A dependency demanding ``scopes`` (and/or ``roles``): all, or any with ``match="any"``.

    Args:
        scopes: the scopes demanded.
        roles: the roles demanded.
        match: ``all`` (default) or ``any``, over scopes and roles together.
    """

    def __init__(self, *scopes: str, roles: Sequence[str] = (), match: str = "all") -> None:
        if match not in ("all", "any"):
            raise ValueError("match is 'all' or 'any'")
        self.scopes, self.roles, self.match = scopes, tuple(roles), match

    def __call__(self, request: Request) -> Mapping[str, Any]:
        found = request.scope.get(IDENTITY_KEY)
        identity = found if isinstance(found, Identity) else None
        try:
            demand(identity, self.scopes, self.roles, self.match)
        except AuthError as exc:
            raise _refuse(exc) from exc
        return identity.claims if identity is not None else {}
