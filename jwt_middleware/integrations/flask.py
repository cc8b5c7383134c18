"""Flask helpers over what ``JWTWSGIMiddleware`` verified: ``require``, ``current_claims``, ``current_user``.

    from jwt_middleware.integrations.flask import current_claims, current_user, require

    app.wsgi_app = JWTWSGIMiddleware(app.wsgi_app, settings=SETTINGS)

    @app.post("/admin/users")
    @require("users:write")                       # all of these scopes
    @require(roles=["admin", "owner"], match="any")
    def create_user():
        return {"by": current_user.username, "sub": current_claims["sub"]}

Refusals are the middleware's own (``realm``, ``on_error`` included): 401 with a bare
challenge when anonymous, 403 ``insufficient_scope`` without the grants. ``current_user``
is the ``user_loader``'s user (loaded at most once per request) or the token user.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar, cast

import flask
from werkzeug.exceptions import abort
from werkzeug.local import LocalProxy

from ..core.errors import AuthError, MissingToken, Unavailable
from ..core.grants import check_match
from ..gate.doors import gate_of, identity_of, load_user, refusal
from ..gate.responses import Challenge

__all__ = ["current_claims", "current_user", "require"]

F = TypeVar("F", bound=Callable[..., Any])
_DOOR = "jwt_middleware.integrations.flask"


def _answer(challenge: Challenge) -> NoReturn:
    abort(flask.Response(challenge.body, challenge.status, challenge.header_list()))


def _refuse(failure: AuthError | Unavailable) -> NoReturn:
    environ = flask.request.environ
    _answer(gate_of(environ, _DOOR).refuse_inside(environ, failure))


def require(*scopes: str, roles: Sequence[str] = (), match: str = "all") -> Callable[[F], F]:
    """Decorate a Flask view to demand ``scopes`` (and/or ``roles``).

    Args:
        scopes: the scopes demanded.
        roles: the roles demanded.
        match: ``all`` (default) or ``any``, over scopes and roles together.
    """
    check_match(match)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            challenge = refusal(flask.request.environ, _DOOR, scopes, roles, match)
            if challenge is not None:
                _answer(challenge)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _claims() -> Mapping[str, Any]:
    identity = identity_of(flask.request.environ, _DOOR)
    if identity is None:
        _refuse(MissingToken())
    return identity.claims


def _user() -> Any:
    try:
        return load_user(flask.request.environ, _DOOR)
    except (AuthError, Unavailable) as exc:
        _refuse(exc)


current_claims = cast(Mapping[str, Any], LocalProxy(_claims))
"""The request's verified claims (a Werkzeug ``LocalProxy``); anonymous: the middleware's 401."""

current_user = cast(Any, LocalProxy(_user))
"""The request's user (a ``LocalProxy``): the ``user_loader``'s, or the token user (``JWTUser``)."""
