"""DPoP proofs (RFC 9449 §4.3): the checks a resource server makes on a ``DPoP`` header.

A proof is a compact JWS that the client signs with the key its access token is bound
to (``cnf.jkt``), fresh for each request. ``verify_proof`` checks it for one request and
returns the key's RFC 7638 thumbprint; ``check_binding`` compares that with the token.
Both raise ``ProofRejected``, whose ``reason`` is a stable code and whose ``error`` is the
RFC's error code (``invalid_dpop_proof``, or ``use_dpop_nonce`` when a nonce is asked for).
No I/O: the replay cache is in memory; a store for many processes plugs in as a ``Replay``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from .errors import AuthError, InvalidToken
from .jose import _b64url_decode, json_object, media_type
from .keys import ASYMMETRIC_ALGORITHMS, SIGNATURE_ALGORITHMS, KeyRejected, VerificationKey, from_jwk, thumbprint
from .stores import Replay

__all__ = [
    "DEFAULT_PROOF_ALGORITHMS",
    "MemoryReplay",
    "NonceSource",
    "Nonces",
    "ProofRejected",
    "Replay",
    "VerifiedProof",
    "access_token_hash",
    "check_binding",
    "is_bound",
    "normalise_htu",
    "replayed",
    "verify_proof",
]

DEFAULT_PROOF_ALGORITHMS = frozenset({"ES256", "ES384", "PS256", "PS384", "RS256", "EdDSA", "Ed25519"})
"""The proof algorithms accepted by default (the ``dpop_algorithms`` setting): asymmetric, widely implemented."""
MAX_PROOF_BYTES = 8192  # a proof carries one public key: an RSA-4096 proof is about 1.5 KB
MAX_JTI_LENGTH = 256
MAX_PROOF_KEYS = 1024  # proof header segments remembered with their key (one per client key)
_PROOF_KEYS: dict[bytes, tuple[str, VerificationKey, str]] = {}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_HTTP_SCHEME = {"ws": "http", "wss": "https"}


class ProofRejected(AuthError):
    """A DPoP proof, or the binding of a token to it, is refused: 401 with a ``DPoP`` challenge.

    Args:
        reason: a short code for logs and events (``dpop_replay``, ``dpop_htu_mismatch``, ...).
        description: a fixed description for the ``error_description``; never echoes input.
        error: the RFC 9449 error code: ``invalid_dpop_proof``, ``use_dpop_nonce``, or
            ``invalid_token`` for a token whose binding does not fit the request.
    """

    status = 401

    def __init__(self, reason: str, description: str, error: str = "invalid_dpop_proof") -> None:
        super().__init__(reason, description)
        self.error = error


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a valid proof says: the key's thumbprint (to compare with ``cnf.jkt``) and its claims.

    Args:
        jkt: the RFC 7638 thumbprint of the proof's public key.
        alg: the proof's algorithm.
        claims: the proof's claims (``jti``, ``htm``, ``htu``, ``iat``, maybe ``ath`` and ``nonce``).
        replay_key: what a replay cache records for it (the thumbprint and the ``jti``).
        replay_until: when the proof is too old to be accepted anyway (Unix seconds): how
            long a replay cache must remember it.
    """

    jkt: str
    alg: str
    claims: Mapping[str, Any]
    replay_key: str = ""
    replay_until: float = 0.0


class MemoryReplay:
    """A bounded replay cache for one process; thread-safe.

    When it holds ``max_entries`` unexpired proofs it refuses new ones (reason
    ``dpop_replay_cache_full``) rather than forget one that could then be replayed. Only
    proofs that passed every other check are recorded, so only a holder of a valid bound
    token and its key can fill it.

    Args:
        max_entries: the most proofs remembered at once (default 1,000,000).
    """

    def __init__(self, max_entries: int = 1_000_000) -> None:
        self.max_entries = max_entries
        self._until: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str, until: float) -> bool:
        """See ``Replay.claim`` (``key`` and ``until`` too)."""
        now = time.time()
        with self._lock:
            seen = self._until.get(key)
            if seen is not None and seen > now:
                return False
            while self._until:  # entries go in roughly in expiry order: drop the expired from the front
                oldest, expiry = next(iter(self._until.items()))
                if expiry > now:
                    break
                del self._until[oldest]
            if len(self._until) >= self.max_entries:
                raise ProofRejected("dpop_replay_cache_full", "too many proofs in flight; try again")
            self._until.pop(key, None)  # an expired entry of the same key goes to the back again
            self._until[key] = until
            return True

    async def claim_async(self, key: str, until: float) -> bool:
        """``claim``: memory never waits, so it is the same call.

        Args:
            key: as for ``claim``.
            until: as for ``claim``.
        """
        return self.claim(key, until)

    def __len__(self) -> int:
        return len(self._until)


class Nonces(Protocol):
    """Server nonces (RFC 9449 §8/§9): the one to hand out now, and which ones a proof may carry."""

    def current(self) -> str:
        """The nonce to send in ``DPoP-Nonce`` now."""
        ...

    def accepts(self, nonce: str) -> bool:
        """Whether a proof carrying ``nonce`` is fresh enough.

        Args:
            nonce: the proof's ``nonce`` claim.
        """
        ...


class NonceSource:
    """Stateless nonces that change every ``lifetime`` seconds: an HMAC of the time window.

    A proof may carry the current nonce or the one before it, so a nonce is good for
    between one and two lifetimes; nothing is stored. Processes that share ``secret``
    share nonces (give every process the same secret behind a load balancer); the default
    secret is random, for one process.

    Args:
        secret: at least 32 bytes shared by the processes that must accept each other's
            nonces; default a random one.
        lifetime: seconds between new nonces (default 300).
    """

    def __init__(self, secret: bytes | None = None, lifetime: float = 300.0) -> None:
        if secret is not None and len(secret) < 32:
            raise ValueError("a nonce secret needs at least 32 bytes")
        if not 1 <= lifetime <= 86400:
            raise ValueError("lifetime must be between 1 and 86400 seconds")
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self.lifetime = lifetime

    def _for(self, window: int) -> str:
        mac = hmac.new(self._secret, window.to_bytes(8, "big", signed=True), hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(mac).decode()

    def current(self, now: float | None = None) -> str:
        """The nonce of the current window.

        Args:
            now: the time (Unix seconds); default now.
        """
        return self._for(int((time.time() if now is None else now) // self.lifetime))

    def accepts(self, nonce: str, now: float | None = None) -> bool:
        """Whether ``nonce`` is the current window's or the previous one's.

        Args:
            nonce: the proof's ``nonce`` claim.
            now: the time (Unix seconds); default now.
        """
        window = int((time.time() if now is None else now) // self.lifetime)
        given = nonce.encode("ascii", "replace")
        return any(hmac.compare_digest(given, self._for(w).encode()) for w in (window, window - 1))


def access_token_hash(token: str) -> str:
    """``ath``: base64url (no padding) of the SHA-256 of the access token's ASCII bytes.

    Args:
        token: the access token as sent.
    """
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode("ascii")).digest()).rstrip(b"=").decode()


@functools.lru_cache(maxsize=1024)  # a client names the same few URLs; the server rebuilds the same few
def normalise_htu(url: str) -> str | None:
    """A URL as ``htu`` is compared (RFC 9449 §4.3, RFC 3986 §6.2.2-6.2.3), or ``None`` if it is not one.

    Scheme and host in lower case, the default port dropped, an empty path as ``/``; the
    query and the fragment are not part of it. ``ws`` and ``wss`` compare as ``http`` and
    ``https``: a WebSocket handshake is an HTTP request for the same resource (RFC 6455 §3).

    Args:
        url: an absolute ``http``/``https`` (or ``ws``/``wss``) URL.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return f"{_HTTP_SCHEME.get(scheme, scheme)}://{netloc}{parts.path or '/'}"


def _refuse(reason: str, description: str) -> ProofRejected:
    return ProofRejected(reason, description)


def _header(segment: bytes) -> dict[str, Any]:
    try:
        header = json_object(_b64url_decode(segment), "proof header")
    except InvalidToken as exc:
        raise _refuse("dpop_malformed", "the DPoP proof is not a valid JWS") from exc
    if media_type(header.get("typ")) != "dpop+jwt":
        raise _refuse("dpop_bad_typ", "the DPoP proof's typ is not dpop+jwt")
    if "crit" in header or not header.keys() <= {"typ", "alg", "jwk", "kid"}:
        raise _refuse("dpop_bad_header", "the DPoP proof has header parameters that are not supported")
    return dict(header)


def _proof_key(segment: bytes) -> tuple[str, VerificationKey, str]:
    """The header's algorithm, public key and its thumbprint; raises for a header or key that is refused.

    A client signs every proof with one key, so its header segment repeats: the verdict on
    it, which depends on its bytes alone, is kept (bounded), and the key is built once.
    """
    known = _PROOF_KEYS.get(segment)
    if known is not None:
        return known
    header = _header(segment)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
        raise _refuse("dpop_bad_alg", "the DPoP proof's algorithm is not accepted")
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise _refuse("dpop_no_key", "the DPoP proof has no jwk header")
    if _PRIVATE_MEMBERS.intersection(jwk):
        raise _refuse("dpop_private_key", "the DPoP proof's jwk must be a public key")
    try:
        key = from_jwk(jwk)
    except KeyRejected as exc:
        raise _refuse("dpop_bad_key", "the DPoP proof's jwk is not an accepted public key") from exc
    if alg not in key.algorithms:
        raise _refuse("dpop_bad_alg", "the DPoP proof's algorithm does not fit its key")
    found = (alg, key, thumbprint(dict(jwk)))
    if len(_PROOF_KEYS) >= MAX_PROOF_KEYS:
        _PROOF_KEYS.clear()
    _PROOF_KEYS[segment] = found
    return found


def verify_proof(
    proof: str,
    *,
    method: str,
    url: str,
    access_token: str | None = None,
    algorithms: Collection[str] = DEFAULT_PROOF_ALGORITHMS,
    max_age: float = 60.0,
    leeway: float = 5.0,
    nonce: str | Nonces | None = None,
    replay: Replay | None = None,
    now: float | None = None,
) -> VerifiedProof:
    """Check one DPoP proof for one request (RFC 9449 §4.3); raise ``ProofRejected`` if it fails.

    The order keeps the cheap checks first and records the ``jti`` last, so a refused
    proof never spends its ``jti``. The header may carry ``typ``, ``alg``, ``jwk`` and
    ``kid`` only (no ``crit``, no key pointers such as ``x5u``).

    Args:
        proof: the ``DPoP`` header's value.
        method: the request's method (``htm`` must equal it).
        url: the request's URL as the client addressed it (``htu`` must match it).
        access_token: the token the proof comes with; its hash must be ``ath``. ``None`` at a
            token endpoint, where no token is presented yet.
        algorithms: the asymmetric algorithms accepted for proofs.
        max_age: how old a proof may be, in seconds (``iat``).
        leeway: how far in the future ``iat`` may be, for clock skew, in seconds.
        nonce: the server nonce the proof must carry (a string), or the ``Nonces`` that say
            which are fresh; ``None``: no nonce is asked for.
        replay: where accepted ``jti`` values are kept; ``None`` skips the replay check
            (the caller records ``replay_key`` itself, as the middleware does to await a store).
        now: the time to check against (Unix seconds); default now.
    """
    raw = proof.encode("ascii", "replace")
    if len(raw) > MAX_PROOF_BYTES:
        raise _refuse("dpop_malformed", "the DPoP proof is too long")
    segments = raw.split(b".")
    if len(segments) != 3 or not all(segments):
        raise _refuse("dpop_malformed", "the DPoP proof is not a compact JWS")
    alg, key, jkt = _proof_key(segments[0])
    if alg not in algorithms:
        raise _refuse("dpop_bad_alg", "the DPoP proof's algorithm is not accepted")
    try:
        signature = _b64url_decode(segments[2])
        valid = SIGNATURE_ALGORITHMS[alg].verify(segments[0] + b"." + segments[1], key.key, signature)
        claims = json_object(_b64url_decode(segments[1]), "proof claims") if valid else None
    except (InvalidToken, ValueError, TypeError) as exc:
        raise _refuse("dpop_malformed", "the DPoP proof is not a valid JWS") from exc
    if claims is None:
        raise _refuse("dpop_bad_signature", "the DPoP proof's signature does not verify")
    _check_claims(claims, method, url, access_token, max_age, leeway, nonce, time.time() if now is None else now)
    verified = VerifiedProof(jkt, alg, claims, f"{jkt}:{claims['jti']}", float(claims["iat"]) + max_age + leeway)
    if replay is not None and not replay.claim(verified.replay_key, verified.replay_until):
        raise replayed()
    return verified


def replayed() -> ProofRejected:
    """The refusal of a proof whose ``jti`` was seen before."""
    return _refuse("dpop_replay", "the DPoP proof was used before")


def _check_claims(
    claims: Mapping[str, Any],
    method: str,
    url: str,
    token: str | None,
    max_age: float,
    leeway: float,
    nonce: str | Nonces | None,
    now: float,
) -> None:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise _refuse("dpop_bad_jti", "the DPoP proof needs a short jti")
    if claims.get("htm") != method:
        raise _refuse("dpop_htm_mismatch", "the DPoP proof's htm is not this request's method")
    htu = claims.get("htu")
    sent = normalise_htu(htu) if isinstance(htu, str) else None
    if sent is None or sent != normalise_htu(url):
        raise _refuse("dpop_htu_mismatch", "the DPoP proof's htu is not this request's URL")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise _refuse("dpop_bad_iat", "the DPoP proof needs a numeric iat")
    if iat > now + leeway:
        raise _refuse("dpop_bad_iat", "the DPoP proof's iat is in the future")
    if iat < now - max_age:
        raise _refuse("dpop_stale", "the DPoP proof is too old")
    if token is not None and claims.get("ath") != access_token_hash(token):
        raise _refuse("dpop_ath_mismatch", "the DPoP proof's ath is not this access token's hash")
    if nonce is not None:
        sent = claims.get("nonce")
        fresh = isinstance(sent, str) and (sent == nonce if isinstance(nonce, str) else nonce.accepts(sent))
        if not fresh:
            raise ProofRejected("dpop_nonce", "the server requires a fresh DPoP nonce", "use_dpop_nonce")


def is_bound(claims: Mapping[str, Any]) -> bool:
    """Whether a token's claims bind it to a DPoP key (a ``cnf`` with ``jkt``).

    Args:
        claims: the token's claims.
    """
    cnf = claims.get("cnf")
    return isinstance(cnf, Mapping) and "jkt" in cnf


def check_binding(claims: Mapping[str, Any], proof: VerifiedProof | None) -> None:
    """A token bound to a key (``cnf.jkt``) needs a proof by that key; raise ``ProofRejected`` if not.

    Args:
        claims: the access token's verified claims.
        proof: the request's verified proof, or ``None`` when none came (a Bearer request).
    """
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    if jkt is None:
        if proof is not None:
            raise ProofRejected("dpop_token_not_bound", "the access token is not bound to a DPoP key", "invalid_token")
        return
    if proof is None:
        raise ProofRejected("dpop_proof_missing", "a DPoP-bound token needs the DPoP scheme and a proof", "invalid_token")
    if not isinstance(jkt, str) or jkt != proof.jkt:
        raise _refuse("dpop_key_mismatch", "the DPoP proof is not signed by the key the token is bound to")
