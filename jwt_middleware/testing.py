"""Tokens for your own tests: ``TestIssuer``, and the ``jwt_issuer`` pytest fixture.

    from jwt_middleware.testing import TestIssuer

    issuer = TestIssuer()                                     # a fresh ES256 key, in memory
    app.add_middleware(JWTMiddleware, settings=issuer.settings(exclude_paths=["/health"]))
    client.get("/me", headers=issuer.headers(sub="alice", scope="notes:read"))

With pytest, the fixture comes with the package (a ``pytest11`` entry point): a test that
takes ``jwt_issuer`` gets a ``TestIssuer``. The tokens are real: signed, verified by the
same middleware as in production, never a switch that turns verification off.

``DPoPKey`` is the client's side of DPoP (RFC 9449) for tests and scripts:

    key = DPoPKey()
    token = issuer.token("alice", cnf={"jkt": key.jkt})       # or issuer.dpop_headers(...)
    client.get("/me", headers=key.headers(token, "GET", "http://testserver/me"))
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .core.dpop import access_token_hash
from .core.keys import thumbprint
from .issuing.issuer import TokenIssuer
from .issuing.signing import SigningKey

__all__ = ["DPoPKey", "TestIssuer", "jwt_issuer"]


class TestIssuer:
    """An issuer with its own fresh signing key, and the settings that verify its tokens.

    Args:
        algorithm: the signing algorithm (default ``ES256``; any ``SigningKey.generate`` takes).
        issuer: the ``iss`` of its tokens (default ``https://issuer.test``).
        audience: the ``aud`` of its tokens (default ``api``; ``None`` for none).
    """

    __test__ = False  # a helper, not a test class for pytest to collect

    def __init__(self, algorithm: str = "ES256", issuer: str = "https://issuer.test", audience: str | None = "api") -> None:
        self.key = SigningKey.generate(algorithm)
        self.issuer = TokenIssuer(self.key, issuer=issuer, audience=audience, token_type="JWT")  # noqa: S106 - a media type

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Middleware settings that accept this issuer's tokens (``roles`` read from the ``roles`` claim).

        Args:
            overrides: more settings, or replacements (``exclude_paths``, ``optional``, ...).
        """
        return self.issuer.settings(required_claims=["exp"], **overrides)  # role_claims: the default, as in production

    def token(
        self,
        sub: str = "user",
        *,
        scope: str | Sequence[str] | None = None,
        roles: Sequence[str] | None = None,
        ttl: float = 300,
        **claims: Any,
    ) -> str:
        """A signed token.

        Args:
            sub: the subject (default ``user``).
            scope: the scopes, a space-separated string or a list; default none.
            roles: the ``roles`` claim; default none.
            ttl: seconds until it expires (default 300; negative for an expired token).
            claims: more claims (``iss``, ``aud``, ``iat``, ``nbf``, ``exp``, ``jti`` are set for you).
        """
        if roles is not None:
            claims["roles"] = list(roles)
        return self.issuer.issue(sub, scope=scope, ttl=ttl, **claims)

    def headers(self, sub: str = "user", **kwargs: Any) -> dict[str, str]:
        """``{"Authorization": "Bearer <token>"}`` for a test client.

        Args:
            sub: the subject.
            kwargs: as for ``token``.
        """
        return {"Authorization": f"Bearer {self.token(sub, **kwargs)}"}

    def dpop_headers(self, key: DPoPKey, method: str, url: str, sub: str = "user", **kwargs: Any) -> dict[str, str]:
        """``Authorization: DPoP <token>`` and its ``DPoP`` proof: a token bound to ``key`` (``cnf.jkt``).

        Args:
            key: the client's DPoP key.
            method: the request's method.
            url: the request's URL (``http://testserver/me`` for Starlette's test client).
            sub: the subject.
            kwargs: as for ``token``.
        """
        return key.headers(self.token(sub, cnf={"jkt": key.jkt}, **kwargs), method, url)


_GENERATORS: dict[str, Any] = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "PS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


class DPoPKey:
    """A client's DPoP key pair, which signs proofs (RFC 9449 §4.2) with PyJWT.

    Args:
        algorithm: ``ES256`` (default), ``ES384``, ``PS256``, ``RS256`` or ``EdDSA``.
    """

    def __init__(self, algorithm: str = "ES256") -> None:
        if algorithm not in _GENERATORS:
            raise ValueError(f"algorithm must be one of {sorted(_GENERATORS)}")
        self.algorithm = algorithm
        self.private_key = _GENERATORS[algorithm]()
        public = jwt.get_algorithm_by_name(algorithm).to_jwk(self.private_key.public_key(), as_dict=True)
        self.public_jwk: dict[str, Any] = {k: v for k, v in public.items() if k not in ("alg", "use", "key_ops", "kid")}
        self.jkt = thumbprint(self.public_jwk)

    def proof(
        self, method: str, url: str, access_token: str | None = None, *, nonce: str | None = None, iat: float | None = None
    ) -> str:
        """A fresh proof for one request.

        Args:
            method: the request's method (``htm``).
            url: the request's URL (``htu``; the query and fragment are dropped).
            access_token: the token it comes with (``ath``); none at a token endpoint.
            nonce: the server's nonce (from ``DPoP-Nonce``), when it asks for one.
            iat: when it was made (Unix seconds); default now.
        """
        claims: dict[str, Any] = {
            "jti": uuid.uuid4().hex,
            "htm": method,
            "htu": url.split("#", 1)[0].split("?", 1)[0],
            "iat": int(time.time() if iat is None else iat),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers=headers)

    def headers(self, access_token: str, method: str, url: str, *, nonce: str | None = None) -> dict[str, str]:
        """``Authorization: DPoP <token>`` and a fresh ``DPoP`` proof for one request.

        Args:
            access_token: the DPoP-bound access token.
            method: the request's method.
            url: the request's URL.
            nonce: the server's nonce, when it asks for one.
        """
        return {"Authorization": f"DPoP {access_token}", "DPoP": self.proof(method, url, access_token, nonce=nonce)}


try:
    import pytest
except ImportError:  # pragma: no cover - the helpers work without pytest; the fixture needs it
    pass
else:

    @pytest.fixture
    def jwt_issuer() -> TestIssuer:
        """A ``TestIssuer`` with a fresh key for each test."""
        return TestIssuer()
