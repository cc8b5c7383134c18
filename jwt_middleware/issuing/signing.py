"""Signing keys for the issuing side: generate or load, a ``kid`` from the key itself
(RFC 7638 thumbprint), and a key ring with one current key and retired keys that stay
published until the tokens they signed have expired."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ..core.keys import HMAC_MIN_BYTES, algorithms_for, load_pem, public_key_of, thumbprint

_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}
_DEFAULT_ALG = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


@dataclass(frozen=True)
class SigningKey:
    """A private key (or HMAC secret) with its algorithm and ``kid``; build one with a classmethod.

    Args:
        key: a ``cryptography`` private key, or the HMAC secret as bytes.
        alg: the JWS algorithm it signs with.
        kid: the key id put in every token's header (the RFC 7638 thumbprint by default).
    """

    key: Any = field(repr=False)
    alg: str
    kid: str

    @classmethod
    def generate(cls, alg: str = "ES256") -> SigningKey:
        """A new random key.

        Args:
            alg: RS*/PS* (3072-bit RSA), ES256/384/512, EdDSA (Ed25519) or HS256/384/512
                (a secret as long as the hash). Default ``ES256``.
        """
        if alg in HMAC_MIN_BYTES:
            return cls.from_secret(secrets.token_bytes(HMAC_MIN_BYTES[alg]), alg)
        if alg.startswith(("RS", "PS")):
            return cls.from_key(rsa.generate_private_key(public_exponent=65537, key_size=3072), alg)
        if alg in _CURVES:
            return cls.from_key(ec.generate_private_key(_CURVES[alg]()), alg)
        if alg == "EdDSA":
            return cls.from_key(ed25519.Ed25519PrivateKey.generate(), alg)
        raise ValueError(f"cannot generate a key for {alg!r}")

    @classmethod
    def from_key(cls, key: Any, alg: str | None = None) -> SigningKey:
        """Wrap a ``cryptography`` private key.

        Args:
            key: an RSA, EC or Ed25519 private key.
            alg: the algorithm; default RS256 for RSA, the curve's ES* for EC, EdDSA for Ed25519.
        """
        if not hasattr(key, "sign"):
            raise ValueError("a signing key must be a private key")
        kty, algs = algorithms_for(public_key_of(key))
        chosen = alg or ("RS256" if kty == "RSA" else "EdDSA" if kty == "OKP" else _DEFAULT_ALG[key.curve.name])
        if chosen not in algs:
            raise ValueError(f"{chosen} does not fit a {kty} key")
        return cls(key, chosen, thumbprint(_public_jwk(key, chosen)))

    @classmethod
    def from_pem(cls, pem: str | bytes, alg: str | None = None) -> SigningKey:
        """Load an unencrypted PEM private key.

        Args:
            pem: the PEM text (PKCS#8 or traditional).
            alg: as in ``from_key``.
        """
        data = pem.encode() if isinstance(pem, str) else pem
        return cls.from_key(serialization.load_pem_private_key(data, password=None), alg)

    @classmethod
    def from_secret(cls, secret: str | bytes, alg: str = "HS256") -> SigningKey:
        """An HMAC key; its ``kid`` is the thumbprint of the secret, which reveals nothing of it.

        Args:
            secret: at least as many bytes as the hash output (32 for HS256); a str is UTF-8 encoded.
            alg: ``HS256`` (default), ``HS384`` or ``HS512``.
        """
        raw = secret.encode() if isinstance(secret, str) else secret
        if len(raw) < HMAC_MIN_BYTES[alg]:
            raise ValueError(f"{alg} needs a secret of at least {HMAC_MIN_BYTES[alg]} bytes")
        k = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return cls(raw, alg, thumbprint({"kty": "oct", "k": k}))

    @property
    def symmetric(self) -> bool:
        """True for an HMAC secret, which is never published."""
        return self.alg in HMAC_MIN_BYTES

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK with ``kid``, ``use: sig`` and ``alg``; refused for HMAC."""
        if self.symmetric:
            raise ValueError("an HMAC secret is never published")
        return {**_public_jwk(self.key, self.alg), "kid": self.kid, "use": "sig", "alg": self.alg}

    def private_pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM; refused for HMAC."""
        if self.symmetric:
            raise ValueError("an HMAC secret has no PEM form")
        return str(
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
        )

    def public_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM (what ``keys`` in the settings takes)."""
        return (
            load_pem(self.private_pem())
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        """A compact JWS of ``claims`` with this key's ``alg`` and ``kid`` in the header.

        Args:
            claims: the payload, as given (no claim is added).
            typ: the header ``typ``; default ``JWT`` (``TokenIssuer`` uses ``at+jwt``).
        """
        return jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": self.kid, "typ": typ})


def _public_jwk(key: Any, alg: str) -> dict[str, Any]:
    jwk: dict[str, Any] = jwt.get_algorithm_by_name(alg).to_jwk(public_key_of(key), as_dict=True)
    return jwk


class KeyRing:
    """One current signing key, and retired keys that stay published for a while.

    Args:
        current: the key that signs from now on.
        retired: older keys still to publish (their retirement counts from now).
        keep_retired_seconds: how long a retired key stays published; make it at least the
            longest token lifetime plus your verifiers' JWKS cache time. Default one day.
    """

    def __init__(self, current: SigningKey, retired: Sequence[SigningKey] = (), keep_retired_seconds: float = 86400) -> None:
        self._lock = threading.Lock()
        self._current = current
        self._retired: list[tuple[SigningKey, float]] = [(k, time.time()) for k in retired]
        self.keep_retired_seconds = keep_retired_seconds

    @property
    def current(self) -> SigningKey:
        """The key that signs new tokens."""
        return self._current

    @property
    def retired(self) -> list[SigningKey]:
        """The retired keys still kept, newest first."""
        cutoff = time.time() - self.keep_retired_seconds
        return [k for k, at in self._retired if at > cutoff]

    def rotate(self, new: SigningKey | None = None) -> SigningKey:
        """Sign with a new key from now on; the old one stays published. Returns the new key.

        Args:
            new: the next key; default a fresh key of the current algorithm.
        """
        fresh = new or SigningKey.generate(self._current.alg)
        with self._lock:
            cutoff = time.time() - self.keep_retired_seconds
            self._retired = [(self._current, time.time())] + [(k, at) for k, at in self._retired if at > cutoff]
            self._current = fresh
        return fresh

    def signing_keys(self) -> list[SigningKey]:
        """The current key, then the retired keys still kept."""
        return [self._current, *self.retired]

    def jwks(self) -> dict[str, Any]:
        """The public key set to publish: the current key and the retired keys still kept."""
        return {"keys": [k.public_jwk() for k in self.signing_keys() if not k.symmetric]}
