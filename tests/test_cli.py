"""The CLI, run as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from keyserver import KeyServer
from tokens import SECRET, claims, mint, rsa_pair

from jwt_middleware import SigningKey
from jwt_middleware.core.revocation import digest
from jwt_middleware.stores.redis import RedisRevocationStore

BIN = Path(sys.executable).parent / "jwt-middleware"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jwt_middleware", *args], capture_output=True, text=True, input=stdin, timeout=60, check=False
    )


def test_help_and_console_script() -> None:
    out = run("--help")
    assert out.returncode == 0 and "keygen" in out.stdout and "Exit codes" in out.stdout
    assert subprocess.run([str(BIN), "verify", "--help"], capture_output=True, text=True, timeout=60, check=False).returncode == 0


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_keygen_issue_verify_round_trip(tmp_path: Path, alg: str) -> None:
    keygen = run("keygen", "--alg", alg)
    assert keygen.returncode == 0 and keygen.stdout.startswith("-----BEGIN PRIVATE KEY-----")
    kid = keygen.stderr.split("kid: ")[1].split()[0]
    private = tmp_path / "key.pem"
    private.write_text(keygen.stdout)
    public = tmp_path / "pub.pem"
    public.write_text(SigningKey.from_pem(keygen.stdout).public_pem())
    issued = run("issue", "--key", str(private), "--sub", "alice", "--aud", "api", "--scope", "read", "--claim", "tier=2")
    assert issued.returncode == 0
    token = issued.stdout.strip()
    ok = run("verify", token, "--key", str(public), "--alg", alg, "--audience", "api")
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert (body["sub"], body["scope"], body["tier"], body["aud"]) == ("alice", "read", 2, "api")
    jwks = run("jwks", str(public), "--alg", alg)
    assert json.loads(jwks.stdout)["keys"][0]["kid"] == kid


def test_keygen_jwk_and_hmac() -> None:
    jwk = json.loads(run("keygen", "--alg", "ES256", "--format", "jwk").stdout)
    assert jwk["kty"] == "EC" and "d" in jwk and jwk["use"] == "sig"
    secret = run("keygen", "--alg", "HS256").stdout.strip()
    assert len(secret) >= 43


def test_verify_failure_prints_the_reason_and_exits_1() -> None:
    token = mint(claims(exp=1))
    out = run("verify", token, "--secret", SECRET, "--alg", "HS256")
    assert out.returncode == 1 and out.stderr.startswith("invalid: expired:") and out.stdout == ""
    out = run("verify", mint(key="wrong-secret-wrong-secret-wrong-secret"), "--secret", SECRET, "--alg", "HS256")
    assert out.returncode == 1 and "bad_signature" in out.stderr


def test_verify_reads_stdin_and_settings_files(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"algorithms": ["HS256"], "secret": SECRET, "issuer": "https://idp"}))
    out = run("verify", "-", "--settings", str(settings), stdin=mint(claims(iss="https://idp")) + "\n")
    assert out.returncode == 0 and json.loads(out.stdout)["iss"] == "https://idp"


def test_verify_against_a_jwks_url_and_when_it_is_down() -> None:
    ks = KeyServer()
    kp = rsa_pair()
    ks.keys = [kp.jwk()]
    try:
        assert run("verify", kp.sign(), "--jwks-url", ks.jwks_url, "--alg", "RS256").returncode == 0
        ks.stop()
        down = run("verify", kp.sign(), "--jwks-url", ks.jwks_url, "--alg", "RS256")
        assert down.returncode == 3 and "keys_unavailable" in down.stderr
    finally:
        ks.stop()


def test_bad_settings_exit_2() -> None:
    out = run("verify", mint(), "--secret", "short", "--alg", "HS256")
    assert out.returncode == 2 and "secret" in out.stderr


def test_decode_is_marked_unverified() -> None:
    out = run("decode", mint(claims(role="x")), "--json")
    assert out.returncode == 0 and "UNVERIFIED" in out.stderr
    body = json.loads(out.stdout)
    assert body["header"]["alg"] == "HS256" and body["claims"]["role"] == "x"
    bad = run("decode", "not.a.token")
    assert bad.returncode == 1 and "malformed" in bad.stderr


# -- golden outputs, at a fixed clock ----------------------------------------------------------

GOLDEN = Path(__file__).resolve().parent / "golden"
NOW = 1796000300  # 2026-11-30 00:58:20 UTC
FIXED = {"sub": "alice", "iss": "https://idp.test", "aud": "api", "iat": 1796000000, "exp": 1796000900, "scope": "read write"}


def run_at(*args: str, when: int = NOW, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "JWT_MIDDLEWARE_NOW": str(when)}
    return subprocess.run(
        [sys.executable, "-m", "jwt_middleware", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
        env=env,
    )


def golden(name: str, text: str) -> None:
    """The output must be exactly the file's; tests/golden/*.txt are read by people too (docs/cli.md shows them)."""
    assert text == (GOLDEN / name).read_text(), f"{name} differs:\n{text}"


def test_decode_golden_times_and_warnings() -> None:
    token = mint({**FIXED, "password": "hunter2", "card": "4111 1111 1111 1111"})
    out = run_at("decode", token)
    assert out.returncode == 0 and out.stderr.startswith("UNVERIFIED")
    golden("decode.txt", out.stdout)


def test_decode_warns_of_a_token_that_never_expires_or_lives_for_days() -> None:
    forever = run_at("decode", mint({"sub": "a"}, typ="id_token+jwt")).stdout
    assert "no exp: this token never expires" in forever and "typ 'id_token+jwt': not an access token" in forever
    long = run_at("decode", mint({"sub": "a", "iat": NOW, "exp": NOW + 7 * 86400})).stdout
    assert "lives 7 d" in long and "expires in 7 d" in long
    expired = run_at("decode", mint({"sub": "a", "iat": NOW - 7200, "exp": NOW - 3 * 3600})).stdout
    assert "(expired 3 h ago)" in expired


def test_explain_golden_a_valid_token_and_each_failure() -> None:
    token = mint(FIXED)
    flags = ["--secret", SECRET, "--alg", "HS256", "--issuer", "https://idp.test", "--audience", "api"]
    ok = run_at("explain", token, *flags)
    assert ok.returncode == 0
    golden("explain-valid.txt", ok.stdout)
    wrong_aud = run_at("explain", token, *flags[:-1], "web")
    assert wrong_aud.returncode == 1
    golden("explain-audience.txt", wrong_aud.stdout)
    late = run_at("explain", token, *flags, when=NOW + 3600)
    assert (
        late.returncode == 1 and "  exp          expired " in late.stdout and "hint: the token expired 50 min ago" in late.stdout
    )
    other_key = run_at("explain", mint(FIXED, key="another-secret-another-secret-0123"), *flags)
    assert other_key.returncode == 1 and "  signature    bad_signature" in other_key.stdout
    assert "  exp          -" in other_key.stdout, "what comes after the refusal is not reached"


def test_explain_says_when_a_token_is_dpop_bound() -> None:
    flags = ["--secret", SECRET, "--alg", "HS256", "--issuer", "https://idp.test", "--audience", "api"]
    bound = run_at("explain", mint({**FIXED, "cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}), *flags)
    assert bound.returncode == 0
    assert bound.stdout.splitlines()[-1] == (
        "binding: DPoP key 0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I: accepted only as "
        "'Authorization: DPoP <token>' with a fresh proof by that key"
    )
    assert "binding" not in run_at("explain", mint(FIXED), *flags).stdout


def test_verify_refusal_says_what_to_change() -> None:
    out = run_at("verify", mint(FIXED), "--secret", SECRET, "--alg", "HS256", "--issuer", "https://other.test")
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.splitlines() == [
        "invalid: issuer_mismatch: token issuer is not accepted",
        "hint: the token's iss is 'https://idp.test': set --issuer (issuer) to exactly that, if you trust it",
    ]


# -- settings files, keys by path, discovery ------------------------------------------------------


def test_verify_with_a_toml_settings_file_whose_keys_name_files(tmp_path: Path) -> None:
    kp = rsa_pair("pinned")
    (tmp_path / "pinned.pem").write_text(kp.public_pem)
    (tmp_path / "more.jwk").write_text(json.dumps(rsa_pair("other").jwk()))
    (tmp_path / "settings.toml").write_text(
        'algorithms = ["RS256"]\nkeys = ["pinned.pem", "more.jwk"]\nissuer = "https://idp.test"\n'
    )
    for signer in (kp, rsa_pair("other")):
        out = run("verify", signer.sign(claims(iss="https://idp.test")), "--settings", str(tmp_path / "settings.toml"))
        assert out.returncode == 0, out.stderr
    (tmp_path / "broken.toml").write_text('algorithms = ["RS256"]\nkeys = ["missing.pem"]\n')
    missing = run("verify", kp.sign(), "--settings", str(tmp_path / "broken.toml"))
    assert missing.returncode == 2 and "keys[0]: neither PEM text nor a readable file: missing.pem" in missing.stderr


def test_verify_and_jwks_straight_from_an_issuer_by_discovery() -> None:
    ks = KeyServer()
    kp = rsa_pair()
    ks.keys = [kp.jwk(alg="RS256"), rsa_pair("weak", bits=1024).jwk(), {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}]
    ks.discovery = {"issuer": ks.base, "jwks_uri": ks.jwks_url}
    try:
        ok = run("verify", kp.sign(claims(iss=ks.base)), "--issuer", ks.base, "--discover")
        assert ok.returncode == 0, ok.stderr
        listing = run("jwks", "--issuer", ks.base)
        assert listing.returncode == 0 and f"JWKS {ks.jwks_url} (3 keys)" in listing.stdout
        lines = listing.stdout.splitlines()
        assert any("kid rsa1  RSA 2048 bits  alg RS256" in line for line in lines)
        assert "ok (RS256)" in listing.stdout
        assert "skipped: weak_key (RSA keys must have at least 2048 bits)" in listing.stdout
        assert "skipped: symmetric_key" in listing.stdout
        by_url = run("jwks", "--url", ks.jwks_url)
        assert by_url.returncode == 0 and "thumbprint" in by_url.stdout
    finally:
        ks.stop()
    down = run("jwks", "--url", ks.jwks_url, "--timeout", "0.5")
    assert down.returncode == 3 and "unavailable" in down.stderr


def test_config_error_suggestions_compare_case_insensitively() -> None:
    out = run("verify", mint(), "--secret", SECRET, "--alg", "hs256")
    assert out.returncode == 2 and "did you mean 'HS256'?" in out.stderr


# -- issue ------------------------------------------------------------------------------------------


def test_issue_claims_are_json_or_strings_and_defaults_are_shown(tmp_path: Path) -> None:
    ok = run("issue", "--secret", SECRET, "--sub", "a", "--claim", "tier=2", "--claim-str", "team=blue")
    assert ok.returncode == 0 and "iss: jwt-middleware-cli (the default" in ok.stderr
    body = json.loads(run("decode", ok.stdout.strip(), "--json").stdout)["claims"]
    assert (body["tier"], body["team"], body["iss"]) == (2, "blue", "jwt-middleware-cli")
    bad = run("issue", "--secret", SECRET, "--sub", "a", "--claim", "tier=notjson")
    assert bad.returncode == 2 and "use --claim-str tier=notjson" in bad.stderr
    helped = run("issue", "--help").stdout
    assert "(default: jwt-middleware-cli)" in helped and "(default: 900)" in helped
    for command in ("keygen", "jwks", "issue", "decode", "verify", "explain", "revoke", "revocations"):
        text = run(command, "--help").stdout
        assert text.startswith("usage: jwt-middleware " + command), command


# -- revoke and revocations, against a real redis-server ------------------------------------------------


def test_revoke_and_list_in_a_real_redis(redis_server: Any) -> None:
    prefix = f"cli-{uuid.uuid4().hex[:6]}:"
    common = ["--redis", redis_server.url, "--prefix", prefix]
    until = int(time.time()) + 600
    assert run("revoke", "--jti", "abc", "--until", str(until), *common).returncode == 0
    assert run("revoke", "--sub", "bob", *common).returncode == 0
    token = mint(claims(jti="from-token"))
    by_token = run("revoke", token, *common)
    assert by_token.returncode == 0 and "revoked jti 'from-token'" in by_token.stdout
    listing = run("revocations", *common)
    assert listing.returncode == 0 and listing.stdout.startswith("2 revoked jti and 1 revoked subjects")
    assert f"jti {digest('abc')}" in listing.stdout and f"sub {digest('bob')}" in listing.stdout
    store = RedisRevocationStore(redis_server.url, prefix=prefix)
    try:
        assert store.is_revoked(claims(jti="abc")) and store.is_revoked(claims(jti="from-token"))
    finally:
        store.close()
    usage = run("revoke", "--jti", "x", *common)
    assert usage.returncode == 2 and "--until" in usage.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    assert run("revocations", "--redis", dead).returncode == 3
