"""Keys and token factories shared by the tests."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SECRET = "s3cret-s3cret-s3cret-s3cret-0123456789"  # 38 bytes: fine for HS256, too short for HS384


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class KeyPair:
    private: Any
    alg: str
    kid: str

    @property
    def public(self) -> Any:
        return self.private.public_key()

    @property
    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def jwk(self, **extra: Any) -> dict[str, Any]:
        algo = jwt.get_algorithm_by_name(self.alg)
        return {**algo.to_jwk(self.public, as_dict=True), "kid": self.kid, "use": "sig", **extra}

    def sign(self, claims: dict[str, Any] | None = None, **headers: Any) -> str:
        kid = headers.pop("kid", self.kid)
        return mint(claims, key=self.private, alg=self.alg, kid=kid, **headers)


@cache
def rsa_pair(kid: str = "rsa1", bits: int = 2048) -> KeyPair:
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=bits), "RS256", kid)


@cache
def ec_pair(kid: str = "ec1", curve: str = "P-256") -> KeyPair:
    curves = {"P-256": (ec.SECP256R1(), "ES256"), "P-384": (ec.SECP384R1(), "ES384"), "P-521": (ec.SECP521R1(), "ES512")}
    c, alg = curves[curve]
    return KeyPair(ec.generate_private_key(c), alg, kid)


@cache
def ed_pair(kid: str = "ed1") -> KeyPair:
    return KeyPair(ed25519.Ed25519PrivateKey.generate(), "EdDSA", kid)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "alice", "iat": now, "exp": now + 300, "scope": "read write"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(
    payload: dict[str, Any] | None = None, *, key: Any = SECRET, alg: str = "HS256", kid: str | None = None, **headers: Any
) -> str:
    hdr = dict(headers)
    if kid is not None:
        hdr["kid"] = kid
    return jwt.encode(claims() if payload is None else payload, key, algorithm=alg, headers=hdr or None)


def raw(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, signature: bytes = b"sig") -> str:
    """A token with exactly these bytes: for inputs an encoder would refuse to make."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return f"{b64(h)}.{b64(p)}.{b64(signature)}"


def hs_signed(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, secret: bytes | str = SECRET) -> str:
    """A raw token with a correct HS256 signature over whatever bytes were given."""
    import hashlib
    import hmac

    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(h)}.{b64(p)}".encode()
    key = secret.encode() if isinstance(secret, str) else secret
    return f"{signing_input.decode()}.{b64(hmac.new(key, signing_input, hashlib.sha256).digest())}"
