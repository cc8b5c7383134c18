"""Set-Cookie values for access, refresh and CSRF cookies, with safe defaults.

    from jwt_middleware.issuing.cookies import access_cookie, refresh_cookie, csrf_cookie, clear_cookie

    headers = [("Set-Cookie", access_cookie(pair.access_token)),
               ("Set-Cookie", refresh_cookie(pair.refresh_token, path="/auth")),
               ("Set-Cookie", csrf_cookie(new_csrf_token()))]

Access and refresh cookies are ``HttpOnly`` (page scripts cannot read them), ``Secure``
(HTTPS only; pass ``secure=False`` only for plain-HTTP development on localhost) and
``SameSite`` (``Lax`` for the access cookie, ``Strict`` for the refresh cookie, whose
``Path`` should be as narrow as the refresh endpoint). The CSRF cookie is readable by page
scripts on purpose: the page copies it into the ``X-CSRF-Token`` header (double submit).
"""

from __future__ import annotations

import re
import secrets

__all__ = ["access_cookie", "clear_cookie", "csrf_cookie", "new_csrf_token", "refresh_cookie"]

_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
_PATH = re.compile(r"/[\x20-\x3a\x3c-\x7e]*")
_SAMESITE = ("Strict", "Lax", "None")


def new_csrf_token() -> str:
    """A fresh random CSRF token (32 bytes, URL-safe) for ``csrf_cookie``."""
    return secrets.token_urlsafe(32)


def _cookie(
    name: str, value: str, *, max_age: int, path: str, secure: bool, http_only: bool, samesite: str, domain: str | None
) -> str:
    if not _NAME.fullmatch(name) or not _VALUE.fullmatch(value) or not _PATH.fullmatch(path):
        raise ValueError("cookie name, value or path has characters a cookie cannot carry")
    if samesite not in _SAMESITE or (samesite == "None" and not secure):
        raise ValueError("samesite is Strict, Lax or None (None needs secure)")
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", f"SameSite={samesite}"]
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    return "; ".join(parts)


def access_cookie(
    token: str, *, name: str = "access_token", max_age: int = 900, path: str = "/", secure: bool = True,
    samesite: str = "Lax", domain: str | None = None,
) -> str:  # fmt: skip
    """The ``Set-Cookie`` value for the access token: ``HttpOnly; Secure; SameSite=Lax``.

    Args:
        token: the access token.
        name: the cookie name; default ``access_token`` (the middleware's ``cookie`` setting must match).
        max_age: seconds the browser keeps it; default 900, the access token's default lifetime.
        path: the ``Path`` attribute; default ``/``.
        secure: add ``Secure`` (HTTPS only); ``False`` only for plain-HTTP development on localhost.
        samesite: ``Strict``, ``Lax`` or ``None`` (``None`` needs ``secure``).
        domain: the ``Domain`` attribute; default none, so the cookie stays on the exact host (safest).
    """
    return _cookie(name, token, max_age=max_age, path=path, secure=secure, http_only=True, samesite=samesite, domain=domain)


def refresh_cookie(
    token: str, *, name: str = "refresh_token", max_age: int = 30 * 86400, path: str = "/auth", secure: bool = True,
    samesite: str = "Strict", domain: str | None = None,
) -> str:  # fmt: skip
    """The ``Set-Cookie`` value for the refresh token: ``HttpOnly; Secure; SameSite=Strict``.

    Args:
        token: the refresh token.
        name: the cookie name; default ``refresh_token``.
        max_age: seconds the browser keeps it; default 30 days, the refresh family's default lifetime.
        path: the only path it is sent to; default ``/auth`` (make it your refresh endpoint's).
        secure: add ``Secure`` (HTTPS only); ``False`` only for plain-HTTP development on localhost.
        samesite: ``Strict``, ``Lax`` or ``None`` (``None`` needs ``secure``).
        domain: the ``Domain`` attribute; default none, so the cookie stays on the exact host (safest).
    """
    return _cookie(name, token, max_age=max_age, path=path, secure=secure, http_only=True, samesite=samesite, domain=domain)


def csrf_cookie(
    value: str, *, name: str = "csrf_token", max_age: int = 30 * 86400, path: str = "/", secure: bool = True,
    samesite: str = "Lax", domain: str | None = None,
) -> str:  # fmt: skip
    """The ``Set-Cookie`` value for the double-submit CSRF token.

    It is readable by page scripts (not ``HttpOnly``) on purpose: the page copies it into
    the ``X-CSRF-Token`` header of unsafe requests.

    Args:
        value: the token, from ``new_csrf_token()``.
        name: the cookie name; default ``csrf_token`` (the ``csrf_cookie`` setting must match).
        max_age: seconds the browser keeps it; default 30 days.
        path: the ``Path`` attribute; default ``/``.
        secure: add ``Secure`` (HTTPS only); ``False`` only for plain-HTTP development on localhost.
        samesite: ``Strict``, ``Lax`` or ``None`` (``None`` needs ``secure``).
        domain: the ``Domain`` attribute; default none, so the cookie stays on the exact host (safest).
    """
    return _cookie(name, value, max_age=max_age, path=path, secure=secure, http_only=False, samesite=samesite, domain=domain)


def clear_cookie(name: str, *, path: str = "/", secure: bool = True, domain: str | None = None) -> str:
    """A ``Set-Cookie`` value that expires a cookie now (logout).

    Args:
        name: the cookie's name.
        path: the ``Path`` it was set with; default ``/``.
        secure: add ``Secure``, as it was set; default ``True``.
        domain: the ``Domain`` it was set with; default none.
    """
    return _cookie(name, "", max_age=0, path=path, secure=secure, http_only=True, samesite="Lax", domain=domain)
