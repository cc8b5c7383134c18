"""Remote key sets (JWKS), with OIDC discovery: a sans-I/O cache core and its driver.

``CachePolicy`` decides, from an immutable ``CacheState`` and the clock, whether a request
may use the cached keys, must wait for a fetch, or must fail (503); and what a response
means. ``RemoteKeys`` does the I/O: every fetch runs in a worker thread, and one fetch in
flight is shared by every waiter, WSGI threads (``wait``) and asyncio tasks (``wait_async``,
which awaits it without blocking the event loop) alike.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import math
import random
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from . import _jose
from ._errors import InvalidToken, KeySourceUnavailable
from ._fetch import FetchError, Response, fetch
from ._keys import KeyRejected, KeySet, KeySource, StaticKeys, VerificationKey, from_jwk
from ._settings import Provider, is_loopback

log = logging.getLogger("jwt_middleware")
MAX_AGE_BOUNDS = (60.0, 86400.0)
MAX_BACKOFF = 30.0
NEGATIVE_KIDS = 1024
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
                log.warning("jwks key skipped (reason=%s, provider=%s, kid=%r)", exc.reason, self.p.name, kid)
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


class RemoteKeys:
    """A provider's remote key set: the ``KeySource`` for ``jwks_url`` and ``oidc_discovery``."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.policy = CachePolicy(provider)
        self._state = CacheState(jwks_url=provider.jwks_url)
        self._lock = threading.Lock()
        self._inflight: concurrent.futures.Future[None] | None = None
        self._last_attempt = -math.inf
        self._missing: OrderedDict[str, float] = OrderedDict()
        self.fetches = 0

    # -- KeySource -------------------------------------------------------------------
    def current(self, kid: str | None) -> KeySet | None:
        now = time.monotonic()
        st = self._state
        action, start = self.policy.decide(
            st,
            kid,
            now,
            inflight=self._inflight is not None,
            last_attempt=self._last_attempt,
            kid_missing=self._kid_missing(kid, now),
        )
        if start:
            self._start()
        if action == "fail":
            raise KeySourceUnavailable("keys_unavailable", "signing keys are unavailable", self.policy.retry_after(st, now))
        return st.keyset if action == "use" else None

    def wait(self, kid: str | None) -> KeySet:
        future = self._inflight
        if future is not None:
            with contextlib.suppress(concurrent.futures.TimeoutError):
                future.result(timeout=self._wait_limit())
        return self._settle(kid)

    async def wait_async(self, kid: str | None) -> KeySet:
        future = self._inflight
        if future is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self._wait_limit())
        return self._settle(kid)

    # -- driver ----------------------------------------------------------------------
    def _wait_limit(self) -> float:
        return 2 * self.provider.jwks_timeout_seconds + 1  # discovery, then the key set

    def _kid_missing(self, kid: str | None, now: float) -> bool:
        until = self._missing.get(kid) if kid is not None else None
        return until is not None and now < until

    def _settle(self, kid: str | None) -> KeySet:
        now = time.monotonic()
        st = self._state
        if st.keyset is None or not self.policy.usable(st, now):
            raise KeySourceUnavailable("keys_unavailable", "signing keys are unavailable", self.policy.retry_after(st, now))
        if kid is not None and not st.keyset.has_kid(kid):
            with self._lock:
                while len(self._missing) >= NEGATIVE_KIDS:
                    self._missing.popitem(last=False)
                self._missing[kid] = now + self.provider.jwks_min_refresh_seconds
        return st.keyset

    def _start(self) -> None:
        with self._lock:
            if self._inflight is not None:
                return
            future: concurrent.futures.Future[None] = concurrent.futures.Future()
            future.set_running_or_notify_cancel()  # a waiter that gives up cannot cancel it for the others
            self._inflight = future
            self._last_attempt = time.monotonic()
            self.fetches += 1
        threading.Thread(target=self._run, args=(future,), name=f"jwks-{self.provider.name}", daemon=True).start()

    def _run(self, future: concurrent.futures.Future[None]) -> None:
        try:
            self._state = self._refresh(self._state)
        except Exception:  # a bug must not leave waiters hanging
            log.exception("jwks refresh crashed (reason=internal_error, provider=%s)", self.provider.name)
        finally:
            with self._lock:
                self._inflight = None
            future.set_result(None)

    def _refresh(self, st: CacheState) -> CacheState:
        now = time.monotonic()
        try:
            st = self._discover(st, now)
            if st.jwks_url is None:
                raise FetchError("bad_discovery", "no jwks_uri")
            p = self.provider
            response = fetch(st.jwks_url, timeout=p.jwks_timeout_seconds, max_bytes=p.jwks_max_bytes, etag=st.etag)
            new = self.policy.on_response(st, response, now)
        except FetchError as exc:
            log.warning("jwks fetch failed (reason=%s, provider=%s)", exc.reason, self.provider.name)
            return self.policy.on_failure(st, exc.reason, now)
        with self._lock:
            self._missing.clear()
        log.info("jwks fetched (provider=%s, status=%d, keys=%d)", self.provider.name, response.status, len(new.keyset or ()))
        return new

    def _discover(self, st: CacheState, now: float) -> CacheState:
        if not self.provider.oidc_discovery or now < st.discovered_until:
            return st
        issuer = (self.provider.issuers or ("",))[0]
        try:
            response = fetch(
                discovery_url(issuer), timeout=self.provider.jwks_timeout_seconds, max_bytes=self.provider.jwks_max_bytes
            )
            if response.status != 200:
                raise FetchError("http_status", str(response.status))
            uri = self.policy.discovered_jwks_uri(response.body)
        except FetchError:
            if st.jwks_url is None:
                raise
            return st  # the last discovered jwks_uri keeps serving
        etag = st.etag if uri == st.jwks_url else None
        return replace(st, jwks_url=uri, etag=etag, discovered_until=now + self.policy.ttl(response))

    # -- health ----------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """A snapshot for a readiness endpoint. Wall-clock times are Unix seconds."""
        now, wall = time.monotonic(), time.time()
        st = self._state

        def at(t: float) -> float | None:
            return None if math.isinf(t) else round(wall + (t - now), 3)

        state = (
            "cold" if st.keyset is None else "fresh" if now < st.fresh_until else "stale" if now < st.stale_until else "expired"
        )
        return {
            "provider": self.provider.name,
            "jwks_url": st.jwks_url,
            "state": state,
            "ready": self.policy.usable(st, now),
            "last_success": at(st.fetched_at),
            "age_seconds": None if math.isinf(st.fetched_at) else round(now - st.fetched_at, 3),
            "consecutive_failures": st.failures,
            "last_error": st.last_error,
            "next_refresh": at(max(st.refresh_at, st.retry_at)),
            "key_ids": st.keyset.kids() if st.keyset is not None else [],
            "fetches": self.fetches,
        }


def remote_or_static(provider: Provider) -> KeySource:
    return RemoteKeys(provider) if provider.remote else StaticKeys(provider.keys, provider.name)
