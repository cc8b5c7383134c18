"""Verification keys: each bound to one key type and the algorithms of that type.

Keys are held as ``cryptography`` key objects (or HMAC bytes), never as strings that PyJWT
could read as an HMAC secret. A JWK is read by PyJWT's ``Algorithm.from_jwk``; this module
only decides which JWKs are acceptable and which algorithms each key may verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)
from jwt.algorithms import Algorithm, ECAlgorithm, OKPAlgorithm, RSAAlgorithm, get_default_algorithms

HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {
    "secp256r1": frozenset({"ES256"}),
    "secp384r1": frozenset({"ES384"}),
    "secp521r1": frozenset({"ES512", "ES521"}),
    "secp256k1": frozenset({"ES256K"}),
}
# RFC 9864: the fully specified Ed25519 and Ed448 beside the polymorphic (deprecated) EdDSA.
OKP_ALGORITHMS = {"Ed25519": frozenset({"EdDSA", "Ed25519"}), "Ed448": frozenset({"EdDSA", "Ed448"})}
ASYMMETRIC_ALGORITHMS = RSA_ALGORITHMS | frozenset().union(*OKP_ALGORITHMS.values(), *EC_ALGORITHMS.values())
SUPPORTED_ALGORITHMS = ASYMMETRIC_ALGORITHMS | frozenset(HMAC_MIN_BYTES)
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 8192  # a DPoP proof's key is the client's choice: a verify must not cost what it likes (issue 22 item 10)
MAX_RSA_EXPONENT = 2**32 - 1  # 65537 in practice; Go refuses beyond 2**31 - 1
SIGNATURE_ALGORITHMS: dict[str, Algorithm] = {name: alg for name, alg in get_default_algorithms().items() if name != "none"}
# RFC 9864 names, verified by PyJWT's EdDSA algorithm; the key's type (bound below) decides the curve.
SIGNATURE_ALGORITHMS["Ed25519"] = SIGNATURE_ALGORITHMS["Ed448"] = SIGNATURE_ALGORITHMS["EdDSA"]
_EC_COORDINATE_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66, "secp256k1": 32}
_FROM_JWK = {"RSA": RSAAlgorithm.from_jwk, "EC": ECAlgorithm.from_jwk, "OKP": OKPAlgorithm.from_jwk}

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "oct": ("k", "kty")}


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 thumbprint of a public JWK: SHA-256 over its required members, base64url.

    Args:
        jwk: a JWK as a dict (``kty`` RSA, EC, OKP or oct, with that type's members).
    """
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


class KeyRejected(ValueError):
    """A key cannot be used; ``reason`` is a short code for logs and config errors."""

    def __init__(self, reason: str, description: str) -> None:
        self.reason = reason
        super().__init__(description)


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One key: what it is (``kty``), which algorithms it may verify, and the key itself."""

    kid: str | None
    kty: str
    algorithms: frozenset[str]
    key: Any

    def __repr__(self) -> str:
        return f"VerificationKey(kid={self.kid!r}, kty={self.kty!r}, algorithms={sorted(self.algorithms)})"


def algorithms_for(key: PublicKey) -> tuple[str, frozenset[str]]:
    """The key type and the algorithms a public key may verify; refuses weak RSA keys."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise KeyRejected("weak_key", f"RSA keys must have at least {MIN_RSA_BITS} bits")
        if key.key_size > MAX_RSA_BITS or key.public_numbers().e > MAX_RSA_EXPONENT:  # a verify's cost is an attacker's lever
            raise KeyRejected("oversized_key", f"RSA keys have at most {MAX_RSA_BITS} bits and an exponent below 2**32")
        return "RSA", RSA_ALGORITHMS
    if isinstance(key, ec.EllipticCurvePublicKey):
        algs = EC_ALGORITHMS.get(key.curve.name)
        if algs is None:
            raise KeyRejected("unsupported_key", f"curve {key.curve.name} is not supported")
        return "EC", algs
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "OKP", OKP_ALGORITHMS["Ed25519"]
    if isinstance(key, ed448.Ed448PublicKey):
        return "OKP", OKP_ALGORITHMS["Ed448"]
    raise KeyRejected("unsupported_key", "unsupported key type")


def public_key_of(key: Any) -> PublicKey:
    public = key.public_key() if hasattr(key, "public_key") else key
    if not isinstance(public, PublicKey):
        raise KeyRejected("unsupported_key", "unsupported key type")
    return public


def load_pem(text: str | bytes) -> PublicKey:
    """A public key, certificate or private key in PEM; the public half is kept."""
    data = text.encode("ascii") if isinstance(text, str) else text
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return public_key_of(x509.load_pem_x509_certificate(data).public_key())
        if b"PRIVATE KEY-----" in data:
            return public_key_of(load_pem_private_key(data, password=None))
        return public_key_of(load_pem_public_key(data))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise KeyRejected("bad_pem", "not a readable PEM key") from exc


def from_key_object(key: Any, kid: str | None = None) -> VerificationKey:
    public = public_key_of(key)
    kty, algs = algorithms_for(public)
    return VerificationKey(kid, kty, algs, public)


def from_jwk(jwk: Mapping[str, Any]) -> VerificationKey:
    """Read one JWK, applying the hygiene rules of RFC 7517 §4 and RFC 8725 §3.1."""
    if not isinstance(jwk, Mapping):
        raise KeyRejected("bad_jwk", "a JWK is a JSON object")
    kty = jwk.get("kty")
    if kty == "oct":
        raise KeyRejected("symmetric_key", "symmetric (oct) keys are not taken from a key set")
    if kty not in _FROM_JWK:
        raise KeyRejected("unsupported_key", "unknown kty")
    if "use" in jwk and jwk["use"] != "sig":
        raise KeyRejected("not_for_signatures", "use is not sig")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise KeyRejected("not_for_signatures", "key_ops lacks verify")
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= 256):
        raise KeyRejected("bad_jwk", "kid must be a short string")
    try:
        key = _FROM_JWK[kty](_padded_ec(jwk) if kty == "EC" else dict(jwk))
    except Exception as exc:  # untrusted input to a third-party parser: one bad key is skipped
        raise KeyRejected("bad_jwk", "JWK members do not form a key") from exc
    found_kty, algs = algorithms_for(public_key_of(key))
    alg = jwk.get("alg")
    if alg is not None:
        if alg not in algs:
            raise KeyRejected("alg_mismatch", "the JWK's alg does not fit its key type")
        algs = frozenset({alg})
    return VerificationKey(kid, found_kty, algs, public_key_of(key))


def _padded_ec(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """The JWK with short EC members left-padded to the curve's size (RFC 7518 §6.2.1.2 wants the full length).

    Some libraries (authlib) drop leading zero bytes; jose, jwcrypto and joserfc pad them
    back, and so do we. Only shorter members change: a longer one stays, and is refused.
    """
    padded = dict(jwk)
    size = _EC_COORDINATE_BYTES.get(jwk.get("crv"))  # type: ignore[arg-type]
    for member in ("x", "y", "d") if size else ():
        value = jwk.get(member)
        if isinstance(value, str) and len(value) < -(-size * 4 // 3):  # type: ignore[operator]
            try:
                raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            except ValueError:
                continue  # left for PyJWT to refuse
            padded[member] = base64.urlsafe_b64encode(raw.rjust(size, b"\0")).rstrip(b"=").decode()  # type: ignore[arg-type]
    return padded


def hmac_key(secret: bytes, allowed: Iterable[str]) -> VerificationKey:
    algs = frozenset(a for a in allowed if len(secret) >= HMAC_MIN_BYTES.get(a, 1 << 30))
    return VerificationKey(None, "oct", algs, secret)


class KeySet:
    """Keys indexed by ``kid``; a token's ``kid`` is only ever a dictionary lookup."""

    __slots__ = ("_by_kid", "_ids", "_memo", "_without_kid", "keys")

    def __init__(self, keys: Sequence[VerificationKey]) -> None:
        self.keys = tuple(keys)
        self._ids = frozenset(map(id, self.keys))
        self._by_kid: dict[str, list[VerificationKey]] = {}
        self._without_kid: list[VerificationKey] = []
        self._memo: dict[tuple[str | None, str], tuple[tuple[VerificationKey, ...], bool]] = {}
        for key in self.keys:
            if key.kid is None:
                self._without_kid.append(key)
            else:
                self._by_kid.setdefault(key.kid, []).append(key)

    def has_kid(self, kid: str) -> bool:
        return kid in self._by_kid

    def kids(self) -> list[str]:
        return sorted(self._by_kid)

    def candidates(self, kid: str | None, alg: str) -> list[VerificationKey]:
        """Keys that may verify a token with this ``kid`` and ``alg`` (keys without a kid always may)."""
        named = self._by_kid.get(kid, ()) if kid is not None else ()
        if kid is None:
            named = [k for keys in self._by_kid.values() for k in keys]
        return [k for k in (*named, *self._without_kid) if alg in k.algorithms]

    def lookup(self, kid: str | None, alg: str) -> tuple[tuple[VerificationKey, ...], bool]:
        """``candidates`` as a tuple, and whether the ``kid`` names more than one of them.

        Remembered per ``(kid, alg)`` for the kids this set holds (and for no kid), so the
        memo is bounded by the set itself; an unknown kid is answered but not remembered.
        """
        found = self._memo.get((kid, alg))
        if found is None:
            keys = tuple(self.candidates(kid, alg))
            found = (keys, kid is not None and sum(1 for k in keys if k.kid == kid) > 1)
            if (kid is None or kid in self._by_kid) and len(self._memo) < 1024:
                self._memo[(kid, alg)] = found
        return found

    def __contains__(self, key: object) -> bool:
        return id(key) in self._ids

    def __len__(self) -> int:
        return len(self.keys)


class KeySource(Protocol):
    """Where a provider's keys come from. ``current`` never does I/O."""

    def current(self, kid: str | None) -> KeySet | None:
        """The keys to use now, or ``None`` when the caller must wait for a fetch."""

    def wait(self, kid: str | None) -> KeySet:
        """Block until keys are available (a fetch done or shared); for WSGI threads."""

    async def wait_async(self, kid: str | None) -> KeySet:
        """Await keys without blocking the event loop; for ASGI."""

    def health(self) -> dict[str, Any]:
        """A snapshot for a readiness endpoint."""


class StaticKeys:
    """Keys fixed by the settings."""

    def __init__(self, keys: Sequence[VerificationKey], name: str = "default") -> None:
        self.keyset = KeySet(keys)
        self.name = name

    def current(self, kid: str | None) -> KeySet:
        return self.keyset

    def wait(self, kid: str | None) -> KeySet:
        return self.keyset

    async def wait_async(self, kid: str | None) -> KeySet:
        return self.keyset

    def health(self) -> dict[str, Any]:
        return {"provider": self.name, "state": "static", "ready": True, "key_ids": self.keyset.kids()}
