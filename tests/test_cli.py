"""The CLI, run as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from keyserver import KeyServer
from tokens import SECRET, claims, mint, rsa_pair

from jwt_middleware import SigningKey

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
    out = run("decode", mint(claims(role="x")))
    assert out.returncode == 0 and "UNVERIFIED" in out.stderr
    body = json.loads(out.stdout)
    assert body["header"]["alg"] == "HS256" and body["claims"]["role"] == "x"
    bad = run("decode", "not.a.token")
    assert bad.returncode == 1 and "malformed" in bad.stderr
