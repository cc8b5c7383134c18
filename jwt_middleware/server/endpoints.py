"""Ready auth endpoints over ``TokenService``: the OAuth 2.0 token endpoint, revocation, metadata, the JWKS,
and the browser's cookie mode; one core that both the ASGI and the WSGI app drive.

    POST {base_path}/token     RFC 6749: grant_type=password | refresh_token (form or JSON)
    POST {base_path}/revoke    RFC 7009: refresh tokens, and access tokens (their jti, through the revocation store)
    POST {base_path}/login, /refresh, /logout    the browser mode: HttpOnly cookies and a CSRF cookie
    GET  /.well-known/oauth-authorization-server  RFC 8414
    GET  /.well-known/openid-configuration, /.well-known/jwks.json
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from ..config.settings import load_settings
from ..core import dpop as _dpop
from ..core.errors import AuthError, ConfigError
from ..core.events import AuthEvent
from ..gate.finder import split_proofs
from ..gate.verifier import Verifier
from ..issuing import cookies
from ..issuing.publish import DISCOVERY_PATH, JWKS_PATH
from ..issuing.refresh import RefreshRejected, TokenPair, TokenService
from .throttle import LoginThrottle, MemoryLoginThrottle

__all__ = ["AuthEndpoints", "Request", "Response"]
METADATA_PATH = "/.well-known/oauth-authorization-server"
Authenticate = Callable[[str, str], Any]


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


def _json(status: int, body: Mapping[str, Any] | None, *extra: tuple[str, str]) -> Response:
    headers = [("content-type", "application/json"), ("cache-control", "no-store"), ("pragma", "no-cache"), *extra]
    return Response(status, headers, b"" if body is None else json.dumps(body).encode())


def oauth_error(status: int, error: str, description: str, *extra: tuple[str, str]) -> Response:
    """An RFC 6749 §5.2 error body."""
    return _json(status, {"error": error, "error_description": description}, *extra)


class AuthEndpoints:
    """The endpoints' core: parse, throttle, authenticate, issue, answer.

    Args:
        tokens: the ``TokenService`` that issues, rotates and revokes.
        authenticate: ``authenticate(username, password)``, sync (or async under ASGI); it
            returns ``None`` for wrong credentials, the subject (a str), or a mapping with
            ``sub`` and optionally ``scope`` and more claims.
        base_url: the public URL where the app is mounted (``https://auth.example.com``),
            for the metadata; default the issuer.
        base_path: where the endpoints live below the mount (default ``/auth``); the
            well-known documents are at the mount's root.
        throttle: where failed logins are counted (default a ``MemoryLoginThrottle``).
        account_limit: failed logins per account per window (default 5).
        address_limit: failed logins per client address per window (default 20).
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
    """

    def __init__(
        self,
        tokens: TokenService,
        authenticate: Authenticate,
        *,
        base_url: str | None = None,
        base_path: str = "/auth",
        throttle: LoginThrottle | None = None,
        account_limit: int = 5,
        address_limit: int = 20,
        window_seconds: float = 900,
        trusted_proxies: Sequence[str] = (),
        secure_cookies: bool = True,
        dpop_replay: _dpop.Replay | None = None,
        dpop_algorithms: Sequence[str] = tuple(sorted(_dpop.DEFAULT_PROOF_ALGORITHMS)),
        dpop_max_age_seconds: float = 60.0,
        dpop_nonce: _dpop.Nonces | None = None,
    ) -> None:
        self.tokens, self.authenticate = tokens, authenticate
        self.base_url = (base_url or tokens.issuer.issuer).rstrip("/")
        self.base_path = base_path.rstrip("/")
        self.throttle = throttle if throttle is not None else MemoryLoginThrottle()
        self.limits = (account_limit, address_limit, window_seconds)
        try:
            self.proxies = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)
        except ValueError as exc:
            raise ConfigError("trusted_proxies", "expected IP addresses or networks") from exc
        self.secure = secure_cookies
        settings = tokens.issuer.settings(revocation=tokens.revocation, required_claims=["exp", "jti"])
        own = load_settings(
            settings, dpop_replay=dpop_replay, dpop_algorithms=list(dpop_algorithms),
            dpop_max_age_seconds=dpop_max_age_seconds, dpop_nonce=dpop_nonce,
        )  # fmt: skip
        self.verifier = Verifier(own)  # the service's own keys, as it signs today
        self.dpop = own.dpop_policy  # the token endpoint's proof checks

    # -- routing ---------------------------------------------------------------------------------
    def route(self, request: Request) -> tuple[str, Response | None]:
        """Which endpoint a request is for, or the answer when none is (404, 405)."""
        path = request.path.rstrip("/") or "/"
        if request.method == "GET":
            documents = {METADATA_PATH: self.metadata, DISCOVERY_PATH: self.discovery, JWKS_PATH: self.jwks}
            if path in documents:
                return "document", _json(200, documents[path](), ("cache-control", "public, max-age=300"))
        names = {f"{self.base_path}/{name}": name for name in ("token", "revoke", "login", "refresh", "logout")}
        if path not in names:
            return "", oauth_error(404, "not_found", "no such endpoint")
        if request.method != "POST":
            return "", oauth_error(405, "invalid_request", "use POST", ("allow", "POST"))
        return names[path], None

    # -- documents ---------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization-server metadata."""
        return {
            "issuer": self.tokens.issuer.issuer,
            "token_endpoint": f"{self.base_url}{self.base_path}/token",
            "revocation_endpoint": f"{self.base_url}{self.base_path}/revoke",
            "jwks_uri": f"{self.base_url}{JWKS_PATH}",
            "grant_types_supported": ["password", "refresh_token"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": [],
            "dpop_signing_alg_values_supported": sorted(self.dpop.algorithms),
        }

    def discovery(self) -> dict[str, Any]:
        """The OpenID discovery document a resource server's ``oidc_discovery`` reads."""
        algs = sorted({k.alg for k in self.tokens.issuer.ring.signing_keys() if not k.symmetric})
        return {
            "issuer": self.tokens.issuer.issuer,
            "jwks_uri": f"{self.base_url}{JWKS_PATH}",
            "id_token_signing_alg_values_supported": algs,
        }

    def jwks(self) -> dict[str, Any]:
        """The public keys: the current one and the retired ones still kept."""
        return self.tokens.issuer.ring.jwks()

    # -- reading the request ----------------------------------------------------------------------
    def client(self, request: Request) -> str | None:
        """The client's address: the peer, or behind a trusted proxy the right-most untrusted ``X-Forwarded-For``."""
        peer = request.client
        if not self.proxies or peer is None or not self._trusted(peer):
            return peer
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)

    @staticmethod
    def fields(request: Request) -> dict[str, str]:
        """The body's fields: form-encoded (as OAuth clients send them) or JSON; strings only."""
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

    @staticmethod
    def cookie(request: Request, name: str) -> str | None:
        for pair in request.headers.get("cookie", "").split(";"):
            key, eq, value = pair.strip().partition("=")
            if eq and key == name and value:
                return value
        return None

    # -- the password grant, in two steps around the authenticate call -------------------------------
    def before_login(self, request: Request, fields: Mapping[str, str]) -> tuple[Response | None, list[str]]:
        """Check the request and the throttle; returns a refusal, or the throttle keys to count against."""
        username, password = fields.get("username", ""), fields.get("password", "")
        if not username or not password:
            return oauth_error(400, "invalid_request", "username and password are required"), []
        keys = [f"account:{username}", f"address:{self.client(request) or '-'}"]
        account, address, window = self.limits
        wait = self.throttle.blocked([(keys[0], account), (keys[1], address)], window)
        if wait > 0:
            self._event("login.throttled", "throttled", username, request)
            retry = ("retry-after", str(max(1, int(wait + 0.999))))
            return oauth_error(429, "slow_down", "too many failed logins; try again later", retry), keys
        return None, keys

    def login_failed(self, request: Request, keys: list[str], found: Any, browser: bool) -> Response | None:
        """Count the outcome; the refusal for wrong credentials, ``None`` for a good login."""
        username = keys[0].removeprefix("account:")
        if found is None:
            self.throttle.failed(keys, self.limits[2])
            self._event("login.failed", "invalid_credentials", username, request)
            return oauth_error(401 if browser else 400, "invalid_grant", "wrong username or password")
        self.throttle.succeeded(keys[0])
        return None

    def handle(self, request: Request) -> Generator[Call, Any, Response]:
        """The answer to a request; yields each call that may wait (authenticate, the stores), for the driver to make."""
        name, early = self.route(request)
        if early is not None:
            return early
        fields = self.fields(request)
        browser = name in ("login", "refresh", "logout")
        if name == "logout" and not self.csrf_ok(request):  # the refresh cookie is SameSite=Strict, its path narrow
            return oauth_error(400, "invalid_request", "CSRF token missing or wrong (X-CSRF-Token)")
        grant = "password" if name == "login" else "refresh_token" if name == "refresh" else fields.get("grant_type", "")
        jkt: str | None = None
        if name == "token" and "dpop" in request.headers:  # RFC 9449 §5: the tokens are bound to the proof's key
            checked = yield Call(self.proof, (request,))
            if isinstance(checked, Response):
                return checked
            jkt = checked
        if name in ("token", "login", "refresh") and grant == "password":
            refusal, keys = self.before_login(request, fields)
            if refusal is not None:
                return refusal
            found = yield Call(self.authenticate, (fields["username"], fields["password"]))
            failed = self.login_failed(request, keys, found, browser)
            if failed is not None:
                return failed
            sub, scope, claims = _login(found)
            pair = yield Call(self.tokens.login, (sub,), {"scope": scope, **claims, "dpop_jkt": jkt})
            return self._pair(pair, request) if browser else _json(200, pair.as_dict())
        if name in ("token", "refresh") and grant == "refresh_token":
            token = self.refresh_token(request, fields, browser)
            if isinstance(token, Response):
                return token
            outcome = yield Call(_refresh, (self.tokens, token, jkt))
            return self.refreshed(request, outcome, browser)
        if name == "token":
            return oauth_error(
                400, "unsupported_grant_type" if grant else "invalid_request", "grant_type is password or refresh_token"
            )
        if name == "revoke":
            token = fields.get("token", "")
            if not token:
                return oauth_error(400, "invalid_request", "token is required")
            if token.count(".") == 1:  # a refresh token: family.random
                yield Call(self.tokens.logout, (token, None))
            else:
                verified = self.access_claims(token)
                if verified is not None and self.tokens.revocation is not None:
                    yield Call(self.tokens.logout, (None, verified))
            return _json(200, None)  # RFC 7009 §2.2: also for a token that was never valid
        access = self.access_claims(self.bearer(request))  # logout
        yield Call(self.tokens.logout, (self.refresh_token(request, fields, True) if "refresh_token" in fields or
                                        self.cookie(request, "refresh_token") else None, access))  # fmt: skip
        return self.cleared(204)

    # -- refresh, revoke, logout --------------------------------------------------------------------
    def refresh_token(self, request: Request, fields: Mapping[str, str], browser: bool) -> str | Response:
        token = fields.get("refresh_token") or (self.cookie(request, "refresh_token") if browser else None)
        return token or oauth_error(400, "invalid_request", "refresh_token is required")

    def refreshed(self, request: Request, outcome: TokenPair | RefreshRejected, browser: bool) -> Response:
        if isinstance(outcome, RefreshRejected):
            status = 401 if browser else 400
            return self._cleared(oauth_error(status, "invalid_grant", f"refresh token {outcome.reason}")) if browser else (
                oauth_error(status, "invalid_grant", f"refresh token {outcome.reason}")
            )  # fmt: skip
        return self._pair(outcome, request) if browser else _json(200, outcome.as_dict())

    def access_claims(self, token: str | None) -> Mapping[str, Any] | None:
        """An access token's verified claims, or ``None`` (RFC 7009: an invalid token is no error)."""
        if not token:
            return None
        try:
            return self.verifier.verify(token)
        except (AuthError, Exception):
            return None

    def proof(self, request: Request) -> str | Response:
        """The thumbprint of a token request's DPoP proof, or the RFC 9449 §5 error (400 ``invalid_dpop_proof``).

        The proof's ``htu`` is this endpoint's public URL (``base_url`` and the path). Called
        through the driver, so a Redis replay cache is never waited on in an event loop.
        """
        policy = self.dpop
        try:
            proof = policy.check(
                split_proofs(request.headers["dpop"]), method=request.method, url=self.base_url + request.path, record=True
            )
        except _dpop.ProofRejected as exc:
            self._event("token.refused", exc.reason, "", request)
            nonce = () if policy.nonces is None else (("dpop-nonce", policy.nonces.current()),)
            return oauth_error(400, exc.error or "invalid_dpop_proof", exc.description, *nonce)
        return proof.jkt

    def bearer(self, request: Request) -> str | None:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "dpop") and credential.strip():
            return credential.strip()
        return self.cookie(request, "access_token")

    def csrf_ok(self, request: Request) -> bool:
        """The browser mode's double submit: a cookie-borne request repeats the CSRF cookie in a header."""
        if self.cookie(request, "access_token") is None:
            return True
        sent, expected = request.headers.get("x-csrf-token", ""), self.cookie(request, "csrf_token") or ""
        return bool(sent) and sent == expected

    # -- answers ---------------------------------------------------------------------------------------
    def _pair(self, pair: TokenPair, request: Request) -> Response:
        body = pair.as_dict()
        if request.headers.get("x-token-delivery") == "cookie":  # a browser page: tokens only in HttpOnly cookies
            body = {"token_type": "Bearer", "expires_in": pair.expires_in, "scope": pair.scope}
        response = _json(200, body)
        response.headers.append(
            ("set-cookie", cookies.access_cookie(pair.access_token, max_age=pair.expires_in, secure=self.secure))
        )
        refresh = cookies.refresh_cookie(pair.refresh_token, path=self.base_path or "/", secure=self.secure)
        response.headers.append(("set-cookie", refresh))
        response.headers.append(("set-cookie", cookies.csrf_cookie(cookies.new_csrf_token(), secure=self.secure)))
        return response

    def _cleared(self, response: Response) -> Response:
        for name, path in (("access_token", "/"), ("refresh_token", self.base_path or "/"), ("csrf_token", "/")):
            response.headers.append(("set-cookie", cookies.clear_cookie(name, path=path, secure=self.secure)))
        return response

    def cleared(self, status: int) -> Response:
        return self._cleared(Response(status, [("cache-control", "no-store")]))

    def _event(self, kind: str, reason: str, username: str, request: Request) -> None:
        events = self.tokens.events
        events.emit(
            AuthEvent(kind, reason, self.tokens.issuer.issuer, events.subject(username), request.path, self.client(request))
        )


def _login(found: Any) -> tuple[str, str | None, dict[str, Any]]:
    if isinstance(found, str):
        return found, None, {}
    if isinstance(found, Mapping) and isinstance(found.get("sub"), str):
        claims = {k: v for k, v in found.items() if k not in ("sub", "scope")}
        scope = found.get("scope")
        return found["sub"], scope if isinstance(scope, str) else None, claims
    raise TypeError("authenticate returns None, a subject, or a mapping with 'sub'")


class Call(NamedTuple):
    """A call the core asks its driver to make: ``fn(*args, **kwargs)``, awaited or in a thread under ASGI."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = {}


def _refresh(tokens: TokenService, token: str, jkt: str | None = None) -> TokenPair | RefreshRejected:
    """A refresh whose refusal is a value, so that it crosses the generator as one."""
    try:
        return tokens.refresh(token, jkt)
    except RefreshRejected as exc:
        return exc
