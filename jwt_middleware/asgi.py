"""The ASGI adapter: ``JWTMiddleware``.

    app = JWTMiddleware(app, settings={"algorithms": ["RS256"], "jwks_url": "https://..."})
    # Starlette / FastAPI: app.add_middleware(JWTMiddleware, settings={...})

``http`` and ``websocket`` scopes are authenticated; every other scope type (``lifespan``)
passes through untouched. On success the claims are at ``scope["jwt_middleware.claims"]``,
and ``scope["user"]`` / ``scope["auth"]`` follow Starlette's conventions. On failure the
wrapped app is never called: HTTP gets the RFC 6750 challenge; a WebSocket is refused
before ``websocket.accept``, with the HTTP denial response when the server offers the
``websocket.http.response`` extension, else with close code 1008.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import GeneratorType
from typing import Any

from .config.resource import OriginPolicy
from .config.settings import Settings, load_settings
from .core.errors import ConfigError
from .core.flow import run_async
from .core.identity import ANONYMOUS, ANONYMOUS_AUTH, CLAIMS_KEY, IDENTITY_KEY
from .gate.doors import GATE_KEY, Refusal, nested
from .gate.finder import DPOP_INITIALS, is_dpop, quoted_path, split_proofs
from .gate.gate import Gate, Outcome
from .gate.request import Request
from .gate.responses import Challenge

__all__ = ["JWTMiddleware"]
_AUTHENTICATED = frozenset({"http", "websocket"})
log = logging.getLogger("jwt_middleware")

# Every framework's spelling of an ASGI scope type-checks against ours: Starlette's and
# FastAPI's (``MutableMapping``, as ``add_middleware`` and ``Middleware`` expect), asgiref's
# and Litestar's (``TypedDict`` scopes, which are ``Mapping``s).
AnyScope = Mapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]


class JWTMiddleware:
    """Wrap an ASGI app: every ``http`` and ``websocket`` request is authenticated first.

    A bad setting raises ``ConfigError`` here. Starlette and FastAPI build their middleware
    later, on the first lifespan event or request; built there, the middleware answers the
    lifespan startup with ``lifespan.startup.failed`` and the error's message instead, so
    that the server stops at start-up (uvicorn does, even with its default
    ``lifespan="auto"``), and refuses every request with that ``ConfigError``.

    Args:
        app: the ASGI app (by position, as Starlette and FastAPI pass it, or as ``app=``, as
            Litestar's ``DefineMiddleware`` does).
        settings: a mapping of settings or a ``Settings``.
        overrides: settings that replace those in ``settings``.
    """

    def __init__(
        self,
        app: Callable[[Any, Any, Any], Awaitable[None]] | None = None,
        /,
        settings: Settings | Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        # Positional-only for type checkers (Starlette's add_middleware protocol); Litestar passes app=.
        app = overrides.pop("app", None) if app is None else app
        if app is None:
            raise TypeError("JWTMiddleware needs the ASGI app to wrap")
        self.app = app
        try:
            loaded = load_settings(settings, **overrides)
        except ConfigError as exc:
            if sys._getframe(1).f_code.co_name != "build_middleware_stack":
                raise
            self.__class__ = _Misconfigured  # Starlette builds lazily: fail the server's startup instead
            self.error = exc
            return
        self.gate = Gate(loaded)
        self._preflight = self.gate.preflight
        self._csrf_header = self.gate.csrf_header.encode("latin-1") if self.gate.csrf_header else None
        public = self.gate.public_paths
        self._public_exact = public.exact  # one set lookup decides the common public path
        self._public_prefixes = public.matches if public.has_prefixes else None
        self._reads_cookies = self.gate.reads_cookies
        self._query_key = self.gate.query_param
        wanted = {b"authorization", b"cookie", b"origin", b"host"}
        self._wanted = frozenset(wanted | {self._csrf_header} if self._csrf_header else wanted)
        self._metadata = self.gate.serves_metadata
        self._origin = self.gate.origin_policy
        self._first = True

    def health(self) -> list[dict[str, Any]]:
        """Per-provider key source snapshots, for a readiness endpoint (the key sources page shows one)."""
        return self.gate.verifier.health()

    async def __call__(self, scope: AnyScope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in _AUTHENTICATED:
            await self.app(scope, receive, send)
            return
        s: dict[str, Any] = scope  # type: ignore[assignment]
        s[GATE_KEY] = self.gate
        path = s["path"]
        if self._metadata and (document := self.gate.metadata_for(path, s.get("method"))) is not None:
            await _deny_http(s, document, receive, send)  # RFC 9728 metadata: public, answered here
            return
        if (
            path in self._public_exact
            or (self._public_prefixes is not None and self._public_prefixes(path))
            or (self._preflight and s.get("method") == "OPTIONS" and _is_preflight(s["headers"]))
        ):
            s[CLAIMS_KEY] = s[IDENTITY_KEY] = None
            s["user"] = ANONYMOUS
            s["auth"] = ANONYMOUS_AUTH
            try:
                await self.app(scope, receive, send)
            except Refusal as refusal:  # an integration inside the app refused: answer as the gate does
                await self._refuse(s, refusal, receive, send)
            return
        if self._first:  # a nesting shows on the first protected request; the others need not pay for the look
            self._first = False
            if CLAIMS_KEY in s:  # set by a middleware of ours further out
                nested()
        decided = self.gate.decide(self._request(s, kind, path))  # authenticate_async, less a coroutine when nothing waits
        outcome: Outcome = await run_async(decided) if type(decided) is GeneratorType else decided  # type: ignore[assignment]
        if outcome is None:
            s[CLAIMS_KEY] = s[IDENTITY_KEY] = None
            s["user"] = ANONYMOUS
            s["auth"] = ANONYMOUS_AUTH
        elif isinstance(outcome, Challenge):
            await (_deny_websocket if kind == "websocket" else _deny_http)(s, outcome, receive, send)
            return
        else:
            s[CLAIMS_KEY] = outcome.claims
            s[IDENTITY_KEY] = outcome
            s["user"] = outcome.user
            s["auth"] = outcome.auth
            if kind == "websocket":
                deadline = self.gate.verifier.expires_at(outcome.claims)
                if deadline is not None:
                    await _until_expiry(self.app, scope, receive, send, deadline)
                    return
        try:
            await self.app(scope, receive, send)
        except Refusal as refusal:
            await self._refuse(s, refusal, receive, send)

    async def _refuse(self, scope: dict[str, Any], refusal: Refusal, receive: Receive, send: Send) -> None:
        deny = _deny_websocket if scope["type"] == "websocket" else _deny_http
        await deny(scope, self.gate.refuse_inside(scope, refusal.failure), receive, send)

    def _request(self, scope: dict[str, Any], kind: str, path: str) -> Request:
        """The neutral request of an ASGI scope (the only ASGI-specific step before the gate)."""
        if self._reads_cookies:
            authorization, cookies, csrf, origin, host = self._read_headers(scope["headers"])
        else:  # only the Authorization header matters: one pass, no branches
            authorization = [value.decode("latin-1") for name, value in scope["headers"] if name == b"authorization"]
            cookies, csrf, origin, host = (), None, None, None
        query = ""
        if self._query_key is not None:
            query = scope.get("query_string", b"").decode("latin-1")
            scrubbed = self.gate.scrub_query(query)
            if scrubbed is not None:  # servers log path?query from this scope: drop the token
                scope["query_string"] = scrubbed.encode("latin-1")
        proofs: Sequence[str] = ()
        url = ""
        if authorization and authorization[0][:1] in DPOP_INITIALS and is_dpop(authorization[0]):  # only DPoP reads these
            proofs, url = _proofs_and_url(scope, path, self._origin)
        client = scope.get("client")
        fields = (scope.get("method", "GET"), path, authorization, cookies, query, csrf, proofs, url,
                  client[0] if client else None, kind == "websocket", origin, host)  # fmt: skip
        return tuple.__new__(Request, fields)  # Request(*fields) without its Python-level __new__: this is every request

    def _read_headers(self, headers: Any) -> tuple[list[str], Sequence[str], str | None, str | None, str | None]:
        """Cookie mode: the Authorization and Cookie values, the CSRF header, ``Origin`` and ``Host``."""
        authorization: list[str] = []
        cookies: list[str] = []
        csrf = origin = host = None
        wanted = self._wanted
        for name, value in headers:
            if name not in wanted:
                continue
            if name == b"authorization":
                authorization.append(value.decode("latin-1"))
            elif name == b"cookie":
                cookies.append(value.decode("latin-1"))
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"host":
                host = value.decode("latin-1")
            elif name == self._csrf_header:
                csrf = value.decode("latin-1")
        return authorization, cookies, csrf, origin, host


class _Misconfigured(JWTMiddleware):
    """A ``JWTMiddleware`` that Starlette built lazily from bad settings: the startup fails, loudly."""

    error: ConfigError

    async def __call__(self, scope: AnyScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            raise self.error
        message = await receive()
        if message["type"] == "lifespan.startup":
            log.error(
                "bad jwt_middleware settings; startup failed (reason=config_error): %s",
                self.error,
                extra={"auth_reason": "config_error"},
            )
            await send({"type": "lifespan.startup.failed", "message": f"jwt_middleware: {self.error}"})


def _proofs_and_url(scope: dict[str, Any], path: str, origin: OriginPolicy) -> tuple[tuple[str, ...], str]:
    """The ``DPoP`` header values, and the URL this resource serves for the request (what ``htu`` names).

    The ``Host`` header is not read: ``origin`` decides, from the server's own address
    (``server``), the peer (``client``) and, from a trusted proxy, ``X-Forwarded-Host`` and
    ``X-Forwarded-Proto`` (sent twice, a header is a list, which is ignored).
    """
    proofs: list[str] = []
    forwarded_host = forwarded_proto = None
    for name, value in scope["headers"]:
        if name == b"dpop":
            proofs.extend(split_proofs(value.decode("latin-1")))
        elif name == b"x-forwarded-host":
            forwarded_host = value.decode("latin-1") if forwarded_host is None else ","  # a list: no host
        elif name == b"x-forwarded-proto":
            forwarded_proto = value.decode("latin-1") if forwarded_proto is None else ","
    raw = scope.get("raw_path")
    target = raw.decode("latin-1").partition("?")[0] if raw else quoted_path(path, "utf-8")
    client = scope.get("client")
    scheme = scope.get("scheme") or ("ws" if scope["type"] == "websocket" else "http")
    peer = client[0] if client else None
    return tuple(proofs), origin.url(scheme, scope.get("server"), target, peer, forwarded_host, forwarded_proto)


def _is_preflight(headers: Any) -> bool:
    """A CORS preflight: ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method`` (Fetch standard)."""
    names = {name for name, _ in headers}
    return b"origin" in names and b"access-control-request-method" in names


async def _until_expiry(app: Any, scope: Any, receive: Receive, send: Send, deadline: float) -> None:
    socket = _ClosesAtExpiry(receive, send, deadline)
    try:
        await app(scope, socket.receive, socket.send)
    finally:
        socket.stop()


class _ClosesAtExpiry:
    """A WebSocket accepted on a token that expires: at ``deadline`` (Unix seconds) it is
    closed with 1008, the app receives ``websocket.disconnect``, and what it sends after that
    is dropped. An ``accept`` sent after the deadline becomes that close."""

    def __init__(self, receive: Receive, send: Send, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        self._receive, self._send = receive, send
        self._accepted = self._closed = False
        self._expired: asyncio.Future[None] = loop.create_future()
        self._pending: asyncio.Future[Any] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._timer = loop.call_later(max(0.0, deadline - time.time()), self._expire)

    def _expire(self) -> None:
        self._expired.set_result(None)
        if self._accepted:  # the app may not be receiving: close now, not at its next receive
            self._closer = asyncio.ensure_future(self._close())

    async def _close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._send({"type": "websocket.close", "code": 1008, "reason": "token expired"})

    async def receive(self) -> Any:
        if not self._expired.done():
            if self._pending is None:
                self._pending = asyncio.ensure_future(self._receive())
            await asyncio.wait((self._pending, self._expired), return_when=asyncio.FIRST_COMPLETED)
            if self._pending.done():
                message, self._pending = self._pending.result(), None
                return message
        if self._accepted:
            await self._close()
        return {"type": "websocket.disconnect", "code": 1008}

    async def send(self, message: Any) -> None:
        if self._closed:
            return
        kind = message["type"]
        if kind == "websocket.accept":
            if self._expired.done():
                await self._close()
                return
            self._accepted = True
        elif kind in ("websocket.close", "websocket.http.response.start"):
            self._closed = kind == "websocket.close"
        await self._send(message)

    def stop(self) -> None:
        self._timer.cancel()
        if self._pending is not None:
            self._pending.cancel()


async def _deny_http(scope: dict[str, Any], challenge: Challenge, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": challenge.status, "headers": challenge.asgi_headers()})
    await send({"type": "http.response.body", "body": challenge.body})


async def _deny_websocket(scope: dict[str, Any], challenge: Challenge, receive: Any, send: Any) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send({"type": "websocket.http.response.start", "status": challenge.status, "headers": challenge.asgi_headers()})
        await send({"type": "websocket.http.response.body", "body": challenge.body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": challenge.reason})
