"""Login throttling: failed logins counted per account and per client address, over a sliding window.

While an account or an address is over its limit, the token endpoint answers 429 with
``Retry-After``, and a correct password does not get through either; a successful login
clears the account's count (never the address's: one attacker can own many accounts).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence

from ..core.stores import LoginThrottle

__all__ = ["LoginThrottle", "MemoryLoginThrottle"]


class MemoryLoginThrottle:
    """Failed logins for one process, bounded.

    Args:
        max_keys: the most accounts and addresses tracked (default 100,000); the oldest go first.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def blocked(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """See ``LoginThrottle.blocked`` (``keys`` and ``window`` too)."""
        now, wait = time.time(), 0.0
        with self._lock:
            for key, limit in keys:
                times = self._trimmed(key, now - window)
                if len(times) >= limit:
                    wait = max(wait, times[len(times) - limit] + window - now)
        return wait

    def failed(self, keys: Sequence[str], window: float) -> None:
        """See ``LoginThrottle.failed`` (``keys`` and ``window`` too)."""
        now = time.time()
        with self._lock:
            for key in keys:
                times = self._trimmed(key, now - window)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        """See ``LoginThrottle.succeeded`` (``key`` too)."""
        with self._lock:
            self._failures.pop(key, None)

    async def blocked_async(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """``blocked``: memory never waits (``keys`` and ``window`` as there)."""
        return self.blocked(keys, window)

    async def failed_async(self, keys: Sequence[str], window: float) -> None:
        """``failed``: memory never waits (``keys`` and ``window`` as there)."""
        self.failed(keys, window)

    async def succeeded_async(self, key: str) -> None:
        """``succeeded``: memory never waits (``key`` as there)."""
        self.succeeded(key)

    def _trimmed(self, key: str, since: float) -> deque[float]:
        times = self._failures.get(key) or deque()
        while times and times[0] <= since:
            times.popleft()
        return times
