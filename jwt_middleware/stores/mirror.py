"""A local mirror of a Redis deny-list, kept current by a change feed (a Redis stream).

Each process holds every live revocation in two dicts, so checking a token costs no
network round trip. A thread loads the sets at start and then follows the stream with
``XREAD BLOCK``: a revocation written anywhere reaches every mirror in about one round
trip. After a disconnect the thread reloads (the last stream id first, then the sets,
then everything after that id), so nothing written meanwhile is missed. ``stale`` says
when the feed has been silent longer than the documented bound: the store then refuses to
answer from the mirror, and the middleware's outage policy decides.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

log = logging.getLogger("jwt_middleware")
BLOCK_MS = 250  # one XREAD waits this long for news; a healthy feed reports in at least this often
_SWEEP_SECONDS = 60.0


class Mirror:
    """``jti`` digest -> expiry, and subject digest -> "not before", followed from Redis.

    Args:
        client: a sync Redis client (single, Cluster or a Sentinel ``master_for`` client).
        keys: the store's ``(jti set, subject set, feed stream)`` keys, one hash tag.
        max_token_lifetime: how long a subject's "not before" matters, in seconds.
        max_entries: the most entries kept; past it the mirror says ``overflow`` and the
            store asks Redis per request instead.
    """

    def __init__(self, client: Any, keys: tuple[str, str, str], max_token_lifetime: float, max_entries: int) -> None:
        self.client = client
        self.jti_key, self.sub_key, self.feed_key = keys
        self.max_token_lifetime = max_token_lifetime
        self.max_entries = max_entries
        self.jti: dict[str, float] = {}
        self.sub: dict[str, float] = {}
        self.overflow = False
        self.synced_at = -float("inf")  # monotonic time of the last answer from the feed
        self.loaded = threading.Event()
        self._stop = threading.Event()
        self._next_sweep = 0.0
        self._thread = threading.Thread(target=self._follow, name="jwt-revocation-feed", daemon=True)
        self._thread.start()

    def stale(self, max_staleness: float) -> bool:
        """Whether the feed has been silent for more than ``max_staleness`` seconds (or never answered)."""
        return time.monotonic() - self.synced_at > max_staleness

    def put(self, kind: str, member: str, score: float) -> None:
        """Record one revocation (from the feed, or written by this process).

        Args:
            kind: ``jti`` or ``sub``.
            member: the digest.
            score: the expiry (``jti``) or the "not before" (``sub``), Unix seconds.
        """
        table = self.jti if kind == "jti" else self.sub
        if member not in table and len(self.jti) + len(self.sub) >= self.max_entries:
            self.overflow = True
            return
        if score > table.get(member, -float("inf")):
            table[member] = score

    def stop(self) -> None:
        """End the feed thread (within one ``BLOCK_MS``)."""
        self._stop.set()
        self._thread.join(2)

    def _follow(self) -> None:
        last_id: str | None = None
        backoff = 0.05
        while not self._stop.is_set():
            try:
                if last_id is None:
                    last_id = self._reload()
                answer = self.client.xread({self.feed_key: last_id}, count=1000, block=BLOCK_MS)
                for _, entries in answer or ():
                    for entry_id, fields in entries:
                        last_id = _text(entry_id)
                        self._apply(fields)
                self.synced_at = time.monotonic()
                backoff = 0.05
                self._sweep()
            except Exception as exc:  # Redis down, failing over, or a bug: reload when it answers again
                if last_id is not None:
                    log.warning(
                        "revocation feed lost (reason=revocation_feed_down, error=%s)",
                        type(exc).__name__,
                        extra={"auth_reason": "revocation_feed_down"},
                    )
                last_id = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 1.0)

    def _reload(self) -> str:
        """The stream's last id, then the sets: whatever is written after that id is replayed."""
        newest = self.client.xrevrange(self.feed_key, "+", "-", count=1)
        last_id = _text(newest[0][0]) if newest else "0-0"
        now = time.time()
        jti = self.client.zrangebyscore(self.jti_key, now, "+inf", withscores=True)
        sub = self.client.zrangebyscore(self.sub_key, now - self.max_token_lifetime, "+inf", withscores=True)
        self.jti, self.sub, self.overflow = {}, {}, False
        for kind, rows in (("jti", jti), ("sub", sub)):
            for member, score in rows:
                self.put(kind, _text(member), float(score))
        self.synced_at = time.monotonic()
        self.loaded.set()
        log.info(
            "revocation mirror loaded (jti=%d, subjects=%d)", len(self.jti), len(self.sub), extra={"auth_reason": "mirror_loaded"}
        )
        return last_id

    def _apply(self, fields: dict[Any, Any]) -> None:
        values = {_text(k): _text(v) for k, v in fields.items()}
        if values.get("k") in ("jti", "sub") and "m" in values and "s" in values:
            self.put(values["k"], values["m"], float(values["s"]))

    def _sweep(self) -> None:
        now = time.time()
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_SECONDS
        self.jti = {k: v for k, v in self.jti.items() if v > now}
        self.sub = {k: v for k, v in self.sub.items() if v > now - self.max_token_lifetime}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
