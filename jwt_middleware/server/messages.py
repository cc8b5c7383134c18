"""What the endpoints read of a request and how they answer: the neutral ``Request`` and ``Response``,
the body's fields, the cookies, and RFC 6749 §5.2 error bodies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Request", "Response", "bearer", "cookie", "fields", "json_answer", "oauth_error"]


@dataclass(frozen=True, slots=True)
class Request:
    """What the core needs of a request, read by the ASGI or WSGI driver.

    Args:
        method: the HTTP method.
        path: the path below where the app is mounted.
        headers: lower-case names to values.
        body: the request body.
        client: the peer's address, as the server saw it.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    client: str | None


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


def fields(request: Request) -> dict[str, str]:
    """The body's fields: form-encoded (as OAuth clients send them) or JSON; strings only.

    Args:
        request: the request.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    items: Any
    try:
        if kind == "application/json":
            parsed = json.loads(request.body or b"{}")
            items = parsed.items() if isinstance(parsed, dict) else ()
        else:
            items = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (ValueError, UnicodeDecodeError):
        return {}
    return {str(k): v for k, v in items if isinstance(v, str)}


def cookie(request: Request, name: str) -> str | None:
    """The value of the cookie ``name`` (``None`` when absent or empty).

    Args:
        request: the request.
        name: the cookie's name.
    """
    for pair in request.headers.get("cookie", "").split(";"):
        key, eq, value = pair.strip().partition("=")
        if eq and key == name and value:
            return value
    return None


def bearer(request: Request) -> str | None:
    """The access token the request carries: ``Authorization: Bearer`` (or ``DPoP``), else the access cookie.

    Args:
        request: the request.
    """
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "dpop") and credential.strip():
        return credential.strip()
    return cookie(request, "access_token")
