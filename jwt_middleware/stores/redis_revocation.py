"""``RedisRevocationStore``: the deny-list in Redis, mirrored in each process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from ..core.errors import RevocationUnavailable
from ..core.flow import Flow, run
from ..core.revocation import digest, raw_digest, revoked_by
from .mirror import Mirror
from .redis_client import FAILURES
from .redis_link import Durable, Link

__all__ = ["RedisRevocationStore"]


_REVOKE = """
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'k', ARGV[3], 'm', ARGV[1], 's', ARGV[2])
"""


class RedisRevocationStore(Durable):
    """A ``jti`` deny-list and per-subject "not before" times in Redis, mirrored in each process.

    Checking a token costs no round trip: a feed keeps a local mirror current through a
    Redis stream. While the feed has been silent for more than ``max_staleness_seconds``
    the store raises ``RevocationUnavailable`` instead of answering, and the middleware's
    outage policy decides (closed by default, or ``revocation_fail_open``).

    Given a URL or a sync client, the feed is a thread started with the store, which waits
    (bounded) for the first load; the awaitable forms run the blocking writes in a worker
    thread. Given a ``redis.asyncio`` client, the awaitable forms do their I/O on it, and
    the feed is an asyncio task, started by the first awaitable call (or ``await
    store.start()`` at start-up); the blocking forms use a sync client to the same place.

    Args:
        url_or_client: a ``redis://`` URL, or a ready client (``redis.Redis``,
            ``RedisCluster``, a Sentinel ``master_for`` client, or their ``redis.asyncio``
            twins, for which a sync client to the same place is built too). Default
            ``redis://127.0.0.1:6379/0``.
        prefix: the keys' hash tag and prefix (default ``jwt_middleware:``).
        timeout: seconds for a connect or a reply, for a client built from a URL (default 0.5).
        max_staleness_seconds: how long the mirror may go without word from the feed
            before checks fail (default 5): the bound on how late a revocation can be seen.
        max_token_lifetime: how long a subject's "not before" is kept, in seconds (default a
            day; make it at least your longest token lifetime).
        mirror_max_entries: the most revocations mirrored (default 250,000: about 30 MiB per
            process at about 125 bytes an entry, as ``make bench`` measures). Past it, a
            revocation the mirror holds is still refused at once, and only "not revoked" is
            asked of Redis (one round trip).
        wait_replicas: replicas a write must reach before it returns (``WAIT``); default
            ``None``: on a Sentinel client, the replicas the primary reports (``INFO
            replication``, asked again every 10 s and after a failed write); elsewhere none.
            ``0`` turns waiting off.
        wait_timeout: seconds ``WAIT`` waits (default 0.5).
        write_retries: retries of a failed write (default 3).
        feed_max_length: about how many entries the stream keeps (default 100,000).
    """

    def __init__(
        self,
        url_or_client: Any = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "jwt_middleware:",
        timeout: float = 0.5,
        max_staleness_seconds: float = 5.0,
        max_token_lifetime: float = 86400,
        mirror_max_entries: int = 250_000,
        wait_replicas: int | None = None,
        wait_timeout: float = 0.5,
        write_retries: int = 3,
        feed_max_length: int = 100_000,
    ) -> None:
        self._setup(Link(url_or_client, timeout), wait_replicas, wait_timeout, write_retries)
        self.prefix = prefix
        self.max_staleness_seconds = max_staleness_seconds
        self.max_token_lifetime = max_token_lifetime
        self.feed_max_length = feed_max_length
        tag = "{" + prefix + "}"
        self.keys = (tag + "jti", tag + "sub", tag + "feed")
        self._revoke = self.link.script(_REVOKE)
        self.mirror = Mirror(self.link, self.keys, max_token_lifetime, mirror_max_entries)
        self._load_wait = max(2 * timeout, 1.0)
        if self.link.aio is None:
            self.mirror.start_thread()
            self.mirror.loaded.wait(self._load_wait)  # at start-up: a cold mirror answers nothing

    def __repr__(self) -> str:
        return f"RedisRevocationStore(prefix={self.prefix!r})"

    async def start(self) -> None:
        """Start the mirror's feed on the running loop and wait (bounded) for its first load.

        Only a store given a ``redis.asyncio`` client needs it, and the first awaitable call
        does it anyway; await it at start-up (a lifespan handler) to load the mirror before
        the first request. Again on another loop, it follows the feed there.
        """
        if self.link.aio is None or not self.mirror.start_task():
            return
        started, deadline = time.monotonic(), time.monotonic() + self._load_wait
        while self.mirror.synced_at < started and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    # -- writing ---------------------------------------------------------------------------
    def revoke_jti(self, jti: str, expires_at: float) -> None:
        """Deny this ``jti`` until ``expires_at``, when the token is dead anyway.

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds; the entry is dropped after it (use the token's ``exp``).
        """
        run(self._revoked_jti(jti, expires_at))

    def revoke_subject(self, sub: str, before: float | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``before`` (logout everywhere).

        Args:
            sub: the subject.
            before: Unix seconds; default now. Tokens with a later ``iat`` stay valid.
        """
        run(self._revoked_subject(sub, before))

    async def revoke_jti_async(self, jti: str, expires_at: float) -> None:
        """``revoke_jti`` for ``async def`` code: on the ``redis.asyncio`` client when given, else in a worker thread.

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds.
        """
        await self._feed_started()
        await self.link.drive(self._revoked_jti(jti, expires_at))

    async def revoke_subject_async(self, sub: str, before: float | None = None) -> None:
        """``revoke_subject`` for ``async def`` code, as ``revoke_jti_async``.

        Args:
            sub: the subject.
            before: Unix seconds; default now.
        """
        await self._feed_started()
        await self.link.drive(self._revoked_subject(sub, before))

    def _revoked_jti(self, jti: str, expires_at: float) -> Flow[None]:
        now = time.time()
        if expires_at > now:
            yield from self._put("jti", digest(jti), expires_at, now)

    def _revoked_subject(self, sub: str, before: float | None) -> Flow[None]:
        now = time.time()
        yield from self._put("sub", digest(sub), now if before is None else before, now - self.max_token_lifetime)

    def _put(self, kind: str, member: str, score: float, drop_below: float) -> Flow[None]:
        key = self.keys[0] if kind == "jti" else self.keys[1]
        yield from self._write(self._revoke, [key, self.keys[2]], [member, repr(score), kind, drop_below, self.feed_max_length])
        self.mirror.put(kind, member, score)  # this process sees its own write at once

    # -- reading ---------------------------------------------------------------------------
    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token is revoked, from the mirror (no round trip).

        Args:
            claims: the token's verified claims (``jti``, ``sub`` and ``iat`` are read).
        """
        if self.link.aio is not None and not self.mirror.following():
            self.mirror.start_thread()  # called outside any loop that follows the feed: a thread does
            self.mirror.loaded.wait(self._load_wait)
        if self._known(claims):
            return True  # a revocation stands until it expires: a stale or overflowing mirror still knows it
        if self.mirror.overflow:
            return run(self._ask(claims))  # only what the mirror does not hold is asked of Redis
        return self._unlisted()

    async def is_revoked_async(self, claims: Mapping[str, Any]) -> bool:
        """``is_revoked`` for asyncio: a mirror lookup, which never waits. Past ``mirror_max_entries``
        only what the mirror does not hold goes to Redis, on the ``redis.asyncio`` client when
        given, else in a worker thread.

        Args:
            claims: the token's verified claims.
        """
        await self.start()
        if self._known(claims):
            return True
        if self.mirror.overflow:
            return await self.link.drive(self._ask(claims))
        return self._unlisted()

    async def _feed_started(self) -> None:
        if self.link.aio is not None:
            self.mirror.start_task()

    def _known(self, claims: Mapping[str, Any]) -> bool:
        """Whether the mirror holds a revocation of this token (no I/O, whatever the feed's state)."""
        now = time.time()
        jti_table, sub_table = self.mirror.tables
        jti, sub = claims.get("jti"), claims.get("sub")
        listed = isinstance(jti, str) and jti_table.get(raw_digest(jti), 0.0) > now
        not_before = sub_table.get(raw_digest(sub)) if isinstance(sub, str) else None
        if not_before is not None and not_before <= now - self.max_token_lifetime:
            not_before = None
        return revoked_by(claims, listed, not_before)

    def _unlisted(self) -> bool:
        """A token the whole deny-list is mirrored without: not revoked, unless the feed is stale
        (only "not revoked" is ever in doubt)."""
        if self.mirror.stale(self.max_staleness_seconds):
            retry = max(1, round(self.max_staleness_seconds))
            raise RevocationUnavailable("revocation_stale", "the revocation feed is down", retry)
        return False

    def _ask(self, claims: Mapping[str, Any]) -> Flow[bool]:
        """The deny-list is larger than the mirror: ask Redis (both keys in one slot, one round trip)."""
        jti, sub = claims.get("jti"), claims.get("sub")
        try:
            expiry, not_before = yield self.link.pipeline(
                ("ZSCORE", self.keys[0], digest(jti) if isinstance(jti, str) else ""),
                ("ZSCORE", self.keys[1], digest(sub) if isinstance(sub, str) else ""),
            )
        except FAILURES as exc:
            raise RevocationUnavailable("revocation_unavailable", "revocation store is unavailable", 1) from exc
        now = time.time()
        fresh = not_before is not None and float(not_before) > now - self.max_token_lifetime
        return revoked_by(claims, expiry is not None and float(expiry) > now, float(not_before) if fresh else None)

    def close(self) -> None:
        """Stop the feed and close the sync client's connections (a ``redis.asyncio`` client given stays its owner's)."""
        self.mirror.stop()
        self.link.close()
