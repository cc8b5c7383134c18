"""Django: ``JWTAuthenticationMiddleware`` for ``MIDDLEWARE``, configured by ``settings.JWT_MIDDLEWARE``.

    MIDDLEWARE = [
        "django.contrib.auth.middleware.AuthenticationMiddleware",   # optional, see below
        "jwt_middleware.integrations.django.JWTAuthenticationMiddleware",
        ...
    ]
    JWT_MIDDLEWARE = {"algorithms": ["RS256"], "jwks_url": "https://idp.example/.well-known/jwks.json"}

It runs under Django's WSGI and ASGI handlers, with sync and async views, and so under
Django's test ``Client`` and ``AsyncClient``. Protected paths are refused exactly as the
adapters refuse them. On success ``request.auth`` is the verified claims and
``request.user`` is the ``user_loader``'s user (loaded lazily, at most once per request;
``await request.auser()`` in async views) or a ``TokenUser``. Anonymous passes
(``optional``, ``exclude_paths``) keep the ``AnonymousUser`` that Django's
``AuthenticationMiddleware`` set, placed before this one, or get one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from ..config.settings import load_settings
from ..core.errors import AuthError, ConfigError, Unavailable
from ..core.identity import CLAIMS_KEY, IDENTITY_KEY, Identity, JWTUser
from ..gate.doors import GATE_KEY, Refusal, load_user, load_user_async
from ..gate.finder import DPOP_INITIALS
from ..gate.gate import Gate
from ..gate.request import Request, from_environ
from ..gate.responses import Challenge

__all__ = ["JWTAuthenticationMiddleware", "TokenUser", "gate_from_settings", "request_of"]
_DOOR = "jwt_middleware.integrations.django"


class TokenUser(JWTUser):
    """The user a token names when no ``user_loader`` loads one: no database row behind it.

    Besides ``JWTUser`` (``username``, ``get_username()``, ``pk`` = ``sub``,
    ``is_authenticated``), it answers what Django's auth asks of any user: not staff, not
    superuser, active, no permissions.

    Args:
        claims: the verified claims.
    """

    __slots__ = ()
    is_staff = False
    is_superuser = False
    is_active = True

    @property
    def id(self) -> str:
        """The ``sub`` claim."""
        return self.identity

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Always false: a token user has no Django permissions.

        Args:
            perm: the permission asked about.
            obj: the object it is asked for.
        """
        return False

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        """Always false.

        Args:
            perm_list: the permissions asked about.
            obj: the object they are asked for.
        """
        return False

    def has_module_perms(self, app_label: str) -> bool:
        """Always false.

        Args:
            app_label: the app asked about.
        """
        return False

    def __str__(self) -> str:
        return self.username


def gate_from_settings() -> Gate:
    """A ``Gate`` from Django's ``JWT_MIDDLEWARE`` setting; ``ConfigError`` when it is missing or wrong."""
    config = getattr(django_settings, "JWT_MIDDLEWARE", None)
    if config is None:
        raise ConfigError("JWT_MIDDLEWARE", "set it in Django's settings: the middleware's settings mapping")
    return Gate(load_settings(config))


def _response(challenge: Challenge) -> HttpResponse:
    response = HttpResponse(challenge.body, status=challenge.status)
    for name, value in challenge.headers:
        response[name] = value
    return response


class JWTAuthenticationMiddleware:
    """A Django middleware (sync and async) in front of every view, configured by ``settings.JWT_MIDDLEWARE``.

    Args:
        get_response: the next middleware or the view, as Django passes it.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.gate = gate_from_settings()  # Django builds middleware at start-up: a bad setting stops it
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        refusal = self._metadata(request)
        if refusal is None and not self._is_public(request):
            neutral = self.request_of(request)
            refusal = self._attach(request, self.gate.authenticate(neutral), neutral)
        return refusal if refusal is not None else self.get_response(request)

    async def _acall(self, request: HttpRequest) -> Any:
        refusal = self._metadata(request)
        if refusal is None and not self._is_public(request):
            neutral = self.request_of(request)
            refusal = self._attach(request, await self.gate.authenticate_async(neutral), neutral)
        return refusal if refusal is not None else await self.get_response(request)

    def _metadata(self, request: HttpRequest) -> HttpResponse | None:
        """The RFC 9728 metadata document (``resource_metadata``), answered before any token is looked for."""
        document = self.gate.metadata_for(request.path, request.method) if self.gate.serves_metadata else None
        return None if document is None else _response(document)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Answer a ``Refusal`` raised in a view (reading ``request.user``) as the middleware does.

        Args:
            request: the request.
            exception: what the view raised.
        """
        if not isinstance(exception, Refusal):
            return None
        return _response(self.gate.refuse_inside(request.META, exception.failure))

    def _is_public(self, request: HttpRequest) -> bool:
        """A public path or a CORS preflight: the request passes as anonymous."""
        meta = request.META
        meta[GATE_KEY] = self.gate
        preflight = "HTTP_ORIGIN" in meta and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in meta
        if self.gate.is_public(request.path, request.method, preflight):
            self._anonymous(request)
            return True
        return False

    def request_of(self, request: HttpRequest) -> Request:
        """The neutral request of a Django request (``request.path``, ``request.scheme``, ``META``).

        Args:
            request: Django's request.
        """
        return request_of(self.gate, request)

    def _anonymous(self, request: HttpRequest) -> None:
        request.META[CLAIMS_KEY] = request.META[IDENTITY_KEY] = None
        request.auth = None  # type: ignore[attr-defined]
        if not hasattr(request, "user"):
            from django.contrib.auth.models import AnonymousUser  # noqa: PLC0415 - needs the app registry: import on use

            request.user = AnonymousUser()

    def _attach(self, request: HttpRequest, outcome: Identity | Challenge | None, neutral: Request) -> HttpResponse | None:
        if outcome is None:
            self._anonymous(request)
            return None
        if isinstance(outcome, Challenge):
            return _response(outcome)
        meta = request.META
        meta[CLAIMS_KEY], meta[IDENTITY_KEY] = outcome.claims, outcome
        request.auth = outcome.claims  # type: ignore[attr-defined]
        request.user = SimpleLazyObject(lambda: _user(request))  # type: ignore[assignment]
        request.auser = lambda: _auser(request)
        if self.gate.token_in_header(neutral):  # a header token is no browser credential: Django's CSRF check is moot (DRF)
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return None


def request_of(gate: Gate, request: HttpRequest) -> Request:
    """The neutral request of a Django request, for ``gate`` (its cookie, query and CSRF settings).

    The URL a DPoP proof names is the gate's ``origin_policy``'s, never Django's ``Host``; where
    it falls back to the scheme the server saw, that is Django's ``request.scheme``, so
    ``SECURE_PROXY_SSL_HEADER`` applies behind a proxy. A token in the query string is removed
    from ``META`` first, so that ``request.GET`` (parsed later, from ``META``) never sees it,
    and under Django's ASGI handler from the ASGI scope too, which the server's access log
    reads.

    Args:
        gate: the gate that will decide.
        request: Django's request.
    """
    meta = request.META
    query = ""
    if gate.query_param is not None:
        query = meta.get("QUERY_STRING", "")
        scrubbed = gate.scrub_query(query)
        if scrubbed is not None:
            meta["QUERY_STRING"] = scrubbed
            scope = getattr(request, "scope", None)  # under Django's ASGI handler the server logs its scope
            if isinstance(scope, dict) and "query_string" in scope:
                scope["query_string"] = scrubbed.encode("latin-1")
    scheme = request.scheme if meta.get("HTTP_AUTHORIZATION", "")[:1] in DPOP_INITIALS else None  # read for DPoP only
    return from_environ(
        meta,
        request.path,
        cookies=gate.reads_cookies,
        query=query,
        csrf_key=gate.csrf_environ_key,
        scheme=scheme,
        origin=gate.origin_policy,
    )


def _user(request: HttpRequest) -> Any:
    try:
        return load_user(request.META, _DOOR, TokenUser)
    except (AuthError, Unavailable) as exc:
        raise Refusal(exc) from None


def _auser(request: HttpRequest) -> Awaitable[Any]:
    async def load() -> Any:
        try:
            return await load_user_async(request.META, _DOOR, TokenUser)
        except (AuthError, Unavailable) as exc:
            raise Refusal(exc) from None

    return load()
