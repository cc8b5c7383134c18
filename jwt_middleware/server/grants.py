"""The grants: the token endpoint (RFC 6749 ``password`` and ``refresh_token``, DPoP-bound when the
request carries a proof, RFC 9449 §5) and revocation (RFC 7009). Each is a flow that yields every call
that may wait, for the ASGI or WSGI driver to make."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from ..core import dpop as _dpop
from ..core.flow import Call, Flow
from ..gate.finder import split_proofs
from ..issuing.refresh import RefreshRejected, TokenPair
from .messages import Request, Response, json_answer, oauth_error
from .service import Service

__all__ = ["access_claims", "password", "refresh_token", "refreshing", "revoke", "token"]


def token(endpoints: Service, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/token``: the password or the refresh-token grant, answered as RFC 6749 §5.1/§5.2."""
    grant, jkt = fields.get("grant_type", ""), None
    if "dpop" in request.headers:  # RFC 9449 §5: the tokens are bound to the proof's key
        checked = yield from proof(endpoints, request)
        if isinstance(checked, Response):
            return checked
        jkt = checked
    if grant == "password":
        pair = yield from password(endpoints, request, fields, jkt, browser=False)
        return pair if isinstance(pair, Response) else json_answer(200, pair.as_dict())
    if grant == "refresh_token":
        presented = refresh_token(fields)
        if isinstance(presented, Response):
            return presented
        outcome = yield from refreshing(endpoints, presented, jkt)
        if isinstance(outcome, RefreshRejected):
            return oauth_error(400, "invalid_grant", f"refresh token {outcome.reason}")
        return json_answer(200, outcome.as_dict())
    return oauth_error(400, "unsupported_grant_type" if grant else "invalid_request", "grant_type is password or refresh_token")


def password(endpoints: Service, request: Request, fields: Mapping[str, str], jkt: str | None, browser: bool) -> Flow[Any]:
    """The password grant, shared with the browser's login: a ``TokenPair``, or the refusal (a ``Response``)."""
    username, secret = fields.get("username", ""), fields.get("password", "")
    if not username or not secret:
        return oauth_error(400, "invalid_request", "username and password are required")
    keys = [f"account:{username}", f"address:{endpoints.client(request) or '-'}"]
    account, address, window = endpoints.limits
    wait = yield _throttle(endpoints, "blocked", [(keys[0], account), (keys[1], address)], window)
    if wait > 0:  # a correct password waits too: otherwise its answer would tell a guesser
        endpoints.event("login.throttled", "throttled", username, request)
        retry = ("retry-after", str(max(1, int(wait + 0.999))))
        return oauth_error(429, "slow_down", "too many failed logins; try again later", retry)
    found = yield _authenticate(endpoints.authenticate, username, secret)
    if found is None:
        yield _throttle(endpoints, "failed", keys, window)
        endpoints.event("login.failed", "invalid_credentials", username, request)
        return oauth_error(401 if browser else 400, "invalid_grant", "wrong username or password")
    yield _throttle(endpoints, "succeeded", keys[0])
    sub, scope, claims = _login(found)
    tokens = endpoints.tokens
    kwargs = {"scope": scope, **claims, "dpop_jkt": jkt}
    return (yield Call(tokens.login, (sub,), getattr(tokens, "login_async", None), True, kwargs))


def refreshing(endpoints: Service, presented: str, jkt: str | None) -> Flow[TokenPair | RefreshRejected]:
    """A rotation whose refusal is a value: the new ``TokenPair``, or the ``RefreshRejected``."""
    tokens = endpoints.tokens
    try:
        pair: TokenPair = yield Call(tokens.refresh, (presented, jkt), tokens.refresh_async, True)
    except RefreshRejected as exc:
        return exc
    return pair


def logout(endpoints: Service, presented: str | None, access: Mapping[str, Any] | None) -> Call:
    """The call that revokes a refresh family and an access token (either may be ``None``)."""
    tokens = endpoints.tokens
    return Call(tokens.logout, (presented, access), tokens.logout_async, True)


def revoke(endpoints: Service, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/revoke`` (RFC 7009): 200 also for a token that was never valid (§2.2)."""
    presented = fields.get("token", "")
    if not presented:
        return oauth_error(400, "invalid_request", "token is required")
    if presented.count(".") == 1:  # a refresh token: family.random
        yield logout(endpoints, presented, None)
    else:
        verified = yield from access_claims(endpoints, presented)
        if verified is not None and endpoints.tokens.revocation is not None:
            yield logout(endpoints, None, verified)
    return json_answer(200, None)


def refresh_token(fields: Mapping[str, str]) -> str | Response:
    """The refresh token the token request presents, or the refusal."""
    return fields.get("refresh_token") or oauth_error(400, "invalid_request", "refresh_token is required")


def access_claims(endpoints: Service, presented: str | None) -> Flow[Mapping[str, Any] | None]:
    """An access token's verified claims, or ``None`` (RFC 7009: an invalid token is no error)."""
    verifier = endpoints.verifier
    if not presented or len(presented) > verifier.settings.max_token_bytes:  # CVE-2025-61920: limits before work
        return None
    try:
        claims: Mapping[str, Any] = yield Call(verifier.verify, (presented,), verifier.verify_async)
    except Exception:  # invalid, revoked, or a store that cannot say: nothing to revoke
        return None
    return claims


def proof(endpoints: Service, request: Request) -> Flow[str | Response]:
    """The thumbprint of a token request's DPoP proof, or the RFC 9449 §5 error (400 ``invalid_dpop_proof``).

    The proof's ``htu`` is this endpoint's public URL (``base_url`` and the path). Its ``jti``
    is claimed in the replay cache through the driver, so a Redis replay cache is never
    waited on in an event loop; a replay cache that cannot answer is a 503.
    """
    policy = endpoints.dpop
    try:
        url = endpoints.base_url + request.path
        checked = policy.check(split_proofs(request.headers["dpop"]), method=request.method, url=url)
        replay = policy.replay
        fresh = yield Call(replay.claim, (checked.replay_key, checked.replay_until), getattr(replay, "claim_async", None), True)
        if not fresh:
            raise _dpop.replayed()
    except _dpop.ProofRejected as exc:
        endpoints.event("token.refused", exc.reason, "", request)
        nonce = () if policy.nonces is None else (("dpop-nonce", policy.nonces.current()),)
        return oauth_error(400, exc.error or "invalid_dpop_proof", exc.description, *nonce)
    return checked.jkt


def _throttle(endpoints: Service, name: str, *args: Any) -> Call:
    """A throttle call: awaited where the throttle has ``<name>_async``, else in a worker thread."""
    throttle = endpoints.throttle
    return Call(getattr(throttle, name), args, getattr(throttle, f"{name}_async", None), True)


def _authenticate(authenticate: Any, username: str, secret: str) -> Call:
    """``authenticate`` awaited when it is async, else (a password hash, a database) in a worker thread."""
    if inspect.iscoroutinefunction(authenticate) or inspect.iscoroutinefunction(type(authenticate).__call__):
        return Call(authenticate, (username, secret), authenticate)
    return Call(authenticate, (username, secret), blocking=True)


def _login(found: Any) -> tuple[str, str | None, dict[str, Any]]:
    if isinstance(found, str):
        return found, None, {}
    if isinstance(found, Mapping) and isinstance(found.get("sub"), str):
        claims = {k: v for k, v in found.items() if k not in ("sub", "scope")}
        scope = found.get("scope")
        return found["sub"], scope if isinstance(scope, str) else None, claims
    raise TypeError("authenticate returns None, a subject, or a mapping with 'sub'")
