"""The verified-token cache: what it may skip, and what it must still check every time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tokens import SECRET, claims, mint

from jwt_middleware import InvalidToken, Verifier, load_settings
from jwt_middleware.gate import verifier as verify_module

HS = {"algorithms": ["HS256"], "secret": SECRET}


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts signature checks (a spy around the real function, which still runs)."""
    calls: list[int] = []
    real = verify_module._check_signature

    def counting(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(verify_module, "_check_signature", counting)
    return calls


def test_a_verified_token_skips_the_signature_check(signatures: list[int]) -> None:
    v = Verifier(load_settings(HS))
    token = mint()
    for _ in range(5):
        assert v.verify(token)["sub"] == "alice"
    assert len(signatures) == 1


def test_cache_off_checks_every_time(signatures: list[int]) -> None:
    v = Verifier(load_settings({**HS, "token_cache_size": 0}))
    token = mint()
    for _ in range(3):
        v.verify(token)
    assert len(signatures) == 3


def test_time_claims_are_rechecked_on_every_hit(signatures: list[int]) -> None:
    v = Verifier(load_settings({**HS, "leeway": 0}))
    now = time.time()
    token = mint(claims(iat=int(now), exp=int(now) + 10))
    v.verify(token, now=now)
    v.verify(token, now=now + 5)
    with pytest.raises(InvalidToken, match="expired"):
        v.verify(token, now=now + 11)
    assert len(signatures) == 1
    with pytest.raises(InvalidToken, match="expired"):
        v.verify(token, now=now + 12)  # and the expired entry was dropped: a full check refuses it again
    assert len(signatures) == 2


def test_failures_are_never_cached(signatures: list[int]) -> None:
    v = Verifier(load_settings(HS))
    bad = mint(key="another-secret-another-secret-0123456789")
    for _ in range(3):
        with pytest.raises(InvalidToken, match="bad_signature"):
            v.verify(bad)
    assert len(signatures) == 3
    future = mint(claims(nbf=int(time.time()) + 3600))
    for _ in range(2):
        with pytest.raises(InvalidToken, match="not_yet_valid"):
            v.verify(future)
    assert len(signatures) == 5


def test_revocation_is_asked_on_every_hit() -> None:
    asked: list[str] = []
    revoked: set[str] = set()

    def hook(c: Any) -> bool:
        asked.append(c["jti"])
        return c["jti"] in revoked

    v = Verifier(load_settings({**HS, "revocation": hook}))
    token = mint(claims(jti="t1"))
    v.verify(token)
    v.verify(token)
    revoked.add("t1")
    with pytest.raises(InvalidToken, match="revoked"):
        v.verify(token)
    assert asked == ["t1", "t1", "t1"]


def test_the_cache_is_bounded() -> None:
    v = Verifier(load_settings({**HS, "token_cache_size": 16}))
    for i in range(100):
        v.verify(mint(claims(n=i)))
    assert len(v._cache) == 16


def test_cached_claims_cannot_be_corrupted_for_the_next_request() -> None:
    v = Verifier(load_settings(HS))
    token = mint(claims(roles=["user"], nested={"a": [1]}))
    first = v.verify(token)
    for attempt in (
        lambda c: c.__setitem__("sub", "admin"),
        lambda c: c.update(sub="admin"),
        lambda c: c.pop("sub"),
        lambda c: c["roles"].append("admin"),
        lambda c: c["roles"].__setitem__(0, "admin"),
        lambda c: c["nested"].__setitem__("a", 2),
        lambda c: c["nested"]["a"].append(2),
    ):
        with pytest.raises(TypeError):
            attempt(first)
    second = v.verify(token)
    assert second == {**claims(roles=["user"], nested={"a": [1]}), "iat": first["iat"], "exp": first["exp"]}
    copy = dict(second)
    copy["sub"] = "mine"
    assert v.verify(token)["sub"] == "alice"


def test_the_cache_keys_by_sha256_where_pythons_hash_is_not_secret(tmp_path: Any) -> None:
    """A fixed ``PYTHONHASHSEED`` makes ``hash(str)`` computable by anyone: the cache then keys by
    SHA-256 (a 32-bit build too), so a crafted token can never hit another token's entry."""
    import os
    import subprocess
    import sys

    probe = "from jwt_middleware.gate import verifier; print(verifier._cache_key.__name__)"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    seen = {}
    for seed in ("random", "0", "123"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
        seen[seed] = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
    assert seen == {"random": "hash", "0": "_digest", "123": "_digest"}
