"""The grants: the token endpoint (RFC 6749 ``password`` and ``refresh_token``, DPoP-bound when the
request carries a proof, RFC 9449 §5) and revocation (RFC 7009). Each is a flow that yields every call
that may wait, for the ASGI or WSGI driver to make."""

from __future__ import annotations

import inspect
import secrets
from collections.abc import Mapping
from typing import Any

from ..core import dpop as _dpop
from ..core.flow import Call, Flow
from ..core.stores import store_call
from ..gate.finder import split_proofs
from ..issuing.refresh import RefreshRejected, TokenPair
from .messages import Request, Response, json_answer, oauth_error
from .service import Service
from .throttle import MAX_USERNAME_LENGTH, account_key, address_key, normalised_username

__all__ = ["access_claims", "password", "refresh_token", "refreshing", "revoke", "token"]


def token(endpoints: Service, request: Request, fields: Mapping[str, str]) -> Flow[Any]:
    """``POST {base_path}/token``: the password or the refresh-token grant, answered as RFC 6749 §5.1/§5.2."""
    grant, checked = fields.get("grant_type", ""), None
    if "dpop" in request.headers:  # RFC 9449 §5: the tokens are bound to the proof's key
        found = proof(endpoints, request)
        if isinstance(found, Response):
            return found
        checked = found
    if grant == "password":
        pair = yield from password(endpoints, request, fields, checked, browser=False)
        return pair if isinstance(pair, Response) else json_answer(200, pair.as_dict())
    if grant == "refresh_token":
        presented = refresh_token(fields)
        if isinstance(presented, Response):
            return presented
        outcome = yield from refreshing(endpoints, presented, None if checked is None else checked.jkt)
        if isinstance(outcome, RefreshRejected):
            return oauth_error(400, "invalid_grant", f"refresh token {outcome.reason}")
        spent = yield from claimed(endpoints, request, checked)  # recorded once the refresh token proved good
        if spent is not None:  # a replayed proof with a live refresh token: the new pair never leaves, its family ends
            yield logout(endpoints, outcome.refresh_token, None)
            return spent
        return json_answer(200, outcome.as_dict())
    return oauth_error(400, "unsupported_grant_type" if grant else "invalid_request", "grant_type is password or refresh_token")


def password(
    endpoints: Service, request: Request, fields: Mapping[str, str], checked: _dpop.VerifiedProof | None, browser: bool
) -> Flow[Any]:
    """The password grant, shared with the browser's login: a ``TokenPair``, or the refusal (a ``Response``).

    ``checked``: the request's DPoP proof, checked but not yet recorded: its ``jti`` is claimed
    only once the credentials passed, so failed logins never fill the replay cache.
    """
    username, secret = fields.get("username", ""), fields.get("password", "")
    if not username or not secret:
        return oauth_error(400, "invalid_request", "username and password are required")
    if len(username) > MAX_USERNAME_LENGTH:  # limits before work: the throttle and authenticate never see it
        return oauth_error(400, "invalid_request", f"username is longer than {MAX_USERNAME_LENGTH} characters")
    name = normalised_username(username)  # one account, one budget, one name in events: ``Alice`` is ``alice``
    keys = [account_key(name), address_key(endpoints.client(request))]
    wait, attempt = yield from _admitted(endpoints, keys)
    if wait > 0:  # a correct password waits too: otherwise its answer would tell a guesser
        endpoints.event("login.throttled", "throttled", name, request)
        retry = ("retry-after", str(max(1, int(wait + 0.999))))
        return oauth_error(429, "slow_down", "too many failed logins; try again later", retry)
    found = yield _authenticate(endpoints.authenticate, username, secret)
    yield from _settled(endpoints, keys, attempt, found is not None)
    if found is None:
        endpoints.event("login.failed", "invalid_credentials", name, request)
        return oauth_error(401 if browser else 400, "invalid_grant", "wrong username or password")
    spent = yield from claimed(endpoints, request, checked)
    if spent is not None:
        return spent
    sub, scope, claims = _login(found)
    tokens = endpoints.tokens
    kwargs = {"scope": scope, **claims, "dpop_jkt": None if checked is None else checked.jkt}
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


def proof(endpoints: Service, request: Request) -> _dpop.VerifiedProof | Response:
    """A token request's DPoP proof checked (its ``jti`` not yet recorded: see ``claimed``), or the
    RFC 9449 §5 error (400 ``invalid_dpop_proof``). Its ``htu`` is this endpoint's public URL
    (``base_url`` and the path).
    """
    policy = endpoints.dpop
    try:
        return policy.check(split_proofs(request.headers["dpop"]), method=request.method, url=endpoints.base_url + request.path)
    except _dpop.ProofRejected as exc:
        return _proof_refused(endpoints, request, exc)


def claimed(endpoints: Service, request: Request, checked: _dpop.VerifiedProof | None) -> Flow[Response | None]:
    """Record a checked proof's ``jti`` in the replay cache (through the driver, so a Redis cache never
    blocks an event loop): ``None``, or the refusal of a replayed proof. A cache that cannot answer
    raises, and the app answers 503."""
    if checked is None:
        return None
    replay = endpoints.dpop.replay
    try:
        fresh = yield store_call(replay.claim, checked.replay_key, checked.replay_until)
    except _dpop.ProofRejected as exc:  # a full memory cache refuses rather than forget
        return _proof_refused(endpoints, request, exc)
    return None if fresh else _proof_refused(endpoints, request, _dpop.replayed())


def _proof_refused(endpoints: Service, request: Request, exc: _dpop.ProofRejected) -> Response:
    endpoints.event("token.refused", exc.reason, "", request)
    policy = endpoints.dpop
    nonce = () if policy.nonces is None else (("dpop-nonce", policy.nonces.current()),)
    return oauth_error(400, exc.error or "invalid_dpop_proof", exc.description, *nonce)


def _admitted(endpoints: Service, keys: list[str]) -> Flow[tuple[float, str | None]]:
    """Count this attempt before ``authenticate`` (``admit``): the seconds to wait (0: go on), and the attempt's id.

    A throttle of the earlier form (no ``admit``) is only asked ``blocked``, and the id is ``None``.
    """
    account_limit, address_limit, window = endpoints.limits
    limits = [(keys[0], account_limit), (keys[1], address_limit)]
    if not callable(getattr(endpoints.throttle, "admit", None)):
        return (yield _throttle(endpoints, "blocked", limits, window)), None
    attempt = secrets.token_hex(16)
    return (yield _throttle(endpoints, "admit", limits, window, attempt)), attempt


def _settled(endpoints: Service, keys: list[str], attempt: str | None, passed: bool) -> Flow[None]:
    """After ``authenticate``: a good login takes its attempt back and clears the account's count; a failed
    one stays counted (``admit`` counted it; a throttle of the earlier form is told ``failed`` now)."""
    if attempt is None:
        yield _throttle(endpoints, "succeeded", keys[0]) if passed else _throttle(endpoints, "failed", keys, endpoints.limits[2])
    elif passed:
        yield _throttle(endpoints, "release", keys[0], keys[1:], attempt)


def _throttle(endpoints: Service, name: str, *args: Any) -> Call:
    """A throttle call: awaited where the throttle has ``<name>_async``, else in a worker thread."""
    return store_call(getattr(endpoints.throttle, name), *args)


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
