"""The store protocols, in one place: revocation, refresh families, DPoP replay, login throttle.

Each protocol has a blocking form of every method (WSGI threads, Django's sync views, the
CLI) and an awaitable one (``<name>_async``, for asyncio). The package's stores implement
both: the memory stores answer at once either way, and the Redis stores given a
``redis.asyncio`` client do the I/O of their awaitable forms on it, with no worker thread.

A store of your own may leave out the awaitable forms: a flow's call to a store
(``store_call``) falls back to the blocking form, run in a worker thread by the awaiting
driver, so the event loop never waits on it. ``is_revoked_async`` is the exception for now:
the ``revocation`` setting asks for it beside ``is_revoked``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from .flow import Call

__all__ = ["LegacyLoginThrottle", "LoginThrottle", "RefreshStore", "Replay", "RevocationStore", "Rotation", "store_call"]


def store_call(method: Callable[..., Any], *args: Any) -> Call:
    """A flow's call to a store: its blocking ``method``, and the store's ``<name>_async`` twin when it has one.

    Without the twin, the awaiting driver runs ``method`` in a worker thread.

    Args:
        method: a bound blocking method of a store (``store.revoke_jti``).
        args: its arguments.
    """
    twin = getattr(getattr(method, "__self__", None), f"{getattr(method, '__name__', '')}_async", None)
    return Call(method, args, afn=twin, blocking=twin is None)


@runtime_checkable
class RevocationStore(Protocol):
    """Where revocations live (the ``revocation`` setting): ``MemoryRevocationStore``, ``stores.redis.RedisRevocationStore``.

    ``is_revoked`` is asked on every request, cached tokens included, so it must answer in
    one round trip at most; a failure it raises is handled by the outage policy
    (``revocation_fail_open``). At run time, any object whose class has ``is_revoked`` counts
    as a store (``isinstance``), so stores written before the awaitable writes existed still
    tell themselves apart from a hook function.
    """

    @classmethod
    def __subclasshook__(cls, other: type) -> Any:
        if cls is RevocationStore:
            return callable(getattr(other, "is_revoked", None)) or NotImplemented
        return NotImplemented

    def is_revoked(self, claims: Mapping[str, Any]) -> bool:
        """Whether a verified token is revoked: its ``jti`` is denied, or its subject's "not before" covers it.

        Args:
            claims: the token's verified claims (``jti``, ``sub`` and ``iat`` are read).
        """
        ...

    async def is_revoked_async(self, claims: Mapping[str, Any]) -> bool:
        """``is_revoked`` for asyncio, never blocking the event loop.

        Args:
            claims: the token's verified claims.
        """
        ...

    def revoke_jti(self, jti: str, expires_at: float) -> None:
        """Deny this ``jti`` until ``expires_at``, when the token is dead anyway.

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds; the entry is dropped after it (use the token's ``exp``).
        """
        ...

    async def revoke_jti_async(self, jti: str, expires_at: float) -> None:
        """``revoke_jti`` for asyncio (optional for a store of your own).

        Args:
            jti: the token's ``jti``.
            expires_at: Unix seconds.
        """
        ...

    def revoke_subject(self, sub: str, before: float | None = None) -> None:
        """Revoke every token of ``sub`` issued at or before ``before`` (logout everywhere).

        Args:
            sub: the subject.
            before: Unix seconds; default now. Tokens with a later ``iat`` stay valid.
        """
        ...

    async def revoke_subject_async(self, sub: str, before: float | None = None) -> None:
        """``revoke_subject`` for asyncio (optional for a store of your own).

        Args:
            sub: the subject.
            before: Unix seconds; default now.
        """
        ...


class Rotation(NamedTuple):
    """A store's answer to ``rotate`` or ``revoke``.

    Attributes:
        outcome: ``ok``, ``invalid``, ``reused`` or ``revoked``.
        data: the family's data.
        access_jti: an access ``jti`` to deny (stores written before ``access`` existed
            name the family's latest here); default none.
        access: ``(jti, expires_at)`` of every access token to deny now: all the family
            issued on ``revoke`` and on ``reused``, the ones pushed out of its bounded list
            on ``ok``; default none.
        successor: the sealed successor of the rotation that stands (``rotate``'s
            ``successor``, or the first rotation's on a retry within the window); default none.
    """

    outcome: str
    data: dict[str, Any]
    access_jti: str | None = None
    access: tuple[tuple[str, float], ...] = ()
    successor: str = ""


class RefreshStore(Protocol):
    """Where refresh-token families live (``MemoryRefreshStore``, ``stores.redis.RedisRefreshStore``).

    Stores see only SHA-256 digests of refresh tokens, never the tokens. The awaitable forms
    are optional for a store of your own.
    """

    def create(
        self,
        family: str,
        token_hash: str,
        data: Mapping[str, Any],
        access_jti: str,
        expires_at: float,
        access_expires_at: float = 0.0,
    ) -> None:
        """Start a family.

        Args:
            family: the family's id.
            token_hash: the digest of its first refresh token.
            data: what a refresh re-issues from (``sub``, ``scope``, extra claims); JSON-serialisable.
            access_jti: the ``jti`` of the access token issued with it, recorded in the family.
            expires_at: when the family dies (Unix seconds); rotation does not extend it.
            access_expires_at: when that access token expires; default ``expires_at``.
        """
        ...

    async def create_async(
        self,
        family: str,
        token_hash: str,
        data: Mapping[str, Any],
        access_jti: str,
        expires_at: float,
        access_expires_at: float = 0.0,
    ) -> None:
        """``create`` for asyncio; the arguments as there.

        Arguments as for ``RefreshStore.create``:
        ``family``, ``token_hash``, ``data``, ``access_jti``, ``expires_at``, ``access_expires_at``.
        """
        ...

    def rotate(
        self,
        token_hash: str,
        new_hash: str,
        access_jti: str,
        family: str = "",
        grace_seconds: float = 0.0,
        successor: str = "",
        access_expires_at: float = 0.0,
    ) -> Rotation:
        """Atomically spend ``token_hash`` and make ``new_hash`` current, if it is the current token.

        Rotating again to the same ``new_hash`` answers ``ok`` again (a retried write is no
        reuse). The token rotated away last, presented again less than ``grace_seconds``
        after that rotation (measured by the store's own clock), is a retry: it answers
        ``ok`` with the ``successor`` that rotation stored, and makes no new branch. Every
        access ``jti`` issued (by a rotation or a retry) is recorded in the family, bounded,
        so that revoking the family denies them all. Any other old token revokes the family.

        Args:
            token_hash: the digest of the presented refresh token.
            new_hash: the digest of its successor.
            access_jti: the ``jti`` of the access token issued with the successor.
            family: the family the presented token names (its prefix); stores that key by
                family (Redis Cluster) need it.
            grace_seconds: the retry window; 0 for none.
            successor: the successor refresh token, sealed with a key only the presented
                token gives (opaque to the store); kept for a retry.
            access_expires_at: when that access token expires (Unix seconds); default the family's end.

        Returns ``ok``, ``invalid``, ``revoked``, or ``reused`` (and then revokes the family).
        """
        ...

    async def rotate_async(
        self,
        token_hash: str,
        new_hash: str,
        access_jti: str,
        family: str = "",
        grace_seconds: float = 0.0,
        successor: str = "",
        access_expires_at: float = 0.0,
    ) -> Rotation:
        """``rotate`` for asyncio; the arguments as there.

        Arguments as for ``RefreshStore.rotate``:
        ``token_hash``, ``new_hash``, ``access_jti``, ``family``, ``grace_seconds``, ``successor``,
        ``access_expires_at``.
        """
        ...

    def revoke(self, token_hash: str, family: str = "") -> Rotation:
        """Revoke the family of ``token_hash`` (logout); ``invalid`` when unknown. The answer's
        ``access`` lists every access token the family issued that may still be live.

        Args:
            token_hash: the digest of any refresh token of the family.
            family: the family the token names.
        """
        ...

    async def revoke_async(self, token_hash: str, family: str = "") -> Rotation:
        """``revoke`` for asyncio; ``token_hash`` and ``family`` as there."""
        ...


class Replay(Protocol):
    """Where the ``jti`` of accepted proofs is kept for as long as they could be replayed (the ``dpop_replay`` setting).

    ``claim_async`` is optional for a store of your own.
    """

    def claim(self, key: str, until: float) -> bool:
        """Record ``key`` until ``until`` (Unix seconds); ``False`` if it is already recorded.

        Args:
            key: the proof key's thumbprint and the proof's ``jti``.
            until: when the entry may be forgotten (the proof is too old by then).
        """
        ...

    async def claim_async(self, key: str, until: float) -> bool:
        """``claim`` for asyncio.

        Args:
            key: as for ``claim``.
            until: as for ``claim``.
        """
        ...


class LoginThrottle(Protocol):
    """Where login attempts are counted (``MemoryLoginThrottle``, ``stores.redis.RedisLoginThrottle``).

    The endpoints count each attempt before ``authenticate`` sees it (``admit``: check and
    count in one atomic step, so parallel guesses cannot all pass the check before any is
    counted); a failed login keeps its count, a good one takes it back (``release``). The
    awaitable forms are optional for a throttle of your own. A throttle of the earlier form
    (``LegacyLoginThrottle``) is still accepted, with a ``DeprecationWarning``.
    """

    def admit(self, keys: Sequence[tuple[str, int]], window: float, attempt: str) -> float:
        """Count one attempt against every key, atomically, unless a key is at its limit.

        All or nothing: when no key is at its limit, the attempt is counted against each and
        the answer is 0 (go on to ``authenticate``); otherwise nothing is counted and the
        answer is the seconds until every key is under its limit again.

        Args:
            keys: ``(key, limit)`` pairs, such as ``("account:alice", 5)`` and ``("address:10.0.0.7", 20)``.
            window: the sliding window, in seconds.
            attempt: this attempt's id (random), for ``release``.
        """
        ...

    async def admit_async(self, keys: Sequence[tuple[str, int]], window: float, attempt: str) -> float:
        """``admit`` for asyncio; ``keys``, ``window`` and ``attempt`` as there."""
        ...

    def release(self, account: str, others: Sequence[str], attempt: str) -> None:
        """A good login: forget every attempt counted against ``account``, and take this one back from ``others``.

        Args:
            account: the account's key.
            others: the other keys the attempt was counted against (the address's).
            attempt: the id given to ``admit``.
        """
        ...

    async def release_async(self, account: str, others: Sequence[str], attempt: str) -> None:
        """``release`` for asyncio; ``account``, ``others`` and ``attempt`` as there."""
        ...


class LegacyLoginThrottle(Protocol):
    """The earlier form of a login throttle: ask ``blocked``, then count a ``failed`` login after ``authenticate``.

    Between the question and the count, parallel guesses all find the account under its
    limit (issue 22, item 5); the endpoints use this form only for a throttle of your own
    that has no ``admit``, and warn. The package's throttles keep these methods for callers
    of their own.
    """

    def blocked(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """Seconds until every key is under its limit again (0 when none is over).

        Args:
            keys: ``(key, limit)`` pairs, such as ``("account:alice", 5)`` and ``("address:10.0.0.7", 20)``.
            window: the sliding window, in seconds.
        """
        ...

    async def blocked_async(self, keys: Sequence[tuple[str, int]], window: float) -> float:
        """``blocked`` for asyncio; ``keys`` and ``window`` as there."""
        ...

    def failed(self, keys: Sequence[str], window: float) -> None:
        """Count one failed login against each key.

        Args:
            keys: the account's and the address's keys.
            window: the sliding window, in seconds.
        """
        ...

    async def failed_async(self, keys: Sequence[str], window: float) -> None:
        """``failed`` for asyncio; ``keys`` and ``window`` as there."""
        ...

    def succeeded(self, key: str) -> None:
        """Forget the failures of one key (the account, after a good login).

        Args:
            key: the account's key.
        """
        ...

    async def succeeded_async(self, key: str) -> None:
        """``succeeded`` for asyncio; ``key`` as there."""
        ...
