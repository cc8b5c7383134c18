"""Flask view decorator that reads what ``JWTWSGIMiddleware`` attached.

    from jwt_middleware.integrations.flask import require

    @app.post("/admin/users")
    @require("users:write")                       # all of these scopes
    @require(roles=["admin", "owner"], match="any")
    def create_user(): ...

Anonymous requests get 401 with a bare challenge; a token without the grants gets 403
``insufficient_scope``, the same responses as the middleware's own route ``rules``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import flask

from ..core.errors import AuthError
from ..core.grants import demand
from ..core.identity import IDENTITY_KEY
from ..gate.responses import challenge_for

__all__ = ["require"]

F = TypeVar("F", bound=Callable[..., Any])


def require(*scopes: str, roles: Sequence[str] = (), match: str = "all") -> Callable[[F], F]:
    """Decorate a Flask view to demand ``scopes`` (and/or ``roles``).

    Args:
        scopes: the scopes demanded.
        roles: the roles demanded.
        match: ``all`` (default) or ``any``, over scopes and roles together.
    """
    if match not in ("all", "any"):
        raise ValueError("match is 'all' or 'any'")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                demand(flask.request.environ.get(IDENTITY_KEY), scopes, roles, match)
            except AuthError as exc:
                challenge = challenge_for(exc, None)
                return flask.Response(challenge.body, challenge.status, challenge.header_list())
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
