"""The remote key-set cache's decisions, with no I/O and no clock of its own (sans-I/O).

``CachePolicy`` decides, from an immutable ``CacheState`` and the time it is given, whether
a request may use the cached keys, must wait for a fetch, or must fail (503); and what a
response means. ``RemoteKeys`` (``keysets.remote``) does the fetching.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from ..config.settings import Provider
from ..config.validate import is_loopback
from ..core import jose as _jose
from ..core.errors import InvalidToken
from ..core.keys import KeyRejected, KeySet, VerificationKey, from_jwk
from .fetch import FetchError, Response

log = logging.getLogger("jwt_middleware")
MAX_AGE_BOUNDS = (60.0, 86400.0)
MAX_BACKOFF = 30.0
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.I)


@dataclass(frozen=True, slots=True)
class CacheState:
    """Everything the policy knows; replaced whole after each fetch. Times are monotonic."""

    keyset: KeySet | None = None
    by_jwk: dict[str, VerificationKey] = field(default_factory=dict)
    jwks_url: str | None = None
    discovered_until: float = -math.inf
    etag: str | None = None
    fetched_at: float = -math.inf
    fresh_until: float = -math.inf
    refresh_at: float = -math.inf
    stale_until: float = -math.inf
    retry_at: float = -math.inf
    failures: int = 0
    last_error: str | None = None


class CachePolicy:
    """The decisions, with no I/O and no clock of its own."""

    def __init__(self, provider: Provider) -> None:
        self.p = provider

    def usable(self, st: CacheState, now: float) -> bool:
        return st.keyset is not None and now < st.stale_until

    def decide(
        self, st: CacheState, kid: str | None, now: float, *, inflight: bool, last_attempt: float, kid_missing: bool
    ) -> tuple[str, bool]:
        """``(action, start_fetch)``: action is ``use``, ``wait`` or ``fail``."""
        may_fetch = not inflight and now >= st.retry_at
        keyset = st.keyset
        if keyset is None or now >= st.stale_until:
            return ("wait", may_fetch) if inflight or may_fetch else ("fail", False)
        if kid is not None and not kid_missing and not keyset.has_kid(kid):
            if inflight:
                return "wait", False
            if may_fetch and now - last_attempt >= self.p.jwks_min_refresh_seconds:
                return "wait", True
        return "use", may_fetch and now >= st.refresh_at

    def retry_after(self, st: CacheState, now: float) -> int:
        return max(1, math.ceil(st.retry_at - now))

    def ttl(self, response: Response) -> float:
        match = _MAX_AGE.search(response.headers.get("Cache-Control", "") or "")
        if match is None:
            return self.p.jwks_cache_seconds
        low, high = MAX_AGE_BOUNDS
        return min(max(float(match.group(1)), low), high)

    def fresh(self, st: CacheState, response: Response, now: float, **changes: Any) -> CacheState:
        ttl = self.ttl(response)
        return replace(
            st,
            fetched_at=now,
            fresh_until=now + ttl,
            refresh_at=now + ttl * random.uniform(0.75, 0.9),  # noqa: S311 - jitter, not crypto
            stale_until=now + ttl + self.p.jwks_max_stale_seconds,
            retry_at=-math.inf,
            failures=0,
            last_error=None,
            **changes,
        )

    def on_response(self, st: CacheState, response: Response, now: float) -> CacheState:
        if response.status == 304 and st.keyset is not None:
            return self.fresh(st, response, now)
        if response.status != 200:
            raise FetchError("http_status", str(response.status))
        keys, by_jwk = self.parse_jwks(response.body, st.by_jwk)
        etag = response.headers.get("ETag")
        return self.fresh(st, response, now, keyset=KeySet([*self.p.keys, *keys]), by_jwk=by_jwk, etag=etag)

    def on_failure(self, st: CacheState, reason: str, now: float) -> CacheState:
        failures = st.failures + 1
        backoff = min(2.0 ** (failures - 1), MAX_BACKOFF, self.p.jwks_min_refresh_seconds)
        return replace(st, failures=failures, last_error=reason, retry_at=now + backoff)

    def parse_jwks(
        self, body: bytes, previous: dict[str, VerificationKey]
    ) -> tuple[list[VerificationKey], dict[str, VerificationKey]]:
        """The usable keys, one by one; unchanged JWKs keep their key objects."""
        members = _json(body).get("keys")
        if not isinstance(members, list):
            raise FetchError("bad_jwks", "no 'keys' list")
        if len(members) > self.p.jwks_max_keys:
            raise FetchError("too_many_keys", f"{len(members)} keys")
        keys, by_jwk = [], {}
        for jwk in members:
            canonical = json.dumps(jwk, sort_keys=True)
            try:
                key = previous.get(canonical) or from_jwk(jwk)
            except KeyRejected as exc:
                kid = jwk.get("kid") if isinstance(jwk, dict) else None
                extra = {"auth_kind": "keys.key_skipped", "auth_reason": exc.reason, "auth_issuer": self.p.name}
                log.warning("jwks key skipped (reason=%s, provider=%s, kid=%r)", exc.reason, self.p.name, kid, extra=extra)
                continue
            keys.append(key)
            by_jwk[canonical] = key
        if not keys:
            raise FetchError("no_usable_keys", "every key was skipped")
        return keys, by_jwk

    def discovered_jwks_uri(self, body: bytes) -> str:
        doc = _json(body)
        issuer = (self.p.issuers or ("",))[0]
        if doc.get("issuer") != issuer:
            raise FetchError("issuer_mismatch", "discovery document names another issuer")
        uri = doc.get("jwks_uri")
        if not isinstance(uri, str):
            raise FetchError("bad_discovery", "no jwks_uri")
        parts = urlsplit(uri)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and (self.p.jwks_allow_http or is_loopback(parts.hostname or ""))
        )
        if not secure or not parts.hostname or parts.username or parts.password:
            raise FetchError("bad_discovery", "jwks_uri is not an acceptable https URL")
        return uri


def _json(body: bytes) -> dict[str, Any]:
    try:
        return _jose.json_object(body, "document")
    except InvalidToken as exc:
        raise FetchError("bad_json", "not a JSON object") from exc


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"
