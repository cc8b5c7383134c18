"""The grants: the token endpoint (RFC 6749 ``password`` and ``refresh_token``, DPoP-bound when the
request carries a proof, RFC 9449 §5) and revocation (RFC 7009). Each is a flow that yields every call
that may wait, for the ASGI or WSGI driver to make."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any

from ..core import dpop as _dpop
from ..core.errors import AuthError
from ..gate.finder import split_proofs
from ..issuing.refresh import RefreshRejected, TokenPair, TokenService
from .messages import Call, Request, Response, cookie, json_answer, oauth_error

if TYPE_CHECKING:
    from .endpoints import AuthEndpoints

__all__ = ["access_claims", "password", "refresh_token", "revoke", "token"]
Flow = Generator[Call, Any, Any]


def token(endpoints: AuthEndpoints, request: Request, fields: Mapping[str, str]) -> Flow:
    """``POST {base_path}/token``: the password or the refresh-token grant, answered as RFC 6749 §5.1/§5.2."""
    grant, jkt = fields.get("grant_type", ""), None
    if "dpop" in request.headers:  # RFC 9449 §5: the tokens are bound to the proof's key
        checked = yield Call(proof, (endpoints, request))
        if isinstance(checked, Response):
            return checked
        jkt = checked
    if grant == "password":
        pair = yield from password(endpoints, request, fields, jkt, browser=False)
        return pair if isinstance(pair, Response) else json_answer(200, pair.as_dict())
    if grant == "refresh_token":
        presented = refresh_token(request, fields, browser=False)
        if isinstance(presented, Response):
            return presented
        outcome = yield Call(_refresh, (endpoints.tokens, presented, jkt))
        if isinstance(outcome, RefreshRejected):
            return oauth_error(400, "invalid_grant", f"refresh token {outcome.reason}")
        return json_answer(200, outcome.as_dict())
    return oauth_error(400, "unsupported_grant_type" if grant else "invalid_request", "grant_type is password or refresh_token")


def password(endpoints: AuthEndpoints, request: Request, fields: Mapping[str, str], jkt: str | None, browser: bool) -> Flow:
    """The password grant, shared with the browser's login: a ``TokenPair``, or the refusal (a ``Response``)."""
    refusal, keys = before_login(endpoints, request, fields)
    if refusal is not None:
        return refusal
    found = yield Call(endpoints.authenticate, (fields["username"], fields["password"]))
    failed = login_failed(endpoints, request, keys, found, browser)
    if failed is not None:
        return failed
    sub, scope, claims = _login(found)
    return (yield Call(endpoints.tokens.login, (sub,), {"scope": scope, **claims, "dpop_jkt": jkt}))


def before_login(endpoints: AuthEndpoints, request: Request, fields: Mapping[str, str]) -> tuple[Response | None, list[str]]:
    """Check the request and the throttle; returns a refusal, or the throttle keys to count against."""
    username, secret = fields.get("username", ""), fields.get("password", "")
    if not username or not secret:
        return oauth_error(400, "invalid_request", "username and password are required"), []
    keys = [f"account:{username}", f"address:{endpoints.client(request) or '-'}"]
    account, address, window = endpoints.limits
    wait = endpoints.throttle.blocked([(keys[0], account), (keys[1], address)], window)
    if wait > 0:
        endpoints.event("login.throttled", "throttled", username, request)
        retry = ("retry-after", str(max(1, int(wait + 0.999))))
        return oauth_error(429, "slow_down", "too many failed logins; try again later", retry), keys
    return None, keys


def login_failed(endpoints: AuthEndpoints, request: Request, keys: list[str], found: Any, browser: bool) -> Response | None:
    """Count the outcome; the refusal for wrong credentials, ``None`` for a good login."""
    username = keys[0].removeprefix("account:")
    if found is None:
        endpoints.throttle.failed(keys, endpoints.limits[2])
        endpoints.event("login.failed", "invalid_credentials", username, request)
        return oauth_error(401 if browser else 400, "invalid_grant", "wrong username or password")
    endpoints.throttle.succeeded(keys[0])
    return None


def revoke(endpoints: AuthEndpoints, request: Request, fields: Mapping[str, str]) -> Flow:
    """``POST {base_path}/revoke`` (RFC 7009): 200 also for a token that was never valid (§2.2)."""
    presented = fields.get("token", "")
    if not presented:
        return oauth_error(400, "invalid_request", "token is required")
    if presented.count(".") == 1:  # a refresh token: family.random
        yield Call(endpoints.tokens.logout, (presented, None))
    else:
        verified = access_claims(endpoints, presented)
        if verified is not None and endpoints.tokens.revocation is not None:
            yield Call(endpoints.tokens.logout, (None, verified))
    return json_answer(200, None)


def refresh_token(request: Request, fields: Mapping[str, str], browser: bool) -> str | Response:
    """The refresh token presented (the field, or in the browser mode the cookie), or the refusal."""
    presented = fields.get("refresh_token") or (cookie(request, "refresh_token") if browser else None)
    return presented or oauth_error(400, "invalid_request", "refresh_token is required")


def access_claims(endpoints: AuthEndpoints, presented: str | None) -> Mapping[str, Any] | None:
    """An access token's verified claims, or ``None`` (RFC 7009: an invalid token is no error)."""
    if not presented:
        return None
    try:
        return endpoints.verifier.verify(presented)
    except (AuthError, Exception):
        return None


def proof(endpoints: AuthEndpoints, request: Request) -> str | Response:
    """The thumbprint of a token request's DPoP proof, or the RFC 9449 §5 error (400 ``invalid_dpop_proof``).

    The proof's ``htu`` is this endpoint's public URL (``base_url`` and the path). Called
    through the driver, so a Redis replay cache is never waited on in an event loop.
    """
    policy = endpoints.dpop
    try:
        checked = policy.check(
            split_proofs(request.headers["dpop"]), method=request.method, url=endpoints.base_url + request.path, record=True
        )
    except _dpop.ProofRejected as exc:
        endpoints.event("token.refused", exc.reason, "", request)
        nonce = () if policy.nonces is None else (("dpop-nonce", policy.nonces.current()),)
        return oauth_error(400, exc.error or "invalid_dpop_proof", exc.description, *nonce)
    return checked.jkt


def _login(found: Any) -> tuple[str, str | None, dict[str, Any]]:
    if isinstance(found, str):
        return found, None, {}
    if isinstance(found, Mapping) and isinstance(found.get("sub"), str):
        claims = {k: v for k, v in found.items() if k not in ("sub", "scope")}
        scope = found.get("scope")
        return found["sub"], scope if isinstance(scope, str) else None, claims
    raise TypeError("authenticate returns None, a subject, or a mapping with 'sub'")


def _refresh(tokens: TokenService, presented: str, jkt: str | None = None) -> TokenPair | RefreshRejected:
    """A refresh whose refusal is a value, so that it crosses the generator as one."""
    try:
        return tokens.refresh(presented, jkt)
    except RefreshRejected as exc:
        return exc
