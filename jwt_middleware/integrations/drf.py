"""Django REST framework: ``JWTAuthentication`` and the ``TokenHasScope`` permission.

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["jwt_middleware.integrations.drf.JWTAuthentication"],
    }
    JWT_MIDDLEWARE = {...}   # the same settings as the middleware

    class NoteList(APIView):
        permission_classes = [IsAuthenticated, TokenHasScope]
        required_scopes = ["notes:read"]

No token: ``None``, and DRF's permissions decide (``IsAuthenticated`` answers 401 with the
bare ``Bearer`` challenge). A bad token: 401 with the RFC 6750 challenge as
``WWW-Authenticate`` (``authenticate_header``). A good one: ``(user, claims)``, the user
as the Django middleware gives it. With ``JWTAuthenticationMiddleware`` installed too, the
token is verified once, by the middleware; without it, by a gate built from
``settings.JWT_MIDDLEWARE``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings as django_settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..core.errors import AuthError, InsufficientScope, MissingToken, Unavailable
from ..core.grants import check_grants
from ..core.identity import CLAIMS_KEY, IDENTITY_KEY, Identity
from ..gate.doors import GATE_KEY, load_user
from ..gate.gate import Gate
from ..gate.responses import Challenge
from .django import TokenUser, gate_from_settings, request_of

__all__ = ["JWTAuthentication", "TokenHasScope"]
_DOOR = "jwt_middleware.integrations.drf"
_CHALLENGE = "jwt_middleware.challenge"  # the refusal of this request, for authenticate_header


_built: list[tuple[object, Gate]] = []  # (the JWT_MIDDLEWARE mapping, its gate): rebuilt when the setting changes


def _own_gate() -> Gate:
    """The gate DRF verifies with when no middleware is in front, built once per ``JWT_MIDDLEWARE`` value."""
    config = getattr(django_settings, "JWT_MIDDLEWARE", None)
    if not _built or _built[0][0] is not config:
        _built[:] = [(config, gate_from_settings())]
    return _built[0][1]


class _Refused(exceptions.APIException):
    """A refusal in DRF's own shape, carrying the gate's challenge and Retry-After."""

    def __init__(self, challenge: Challenge, detail: str) -> None:
        super().__init__(detail)
        self.status_code = challenge.status
        headers = dict(challenge.headers)
        self.auth_header = headers.get("www-authenticate")
        self.wait = int(headers["retry-after"]) if "retry-after" in headers else None


class _AuthenticationFailed(exceptions.AuthenticationFailed):
    """A 401: DRF puts ``authenticate_header`` (the stored challenge) in ``WWW-Authenticate``."""


def _refused(request: Request, gate: Gate, failure: AuthError | Unavailable) -> exceptions.APIException:
    meta = request._request.META
    return _raised(meta, gate.refuse_inside(meta, failure))


def _raised(meta: dict[str, Any], challenge: Challenge) -> exceptions.APIException:
    """The gate's challenge as DRF's exception; a 401's ``WWW-Authenticate`` comes from ``authenticate_header``."""
    meta[_CHALLENGE] = challenge
    detail = _description(challenge)
    return _AuthenticationFailed(detail) if challenge.status == 401 else _Refused(challenge, detail)


def _description(challenge: Challenge) -> str:
    """The challenge's ``error_description`` (an ``on_error`` body may have none: then its reason code)."""
    try:
        body = json.loads(challenge.body)
    except ValueError:
        body = None
    text = body.get("error_description") if isinstance(body, dict) else None
    return text if isinstance(text, str) else challenge.reason


class JWTAuthentication(BaseAuthentication):
    """A DRF authentication class over the same gate as the middleware."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        """``(user, claims)`` for a good token, ``None`` without one; a bad token raises (401, 400 or 503).

        Args:
            request: DRF's request.
        """
        meta = request._request.META
        gate: Gate | None = meta.get(GATE_KEY)
        if gate is None:  # no middleware in front: verify here, with the same gate
            gate = meta[GATE_KEY] = _own_gate()
            meta[IDENTITY_KEY] = meta[CLAIMS_KEY] = None
            self._verify(request, gate)
        identity = meta.get(IDENTITY_KEY)
        if not isinstance(identity, Identity):
            return None
        try:
            user = load_user(meta, _DOOR, TokenUser)
        except (AuthError, Unavailable) as exc:
            raise _refused(request, gate, exc) from None
        return user, identity.claims

    def _verify(self, request: Request, gate: Gate) -> None:
        """The middleware's decision (token, CSRF, DPoP, revocation, route rules), with no token passing:
        DRF's permissions decide about anonymous requests."""
        meta = request._request.META
        outcome = gate.authenticate(request_of(gate, request._request), optional=True)
        if isinstance(outcome, Challenge):
            raise _raised(meta, outcome)
        if outcome is not None:
            meta[CLAIMS_KEY], meta[IDENTITY_KEY] = outcome.claims, outcome

    def authenticate_header(self, request: Request) -> str:
        """The ``WWW-Authenticate`` of a 401: this request's RFC 6750 challenge, or the bare ``Bearer`` one.

        Args:
            request: DRF's request.
        """
        meta = request._request.META
        challenge = meta.get(_CHALLENGE)
        if challenge is None:
            gate = meta.get(GATE_KEY) or _own_gate()
            challenge = gate.refuse(MissingToken())
        return str(dict(challenge.headers)["www-authenticate"])


class TokenHasScope(BasePermission):
    """Demands the view's ``required_scopes`` (and ``required_roles``; ``scope_match``: ``all`` or ``any``).

    Anonymous: ``False`` (DRF answers 401 when an authenticator could have run); without
    the grants: 403 with the ``insufficient_scope`` challenge naming them.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        """Whether the request's token holds the view's grants.

        Args:
            request: DRF's request.
            view: the view, whose ``required_scopes``, ``required_roles`` and ``scope_match`` are read.
        """
        meta = request._request.META
        identity = meta.get(IDENTITY_KEY)
        if not isinstance(identity, Identity):
            return False
        scopes = tuple(getattr(view, "required_scopes", ()))
        roles = tuple(getattr(view, "required_roles", ()))
        try:
            check_grants(identity.scopes, identity.roles, scopes, roles, getattr(view, "scope_match", "all"))
        except InsufficientScope as exc:
            raise _refused(request, meta.get(GATE_KEY) or _own_gate(), exc) from None
        return True
