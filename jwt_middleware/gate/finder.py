"""Finding the one bearer token in a request (RFC 6750 §2), before any JWT parsing.

The adapters hand over the raw ``Authorization`` values, ``Cookie`` values and query string;
this module knows nothing of ASGI or WSGI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote_plus

from ..config.resource import OriginPolicy
from ..config.settings import Settings
from ..core.errors import InvalidRequest, InvalidToken

_B64TOKEN = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
_COOKIE_SPLIT = re.compile(r"[;,]")
# A piece of a comma-joined Authorization value that begins a credential: "Basic abc", "Bearer x", "Bearer".
# An auth-param ("realm=..." or "realm = ...") does not: its name is followed by "=".
_CREDENTIAL = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?: +[^ =]| *$)")
_OWS = " \t"
_SCHEMES = {"bearer": "header", "dpop": "dpop"}  # scheme -> where the finder says the token was


def _is_b64token(credential: str) -> bool:
    """RFC 6750 §2.1: ``1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="``."""
    if not credential.isascii():
        return False
    body = credential.encode("ascii").rstrip(b"=")
    return bool(body) and not body.translate(None, _B64TOKEN)


def _too_large() -> InvalidToken:
    return InvalidToken("token_too_large", "token is larger than allowed")


def _two_tokens() -> InvalidRequest:
    return InvalidRequest("multiple_tokens", "more than one token in the request")


class TokenFinder:
    """Reads the header, and the cookie and query parameter when configured."""

    __slots__ = ("cookie", "max_bytes", "query_key")

    def __init__(self, settings: Settings) -> None:
        self.cookie = settings.cookie
        self.query_key = settings.query_param
        self.max_bytes = settings.max_token_bytes

    def from_authorization(self, values: Sequence[str]) -> tuple[str | None, str]:
        """The credential of a ``Bearer`` or ``DPoP`` (RFC 9449 §7.1) Authorization header, and which (``header``, ``dpop``)."""
        if len(values) > 1:
            raise InvalidRequest("multiple_authorization", "more than one Authorization header")
        return self.parse_authorization(values[0].strip(_OWS))

    def parse_authorization(self, value: str) -> tuple[str | None, str]:
        """``from_authorization`` for one value (without surrounding whitespace).

        Args:
            value: the header value, stripped of spaces and tabs.
        """
        if "," in value:  # a b64token has no comma: two headers folded into one (RFC 9110 §5.3)
            _refuse_folded(value)
        scheme, _, credential = value.partition(" ")
        scheme = scheme.lower()
        if scheme not in _SCHEMES:
            return None, ""
        credential = credential.lstrip(" ")
        if not credential:
            raise InvalidRequest("malformed_authorization", "empty bearer credential")
        if len(credential) > self.max_bytes:
            raise _too_large()
        if not _is_b64token(credential):
            raise InvalidRequest("malformed_authorization", "bearer credential is not a b64token")
        return credential, _SCHEMES[scheme]

    def from_cookies(self, values: Sequence[str]) -> str | None:
        found = _cookies_named(values, self.cookie or "")
        if len(found) > 1:
            raise InvalidRequest("multiple_cookies", "the token cookie appears more than once")
        value = found[0] if found else ""
        if len(value) > self.max_bytes + 2:
            raise _too_large()
        return (value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value) or None

    def may_hold(self, query: str) -> bool:
        """Whether the query string can hold the token parameter: its name as written, or percent-encoded.

        Names are compared after percent-decoding, as every query parser does, so that
        ``?%61ccess_token=`` is the same parameter to us as to the app and its logs.
        """
        return self.query_key is not None and (self.query_key in query or "%" in query)

    def from_query(self, query: str) -> str | None:
        if not self.may_hold(query):
            return None
        found: str | None = None
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if unquote_plus(name) != self.query_key:
                continue
            if found is not None:
                raise InvalidRequest("multiple_query_tokens", "the token parameter appears more than once")
            if len(value) > 3 * self.max_bytes:
                raise _too_large()
            found = unquote_plus(value)
        return found or None

    def without_token(self, query: str) -> str:
        """The query string minus the token parameter, so that access logs never record it."""
        return "&".join(p for p in query.split("&") if unquote_plus(p.partition("=")[0]) != self.query_key)

    def find(self, authorization: Sequence[str], cookies: Sequence[str], query: str) -> tuple[str | None, str]:
        """The request's one token and where it was (``header``, ``dpop``, ``cookie``, ``query``), or ``(None, "")``.

        ``dpop``: the ``Authorization`` header with the DPoP scheme. Raises InvalidRequest for two tokens.
        """
        token, where = self.from_authorization(authorization) if authorization else (None, "")
        if self.cookie is not None and cookies:
            found = self.from_cookies(cookies)
            if found is not None:
                if token is not None:
                    raise _two_tokens()
                token, where = found, "cookie"
        if self.query_key is not None and query:
            found = self.from_query(query)
            if found is not None:
                if token is not None:
                    raise _two_tokens()
                token, where = found, "query"
        if token is None:
            return None, ""
        if len(token) > self.max_bytes:
            raise _too_large()
        return token, where

    def cookie_value(self, cookies: Sequence[str], name: str) -> str | None:
        """One named cookie's value (for the CSRF check); two of them count as none."""
        values = _cookies_named(cookies, name)
        return values[0] if len(values) == 1 and values[0] else None


DPOP_INITIALS = frozenset("Dd")  # how a DPoP Authorization value starts: the adapters test it before calling is_dpop
_PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986 pchar and "/": what a decoded path keeps when quoted again


def split_proofs(value: str) -> list[str]:
    """The proofs in one ``DPoP`` header value: a server joins repeated headers with commas, and a proof has none."""
    return [proof.strip(_OWS) for proof in value.split(",")]


def quoted_path(path: str, encoding: str) -> str:
    """A decoded path percent-encoded again, as a client sends it.

    Args:
        path: the decoded path.
        encoding: how it was decoded: ``utf-8`` for ASGI's ``path``, ``latin-1`` for WSGI's ``PATH_INFO`` (PEP 3333).
    """
    return quote(path.encode(encoding, "replace"), safe=_PATH_SAFE)


def is_dpop(authorization: str) -> bool:
    """Whether an ``Authorization`` value uses the DPoP scheme (so the request's proof and URL are needed)."""
    return authorization.lstrip(_OWS)[:5].lower() == "dpop "


def proofs_and_url(environ: Mapping[str, Any], origin: OriginPolicy, scheme: str | None = None) -> tuple[list[str], str]:
    """The ``DPoP`` header values, and the URL this resource serves for the request (what ``htu`` names).

    The ``Host`` header is not read: ``origin`` decides, from the server's own address
    (``SERVER_NAME``, ``SERVER_PORT``), the peer (``REMOTE_ADDR``) and, from a trusted proxy,
    ``X-Forwarded-Host`` and ``X-Forwarded-Proto`` (a server joins repeated headers with
    commas: a list, which is ignored).

    Args:
        environ: the WSGI environ (or Django's ``request.META``).
        origin: the gate's ``origin_policy``.
        scheme: the request's scheme when the caller knows it better (Django's ``request.scheme``);
            default ``wsgi.url_scheme``.
    """
    get = environ.get
    proofs = get("HTTP_DPOP")
    raw = get("REQUEST_URI") or get("RAW_URI")  # the target as sent (Werkzeug, gunicorn, uWSGI)
    target = raw.partition("?")[0] if raw else quoted_path(get("SCRIPT_NAME", "") + get("PATH_INFO", ""), "latin-1")
    server = (get("SERVER_NAME", ""), get("SERVER_PORT"))
    url = origin.url(scheme or get("wsgi.url_scheme", "http"), server, target, get("REMOTE_ADDR"),
                     get("HTTP_X_FORWARDED_HOST"), get("HTTP_X_FORWARDED_PROTO"))  # fmt: skip
    return ([] if proofs is None else split_proofs(proofs)), url


def _refuse_folded(value: str) -> None:
    """Two credentials in one value, one of them Bearer or DPoP, are two Authorization headers: 400, as ASGI sees them."""
    starts = [piece.strip(_OWS) for piece in value.split(",")]
    schemes = [piece.partition(" ")[0].lower() for piece in starts if _CREDENTIAL.match(piece)]
    if len(schemes) > 1 and not _SCHEMES.keys().isdisjoint(schemes):
        raise InvalidRequest("multiple_authorization", "more than one Authorization header")


def _cookies_named(headers: Sequence[str], name: str) -> list[str]:
    """Every value of the cookie ``name`` in the ``Cookie`` headers, trimmed."""
    return [
        value.strip(_OWS)
        for header in headers
        for pair in _COOKIE_SPLIT.split(header)
        for key, eq, value in [pair.partition("=")]
        if eq and key.strip(_OWS) == name
    ]
