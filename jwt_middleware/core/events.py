"""Auth events: one object per thing that happened, from which the hook call, the log line and the metric derive.

An event never carries a token, a secret, a password or key material: only its kind, a
reason code, the issuer, a keyed digest of the subject (the subject itself only when asked
for), the path, the client address, a status and a duration.

Subjects and account names are digested with HMAC-SHA-256 under a key (``subject_digest``):
unkeyed, a short digest of a username can be reversed by trying candidates, and a password
typed into the username field is such a candidate. The key is random per process unless
``set_events_subject_key`` sets one (the same in every process, to follow a user across them).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from .errors import ConfigError

log = logging.getLogger("jwt_middleware")
_SUBJECT_KEY = [secrets.token_bytes(32)]  # the process's key; set_events_subject_key replaces it

KINDS = (
    "request.authenticated", "request.refused", "login.succeeded", "login.failed", "login.throttled",
    "refresh.rotated", "refresh.reused", "refresh.refused", "logout", "revocation", "keys.fetched", "keys.fetch_failed",
    "token.refused",
)  # fmt: skip
_LEVELS = {
    "request.authenticated": logging.DEBUG,
    "request.refused": logging.INFO,
    "keys.fetched": logging.INFO,
    "login.succeeded": logging.INFO,
    "refresh.rotated": logging.INFO,
    "refresh.refused": logging.INFO,
    "token.refused": logging.INFO,
    "logout": logging.INFO,
    "revocation": logging.INFO,
}  # fmt: skip  (the rest, failures and what looks like an attack, at WARNING)


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """What happened, as the hook, the logger's ``extra`` and the metrics see it.

    Args:
        kind: one of ``KINDS`` (``request.refused``, ``login.failed``, ...).
        reason: the reason code (``ok`` on success).
        issuer: the token's or the service's issuer, when known.
        subject: a keyed digest of the subject (``sub:`` and 32 hex digits, ``subject_digest``),
            or the subject itself with ``events_raw_subject``.
        path: the request path.
        client: the client address.
        status: the HTTP status answered, when there is one.
        duration: seconds the work took (verification, a key fetch), when measured.
    """

    kind: str
    reason: str
    issuer: str | None = None
    subject: str | None = None
    path: str | None = None
    client: str | None = None
    status: int | None = None
    duration: float | None = None

    def fields(self) -> dict[str, Any]:
        """The event as the log record's ``extra``: every field, prefixed ``auth_``."""
        return {f"auth_{k}": v for k, v in asdict(self).items()}


def chain(value: object) -> Callable[[AuthEvent], None] | None:
    """One hook from a callable or a list of callables (each called in turn); ``TypeError`` for anything else."""
    if value is None or callable(value):
        return value
    if isinstance(value, list | tuple) and value and all(callable(v) for v in value):
        hooks = tuple(value)

        def each(event: AuthEvent) -> None:
            for hook in hooks:
                hook(event)

        return each
    raise TypeError("expected a callable or a list of callables")


def set_events_subject_key(key: str | bytes) -> None:
    """Digest subjects in events with this key from now on, instead of the process's random one.

    Give every process of a deployment the same key (from your secrets, not your code) when
    events from several processes must name one user alike; keep it as secret as a password
    hash's pepper: whoever holds it can test guesses against the digests.

    Args:
        key: at least 32 bytes (a str is taken as UTF-8).
    """
    raw = key.encode() if isinstance(key, str) else key
    if not isinstance(raw, bytes) or len(raw) < 32:
        raise ConfigError("events subject key", "expected at least 32 bytes")
    _SUBJECT_KEY[0] = raw


def subject_digest(subject: object, key: bytes | None = None) -> str | None:
    """How events name a subject or an account: ``sub:`` and 32 hex digits of its HMAC-SHA-256, never the name itself.

    Args:
        subject: the subject (``None`` for anything but a str).
        key: the HMAC key; default the process's (random, or as ``set_events_subject_key`` set it).
    """
    if not isinstance(subject, str):
        return None
    mac = hmac.new(key or _SUBJECT_KEY[0], subject.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return "sub:" + mac.hexdigest()[:32]


class Events:
    """Sends each event to the ``on_event`` hook and to the ``jwt_middleware`` logger.

    Args:
        hook: ``on_event(event)``; an exception it raises is logged and never reaches a request.
        raw_subject: name subjects as they are instead of by digest (default ``False``).
        subject_key: the key of the subjects' digests (``subject_digest``); default the process's.
    """

    __slots__ = ("hook", "raw_subject", "subject_key")

    def __init__(
        self, hook: Callable[[AuthEvent], Any] | None = None, raw_subject: bool = False, subject_key: bytes | None = None
    ) -> None:
        self.hook, self.raw_subject, self.subject_key = hook, raw_subject, subject_key

    def wanted(self, kind: str) -> bool:
        """Whether anything would receive an event of this kind (so that a hot path can skip building it)."""
        return self.hook is not None or log.isEnabledFor(_LEVELS.get(kind, logging.WARNING))

    def subject(self, subject: object) -> str | None:
        """The subject as events carry it."""
        if self.raw_subject:
            return subject if isinstance(subject, str) else None
        return subject_digest(subject, self.subject_key)

    def emit(self, event: AuthEvent) -> None:
        """Log the event with its fields in ``extra``, then call the hook."""
        level = _LEVELS.get(event.kind, logging.WARNING)
        if event.status == 503:  # a dependency is down: the operator must hear of it
            level = logging.WARNING
        if log.isEnabledFor(level):
            log.log(level, "%s (reason=%s)", event.kind, event.reason, extra=event.fields())
        if self.hook is not None:
            try:
                self.hook(event)
            except Exception:
                log.exception("on_event hook raised (reason=on_event_error)", extra={"auth_reason": "on_event_error"})


class Outage:
    """A dependency's state, for the log: its failure is logged when it starts (with the error's
    type, never a traceback per request) and its recovery when it ends; meanwhile one DEBUG line
    per failure. Each refused request still has its own event.

    Args:
        what: what fails, as the log names it (``revocation store``).
        reason: the reason code of the refusals it causes.
        consequence: what the failure does to requests (``requests refused``).
    """

    __slots__ = ("consequence", "down", "reason", "what")

    def __init__(self, what: str, reason: str, consequence: str) -> None:
        self.what, self.reason, self.consequence = what, reason, consequence
        self.down = False

    def failed(self, error: BaseException) -> None:
        """Note one failure: a WARNING when the dependency was up, else a DEBUG line.

        Args:
            error: what the dependency raised (only its type is logged).
        """
        first, self.down = not self.down, True
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "%s %s; %s until it answers (reason=%s, error=%s)",
            self.what,
            "failed" if first else "still failing",
            self.consequence,
            self.reason,
            type(error).__name__,
            extra={"auth_reason": self.reason, "auth_outage": "down"},
        )

    def recovered(self) -> None:
        """Note an answer after a failure: an INFO line, once."""
        if self.down:
            self.down = False
            log.info(
                "%s answers again (reason=%s)", self.what, self.reason, extra={"auth_reason": self.reason, "auth_outage": "up"}
            )
