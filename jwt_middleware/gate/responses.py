"""The RFC 6750 §3 challenge, built once per kind of failure for both adapters."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from http import HTTPStatus

from ..core.errors import AuthError, InsufficientScope, Unavailable

__all__ = ["Challenge", "Schemes", "challenge_for"]


@dataclass(frozen=True, slots=True)
class Challenge:
    """An error response: status, headers and body. ``reason`` is the logged reason code.

    An ``on_error`` hook receives one and returns one (``dataclasses.replace`` is handy).

    Args:
        status: the HTTP status.
        headers: ``(name, value)`` pairs, lower-case names, without ``content-length``.
        body: the JSON body.
        reason: the reason code (logged, never sent).
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    reason: str
    status_line: str = field(init=False, repr=False, compare=False)
    _wsgi: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    _asgi: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        wsgi = (*self.headers, ("content-length", str(len(self.body))))
        object.__setattr__(self, "status_line", f"{self.status} {HTTPStatus(self.status).phrase}")
        object.__setattr__(self, "_wsgi", wsgi)
        object.__setattr__(self, "_asgi", tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in wsgi))

    def header_list(self) -> list[tuple[str, str]]:
        """The headers with ``content-length``, as a new list (WSGI's ``start_response``)."""
        return list(self._wsgi)

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        """The same as ASGI header pairs, a new list each call: a wrapping middleware may append."""
        return list(self._asgi)

    def with_body(self, body: bytes, content_type: str = "application/json") -> Challenge:
        """The same challenge with another body.

        Args:
            body: the new body.
            content_type: its media type; default ``application/json``.
        """
        headers = tuple((k, content_type if k == "content-type" else v) for k, v in self.headers)
        return replace(self, headers=headers, body=body)


_QUOTABLE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def _quotable(text: str) -> str:
    """RFC 6750 §3: error_description and scope allow no quote, backslash or control bytes."""
    return _QUOTABLE.sub("?", text)


@dataclass(frozen=True, slots=True)
class Schemes:
    """Which challenges a refusal carries (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1).

    Args:
        bearer: Bearer tokens are accepted (``dpop: allowed``), so a DPoP refusal names Bearer too.
        dpop_algs: the ``algs`` of a DPoP challenge (space-separated), or ``None`` to send none.
        resource_metadata: the protected-resource metadata URL named in every challenge, or ``None``.
    """

    bearer: bool = True
    dpop_algs: str | None = None
    resource_metadata: str | None = None


_BEARER_ONLY = Schemes()


def _params(realm: str | None, error: str | None, description: str, scope: str) -> list[str]:
    params = [f'realm="{realm}"'] if realm is not None else []
    if error is not None:
        params.append(f'error="{error}"')
        params.append(f'error_description="{_quotable(description)}"')
    if scope:
        params.append(f'scope="{_quotable(scope)}"')
    return params


def _challenge(scheme: str, params: list[str]) -> str:
    return f"{scheme} " + ", ".join(params) if params else scheme


def _www_authenticate(
    realm: str | None, error: str | None, description: str, scope: str, schemes: Schemes, dpop: bool
) -> str:  # fmt: skip
    """The error goes on the scheme the request used (or the only one accepted); the other is named bare."""
    meta = [f'resource_metadata="{schemes.resource_metadata}"'] if schemes.resource_metadata else []
    if not dpop or schemes.dpop_algs is None:
        return _challenge("Bearer", _params(realm, error, description, scope) + meta)
    challenge = _challenge("DPoP", [*_params(realm, error, description, scope), f'algs="{schemes.dpop_algs}"', *meta])
    if schemes.bearer:
        challenge += ", " + _challenge("Bearer", _params(realm, None, "", "") + meta)  # named bare: realm only
    return challenge


def _render(
    status: int, error: str | None, description: str, reason: str, scope: str, realm: str | None, retry_after: int,
    roles: str = "", schemes: Schemes = _BEARER_ONLY, dpop: bool = False,
) -> Challenge:  # fmt: skip
    headers = [("content-type", "application/json"), ("cache-control", "no-store")]
    body: dict[str, str] = {"error": error or ("temporarily_unavailable" if status == 503 else "unauthorized")}
    if status == 503:
        headers.append(("retry-after", str(retry_after)))
    else:
        headers.append(("www-authenticate", _www_authenticate(realm, error, description, scope, schemes, dpop)))
    body["error_description"] = description
    if scope:
        body["scope"] = scope
    if roles:
        body["roles"] = roles
    return Challenge(status, tuple(headers), json.dumps(body).encode("ascii"), reason)


def challenge_for(
    exc: AuthError | Unavailable, realm: str | None, schemes: Schemes = _BEARER_ONLY, dpop: bool = False
) -> Challenge:  # fmt: skip
    """The response for a failure. Descriptions are fixed strings: never token or key bytes.

    Args:
        exc: the failure.
        realm: the ``realm`` of the challenge, or ``None``.
        schemes: which challenges to name (default Bearer alone).
        dpop: the error belongs on the DPoP challenge: the request used the DPoP scheme, the
            proof failed, or DPoP is required.
    """
    if isinstance(exc, Unavailable):
        return _render(503, None, exc.description, exc.reason, "", realm, exc.retry_after)
    scope, roles = (exc.scope, exc.roles) if isinstance(exc, InsufficientScope) else ("", "")
    return _render(exc.status, exc.error, exc.description, exc.reason, scope, realm, 0, roles, schemes, dpop)
