"""The DPoP settings (RFC 9449), validated into one policy the gate reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core import dpop as _dpop
from ..core.errors import ConfigError
from ..core.keys import ASYMMETRIC_ALGORITHMS, SIGNATURE_ALGORITHMS
from . import validate as check

__all__ = ["DPoPPolicy", "dpop_policy"]
MODES = ("allowed", "required")


@dataclass(frozen=True, slots=True)
class DPoPPolicy:
    """How the gate treats DPoP: built by ``Settings`` from the ``dpop*`` settings, not by hand.

    Args:
        required: every token must be DPoP-bound and come with its proof (``dpop: required``).
        max_age: how old a proof may be, in seconds (``dpop_max_age_seconds``).
        leeway: how far ahead of our clock a proof's ``iat`` may be (``leeway``).
        algorithms: the proof algorithms accepted (``dpop_algorithms``).
        nonces: the server nonces, or ``None`` when none is asked for (``dpop_nonce``).
        replay: where the ``jti`` of accepted proofs is kept (``dpop_replay``).
    """

    required: bool
    max_age: float
    leeway: float
    algorithms: frozenset[str]
    nonces: _dpop.Nonces | None
    replay: Any

    @property
    def algs(self) -> str:
        """The challenge's ``algs`` parameter: the accepted algorithms, space-separated."""
        return " ".join(sorted(self.algorithms))

    def check(
        self, proofs: Sequence[str], *, method: str, url: str, access_token: str | None = None, record: bool = False
    ) -> _dpop.VerifiedProof:
        """The request's one proof checked with these settings (RFC 9449 §4.3); raises ``ProofRejected``.

        Args:
            proofs: the request's ``DPoP`` header values; exactly one is accepted (§4.3, check 1).
            method: the request's method.
            url: the request's URL as the client addressed it.
            access_token: the token the proof comes with (its ``ath``); none at a token endpoint.
            record: record the ``jti`` in ``replay`` here; ``False`` when the caller does (to await a store).
        """
        if not proofs:
            raise _dpop.ProofRejected("dpop_no_proof", "the DPoP scheme needs a DPoP proof header")
        if len(proofs) > 1:
            raise _dpop.ProofRejected("dpop_multiple_proofs", "send exactly one DPoP proof header")
        return _dpop.verify_proof(
            proofs[0], method=method, url=url, access_token=access_token, algorithms=self.algorithms,
            max_age=self.max_age, leeway=self.leeway, nonce=self.nonces, replay=self.replay if record else None,
        )  # fmt: skip


def dpop_policy(mode: Any, max_age: Any, algorithms: Any, nonce: Any, replay: Any, leeway: float) -> DPoPPolicy:
    """Validate the ``dpop*`` settings; ``ConfigError`` names the key at fault."""
    if mode not in MODES:
        raise ConfigError("dpop", "expected 'allowed' or 'required'")
    age = check.seconds("dpop_max_age_seconds", max_age, 1, 3600)
    algs = check.strings("dpop_algorithms", algorithms, single_ok=False)
    for alg in algs:
        if alg not in ASYMMETRIC_ALGORITHMS or alg not in SIGNATURE_ALGORITHMS:
            raise ConfigError(
                "dpop_algorithms",
                f"{alg!r} is not an asymmetric signature algorithm{check.closest(alg, sorted(ASYMMETRIC_ALGORITHMS))}",
            )
    if nonce is None or nonce is False:
        nonces = None
    elif nonce is True:
        nonces = _dpop.NonceSource()
    elif callable(getattr(nonce, "current", None)) and callable(getattr(nonce, "accepts", None)):
        nonces = nonce
    else:
        raise ConfigError("dpop_nonce", "expected true, false, or a NonceSource (an object with current() and accepts())")
    if replay is None:
        replay = _dpop.MemoryReplay()
    elif not callable(getattr(replay, "claim", None)):
        raise ConfigError("dpop_replay", "expected a replay cache: MemoryReplay, RedisDPoPReplay, or an object with claim()")
    return DPoPPolicy(mode == "required", age, leeway, frozenset(algs), nonces, replay)
