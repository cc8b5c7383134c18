"""What the endpoints read of a request and how they answer: the neutral ``Request`` and ``Response``,
the body's fields, the cookies, and RFC 6749 §5.2 error bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..core.jose import too_deep

__all__ = ["BadRequest", "Request", "Response", "bearer", "cookie", "fields", "json_answer", "oauth_error", "without_body"]


class BadRequest(ValueError):
    """A request malformed at the HTTP level (a repeated parameter or cookie, a body nested too deeply):
    answered 400 ``invalid_request`` with this description."""


@dataclass(frozen=True, slots=True)
class Request:
    """What the core needs of a request, read by the ASGI or WSGI driver.

    Args:
        method: the HTTP method.
        path: the path below where the app is mounted.
        headers: lower-case names to values.
        body: the request body.
        client: the peer's address, as the server saw it.
        root: where the app is mounted (ASGI ``root_path``, WSGI ``SCRIPT_NAME``); default ``""``.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    client: str | None
    root: str = ""


@dataclass(frozen=True, slots=True)
class Response:
    """An answer: status, headers (``Set-Cookie`` may repeat) and body.

    Args:
        status: the HTTP status.
        headers: ``(name, value)`` pairs.
        body: the body.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_answer(status: int, body: Mapping[str, Any] | None, *extra: tuple[str, str]) -> Response:
    """A JSON answer that no cache keeps (``None``: no body).

    Args:
        status: the HTTP status.
        body: the JSON object, or ``None``.
        extra: more ``(name, value)`` headers.
    """
    headers = [("content-type", "application/json"), ("cache-control", "no-store"), ("pragma", "no-cache"), *extra]
    return Response(status, headers, b"" if body is None else json.dumps(body).encode())


def oauth_error(status: int, error: str, description: str, *extra: tuple[str, str]) -> Response:
    """An RFC 6749 §5.2 error body.

    Args:
        status: the HTTP status.
        error: the error code (``invalid_request``, ``invalid_grant``...).
        description: the ``error_description``; never a token or a secret.
        extra: more ``(name, value)`` headers.
    """
    return json_answer(status, {"error": error, "error_description": description}, *extra)


def without_body(response: Response) -> Response:
    """The answer to ``HEAD``: the ``GET`` answer's status and headers, its length, no body.

    Args:
        response: the answer a ``GET`` would get.
    """
    return Response(response.status, [*response.headers, ("content-length", str(len(response.body)))])


def fields(request: Request) -> dict[str, str]:
    """The body's fields: form-encoded (as OAuth clients send them) or JSON; strings only.

    A body that cannot be read gives no fields; a parameter sent twice (RFC 6749 §3.1) or
    JSON nested too deeply raises ``BadRequest``.

    Args:
        request: the request.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            items = _json_items(request.body or b"{}")
        else:
            items = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except BadRequest:
        raise
    except (ValueError, UnicodeDecodeError):
        return {}
    names = [str(k) for k, _ in items]
    if len(set(names)) != len(names):
        raise BadRequest("a parameter is included more than once")
    return {str(k): v for k, v in items if isinstance(v, str)}


def _json_items(body: bytes) -> list[tuple[Any, Any]]:
    if too_deep(body):
        raise BadRequest("the JSON body is nested too deeply")
    parsed = json.loads(body, object_pairs_hook=_unique)
    return list(parsed.items()) if isinstance(parsed, dict) else []


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise BadRequest("a parameter is included more than once")
    return dict(pairs)


def cookie(request: Request, name: str) -> str | None:
    """The value of the cookie ``name`` (``None`` when absent or empty).

    Two cookies of that name (one may have been planted by a sibling domain or a plain-HTTP
    page) raise ``BadRequest``: never a silent pick.

    Args:
        request: the request.
        name: the cookie's name.
    """
    pairs = (part.strip().partition("=") for part in request.headers.get("cookie", "").split(";"))
    found = [value for key, eq, value in pairs if eq and key == name]
    if len(found) > 1:
        raise BadRequest(f"more than one {name} cookie")
    return (found[0] or None) if found else None


def bearer(request: Request, cookie_name: str) -> str | None:
    """The access token the request carries: ``Authorization: Bearer`` (or ``DPoP``), else the access cookie.

    Args:
        request: the request.
        cookie_name: the access cookie's name.
    """
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "dpop") and credential.strip():
        return credential.strip()
    return cookie(request, cookie_name)
