"""The neutral request: what the gate reads of a request, the same value from every door.

Each door (the ASGI and WSGI adapters, Django, DRF) turns what its server hands it into one
``Request``; that conversion is the only code a door owns. The gate never sees a scope, an
environ or a framework's request object. ``from_environ`` serves every CGI-style door (WSGI,
and Django's ``request.META``, under its WSGI and ASGI handlers alike).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from ..config.resource import OriginPolicy
from .finder import DPOP_INITIALS, is_dpop, proofs_and_url

__all__ = ["Request", "environ_path", "from_environ"]


class Request(NamedTuple):
    """One request as the gate sees it (frozen, cheap to build: a tuple; the header lists are
    the door's own, handed over and never changed).

    Attributes:
        method: the HTTP method (``GET`` for a WebSocket handshake).
        path: the path the router sees (ASGI ``path``, WSGI ``SCRIPT_NAME`` + ``PATH_INFO``).
        authorization: the ``Authorization`` header values, as sent (two values are a 400).
        cookies: the ``Cookie`` header values (read only in cookie mode).
        query: the raw query string (read only when ``query_param`` is set).
        csrf: the CSRF header's value (read only in cookie mode).
        proofs: the ``DPoP`` header values (read only for the DPoP scheme).
        url: the URL this resource serves for the request, as a DPoP proof's ``htu`` names
            it: the gate's ``origin_policy`` answers it, never the ``Host`` header alone
            (doors fill it in for the DPoP scheme only).
        client: the peer's address (ASGI ``client[0]``, WSGI ``REMOTE_ADDR``), for events.
        websocket: a WebSocket handshake.
        origin: the ``Origin`` header (read for a WebSocket handshake in cookie mode).
        host: the ``Host`` header (idem).
    """

    method: str
    path: str
    authorization: Sequence[str] = ()
    cookies: Sequence[str] = ()
    query: str = ""
    csrf: str | None = None
    proofs: Sequence[str] = ()
    url: str = ""
    client: str | None = None
    websocket: bool = False
    origin: str | None = None
    host: str | None = None

    @property
    def cross_site(self) -> bool:
        """A WebSocket handshake from another origin: a browser's ``Origin`` (``scheme://host[:port]``)
        names the host it connects to; a WebSocket cannot carry a CSRF header."""
        if not self.websocket or self.origin is None:
            return False
        return self.host is None or self.origin.partition("://")[2].lower() != self.host.lower()


def environ_path(environ: Mapping[str, Any]) -> str:
    """The path the router sees in a CGI-style environ: ``SCRIPT_NAME`` + ``PATH_INFO``.

    Args:
        environ: a WSGI environ or Django's ``request.META``.
    """
    script = environ.get("SCRIPT_NAME")
    path: str = environ.get("PATH_INFO", "")
    return script + path if script else path


def from_environ(
    environ: Mapping[str, Any],
    path: str,
    cookies: bool,
    query: str = "",
    csrf_key: str | None = None,
    scheme: str | None = None,
    *,
    origin: OriginPolicy,
) -> Request:
    """The neutral request of a CGI-style environ (WSGI, Django's ``request.META``).

    Args:
        environ: the environ.
        path: the path the router sees (see ``environ_path``; Django passes ``request.path``).
        cookies: whether the gate reads cookies (cookie mode).
        query: the query string, when the gate reads a token from it.
        csrf_key: the environ key of the CSRF header (``HTTP_X_CSRF_TOKEN``), in cookie mode.
        scheme: the request's scheme when the door knows it better (Django's
            ``request.scheme``, which honours ``SECURE_PROXY_SSL_HEADER``); default
            ``wsgi.url_scheme``.
        origin: the gate's ``origin_policy``: the URL a DPoP proof names (read for the DPoP scheme only).
    """
    get = environ.get
    authorization = get("HTTP_AUTHORIZATION")
    sent: tuple[str, ...] = ()
    if authorization is not None:
        sent = (authorization,)
        if authorization[:1] in DPOP_INITIALS and is_dpop(authorization):  # only the DPoP scheme reads these
            proofs, url = proofs_and_url(environ, origin, scheme)
            return Request(get("REQUEST_METHOD") or "GET", path, sent, _cookies(environ, cookies), query,
                           get(csrf_key) if csrf_key else None, proofs, url, get("REMOTE_ADDR"))  # fmt: skip
    fields = (get("REQUEST_METHOD") or "GET", path, sent, _cookies(environ, cookies) if cookies else (), query,
              get(csrf_key) if csrf_key else None, (), "", get("REMOTE_ADDR"), False, None, None)  # fmt: skip
    return tuple.__new__(Request, fields)  # Request(*fields) without its Python-level __new__: this is every request


def _cookies(environ: Mapping[str, Any], wanted: bool) -> tuple[str, ...]:
    cookie = environ.get("HTTP_COOKIE") if wanted else None
    return () if cookie is None else (cookie,)
