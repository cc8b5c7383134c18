"""Remote key sets (JWKS), with OIDC discovery: the driver of the sans-I/O ``CachePolicy``.

``RemoteKeys`` does the I/O: every fetch runs in a worker thread, and one fetch in flight
is shared by every waiter, WSGI threads (``wait``) and asyncio tasks (``wait_async``, which
awaits it without blocking the event loop) alike.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from ..config.settings import Provider
from ..core.errors import KeySourceUnavailable
from ..core.events import AuthEvent, Events
from ..core.keys import KeySet, KeySource, StaticKeys
from .fetch import FetchError, fetch
from .policy import CachePolicy, CacheState, discovery_url

log = logging.getLogger("jwt_middleware")
NEGATIVE_KIDS = 1024


class RemoteKeys:
    """A provider's remote key set: the ``KeySource`` for ``jwks_url`` and ``oidc_discovery``."""

    def __init__(self, provider: Provider, events: Events | None = None) -> None:
        self.provider = provider
        self.events = events or Events()
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
            extra = {"auth_reason": "internal_error", "auth_issuer": self.provider.name}
            log.exception("jwks refresh crashed (reason=internal_error, provider=%s)", self.provider.name, extra=extra)
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
            took = time.monotonic() - now
            self.events.emit(AuthEvent("keys.fetch_failed", exc.reason, self.provider.name, duration=took))
            return self.policy.on_failure(st, exc.reason, now)
        with self._lock:
            self._missing.clear()
        took = time.monotonic() - now
        self.events.emit(AuthEvent("keys.fetched", f"http_{response.status}", self.provider.name, duration=took))
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


def remote_or_static(provider: Provider, events: Events | None = None) -> KeySource:
    """The default key source: the remote set where ``jwks_url`` or ``oidc_discovery`` is set, else the static keys.

    Args:
        provider: the provider.
        events: where key fetches are reported (``keys.fetched``, ``keys.fetch_failed``).
    """
    return RemoteKeys(provider, events) if provider.remote else StaticKeys(provider.keys, provider.name)
