"""The verifier: parse once, gate the algorithm, choose the key, check the signature with
PyJWT's algorithm objects, apply the claim policy, remember the result.

Only the key lookup and the revocation store may wait, so ``identification`` is one flow
that yields those two steps; ``identify``/``verify`` drive it in a thread and
``identify_async``/``verify_async`` on an event loop (``core.flow``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple

from ..config.settings import Provider, Settings
from ..core import claims as _claims
from ..core import jose as _jose
from ..core.errors import InvalidToken, KeySourceUnavailable, RevocationUnavailable
from ..core.events import Outage
from ..core.flow import Call, Decision, Flow, run, run_async
from ..core.identity import Identity
from ..core.keys import HMAC_MIN_BYTES, SIGNATURE_ALGORITHMS, KeySet, KeySource, StaticKeys, VerificationKey
from ..core.revocation import RevocationStore
from ..keysets.remote import remote_or_static

log = logging.getLogger("jwt_middleware")
MAX_KEY_TRIES = 8
MAX_HEADERS = 64  # distinct header segments remembered (an issuer uses one per key)
KeySourceFactory = Callable[[Provider], KeySource]
_JWE = InvalidToken("unsupported_token", "encrypted tokens (JWE) are not accepted")
_NOT_THREE = InvalidToken("malformed_token", "a token has three segments")


# A cache entry, as a plain tuple (built on every miss, so no NamedTuple constructor):
# (identity, exp, nbf, iat, provider, source, key, keyset): what must be re-checked on every
# request, and what may not change (the key must stay in the source's current set).
_Verified = tuple[Identity, float | None, float | None, float | None, Provider, KeySource, VerificationKey, KeySet, str]
TAIL = 22  # characters of a token's signature an entry keeps, to confirm a hit on its hash (about 128 bits)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _secret_hash() -> bool:
    """Whether ``hash(str)`` is a 64-bit SipHash under a key nobody else knows: not on a 32-bit build,
    nor when ``PYTHONHASHSEED`` fixes the key (then the cache keys by SHA-256, as it once always did)."""
    seed = os.environ.get("PYTHONHASHSEED", "random")
    return sys.hash_info.width >= 64 and sys.hash_info.algorithm.startswith("siphash") and seed in ("", "random")


_cache_key: Callable[[str], Hashable] = hash if _secret_hash() else _digest


class _Pending(NamedTuple):
    """A token read and gated, waiting for its keys."""

    header: _jose.Header
    claims: _claims.Claims
    signing_input: bytes
    signature: bytes
    provider: Provider
    source: KeySource
    token: str
    fallback: KeySource | None  # where to look next if ``source`` (local keys) has no key that verifies


class Verifier:
    """Verifies compact JWS tokens against the settings' providers, without HTTP.

    Args:
        settings: a validated ``Settings`` (``load_settings(...)``).
        key_source: builds each provider's key source; the default uses the remote JWKS
            where ``jwks_url`` or ``oidc_discovery`` is set, else the static keys.
    """

    def __init__(self, settings: Settings, key_source: KeySourceFactory = remote_or_static) -> None:
        self.settings = settings
        # A remote provider's own local keys (secret, pinned keys) verify without the remote set.
        self._sources = [(p, key_source(p), _local_keys(p)) for p in settings.resolved_providers]
        self._by_issuer = {iss: ps for ps in self._sources for iss in ps[0].issuers or ()}
        self._single = self._sources[0] if len(self._sources) == 1 else None
        self._cache: OrderedDict[Hashable, _Verified] = OrderedDict()  # _cache_key(token) -> what it proved; bounded
        self._cache_size = settings.token_cache_size
        self._cache_lock = threading.Lock()
        self._headers: dict[bytes, _jose.Header] = {}  # header segment -> what it says
        self._bad_headers: dict[str, InvalidToken] = {}  # header segment (as refusal() sees it) -> its refusal
        self._claims_check = settings.claims_check
        self._grant_paths = (settings.scope_claims, settings.role_claims)
        self.revokes = settings.revocation is not None
        self._revocation_call = _revocation_call(settings.revocation)
        self._fail_open = settings.revocation_fail_open
        consequence = "tokens let through (policy=fail_open)" if self._fail_open else "requests refused"
        self._outage = Outage("revocation check", "revocation_unavailable", consequence)

    def health(self) -> list[dict[str, Any]]:
        """One snapshot per provider: key source state, key ids, last fetch and failures."""
        return [source.health() for _, source, _ in self._sources]

    def expires_at(self, claims: Mapping[str, Any]) -> float | None:
        """When verified claims stop being valid: ``exp`` plus the provider's ``leeway`` (``None`` without ``exp``).

        Args:
            claims: claims this verifier accepted.
        """
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return None
        return float(exp) + (self._single or self._provider_for(claims))[0].leeway

    def identification(self, token: str, now: float | None = None) -> Decision[Identity]:
        """The token's identity (claims, scopes, roles) after every check, revocation included: at
        once when nothing waits, else a flow that yields the steps that may (a key fetch, the
        revocation store). ``run`` or ``run_async`` take either.

        Args:
            token: the compact JWS.
            now: the time to check against (Unix seconds); default the clock.
        """
        now = time.time() if now is None else now
        step = self.start(token, now)
        return step if type(step) is Identity and not self.revokes else self.completion(step, now)

    def completion(self, step: Identity | _Pending, now: float) -> Flow[Identity]:
        """The rest of ``identification`` after ``start``: the keys (fetched if need be), the
        signature and claims, then the revocation check.

        Args:
            step: what ``start`` returned.
            now: the same time as for ``start``.
        """
        while isinstance(step, _Pending):  # ``start`` went as far as the keys at hand: these must be fetched
            kid = step.header.kid
            keyset = yield Call(step.source.wait, (kid,), step.source.wait_async)
            step = self._advance(self._finish(step, keyset, now), now)
        if self.revokes:
            try:
                ask, ask_async, blocking = self._revocation_call
                answer: bool | BaseException = bool((yield Call(ask, (step.claims,), ask_async, blocking)))
            except Exception as exc:  # the store or the hook failed: the outage policy decides
                answer = exc
            self._revoked(step.claims, answer)
        return step

    def identify(self, token: str, now: float | None = None) -> Identity:
        """``identification``, driven in this thread.

        Args:
            token: the compact JWS.
            now: the time to check against (Unix seconds); default the clock.
        """
        return run(self.identification(token, now))

    async def identify_async(self, token: str, now: float | None = None) -> Identity:
        """``identification``, driven on the event loop: a key fetch or revocation check is awaited.

        Args:
            token: the compact JWS.
            now: the time to check against; default the clock.
        """
        return await run_async(self.identification(token, now))

    def verify(self, token: str, now: float | None = None) -> _claims.Claims:
        """The verified claims (read-only), or raises ``InvalidToken``/``KeySourceUnavailable``.

        Args:
            token: the compact JWS.
            now: the time to check against (Unix seconds); default the clock.
        """
        return self.identify(token, now).claims

    async def verify_async(self, token: str, now: float | None = None) -> _claims.Claims:
        """``verify`` for asyncio: a key fetch or revocation check is awaited, never blocking the loop.

        Args:
            token: the compact JWS.
            now: the time to check against; default the clock.
        """
        return (await self.identify_async(token, now)).claims

    def _revoked(self, claims: _claims.Claims, answer: bool | BaseException) -> None:
        if answer is True:
            raise InvalidToken("revoked", "token has been revoked")
        if isinstance(answer, BaseException):
            self._outage.failed(answer)  # logged when the store goes down, not once per request
            if self._fail_open:
                return
            retry = answer.retry_after if isinstance(answer, RevocationUnavailable) else 1
            raise RevocationUnavailable("revocation_unavailable", "revocation store is unavailable", retry) from answer
        if self._outage.down:
            self._outage.recovered()

    def start(self, token: str, now: float) -> Identity | _Pending:
        """Every check that needs no waiting: the token's identity (from the cache, time claims
        re-checked, or verified with keys at hand), or the token parsed and gated, waiting for
        its keys to be fetched. ``completion`` does the rest (a key fetch, revocation); a caller
        may skip it when ``start`` gave an identity and ``revokes`` is false.

        Args:
            token: the compact JWS.
            now: the time to check against (Unix seconds).
        """
        identity = self.recall(token, now)
        if identity is not None:
            return identity
        return self._advance(self._begin(_jose.ascii_bytes(token), token, now), now)

    def _advance(self, step: Identity | _Pending, now: float) -> Identity | _Pending:
        """Verify with the keys at hand (a local key, a warm key set); a step still pending needs a fetch."""
        while type(step) is _Pending:
            keyset = step.source.current(step.header.kid)
            if keyset is None:
                return step
            step = self._finish(step, keyset, now)
        return step

    def recall(self, token: str, now: float) -> Identity | None:
        """The identity of a token in the cache, its time claims re-checked (``InvalidToken`` when they
        fail, or its key has left the key set); ``None`` when the token is not there.

        Args:
            token: the compact JWS.
            now: the time to check against (Unix seconds).
        """
        if not self._cache_size:  # a token in the cache passed every check of ``start`` when it went in
            return None
        hit = self._cache.get(_cache_key(token))
        if hit is None or not token.endswith(hit[8]):
            return None
        return self._recheck(token, hit, now)

    def _begin(self, raw: bytes, token: str, now: float) -> _Pending:
        """A token not in the cache, parsed and gated: the keys, signature and claims are next."""
        _jose.check_shape(raw)
        head, payload, sig = raw.split(b".")
        header = self._headers.get(head)
        if header is None:  # an issuer signs every token with the same few headers: read each once
            header = self._read_header(head)
        claims = _jose.read_payload(payload)
        signature = _jose.read_signature(sig)
        provider, source, local = self._single or self._provider_for(claims)
        if header.alg not in provider.algorithms:
            raise InvalidToken("alg_not_allowed", "token algorithm is not accepted")
        if provider.token_types is not None and _jose.media_type(header.header.get("typ")) not in provider.token_types:
            raise InvalidToken("token_type_not_allowed", "token type (typ) is not accepted")
        fallback = None
        if local is not None:
            source, fallback = _local_first(header, source, local)
        return _Pending(header, claims, raw[: len(head) + 1 + len(payload)], signature, provider, source, token, fallback)

    def _read_header(self, head: bytes) -> _jose.Header:
        """Read a header segment and remember the verdict, good or bad: it depends on its bytes alone."""
        try:
            header = _jose.read_header(head)
        except InvalidToken as exc:
            if len(self._bad_headers) >= MAX_HEADERS:
                self._bad_headers.clear()
            self._bad_headers[head.decode("ascii")] = InvalidToken(exc.reason, exc.description)  # kept, never raised
            raise
        if len(self._headers) >= MAX_HEADERS:
            self._headers.clear()
        self._headers[head] = header
        return header

    def refusal(self, token: str) -> InvalidToken | None:
        """The refusal that a token's shape alone decides, returned rather than raised.

        Junk is the bulk of attack traffic and should cost next to nothing to refuse: a
        token that is not three segments, or whose header segment was already found bad.
        ``None`` means nothing is decided yet (``identify`` does every check anyway). The
        refusal returned is shared by every such token: describe it, never raise it.

        Args:
            token: the credential as found in the request.
        """
        dots = token.count(".")
        if dots != 2:
            return _JWE if dots == 4 else _NOT_THREE
        return self._bad_headers.get(token[: token.find(".")]) if self._bad_headers else None

    def _recheck(self, token: str, hit: _Verified, now: float) -> Identity | None:
        """The cached claims if still good; ``None`` sends the token down the full path."""
        identity, exp, nbf, iat, provider, source, key, trusted, _ = hit
        keyset = source.current(key.kid)
        if keyset is None:
            return None
        try:
            if keyset is not trusted and key not in keyset:  # the set it was verified with needs no look
                raise InvalidToken("unknown_key", "the token's key is no longer trusted")
            _claims.check_times(exp, nbf, iat, provider.leeway, now)
        except InvalidToken:
            self._cache.pop(_cache_key(token), None)
            raise
        return identity

    def _provider_for(self, claims: Mapping[str, Any]) -> tuple[Provider, KeySource, StaticKeys | None]:
        if self._single is not None:
            return self._single
        iss = claims.get("iss")
        found = self._by_issuer.get(iss) if isinstance(iss, str) else None
        if found is None:
            raise InvalidToken("unknown_issuer", "token issuer is not accepted")
        return found

    def _finish(self, step: _Pending, keyset: KeySet, now: float) -> Identity | _Pending:
        """The identity, or the step again with its fallback source when the local keys had none that verifies."""
        try:
            key = _check_signature(step.header, step.signing_input, step.signature, keyset)
        except InvalidToken as exc:
            if step.fallback is None or exc.reason not in ("unknown_key", "bad_signature"):
                raise
            return step._replace(source=step.fallback, fallback=None)
        exp, nbf, iat = _claims.check_claims(step.claims, step.provider, now)
        identity = Identity(step.claims, *self._grant_paths)
        if self._claims_check is not None:
            _run_claims_check(self._claims_check, identity.claims)
        if self._cache_size:
            entry = (identity, exp, nbf, iat, step.provider, step.source, key, keyset, step.token[-TAIL:])
            self._remember(_cache_key(step.token), entry)
        return identity

    def _remember(self, key: Hashable, entry: _Verified) -> None:
        with self._cache_lock:
            while len(self._cache) >= self._cache_size:
                self._cache.popitem(last=False)  # FIFO, O(1); next(iter(dict)) degrades to O(n) here
            self._cache[key] = entry


def _revocation_call(revocation: Any) -> tuple[Callable[..., Any], Callable[..., Any] | None, bool]:
    """How the verifier asks: a store's ``is_revoked`` (awaitable form ``is_revoked_async``; without
    one, the blocking form in a worker thread under asyncio), or the hook itself (awaited if async)."""
    if isinstance(revocation, RevocationStore):
        ask_async = getattr(revocation, "is_revoked_async", None)
        return revocation.is_revoked, ask_async, ask_async is None
    return (revocation, None, False) if callable(revocation) else (bool, None, False)


def _local_keys(provider: Provider) -> StaticKeys | None:
    return StaticKeys(provider.keys, provider.name) if provider.remote and provider.keys else None


def _local_first(header: _jose.Header, remote: KeySource, local: StaticKeys) -> tuple[KeySource, KeySource | None]:
    """Which keys a token of a remote provider with local keys tries first, and where it looks next.

    The local keys alone when only they can verify it (HMAC: a key set never carries one) or
    when they name its ``kid``; first, before waiting, when the remote set is not there yet
    (an identity provider outage never takes down what a local key can check); else the
    remote set, which holds the local keys too.
    """
    if not local.keyset.lookup(header.kid, header.alg)[0]:
        return remote, None
    if header.alg in HMAC_MIN_BYTES or (header.kid is not None and local.keyset.has_kid(header.kid)):
        return local, None
    try:
        ready = remote.current(header.kid) is not None
    except KeySourceUnavailable:  # down and cold: the local keys first; the remote answers 503 after them
        ready = False
    return (remote, None) if ready else (local, remote)


def _check_signature(header: _jose.Header, signing_input: bytes, signature: bytes, keyset: KeySet) -> VerificationKey:
    candidates, ambiguous = keyset.lookup(header.kid, header.alg)
    if not candidates:
        raise InvalidToken("unknown_key", "no trusted key matches the token's kid and alg")
    if ambiguous:
        raise InvalidToken("ambiguous_key", "the token's kid names more than one key")
    algorithm = SIGNATURE_ALGORITHMS[header.alg]
    for key in candidates[:MAX_KEY_TRIES]:
        try:
            if algorithm.verify(signing_input, key.key, signature):
                return key
        except (ValueError, TypeError):
            continue
    raise InvalidToken("bad_signature", "signature does not verify")


def _run_claims_check(check: Callable[[_claims.Claims], object], claims: _claims.Claims) -> None:
    try:
        verdict = check(claims)
    except InvalidToken:
        raise
    except Exception as exc:
        log.exception(
            "claims_check raised; token refused (reason=claims_check_error)", extra={"auth_reason": "claims_check_error"}
        )
        raise InvalidToken("claims_rejected", "token claims were not accepted") from exc
    if verdict is False:
        raise InvalidToken("claims_rejected", "token claims were not accepted")
