"""Login throttling: login attempts counted per account and per client address, over a sliding window.

Each attempt is counted before ``authenticate`` sees it, in one atomic step with the check
(``admit``), so guesses sent in parallel cannot all slip under the limit; a good login takes
its attempt back (``release``) and clears the account's count (never the address's: one
attacker can own many accounts). While an account or an address is at its limit, the token
endpoint answers 429 with ``Retry-After``, and a correct password does not get through either.

Accounts are keyed by their normalised name (``account_key``), addresses by the network one
client holds (``address_key``: an IPv6 /64); the memory throttle keeps only a fixed-size
digest of each key, so a long name costs no more than a short one.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Sequence

from ..core.stores import LegacyLoginThrottle, LoginThrottle

__all__ = [
    "MAX_USERNAME_LENGTH",
    "LegacyLoginThrottle",
    "LoginThrottle",
    "MemoryLoginThrottle",
    "account_key",
    "address_key",
    "normalised_username",
]

MAX_USERNAME_LENGTH = 256
"""The longest ``username`` the endpoints accept (characters); a longer one is a 400 ``invalid_request``."""


def normalised_username(username: str) -> str:
    """A username as the throttle and the events know it: Unicode NFKC, case-folded, stripped.

    ``Alice``, `` alice`` and ``alice`` in full-width letters are one account to the throttle, whether or not
    ``authenticate`` folds them, so none of them gets a budget of its own.

    Args:
        username: the name the client sent.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold()).strip()


def account_key(username: str) -> str:
    """The throttle's key for an account: ``account:`` and the normalised name (``normalised_username``).

    Args:
        username: the name the client sent.
    """
    return "account:" + normalised_username(username)


def address_key(client: str | None) -> str:
    """The throttle's key for a client address: an IPv4 address, or the /64 an IPv6 address is in.

    One IPv6 client is usually given a whole /64, so counting its addresses one by one would
    give it 2**64 budgets. An IPv4-mapped IPv6 address (``::ffff:192.0.2.7``) counts as its
    IPv4 address. Anything that is no address (a proxy's ``unknown``) is kept as it is.

    Args:
        client: the client's address (behind trusted proxies, the forwarded one), or ``None``.
    """
    if not client:
        return "address:-"
    try:
        ip = ipaddress.ip_address(client.strip())
    except ValueError:
        return "address:" + client
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))}"
    return f"address:{ip}"


class MemoryLoginThrottle:
    """Login attempts for one process, bounded (a ``LoginThrottle``).

    Each key is kept as a 16-byte digest, and each key's attempts are at most its limit (plus
    any ``failed`` of the earlier form), so memory stays bounded whatever the usernames.

    Args:
        max_keys: the most accounts and addresses tracked (default 100,000); the oldest go first.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._attempts: OrderedDict[bytes, deque[tuple[float, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many accounts and addresses are tracked."""
        return len(self._attempts)

    def admit(self, keys: Sequence[tuple[str, int]], window: float, attempt: str) -> float:
        """See ``LoginThrottle.admit`` (``keys``, ``window`` and ``attempt`` too)."""
        now = time.time()
        with self._lock:
            wait = self._wait(keys, now, window)
            if wait == 0:
                self._record([key for key, _ in keys], now, window, attempt)
        return wait

    def release(self, account: str, others: Sequence[str], attempt: str) -> None:
        """See ``LoginThrottle.release`` (``account``, ``others`` and ``attempt`` too)."""
        with self._lock:
            self._attempts.pop(_digest(account), None)
            for key in others:
                digest = _digest(key)
                if digest in self._attempts:
                    self._attempts[digest] = deque(entry for entry in self._attempts[digest] if entry[1] != attempt)

    async def admit_async(self, keys: Sequence[tuple[str, int]], window: float, attempt: str) -> float:
        """``admit``: memory never waits (``keys``, ``window`` and ``attempt`` as there)."""
        return self.admit(keys, window, attempt)

    async def release_async(self, account: str, others: Sequence[str], attempt: str) -> None:
        """``release``: memory never waits (``account``, ``others`` and ``attempt`` as there)."""
        self.release(account, others, attempt)

    def blocked(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """See ``LegacyLoginThrottle.blocked`` (``keys`` and ``window`` too)."""
        with self._lock:
            return self._wait(keys, time.time(), window)

    def failed(self, keys: Sequence[str], window: float) -> None:
        """See ``LegacyLoginThrottle.failed`` (``keys`` and ``window`` too)."""
        with self._lock:
            self._record(keys, time.time(), window, "")

    def succeeded(self, key: str) -> None:
        """See ``LegacyLoginThrottle.succeeded`` (``key`` too)."""
        with self._lock:
            self._attempts.pop(_digest(key), None)

    async def blocked_async(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """``blocked``: memory never waits (``keys`` and ``window`` as there)."""
        return self.blocked(keys, window)

    async def failed_async(self, keys: Sequence[str], window: float) -> None:
        """``failed``: memory never waits (``keys`` and ``window`` as there)."""
        self.failed(keys, window)

    async def succeeded_async(self, key: str) -> None:
        """``succeeded``: memory never waits (``key`` as there)."""
        self.succeeded(key)

    def _wait(self, keys: Sequence[tuple[str, int]], now: float, window: float) -> float:
        wait = 0.0
        for key, limit in keys:
            times = self._trimmed(_digest(key), now - window)
            if len(times) >= limit:  # the oldest attempt that still counts must leave the window first
                oldest = times[len(times) - limit][0] if limit > 0 else now
                wait = max(wait, oldest + window - now, 1e-3)
        return wait

    def _record(self, keys: Sequence[str], now: float, window: float, attempt: str) -> None:
        for key in keys:
            digest = _digest(key)
            times = self._trimmed(digest, now - window)
            times.append((now, attempt))
            self._attempts[digest] = times
            self._attempts.move_to_end(digest)
        while len(self._attempts) > self.max_keys:
            self._attempts.popitem(last=False)

    def _trimmed(self, digest: bytes, since: float) -> deque[tuple[float, str]]:
        times = self._attempts.get(digest) or deque()
        while times and times[0][0] <= since:
            times.popleft()
        return times


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()
