"""Tokens for your own tests: ``TestIssuer``, and the ``jwt_issuer`` pytest fixture.

    from jwt_middleware.testing import TestIssuer

    issuer = TestIssuer()                                     # a fresh ES256 key, in memory
    app.add_middleware(JWTMiddleware, settings=issuer.settings(exclude_paths=["/health"]))
    client.get("/me", headers=issuer.headers(sub="alice", scope="notes:read"))

With pytest, the fixture comes with the package (a ``pytest11`` entry point): a test that
takes ``jwt_issuer`` gets a ``TestIssuer``. The tokens are real: signed, verified by the
same middleware as in production, never a switch that turns verification off.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .issuing.issuer import TokenIssuer
from .issuing.signing import SigningKey

__all__ = ["TestIssuer", "jwt_issuer"]


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
        return self.issuer.settings(required_claims=["exp"], role_claims=["roles"], **overrides)

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


try:
    import pytest
except ImportError:  # pragma: no cover - the helpers work without pytest; the fixture needs it
    pass
else:

    @pytest.fixture
    def jwt_issuer() -> TestIssuer:
        """A ``TestIssuer`` with a fresh key for each test."""
        return TestIssuer()
