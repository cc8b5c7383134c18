"""The browser mode: ``POST {base_path}/login``, ``/refresh`` and ``/logout``, the grants' twins that
answer with ``HttpOnly`` access and refresh cookies and a readable CSRF cookie (double submit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.flow import Flow
from ..issuing import cookies
from ..issuing.refresh import RefreshRejected, TokenPair
from . import grants
from .messages import Request, Response, bearer, cookie, json_answer, oauth_error

if TYPE_CHECKING:
    from .endpoints import AuthEndpoints

__all__ = ["csrf_ok", "login", "logout", "refresh"]


def login(endpoints: AuthEndpoints, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/login``: the password grant; wrong credentials are a 401."""
    pair = yield from grants.password(endpoints, request, fields, None, browser=True)
    return pair if isinstance(pair, Response) else _pair(endpoints, pair, request)


def refresh(endpoints: AuthEndpoints, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/refresh``: the refresh cookie (or field) rotated; a refusal clears the cookies."""
    presented = grants.refresh_token(request, fields, browser=True)
    if isinstance(presented, Response):
        return presented
    outcome = yield from grants.refreshing(endpoints, presented, None)
    if isinstance(outcome, RefreshRejected):
        return _cleared(endpoints, oauth_error(401, "invalid_grant", f"refresh token {outcome.reason}"))
    return _pair(endpoints, outcome, request)


def logout(endpoints: AuthEndpoints, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/logout``: the session's refresh family and access token revoked, the cookies cleared."""
    if not csrf_ok(request):  # the refresh cookie is SameSite=Strict, its path narrow
        return oauth_error(400, "invalid_request", "CSRF token missing or wrong (X-CSRF-Token)")
    access = yield from grants.access_claims(endpoints, bearer(request))
    presented = fields.get("refresh_token") or cookie(request, "refresh_token")  # none: only the cookies to clear
    yield grants.logout(endpoints, presented, access)
    return _cleared(endpoints, Response(204, [("cache-control", "no-store")]))


def csrf_ok(request: Request) -> bool:
    """The browser mode's double submit: a cookie-borne request repeats the CSRF cookie in a header."""
    if cookie(request, "access_token") is None:
        return True
    sent, expected = request.headers.get("x-csrf-token", ""), cookie(request, "csrf_token") or ""
    return bool(sent) and sent == expected


def _pair(endpoints: AuthEndpoints, pair: TokenPair, request: Request) -> Response:
    body = pair.as_dict()
    if request.headers.get("x-token-delivery") == "cookie":  # a browser page: tokens only in HttpOnly cookies
        body = {"token_type": "Bearer", "expires_in": pair.expires_in, "scope": pair.scope}
    response = json_answer(200, body)
    secure = endpoints.secure
    response.headers.append(("set-cookie", cookies.access_cookie(pair.access_token, max_age=pair.expires_in, secure=secure)))
    refresh_path = endpoints.base_path or "/"
    response.headers.append(("set-cookie", cookies.refresh_cookie(pair.refresh_token, path=refresh_path, secure=secure)))
    response.headers.append(("set-cookie", cookies.csrf_cookie(cookies.new_csrf_token(), secure=secure)))
    return response


def _cleared(endpoints: AuthEndpoints, response: Response) -> Response:
    for name, path in (("access_token", "/"), ("refresh_token", endpoints.base_path or "/"), ("csrf_token", "/")):
        response.headers.append(("set-cookie", cookies.clear_cookie(name, path=path, secure=endpoints.secure)))
    return response
