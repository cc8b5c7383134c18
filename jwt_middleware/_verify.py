"""The verifier: parse once, gate the algorithm, choose the key, check the signature with
PyJWT's algorithm objects, apply the claim policy, remember the result.

Only the key lookup may wait on I/O, so ``verify`` (threads) and ``verify_async`` (asyncio)
share every other step.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from jwt.algorithms import Algorithm, get_default_algorithms

from . import _claims, _jose
from ._errors import InvalidToken, RevocationUnavailable
from ._identity import Identity
from ._jwks import remote_or_static
from ._keys import KeySet, KeySource, VerificationKey
from ._revocation import RevocationStore
from ._settings import Provider, Settings

log = logging.getLogger("jwt_middleware")
MAX_KEY_TRIES = 8
_ALGORITHMS: dict[str, Algorithm] = {name: alg for name, alg in get_default_algorithms().items() if name != "none"}
KeySourceFactory = Callable[[Provider], KeySource]


class _Verified(NamedTuple):
    """A cache entry: what must be re-checked on every request, and what may not change."""

    identity: Identity
    exp: float | None
    nbf: float | None
    iat: float | None
    provider: Provider
    source: KeySource
    key: VerificationKey


class _Pending(NamedTuple):
    parsed: _jose.ParsedToken
    provider: Provider
    source: KeySource
    digest: bytes


class Verifier:
    """Verifies compact JWS tokens against the settings' providers."""

    def __init__(self, settings: Settings, key_source: KeySourceFactory = remote_or_static) -> None:
        self.settings = settings
        self._sources = [(p, key_source(p)) for p in settings.resolved_providers]
        self._by_issuer = {iss: ps for ps in self._sources for iss in ps[0].issuers or ()}
        self._single = self._sources[0] if len(self._sources) == 1 else None
        self._cache: OrderedDict[bytes, _Verified] = OrderedDict()
        self._cache_size = settings.token_cache_size
        self._cache_lock = threading.Lock()
        self._claims_check = settings.claims_check
        self._grant_paths = (settings.scope_claims, settings.role_claims)
        self._revocation = settings.revocation
        self._store = settings.revocation if isinstance(settings.revocation, RevocationStore) else None
        self._fail_open = settings.revocation_fail_open

    def health(self) -> list[dict[str, Any]]:
        """One snapshot per provider: key source state, key ids, last fetch and failures."""
        return [source.health() for _, source in self._sources]

    def verify(self, token: str, now: float | None = None) -> _claims.Claims:
        """The verified claims (read-only), or raises ``InvalidToken``/``KeySourceUnavailable``."""
        return self.identify(token, now).claims

    def identify(self, token: str, now: float | None = None) -> Identity:
        """The token's identity (claims, scopes, roles); every check, revocation included."""
        now = time.time() if now is None else now
        step = self._begin(token, now)
        if isinstance(step, _Pending):
            kid = step.parsed.kid
            keyset = step.source.current(kid)
            if keyset is None:
                keyset = step.source.wait(kid)
            step = self._finish(step, keyset, now)
        if self._revocation is not None:
            self._revoked(step.claims, self._ask_revocation(step.claims))
        return step

    async def verify_async(self, token: str, now: float | None = None) -> _claims.Claims:
        return (await self.identify_async(token, now)).claims

    async def identify_async(self, token: str, now: float | None = None) -> Identity:
        now = time.time() if now is None else now
        step = self._begin(token, now)
        if isinstance(step, _Pending):
            kid = step.parsed.kid
            keyset = step.source.current(kid)
            if keyset is None:
                keyset = await step.source.wait_async(kid)
            step = self._finish(step, keyset, now)
        if self._revocation is not None:
            self._revoked(step.claims, await self._ask_revocation_async(step.claims))
        return step

    def _ask_revocation(self, claims: _claims.Claims) -> bool | BaseException:
        try:
            if self._store is not None:
                return bool(self._store.is_revoked(claims))
            answer = self._revocation(claims)
            if inspect.isawaitable(answer):
                if inspect.iscoroutine(answer):
                    answer.close()
                raise TypeError("an async revocation hook cannot run in a WSGI (threaded) request")
            return bool(answer)
        except Exception as exc:  # the store or the hook failed: the outage policy decides
            return exc

    async def _ask_revocation_async(self, claims: _claims.Claims) -> bool | BaseException:
        try:
            if self._store is not None:
                return bool(await self._store.is_revoked_async(claims))
            answer = self._revocation(claims)
            return bool(await answer) if inspect.isawaitable(answer) else bool(answer)
        except Exception as exc:  # the store or the hook failed: the outage policy decides
            return exc

    def _revoked(self, claims: _claims.Claims, answer: bool | BaseException) -> None:
        if answer is True:
            raise InvalidToken("revoked", "token has been revoked")
        if isinstance(answer, BaseException):
            if self._fail_open:
                log.warning("revocation check failed; token let through (reason=revocation_unavailable, policy=fail_open)")
                return
            log.warning("revocation check failed; request refused (reason=revocation_unavailable)", exc_info=answer)
            retry = answer.retry_after if isinstance(answer, RevocationUnavailable) else 1
            raise RevocationUnavailable("revocation_unavailable", "revocation store is unavailable", retry) from answer

    def _begin(self, token: str, now: float) -> Identity | _Pending:
        raw = _jose.compact(token)
        digest = hashlib.sha256(raw).digest()
        hit = self._cache.get(digest)
        if hit is not None:
            identity = self._recheck(digest, hit, now)
            if identity is not None:
                return identity
        parsed = _jose.parse(raw)
        provider, source = self._provider_for(parsed.claims)
        if parsed.alg not in provider.algorithms:
            raise InvalidToken("alg_not_allowed", "token algorithm is not accepted")
        return _Pending(parsed, provider, source, digest)

    def _recheck(self, digest: bytes, hit: _Verified, now: float) -> Identity | None:
        """The cached claims if still good; ``None`` sends the token down the full path."""
        keyset = hit.source.current(hit.key.kid)
        if keyset is None:
            return None
        try:
            if hit.key not in keyset:
                raise InvalidToken("unknown_key", "the token's key is no longer trusted")
            _claims.check_times(hit.exp, hit.nbf, hit.iat, hit.provider.leeway, now)
        except InvalidToken:
            self._cache.pop(digest, None)
            raise
        return hit.identity

    def _provider_for(self, claims: Mapping[str, Any]) -> tuple[Provider, KeySource]:
        if self._single is not None:
            return self._single
        iss = claims.get("iss")
        found = self._by_issuer.get(iss) if isinstance(iss, str) else None
        if found is None:
            raise InvalidToken("unknown_issuer", "token issuer is not accepted")
        return found

    def _finish(self, step: _Pending, keyset: KeySet, now: float) -> Identity:
        parsed, provider = step.parsed, step.provider
        key = _check_signature(parsed, keyset)
        exp, nbf, iat = _claims.check_claims(parsed.claims, provider, now)
        identity = Identity(_claims.freeze(parsed.claims), *self._grant_paths)
        self._run_claims_check(identity.claims)
        self._remember(step.digest, _Verified(identity, exp, nbf, iat, provider, step.source, key))
        return identity

    def _run_claims_check(self, claims: _claims.Claims) -> None:
        if self._claims_check is None:
            return
        try:
            verdict = self._claims_check(claims)
        except InvalidToken:
            raise
        except Exception as exc:
            log.exception("claims_check raised; token refused (reason=claims_check_error)")
            raise InvalidToken("claims_rejected", "token claims were not accepted") from exc
        if verdict is False:
            raise InvalidToken("claims_rejected", "token claims were not accepted")

    def _remember(self, digest: bytes, entry: _Verified) -> None:
        if not self._cache_size:
            return
        with self._cache_lock:
            while len(self._cache) >= self._cache_size:
                self._cache.popitem(last=False)  # FIFO, O(1); next(iter(dict)) degrades to O(n) here
            self._cache[digest] = entry


def _check_signature(parsed: _jose.ParsedToken, keyset: KeySet) -> VerificationKey:
    kid = parsed.kid
    candidates = keyset.candidates(kid, parsed.alg)
    if not candidates:
        raise InvalidToken("unknown_key", "no trusted key matches the token's kid and alg")
    if kid is not None and sum(1 for k in candidates if k.kid == kid) > 1:
        raise InvalidToken("ambiguous_key", "the token's kid names more than one key")
    algorithm = _ALGORITHMS[parsed.alg]
    for key in candidates[:MAX_KEY_TRIES]:
        try:
            if algorithm.verify(parsed.signing_input, key.key, parsed.signature):
                return key
        except (ValueError, TypeError):
            continue
    raise InvalidToken("bad_signature", "signature does not verify")
