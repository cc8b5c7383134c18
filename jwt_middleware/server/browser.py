"""The browser mode: ``POST {base_path}/login``, ``/refresh`` and ``/logout``, the grants' twins that
answer with ``HttpOnly`` access and refresh cookies and a readable CSRF cookie (double submit).

Only same-site pages may use it (``Sec-Fetch-Site``, else ``Origin``); with ``secure_cookies``
the cookies carry the ``__Host-`` prefix (the refresh cookie, whose path is narrow,
``__Secure-``), so that no sibling domain or plain-HTTP page can plant one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..core.flow import Flow
from ..issuing import cookies
from ..issuing.refresh import RefreshRejected, TokenPair
from . import grants
from .messages import Request, Response, bearer, cookie, json_answer, oauth_error
from .service import CookieNames, Service, cookie_names

__all__ = ["CookieNames", "cookie_names", "csrf_ok", "login", "logout", "origin_of", "refresh", "same_site"]


def login(endpoints: Service, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/login``: the password grant; wrong credentials are a 401."""
    refusal = _refused(endpoints, request)
    if refusal is not None:
        return refusal
    pair = yield from grants.password(endpoints, request, fields, None, browser=True)
    return pair if isinstance(pair, Response) else _pair(endpoints, pair, request)


def refresh(endpoints: Service, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/refresh``: the refresh cookie (or field) rotated; a refusal clears the cookies."""
    refusal = _refused(endpoints, request)
    if refusal is not None:
        return refusal
    presented = fields.get("refresh_token") or cookie(request, endpoints.cookie_names.refresh)
    if not presented:
        return oauth_error(400, "invalid_request", "refresh_token is required")
    outcome = yield from grants.refreshing(endpoints, presented, None)
    if isinstance(outcome, RefreshRejected):
        return _cleared(endpoints, request, oauth_error(401, "invalid_grant", f"refresh token {outcome.reason}"))
    return _pair(endpoints, outcome, request)


def logout(endpoints: Service, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/logout``: the session's refresh family and access token revoked, the cookies cleared."""
    names = endpoints.cookie_names
    refusal = _refused(endpoints, request) or (None if csrf_ok(request, names) else _csrf_refusal())
    if refusal is not None:
        return refusal
    access = yield from grants.access_claims(endpoints, bearer(request, names.access))
    presented = fields.get("refresh_token") or cookie(request, names.refresh)  # none: only the cookies to clear
    yield grants.logout(endpoints, presented, access)
    return _cleared(endpoints, request, Response(204, [("cache-control", "no-store")]))


def csrf_ok(request: Request, names: CookieNames) -> bool:
    """The double submit: a request that carries a token cookie repeats the CSRF cookie in ``X-CSRF-Token``.

    Args:
        request: the request.
        names: the cookie names in use.
    """
    if cookie(request, names.access) is None and cookie(request, names.refresh) is None:
        return True
    sent, expected = request.headers.get("x-csrf-token", ""), cookie(request, names.csrf) or ""
    return bool(sent) and sent == expected


def same_site(endpoints: Service, request: Request) -> bool:
    """Whether a browser sent this from a page of our own site: ``Sec-Fetch-Site`` when the browser
    sends it, else an ``Origin`` that is ``base_url``'s or listed in ``allowed_origins``. A request
    with neither (an API client, curl) is no browser's cross-site request.

    Args:
        endpoints: the configured endpoints.
        request: the request.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() in ("same-origin", "same-site", "none")
    origin = request.headers.get("origin")
    return origin is None or origin.rstrip("/").lower() in endpoints.origins


def _refused(endpoints: Service, request: Request) -> Response | None:
    if same_site(endpoints, request):
        return None
    endpoints.event("token.refused", "cross_site", "", request)
    return oauth_error(403, "access_denied", "cross-site requests to the browser mode are refused")


def _csrf_refusal() -> Response:
    return oauth_error(400, "invalid_request", "CSRF token missing or wrong (X-CSRF-Token)")


def _pair(endpoints: Service, pair: TokenPair, request: Request) -> Response:
    body = pair.as_dict()
    if request.headers.get("x-token-delivery") == "cookie":  # a browser page: tokens only in HttpOnly cookies
        body = {"token_type": "Bearer", "expires_in": pair.expires_in, "scope": pair.scope}
    response = json_answer(200, body)
    names, secure = endpoints.cookie_names, endpoints.secure
    access = cookies.access_cookie(pair.access_token, name=names.access, max_age=pair.expires_in, secure=secure)
    refresh_path = _refresh_path(endpoints, request)
    refresh = cookies.refresh_cookie(pair.refresh_token, name=names.refresh, path=refresh_path, secure=secure)
    csrf = cookies.csrf_cookie(cookies.new_csrf_token(), name=names.csrf, secure=secure)
    response.headers.extend(("set-cookie", value) for value in (access, refresh, csrf))
    return response


def _cleared(endpoints: Service, request: Request, response: Response) -> Response:
    names = endpoints.cookie_names
    for name, path in ((names.access, "/"), (names.refresh, _refresh_path(endpoints, request)), (names.csrf, "/")):
        response.headers.append(("set-cookie", cookies.clear_cookie(name, path=path, secure=endpoints.secure)))
    return response


def _refresh_path(endpoints: Service, request: Request) -> str:
    """The refresh cookie's ``Path``: the endpoints' own, below where the app is mounted."""
    return (request.root.rstrip("/") + endpoints.base_path) or "/"


def origin_of(url: str) -> str:
    """The origin (``scheme://host[:port]``) of a URL, lower-case, as browsers send it in ``Origin``.

    Args:
        url: an absolute URL.
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
