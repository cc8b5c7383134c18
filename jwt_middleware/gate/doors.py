"""What every front door shares: the gate that let a request in, its user, and refusals from inside an app.

The adapters put their ``Gate`` in each request's scope or environ (``GATE_KEY``), so
that an integration deep inside the app (a FastAPI dependency, a lazy Django user, a Flask
proxy) refuses exactly as the middleware would (same challenge, ``realm``, ``on_error``)
and finds the ``user_loader``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async

from ..core.errors import AuthError, InvalidToken, MissingToken, Unavailable
from ..core.flow import Call, Flow, NeedsAsync, run, run_async
from ..core.grants import demand
from ..core.identity import IDENTITY_KEY, Identity

if TYPE_CHECKING:
    from .gate import Gate
    from .responses import Challenge

TokenUserFactory = Callable[[Mapping[str, Any]], Any]
GATE_KEY = "jwt_middleware.gate"
USER_KEY = "jwt_middleware.user"  # the loaded user, once per request
log = logging.getLogger("jwt_middleware")


class Refusal(Exception):
    """Raised inside an app by an integration to answer the request as the middleware does.

    The ASGI adapter catches it and sends the gate's challenge for ``failure``; it never
    reaches a framework's 500 handler when the middleware wraps the app's router (Starlette
    and FastAPI ``add_middleware``, ``Middleware``).

    Args:
        failure: why the request is refused.
    """

    def __init__(self, failure: AuthError | Unavailable) -> None:
        self.failure = failure
        super().__init__(failure.reason)


def gate_of(holder: Mapping[str, Any], door: str) -> Gate:
    """The gate that handled this request; a loud error when no middleware did.

    Args:
        holder: the request's ASGI scope, WSGI environ or Django ``META``.
        door: the integration asking, named in the error.
    """
    gate = holder.get(GATE_KEY)
    if gate is None:
        raise RuntimeError(
            f"{door} needs the jwt_middleware middleware in front of the app, and this request did not pass "
            "through it (add JWTMiddleware or JWTWSGIMiddleware, or the Django JWTAuthenticationMiddleware)"
        )
    return gate  # type: ignore[no-any-return]


def nested() -> None:
    """Say that a request met a second middleware of ours (the common slip: an app that a framework
    page already wrapped, wrapped again by a test): the inner one verifies with its own settings
    and may refuse what the outer accepted. A door calls it once, on its first protected request."""
    log.error(
        "two jwt_middleware middlewares wrap the same app; each verifies with its own settings, so the inner one may "
        "refuse what the outer accepted: remove one (reason=nested_middleware)",
        extra={"auth_reason": "nested_middleware"},
    )


def identity_of(holder: Mapping[str, Any], door: str) -> Identity | None:
    """The request's identity (``None`` when anonymous), after checking that a middleware saw it."""
    gate_of(holder, door)
    identity = holder.get(IDENTITY_KEY)
    return identity if isinstance(identity, Identity) else None


def refusal(holder: Mapping[str, Any], door: str, scopes: Sequence[str], roles: Sequence[str], match: str) -> Challenge | None:
    """The middleware's challenge for a request without the grants a view demands; ``None`` if it has them.

    Args:
        holder: the request's environ or scope.
        door: the helper asking, named in the error when no middleware is in front.
        scopes: the scopes demanded.
        roles: the roles demanded.
        match: ``all`` or ``any``, over scopes and roles together.
    """
    try:
        demand(identity_of(holder, door), scopes, roles, match)
    except AuthError as exc:
        return gate_of(holder, door).refuse_inside(holder, exc)
    return None


def _loaded(user: Any) -> Any:
    if user is None:
        raise InvalidToken("unknown_user", "the token's user is unknown")
    return user


def _failed(exc: Exception) -> Unavailable:
    log.warning(
        "user_loader raised; request refused (reason=user_loader_error)", exc_info=exc, extra={"auth_reason": "user_loader_error"}
    )
    return Unavailable("user_loader_error", "the user could not be loaded", 5)


def _without_loader(holder: MutableMapping[str, Any], door: str, token_user: TokenUserFactory | None) -> tuple[bool, Any]:
    """``(True, user)`` when no loader has to run (kept from earlier, or the token user); else
    ``(False, (identity, loader))``."""
    if USER_KEY in holder:
        return True, holder[USER_KEY]
    identity = identity_of(holder, door)
    if identity is None:
        raise MissingToken()
    loader = gate_of(holder, door).settings.user_loader
    if loader is not None:
        return False, (identity, loader)
    user = holder[USER_KEY] = identity.user if token_user is None else token_user(identity.claims)
    return True, user


def user_flow(
    holder: MutableMapping[str, Any], door: str = "current_user", token_user: TokenUserFactory | None = None
) -> Flow[Any]:
    """The request's user, as a flow: the ``user_loader``'s (run at most once per request,
    the one step that may wait), or the token user.

    Raises ``MissingToken`` when anonymous, ``InvalidToken`` (``unknown_user``) when the
    loader returns ``None``, and ``Unavailable`` (``user_loader_error``, 503) when it raises.

    Args:
        holder: the request's scope, environ or ``META``; the user is kept there.
        door: the integration asking, named in the error when no middleware ran.
        token_user: builds the user from the claims when there is no loader; default the
            identity's ``JWTUser``.
    """
    decided, found = _without_loader(holder, door, token_user)
    if decided:
        return found
    identity, loader = found
    try:
        user = yield Call(loader, (identity.claims,), _awaitable_form(loader))
    except NeedsAsync as exc:  # a programming error, not an outage: say so loudly
        raise RuntimeError("user_loader is async: read the user with the async form (await ...), under ASGI") from exc
    except Exception as exc:
        raise _failed(exc) from exc
    user = _loaded(user)
    holder[USER_KEY] = user
    return user


def load_user(holder: MutableMapping[str, Any], door: str = "current_user", token_user: TokenUserFactory | None = None) -> Any:
    """``user_flow`` driven in this thread (WSGI, Django's sync views, DRF).

    Args:
        holder: the request's scope, environ or ``META``; the user is kept there.
        door: the integration asking, named in the error when no middleware ran.
        token_user: as for ``user_flow``.
    """
    return run(user_flow(holder, door, token_user))


async def load_user_async(
    holder: MutableMapping[str, Any], door: str = "current_user", token_user: TokenUserFactory | None = None
) -> Any:
    """``user_flow`` driven on the event loop: an async loader is awaited; a sync one runs in a
    worker thread (``asgiref``'s ``sync_to_async``, thread-sensitive, as Django's ORM wants).

    Args:
        holder: the request's scope or ``META``.
        door: the integration asking.
        token_user: as for ``user_flow``.
    """
    return await run_async(user_flow(holder, door, token_user))


@functools.lru_cache(maxsize=64)
def _awaitable_form(loader: Callable[..., Any]) -> Callable[..., Any]:
    """The loader itself when it is async, else the loader in a worker thread (built once per loader)."""
    if inspect.iscoroutinefunction(loader) or inspect.iscoroutinefunction(type(loader).__call__):
        return loader
    return sync_to_async(loader)
