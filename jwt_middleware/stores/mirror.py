"""A local mirror of a Redis deny-list, kept current by a change feed (a Redis stream).

Each process holds every live revocation in two dicts, keyed by the 20 bytes of each digest
(about 120 bytes an entry, measured by ``make bench``), so checking a token costs no network
round trip. The feed loads the sets at start and then follows the stream with
``XREAD BLOCK``: a revocation written anywhere reaches every mirror in about one round
trip. After a disconnect the feed reloads (the last stream id first, then the sets, then
everything after that id), so nothing written meanwhile is missed; a reload builds its
tables aside, keeps every live entry the mirror already held, and swaps them in at once, so
a check during a reload never finds a revoked token missing. ``stale`` says when the feed
has been silent longer than the documented bound: the store then refuses to answer from the
mirror, and the middleware's outage policy decides.

The feed is one flow (``follow``): a thread drives it on the sync client, or an asyncio
task on the ``redis.asyncio`` client the store was given.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable
from itertools import islice
from typing import Any

from ..core.flow import Call, Flow, run, run_async
from .redis_client import text
from .redis_link import Link

log = logging.getLogger("jwt_middleware")
BLOCK_MS = 250  # one XREAD waits this long for news (less under a shorter socket timeout); a healthy feed reports this often
_SWEEP_SECONDS = 60.0
Table = dict[bytes, float]  # digest (20 bytes) -> expiry or "not before"


class Mirror:
    """``jti`` digest -> expiry, and subject digest -> "not before", followed from Redis.

    Args:
        link: the store's connections.
        keys: the store's ``(jti set, subject set, feed stream)`` keys, one hash tag.
        max_token_lifetime: how long a subject's "not before" matters, in seconds.
        max_entries: the most entries kept; past it the mirror says ``overflow`` and the
            store asks Redis per request instead.
    """

    def __init__(self, link: Link, keys: tuple[str, str, str], max_token_lifetime: float, max_entries: int) -> None:
        self.link = link
        self.jti_key, self.sub_key, self.feed_key = keys
        self.max_token_lifetime = max_token_lifetime
        self.max_entries = max_entries
        self.tables: tuple[Table, Table] = ({}, {})  # (jti, sub), replaced together: read it once per check
        self.overflow = False
        self.synced_at = -float("inf")  # monotonic time of the last answer from the feed
        self.loaded = threading.Event()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._next_sweep = 0.0
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        timeout = link.read_timeout()
        self.block_ms = BLOCK_MS if timeout is None else max(10, min(BLOCK_MS, int(timeout * 500)))

    @property
    def jti(self) -> dict[str, float]:
        """``jti`` digest (hex, as Redis keeps it) -> expiry, a copy of what the mirror holds now."""
        return {key.hex(): score for key, score in self.tables[0].items()}

    @property
    def sub(self) -> dict[str, float]:
        """Subject digest (hex) -> "not before", a copy of what the mirror holds now."""
        return {key.hex(): score for key, score in self.tables[1].items()}

    def stale(self, max_staleness: float) -> bool:
        """Whether the feed has been silent for more than ``max_staleness`` seconds (or never answered)."""
        return time.monotonic() - self.synced_at > max_staleness

    def put(self, kind: str, member: str, score: float) -> None:
        """Record one revocation (from the feed, or written by this process).

        Args:
            kind: ``jti`` or ``sub``.
            member: the digest, in hex.
            score: the expiry (``jti``) or the "not before" (``sub``), Unix seconds.
        """
        key = _key(member)
        if key is None:
            return
        with self._lock:
            table = self.tables[0] if kind == "jti" else self.tables[1]
            if key not in table and len(self.tables[0]) + len(self.tables[1]) >= self.max_entries:
                self.overflow = True
                return
            if score > table.get(key, -float("inf")):
                table[key] = score

    def replace(self, jti_rows: Iterable[tuple[Any, Any]], sub_rows: Iterable[tuple[Any, Any]]) -> None:
        """Swap in the sets as loaded, with every live entry already held that they lack.

        Args:
            jti_rows: ``(digest, expiry)`` pairs from the ``jti`` set.
            sub_rows: ``(digest, not before)`` pairs from the subject set.
        """
        now = time.time()
        jti: Table = _table(jti_rows)
        sub: Table = _table(sub_rows)
        with self._lock:
            _keep_live(jti, self.tables[0], now)
            _keep_live(sub, self.tables[1], now - self.max_token_lifetime)
            self.overflow = len(jti) + len(sub) > self.max_entries
            if self.overflow:
                jti = dict(islice(jti.items(), self.max_entries))
                sub = dict(islice(sub.items(), self.max_entries - len(jti)))
            self.tables = (jti, sub)
        self.synced_at = time.monotonic()
        self.loaded.set()

    def following(self) -> bool:
        """Whether a feed (thread or task) is running."""
        thread, task = self._thread, self._task
        if thread is not None and thread.is_alive():
            return True
        return task is not None and not task.done() and not task.get_loop().is_closed()

    def start_thread(self) -> None:
        """Follow the feed in a thread, on the sync client; ``loaded`` is set again at its first load."""
        self.loaded.clear()
        self._thread = threading.Thread(target=run, args=(self.follow(),), name="jwt-revocation-feed", daemon=True)
        self._thread.start()

    def start_task(self) -> bool:
        """Follow the feed in a task on the running loop, on the ``redis.asyncio`` client; ``False`` if one runs already."""
        task = self._task
        if task is not None and task.get_loop() is asyncio.get_running_loop() and not task.done():
            return False
        self._task = asyncio.get_running_loop().create_task(run_async(self.follow()), name="jwt-revocation-feed")
        self.link.bind(self._task)
        return True

    def stop(self) -> None:
        """End the feed (a thread within one ``BLOCK_MS``; a task at once)."""
        self._stop.set()
        task = self._task
        if task is not None and not task.get_loop().is_closed():
            task.get_loop().call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(2)

    def follow(self) -> Flow[None]:
        """The feed: load, then follow the stream; reload after any failure, backing off."""
        last_id: str | None = None
        backoff = 0.05
        while not self._stopped():
            try:
                if last_id is None:
                    last_id = yield from self._reload()
                answer = yield self.link.call("xread", {self.feed_key: last_id}, count=1000, block=self.block_ms)
                for _, entries in answer or ():
                    for entry_id, fields in entries:
                        last_id = text(entry_id)
                        self._apply(fields)
                self.synced_at = time.monotonic()
                backoff = 0.05
                self._sweep()
                continue
            except Exception as exc:  # Redis down, failing over, or a bug: reload when it answers again
                if last_id is not None:
                    log.warning(
                        "revocation feed lost (reason=revocation_feed_down, error=%s)",
                        type(exc).__name__,
                        extra={"auth_reason": "revocation_feed_down"},
                    )
                last_id = None
            if self._stopped():
                return
            yield Call(self._stop.wait, (backoff,), afn=asyncio.sleep)
            backoff = min(backoff * 2, 1.0)

    def _stopped(self) -> bool:
        if self._stop.is_set():
            return True
        try:
            task = asyncio.current_task()
        except RuntimeError:  # the thread's feed: no loop
            return False
        return task is not None and task.cancelling() > 0  # redis-py may turn a cancellation into its own error

    def _reload(self) -> Flow[str]:
        """The stream's last id, then the sets: whatever is written after that id is replayed."""
        newest = yield self.link.call("xrevrange", self.feed_key, "+", "-", count=1)
        last_id = text(newest[0][0]) if newest else "0-0"
        now = time.time()
        jti = yield self.link.call("zrangebyscore", self.jti_key, now, "+inf", withscores=True)
        sub = yield self.link.call("zrangebyscore", self.sub_key, now - self.max_token_lifetime, "+inf", withscores=True)
        self.replace(jti, sub)
        jti_table, sub_table = self.tables
        log.info(
            "revocation mirror loaded (jti=%d, subjects=%d)",
            len(jti_table),
            len(sub_table),
            extra={"auth_reason": "mirror_loaded"},
        )
        return last_id

    def _apply(self, fields: dict[Any, Any]) -> None:
        values = {text(k): text(v) for k, v in fields.items()}
        if values.get("k") in ("jti", "sub") and "m" in values and "s" in values:
            self.put(values["k"], values["m"], float(values["s"]))

    def _sweep(self) -> None:
        now = time.time()
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_SECONDS
        with self._lock:
            jti, sub = self.tables
            live_after = now - self.max_token_lifetime
            self.tables = ({k: v for k, v in jti.items() if v > now}, {k: v for k, v in sub.items() if v > live_after})


def _key(member: Any) -> bytes | None:
    """A digest as the mirror keys it: its bytes (``None`` for anything that is not hex)."""
    try:
        return bytes.fromhex(text(member))
    except ValueError:
        return None


def _table(rows: Iterable[tuple[Any, Any]]) -> Table:
    table: Table = {}
    for member, score in rows:
        key = _key(member)
        if key is not None:
            table[key] = float(score)
    return table


def _keep_live(loaded: Table, held: Table, live_after: float) -> None:
    for member, score in held.items():
        if score > live_after and score > loaded.get(member, -float("inf")):
            loaded[member] = score
