"""Ready auth endpoints over ``TokenService``: the OAuth 2.0 token endpoint, revocation, metadata, the JWKS,
and the browser's cookie mode; one core that both the ASGI and the WSGI app drive.

    POST {base_path}/token     RFC 6749: grant_type=password | refresh_token (form or JSON)
    POST {base_path}/revoke    RFC 7009: refresh tokens, and access tokens (their jti, through the revocation store)
    POST {base_path}/login, /refresh, /logout    the browser mode: HttpOnly cookies and a CSRF cookie
    GET  /.well-known/oauth-authorization-server  RFC 8414
    GET  /.well-known/openid-configuration, /.well-known/jwks.json

This module routes and reads the request; each endpoint lives in its room: ``documents`` (the
well-known documents), ``grants`` (token and revocation), ``browser`` (login, refresh, logout
with cookies). The messages (``Request``, ``Response``) are in ``messages``.
"""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from ..config.settings import Settings, load_settings
from ..core import dpop as _dpop
from ..core.errors import ConfigError
from ..core.events import AuthEvent
from ..core.flow import Flow
from ..gate.verifier import Verifier
from ..issuing.refresh import TokenService
from . import browser, documents, grants
from .messages import BadRequest, Request, Response, fields, oauth_error, without_body
from .throttle import LegacyLoginThrottle, LoginThrottle, MemoryLoginThrottle

__all__ = ["AuthEndpoints", "Request", "Response"]
Authenticate = Callable[[str, str], Any]
ROOMS: dict[str, Callable[[Any, Request, Any], Flow[Response]]] = {
    "token": grants.token, "revoke": grants.revoke,
    "login": browser.login, "refresh": browser.refresh, "logout": browser.logout,
}  # fmt: skip


class AuthEndpoints:
    """The endpoints' core: route, read the request, and hand it to its endpoint's flow.

    Args:
        tokens: the ``TokenService`` that issues, rotates and revokes.
        authenticate: ``authenticate(username, password)``, sync (or async under ASGI); it
            returns ``None`` for wrong credentials, the subject (a str), or a mapping with
            ``sub`` and optionally ``scope`` and more claims.
        base_url: the public URL where the app is mounted (``https://auth.example.com``),
            for the metadata; default the issuer.
        base_path: where the endpoints live below the mount (default ``/auth``); the
            well-known documents are at the mount's root.
        throttle: where login attempts are counted (default a ``MemoryLoginThrottle``): a
            ``LoginThrottle``, or one of the earlier form (``LegacyLoginThrottle``, no
            ``admit``), which parallel guesses can race: it is used with a ``DeprecationWarning``.
        account_limit: failed logins per account per window (default 5): at most this many
            attempts reach ``authenticate``, however many arrive at once.
        address_limit: failed logins per client address per window (default 20); an IPv6
            client is counted by its /64.
        window_seconds: the sliding window (default 900).
        trusted_proxies: addresses or networks (``10.0.0.0/8``) whose ``X-Forwarded-For`` is
            believed: the client is the right-most address that is not one of them. Default none.
        secure_cookies: ``Secure`` on the browser mode's cookies (default true; false only for
            plain-HTTP development on localhost).
        dpop_replay: where the ``jti`` of token-request DPoP proofs is kept (default a
            ``MemoryReplay``; a ``RedisDPoPReplay`` for many processes). A token request with a
            ``DPoP`` header gets tokens bound to its key (``token_type: DPoP``, RFC 9449 §5).
        dpop_algorithms: the proof algorithms accepted (default ``DEFAULT_PROOF_ALGORITHMS``).
        dpop_max_age_seconds: how old a proof may be (default 60).
        dpop_nonce: a ``NonceSource`` whose nonce every token-request proof must carry
            (``use_dpop_nonce``); default none.
        allowed_origins: more origins (``https://app.example.com``) whose pages may use the
            browser mode, for browsers that send ``Origin`` but not ``Sec-Fetch-Site``;
            ``base_url``'s origin always may. Default none.
    """

    def __init__(
        self,
        tokens: TokenService,
        authenticate: Authenticate,
        *,
        base_url: str | None = None,
        base_path: str = "/auth",
        throttle: LoginThrottle | LegacyLoginThrottle | None = None,
        account_limit: int = 5,
        address_limit: int = 20,
        window_seconds: float = 900,
        trusted_proxies: Sequence[str] = (),
        secure_cookies: bool = True,
        dpop_replay: _dpop.Replay | None = None,
        dpop_algorithms: Sequence[str] = tuple(sorted(_dpop.DEFAULT_PROOF_ALGORITHMS)),
        dpop_max_age_seconds: float = 60.0,
        dpop_nonce: _dpop.Nonces | None = None,
        allowed_origins: Sequence[str] = (),
    ) -> None:
        self.tokens, self.authenticate = tokens, authenticate
        self.base_url = (base_url or tokens.issuer.issuer).rstrip("/")
        self.base_path = base_path.rstrip("/")
        self.throttle = throttle if throttle is not None else MemoryLoginThrottle()
        self.limits = _limits(account_limit, address_limit, window_seconds)
        if not callable(getattr(self.throttle, "admit", None)):
            warnings.warn(
                "the login throttle has no admit(): it is asked before authenticate and told after, so parallel "
                "guesses can all pass it; give it admit() and release() (LoginThrottle)",
                DeprecationWarning,
                stacklevel=2,
            )
        try:
            self.proxies = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        except ValueError as exc:
            raise ConfigError("trusted_proxies", "expected IP addresses or networks") from exc
        self.secure, self.cookie_names = secure_cookies, browser.cookie_names(secure_cookies)
        self.origins = frozenset(browser.origin_of(url) for url in (self.base_url, *allowed_origins))
        self._dpop_settings: dict[str, Any] = {
            "dpop_replay": dpop_replay, "dpop_algorithms": list(dpop_algorithms),
            "dpop_max_age_seconds": dpop_max_age_seconds, "dpop_nonce": dpop_nonce,
        }  # fmt: skip
        own = self._own_settings()
        self.dpop = own.dpop_policy  # the token endpoint's proof checks
        self._verifier = (tuple(tokens.issuer.ring.signing_keys()), Verifier(own))

    @property
    def verifier(self) -> Verifier:
        """The verifier of the service's own access tokens, with the key ring's keys of now (after a rotation too)."""
        keys, verifier = self._verifier
        now = tuple(self.tokens.issuer.ring.signing_keys())
        if len(now) != len(keys) or any(a is not b for a, b in zip(now, keys, strict=True)):
            keys, verifier = self._verifier = (now, Verifier(self._own_settings()))
        return verifier

    def _own_settings(self) -> Settings:
        settings = self.tokens.issuer.settings(revocation=self.tokens.revocation, required_claims=["exp", "jti"])
        return load_settings(settings, **self._dpop_settings)

    def handle(self, request: Request) -> Flow[Response]:
        """The answer to a request; yields each call that may wait (authenticate, the stores), for the driver to make.

        Args:
            request: the request, as the ASGI or WSGI app read it.
        """
        name, early = self.route(request)
        if early is not None:
            return early
        try:
            return (yield from ROOMS[name](self, request, fields(request)))
        except BadRequest as exc:
            return oauth_error(400, "invalid_request", str(exc))

    def route(self, request: Request) -> tuple[str, Response | None]:
        """Which endpoint a request is for, or the answer when none is (a document, 404, 405).

        Args:
            request: the request.
        """
        path = request.path.rstrip("/") or "/"
        if request.method in ("GET", "HEAD"):
            document = documents.document(self, path)
            if document is not None:
                return "document", document if request.method == "GET" else without_body(document)
        names = {f"{self.base_path}/{name}": name for name in ROOMS}
        if path not in names:
            return "", oauth_error(404, "not_found", "no such endpoint")
        if request.method != "POST":
            return "", oauth_error(405, "invalid_request", "use POST", ("allow", "POST"))
        return names[path], None

    def client(self, request: Request) -> str | None:
        """The client's address: the peer, or behind a trusted proxy the right-most untrusted ``X-Forwarded-For``.

        Args:
            request: the request.
        """
        peer = request.client
        if not self.proxies or peer is None or not self._trusted(peer):
            return peer
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return peer

    def event(self, kind: str, reason: str, username: str, request: Request) -> None:
        """Emit an auth event about this request (the username as a digest, never a secret).

        Args:
            kind: the event kind (``login.failed``...).
            reason: its reason code.
            username: the account concerned, or ``""``.
            request: the request.
        """
        events = self.tokens.events
        events.emit(
            AuthEvent(kind, reason, self.tokens.issuer.issuer, events.subject(username), request.path, self.client(request))
        )

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)


def _limits(account: int, address: int, window: float) -> tuple[int, int, float]:
    for name, value in (("account_limit", account), ("address_limit", address), ("window_seconds", window)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(name, "expected a positive number")
    return account, address, window
