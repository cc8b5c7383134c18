"""Named regression tests for published JWT advisories, through both adapters."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from keyserver import KeyServer
from tokens import SECRET, b64, claims, ec_pair, ed_pair, hs_signed, mint, raw, rsa_pair

from jwt_middleware import (
    ConfigError,
    InvalidToken,
    JWTMiddleware,
    JWTWSGIMiddleware,
    KeySourceUnavailable,
    Verifier,
    load_settings,
)

ISS = "https://idp.example.com"


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def refused(h: Any, token: str) -> bool:
    r = h.request(headers=bearer(token))
    return r.status == 401 and not r.called and 'error="invalid_token"' in r.challenge


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_cve_2015_9235(make: Any, alg: str) -> None:
    h = make()
    assert refused(h, raw({"alg": alg, "typ": "JWT"}, claims(), b""))
    assert refused(h, raw({"alg": alg}, claims(), b"x"))


def _confusion(secret: bytes) -> str:
    return hs_signed({"alg": "HS256", "typ": "JWT"}, claims(), secret)


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(
            lambda k: k.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), id="PEM"
        ),
        pytest.param(
            lambda k: k.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo), id="DER"
        ),
        pytest.param(lambda k: k.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH), id="SSH"),
        pytest.param(lambda k: json.dumps(rsa_pair().jwk()).encode(), id="JWK-JSON"),
    ],
)
def test_hs_rs_key_confusion_cve_2022_29217(make: Any, encode: Any) -> None:
    """An RS256 service must never verify an HS256 token keyed with its own public key."""
    kp = rsa_pair()
    h = make({"algorithms": ["RS256"], "keys": [kp.public_pem]})
    assert refused(h, _confusion(encode(kp.public)))
    both = make({"algorithms": ["RS256", "HS256"], "keys": [kp.public_pem], "secret": SECRET})
    assert refused(both, _confusion(encode(kp.public)))


def test_psychic_signatures_cve_2022_21449(make: Any) -> None:
    kp = ec_pair()
    h = make({"algorithms": ["ES256"], "keys": [kp.jwk()]})
    good = kp.sign()
    signing_input = good.rsplit(".", 1)[0]
    for sig in (b"\x00" * 64, b"\x00" * 32 + b"\x01" + b"\x00" * 31, bytes.fromhex("ff" * 64), b"\x00" * 8):
        assert refused(h, f"{signing_input}.{b64(sig)}")
    assert h.request(headers=bearer(good)).status == 200


def test_embedded_jwk_header_cve_2018_0114(make: Any) -> None:
    attacker = rsa_pair("attacker")
    kp = rsa_pair()
    h = make({"algorithms": ["RS256"], "keys": [kp.jwk()]})
    assert refused(h, attacker.sign(claims(), jwk=attacker.jwk()))
    assert refused(h, kp.sign(claims(), jwk=kp.jwk()))


@pytest.mark.parametrize("param", ["jku", "x5u"])
def test_jku_x5u_headers_are_never_followed(make: Any, param: str) -> None:
    kp = rsa_pair()
    h = make({"algorithms": ["RS256"], "keys": [kp.jwk()]})
    assert refused(h, kp.sign(claims(), **{param: "https://attacker.example/jwks.json"}))


def test_x5c_header_is_never_used(make: Any) -> None:
    kp = rsa_pair()
    h = make({"algorithms": ["RS256"], "keys": [kp.jwk()]})
    assert refused(h, kp.sign(claims(), x5c=["MIIB"]))


@pytest.mark.parametrize(
    "kid",
    ["../../../../dev/null", "' OR '1'='1", "x; rm -rf /", "|id", "%00", "a" * 1000, "../../etc/passwd\x00.pem"],
)
def test_kid_injection(make: Any, kid: str) -> None:
    kp = rsa_pair()
    h = make({"algorithms": ["RS256", "HS256"], "keys": [kp.jwk()], "secret": SECRET})
    assert refused(h, mint(claims(), key=kp.private, alg="RS256", kid=kid))
    assert refused(h, hs_signed({"alg": "HS256", "kid": kid}, claims(), b""))


@pytest.mark.parametrize("kid", [1, ["a"], {"a": 1}, True, None, ""])
def test_kid_must_be_a_nonempty_string(make: Any, kid: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="jwt_middleware")
    h = make()
    assert refused(h, hs_signed({"alg": "HS256", "kid": kid}, claims()))
    assert "reason=malformed_token" in caplog.text
    assert h.request(headers=bearer(hs_signed({"alg": "HS256", "kid": "k"}, claims()))).status == 200


@pytest.mark.parametrize(
    "iss",
    [
        "https://idp.example.co",
        "idp.example.com",
        "https://idp.example.com.evil",
        "https://IDP.example.com",
        "ttps://idp.example.com",
    ],
)
def test_issuer_substring_cve_2024_53861(make: Any, hs: dict[str, Any], iss: str) -> None:
    h = make({**hs, "issuer": ISS})
    assert refused(h, mint(claims(iss=iss)))
    assert h.request(headers=bearer(mint(claims(iss=ISS)))).status == 200


def test_issuer_list_is_not_a_substring_container(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "issuer": [ISS, "https://other.example"]})
    assert refused(h, hs_signed({"alg": "HS256"}, claims(iss=[ISS])))
    assert refused(h, mint(claims(iss="https://other")))


def test_audience_substring(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "audience": "my-api"})
    for aud in ("my-ap", "my-api-2", "y-api", ["my-ap"], "MY-API"):
        assert refused(h, mint(claims(aud=aud)))


@pytest.mark.parametrize("crit", [["exp"], ["b64"], ["http://example/ext"], [], "exp"])
def test_crit_header_is_refused(make: Any, crit: Any) -> None:
    """CVE-2026-32597 (PyJWT accepted unknown ``crit`` extensions) and CVE-2025-59420 (Authlib):
    any ``crit``, even one naming a registered parameter, refuses the token."""
    h = make()
    assert refused(h, hs_signed({"alg": "HS256", "crit": crit}, claims()))


def test_b64_false_unencoded_payload_is_refused(make: Any) -> None:
    assert refused(make(), hs_signed({"alg": "HS256", "b64": False, "crit": ["b64"]}, claims()))
    assert refused(make(), hs_signed({"alg": "HS256", "b64": False}, claims()))


def test_jwe_is_refused(make: Any) -> None:
    h = make()
    jwe = ".".join(b64(x) for x in (json.dumps({"alg": "dir", "enc": "A256GCM"}).encode(), b"", b"iv" * 6, b"ct", b"tag" * 5))
    assert refused(h, jwe)
    assert refused(h, hs_signed({"alg": "HS256", "enc": "A256GCM"}, claims()))


def test_nested_jwt_is_refused(make: Any) -> None:
    inner = mint()
    assert refused(make(), hs_signed({"alg": "HS256", "cty": "JWT"}, inner.encode()))
    assert refused(make(), hs_signed({"alg": "HS256", "cty": "jwt"}, claims()))


def test_oversized_token_dos(make: Any, hs: dict[str, Any]) -> None:
    """python-jose / jwcrypto decompression and size DoS, and CVE-2025-61920 (Authlib decoded
    unbounded header and signature segments): refused by length before any parsing."""
    h = make({**hs, "max_token_bytes": 4096})
    huge = "eyJ" + "A" * 200_000 + ".e30.sig"
    assert refused(h, huge)
    r = h.request(headers=bearer(huge))
    assert r.json["error_description"] == "token is larger than allowed"


def test_zip_header_is_refused(make: Any) -> None:
    assert refused(make(), hs_signed({"alg": "HS256", "zip": "DEF"}, claims()))


def test_hmac_alg_with_asymmetric_service_cannot_use_public_jwk_as_secret(make: Any) -> None:
    kp = rsa_pair()
    h = make({"algorithms": ["RS256"], "keys": {"keys": [kp.jwk()]}})
    n_bytes = base64.urlsafe_b64decode(kp.jwk()["n"] + "==")
    assert refused(h, _confusion(n_bytes))


# -- advisories of 2025-2026 -------------------------------------------------------------
# Each test names the advisory it pins; docs/security.md ("Advisories checked") says what each
# one was and what the test shows about this package.


def _raw_signed(header: dict[str, Any], payload: dict[str, Any], alg: str, key: Any) -> str:
    """A token whose header says one thing while the signature was made with ``alg``."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = jwt.get_algorithm_by_name(alg).sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


@pytest.fixture
def ks() -> Iterator[KeyServer]:
    server = KeyServer()
    yield server
    server.stop()


def remote(ks: KeyServer, **extra: Any) -> dict[str, Any]:
    return {"algorithms": ["RS256"], "jwks_url": ks.jwks_url, "jwks_min_refresh_seconds": 0.3, **extra}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jwt_middleware", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("ftp://idp.example/jwks.json", id="ftp"),
        pytest.param('data:application/json,{"keys":[]}', id="data"),
        pytest.param("gopher://idp.example/jwks", id="gopher"),
        pytest.param("jar:file:///tmp/x!/jwks", id="jar"),
    ],
)
def test_jwks_url_scheme_allowlist_cve_2026_48522(url: str) -> None:
    """CVE-2026-48522 (PyJWKClient handed any scheme to urlopen): only http(s) is fetched,
    even with ``jwks_allow_http``; a discovered ``jwks_uri`` and the CLI follow the same rule."""
    for adapter in (JWTMiddleware, JWTWSGIMiddleware):
        for opt_in in (False, True):
            with pytest.raises(ConfigError) as info:
                adapter(_never, settings={"algorithms": ["RS256"], "jwks_url": url, "jwks_allow_http": opt_in})
            assert info.value.key == "jwks_url"


def test_discovered_jwks_uri_scheme_allowlist_cve_2026_48522(ks: KeyServer) -> None:
    """CVE-2026-48522: an identity provider's discovery document cannot point the fetcher at a file."""
    ks.discovery = {"issuer": ks.base, "jwks_uri": "file:///etc/passwd"}
    kp = rsa_pair()
    v = Verifier(load_settings({"algorithms": ["RS256"], "issuer": ks.base, "oidc_discovery": True, "jwks_allow_http": True}))
    with pytest.raises(KeySourceUnavailable):
        v.verify(kp.sign(claims(iss=ks.base)))
    assert v.health()[0]["last_error"] == "bad_discovery"


def test_cli_jwks_url_scheme_allowlist_cve_2026_48522() -> None:
    """CVE-2026-48522 through the CLI: ``jwks --url`` and ``verify --jwks-url`` refuse a file URL (exit 2)."""
    inspect = run_cli("jwks", "--url", "file:///etc/passwd")
    assert inspect.returncode == 2 and "jwks_url" in inspect.stderr and "root:" not in inspect.stdout
    verify = run_cli("verify", rsa_pair().sign(), "--jwks-url", "file:///etc/passwd", "--alg", "RS256")
    assert verify.returncode == 2 and "jwks_url" in verify.stderr


@pytest.mark.parametrize(
    ("jwk_alg", "signed_with"),
    [
        pytest.param(None, "RS512", id="jwk-without-alg-signed-RS512"),
        pytest.param(None, "PS256", id="jwk-without-alg-signed-PS256"),
        pytest.param("RS512", "RS512", id="jwk-alg-RS512-outside-allow-list"),
        pytest.param("PS256", "PS256", id="jwk-alg-PS256-outside-allow-list"),
    ],
)
def test_header_alg_is_the_alg_verified_cve_2026_48523(make: Any, ks: KeyServer, jwk_alg: str | None, signed_with: str) -> None:
    """CVE-2026-48523 (PyJWT verified with the PyJWK's bound algorithm, not the header's): a token
    signed with an algorithm outside the allow-list but labelled RS256 is refused; the key set is
    served by a real HTTP server, as PyJWKClient's flow has it."""
    kp = rsa_pair()
    ks.keys = [kp.jwk(**({"alg": jwk_alg} if jwk_alg else {}))]
    h = make(remote(ks))
    forged = _raw_signed({"alg": "RS256", "kid": kp.kid}, claims(), signed_with, kp.private)
    assert refused(h, forged)
    if jwk_alg is None:  # the same key and header, signed as the header says: accepted
        assert (
            h.request(headers=bearer(_raw_signed({"alg": "RS256", "kid": kp.kid}, claims(), "RS256", kp.private))).status == 200
        )


def test_unknown_kid_flood_during_an_outage_cve_2026_48524(make: Any, ks: KeyServer) -> None:
    """CVE-2026-48524 (PyJWKClient fetched the JWKS for every unknown ``kid``, worst when fetches
    fail): random kids against a failing key server cause at most one fetch per interval."""
    kp = rsa_pair()
    ks.keys = [kp.jwk()]
    h = make(remote(ks, jwks_min_refresh_seconds=1))
    assert h.request(headers=bearer(kp.sign())).status == 200
    ks.status = 500
    time.sleep(1.05)
    for i in range(60):
        r = h.request(headers=bearer(rsa_pair("attacker").sign(claims(), kid=f"random-{i}")))
        assert r.status == 401 and not r.called
    assert h.request(headers=bearer(kp.sign(claims(n=1)))).status == 200  # known keys keep serving
    assert ks.count() == 2  # the first fetch, and one (failed) look for the first unknown kid


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"alg": "HS256", "b64": False, "crit": ["b64"]}, id="b64-false-crit"),
        pytest.param({"alg": "HS256", "b64": False}, id="b64-false"),
    ],
)
def test_detached_payload_is_refused_before_decoding_cve_2026_48525(make: Any, header: dict[str, Any]) -> None:
    """CVE-2026-48525 (PyJWT base64-decoded the unused payload of a ``b64: false`` token): the
    header refuses it first. The payload segment here is not even valid base64url, so a parser
    that decoded it first would answer ``malformed_token`` instead."""
    h = make()
    token = f"{b64(json.dumps(header).encode())}.{'A' * 4001}.{b64(b'x' * 32)}"
    r = h.request(headers=bearer(token))
    assert r.status == 401 and not r.called
    assert r.json["error_description"] != "bad base64url length"
    assert "not accepted" in r.json["error_description"] or "not supported" in r.json["error_description"]


@pytest.mark.parametrize(
    "as_secret",
    [
        pytest.param(lambda jwk: json.dumps(jwk).encode(), id="jwk-json"),
        pytest.param(lambda jwk: json.dumps(jwk, sort_keys=True, separators=(",", ":")).encode(), id="jwk-json-compact"),
        pytest.param(lambda jwk: json.dumps({"keys": [jwk]}).encode(), id="jwks-json"),
        pytest.param(lambda jwk: jwk["n"].encode(), id="n-member"),
        pytest.param(lambda jwk: base64.urlsafe_b64decode(jwk["n"] + "=="), id="n-bytes"),
        pytest.param(lambda jwk: rsa_pair().public_pem.encode(), id="pem"),
    ],
)
def test_public_jwk_is_never_an_hmac_secret_cve_2026_48526(make: Any, ks: KeyServer, as_secret: Any) -> None:
    """CVE-2026-48526 (PyJWT took a public JWK as the HMAC secret when RS256 and HS256 were both
    allowed): with both families and a published key set, an HS256 token keyed with the public
    JWK in any form is refused; the service's own secret still verifies."""
    kp = rsa_pair()
    ks.keys = [kp.jwk()]
    h = make(remote(ks, algorithms=["RS256", "HS256"], secret=SECRET))
    forged = hs_signed({"alg": "HS256", "kid": kp.kid}, claims(), as_secret(kp.jwk()))
    assert refused(h, forged)
    assert h.request(headers=bearer(mint())).status == 200
    assert h.request(headers=bearer(kp.sign())).status == 200


def test_public_jwk_json_is_refused_as_a_secret_cve_2026_48526() -> None:
    """CVE-2026-48526, the operator's side: a JWK (or JWKS) pasted into ``secret`` is a ConfigError."""
    for value in (json.dumps(rsa_pair().jwk()), json.dumps({"keys": [ec_pair().jwk()]}), "  " + json.dumps(rsa_pair().jwk())):
        for adapter in (JWTMiddleware, JWTWSGIMiddleware):
            with pytest.raises(ConfigError) as info:
                adapter(_never, settings={"algorithms": ["HS256"], "secret": value})
            assert info.value.key == "secret"


def _pbes2_jwe(p2c: int) -> str:
    header = {"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2s": b64(b"salt" * 4), "p2c": p2c}
    return ".".join([b64(json.dumps(header).encode()), b64(b"k" * 24), b64(b"i" * 12), b64(b"c" * 16), b64(b"t" * 16)])


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(_pbes2_jwe(2**31 - 1), id="jwe-p2c-huge"),
        pytest.param(_pbes2_jwe(10**15), id="jwe-p2c-beyond-int32"),
        pytest.param(hs_signed({"alg": "HS256", "p2c": 2**31 - 1, "p2s": "c2FsdA"}, claims()), id="jws-with-p2c"),
        pytest.param(raw({"alg": "PBES2-HS256+A128KW", "p2c": 2**31 - 1}, claims()), id="pbes2-alg-three-segments"),
    ],
)
def test_pbes2_count_never_reaches_a_kdf_cve_2026_27932(make: Any, token: str) -> None:
    """CVE-2026-27932 (joserfc ran PBKDF2 for an attacker's ``p2c``): no JWE is decrypted, no
    ``p2c`` is read, and a PBES2 ``alg`` is not in any allow-list; each is refused at once."""
    h = make()
    started = time.perf_counter()
    assert refused(h, token)
    assert time.perf_counter() - started < 0.5


def test_pbes2_algorithms_cannot_be_configured_cve_2026_27932() -> None:
    """CVE-2026-27932: key-management algorithms are not signature algorithms; settings refuse them."""
    with pytest.raises(ConfigError) as info:
        load_settings({"algorithms": ["PBES2-HS256+A128KW"], "secret": SECRET})
    assert info.value.key == "algorithms"


def _jwe_for(public_key: Any, plaintext: bytes) -> str:
    """A real compact JWE (RSA-OAEP-256 + A256GCM) to ``public_key``, as CVE-2026-29000's PoC builds it."""
    header = b64(json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT"}).encode())
    cek, iv = os.urandom(32), os.urandom(12)
    wrapped = public_key.encrypt(cek, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
    sealed = AESGCM(cek).encrypt(iv, plaintext, header.encode())
    return ".".join([header, b64(wrapped), b64(iv), b64(sealed[:-16]), b64(sealed[-16:])])


def test_jwe_wrapped_unsigned_token_cve_2026_29000(make: Any) -> None:
    """CVE-2026-29000 (pac4j accepted a JWE-wrapped ``alg: none`` token, built with nothing but the
    server's public key): a real JWE to our own RSA key is refused without decryption, and so is
    the unsigned token inside it, alone or nested in a signed one (``cty: JWT``)."""
    kp = rsa_pair()
    h = make({"algorithms": ["RS256", "HS256"], "keys": [kp.jwk()], "secret": SECRET})
    plain = raw({"alg": "none"}, claims(sub="admin", roles=["admin"]), b"")
    for token in (_jwe_for(kp.public, plain.encode()), plain, hs_signed({"alg": "HS256", "cty": "JWT"}, plain.encode())):
        assert refused(h, token)
    assert h.request(headers=bearer(_jwe_for(kp.public, plain.encode()))).json["error_description"] == (
        "encrypted tokens (JWE) are not accepted"
    )
    out = run_cli("verify", _jwe_for(kp.public, plain.encode()), "--secret", SECRET, "--alg", "HS256")
    assert out.returncode == 1 and "unsupported_token" in out.stderr


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("." * 8000, id="dots-under-limit"),
        pytest.param("a." * 4000, id="a-dot-under-limit"),
        pytest.param("." * 200_000, id="dots-over-limit"),
    ],
)
def test_many_dots_cve_2025_30204(make: Any, token: str) -> None:
    """CVE-2025-30204 (golang-jwt split an untrusted token on every period): a bearer credential of
    dots is refused by counting, as malformed or too large, through both adapters."""
    h = make({"algorithms": ["HS256"], "secret": SECRET, "max_token_bytes": 8192})
    assert refused(h, token)


def test_many_dots_cost_no_more_than_the_token_cve_2025_30204() -> None:
    """CVE-2025-30204: the verifier never splits such a token; memory stays within a small
    multiple of its size (a split would allocate one object per segment, over ten times more)."""
    v = Verifier(load_settings({"algorithms": ["HS256"], "secret": SECRET}))
    token = "ab." * 70_000
    tracemalloc.start()
    try:
        with pytest.raises(InvalidToken, match=r"malformed_token|token_too_large"):
            v.verify(token)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(token)


@pytest.mark.parametrize(
    "hmac_key",
    [
        pytest.param(b"", id="empty-key"),
        pytest.param(lambda kp: base64.urlsafe_b64decode(kp.jwk()["n"] + "=="), id="modulus"),
        pytest.param(lambda kp: json.dumps(kp.jwk()).encode(), id="jwk-json"),
        pytest.param(lambda kp: kp.public_pem.encode(), id="pem"),
        pytest.param(
            lambda kp: kp.public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
            id="der",
        ),
    ],
)
def test_rsa_jwk_without_alg_never_verifies_hs_cve_2026_22817(make: Any, ks: KeyServer, hmac_key: Any) -> None:
    """CVE-2026-22817 (Hono let the header's ``alg`` pick the algorithm for a JWK without ``alg``)
    and its sibling CVE-2026-44699 (libjwt, an RSA JWK as an empty HMAC key): an HS256 token whose
    ``kid`` names a published RSA JWK without ``alg`` is never checked with that key."""
    kp = rsa_pair()
    jwk = {k: v for k, v in kp.jwk().items() if k != "alg"}
    assert "alg" not in jwk
    ks.keys = [jwk]
    key = hmac_key(kp) if callable(hmac_key) else hmac_key
    forged = hs_signed({"alg": "HS256", "kid": kp.kid}, claims(), key)
    assert refused(make(remote(ks)), forged)  # RS256 only: HS256 is not allowed at all
    both = make(remote(ks, algorithms=["RS256", "HS256"], secret=SECRET))
    assert refused(both, forged)  # both families: only the local secret may check an HS256 token
    assert both.request(headers=bearer(kp.sign())).status == 200


@pytest.mark.parametrize(
    "alg",
    [
        pytest.param("FOO", id="made-up"),
        pytest.param("HS256 ", id="trailing-space"),
        pytest.param("hs256", id="lower-case"),
        pytest.param("HS256\u0000", id="nul"),
        pytest.param("", id="empty"),
        pytest.param("RSA-OAEP", id="key-management-alg"),
        pytest.param(None, id="null"),
        pytest.param(256, id="number"),
        pytest.param(["HS256"], id="list"),
    ],
)
def test_unknown_alg_cve_2026_23993(make: Any, alg: Any) -> None:
    """CVE-2026-23993 (HarbourJwt computed an empty signature for an unknown ``alg`` and matched
    it against an empty one): an unknown ``alg`` is refused with an empty signature, a garbage
    one, or a valid HS256 one."""
    h = make()
    header = {"alg": alg, "typ": "JWT"}
    assert refused(h, raw(header, claims(), b""))
    assert refused(h, raw(header, claims(), b"garbage"))
    assert refused(h, hs_signed(header, claims()))


def _ssh_public_key() -> str:
    return rsa_pair().public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("\n", id="newline"),
        pytest.param(" ", id="space"),
        pytest.param("\t\t", id="tabs"),
        pytest.param(" \r\n", id="crlf"),
        pytest.param("# a comment\n", id="comment-line"),
        pytest.param(".", id="printable-byte"),
        pytest.param("\x00", id="nul"),
        pytest.param('from="10.0.0.0/8" ', id="authorized-keys-options"),
    ],
)
@pytest.mark.parametrize(
    "public",
    [
        pytest.param(lambda: rsa_pair().public_pem, id="pem"),
        pytest.param(lambda: ec_pair().public_pem, id="ec-pem"),
        pytest.param(_ssh_public_key, id="ssh-rsa"),
        pytest.param(
            lambda: ed_pair().public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode(),
            id="ssh-ed25519",
        ),
    ],
)
def test_public_key_with_a_prefix_is_never_a_secret_cve_2026_34950(prefix: str, public: Any) -> None:
    """CVE-2026-34950 (fast-jwt's anchored PEM check missed a key with leading whitespace, and its
    first fix missed other leading bytes): a public key in ``secret`` is refused however it starts."""
    for adapter in (JWTMiddleware, JWTWSGIMiddleware):
        with pytest.raises(ConfigError) as info:
            adapter(_never, settings={"algorithms": ["HS256"], "secret": prefix + public()})
        assert info.value.key == "secret"


def test_cli_refuses_a_public_key_as_secret_cve_2026_34950() -> None:
    """CVE-2026-34950 through the CLI: ``--secret`` with a whitespace-prefixed public key exits 2."""
    out = run_cli("verify", mint(), "--secret", " " + _ssh_public_key(), "--alg", "HS256")
    assert out.returncode == 2 and "secret" in out.stderr


def test_claims_check_adds_to_the_issuer_check_cve_2026_22748(make: Any, ks: KeyServer) -> None:
    """CVE-2026-22748 (Spring Security: a decoder built from the issuer location, or given custom
    validators, stopped checking ``iss``): with discovery from the issuer and a ``claims_check``
    that accepts everything, a token from another issuer, audience or time is still refused, and
    the hook never sees it."""
    kp = rsa_pair()
    ks.keys = [kp.jwk()]
    ks.discovery = {"issuer": ks.base, "jwks_uri": ks.jwks_url}
    seen: list[Any] = []

    def accept_all(claims: Any) -> bool:
        seen.append(claims)
        return True

    h = make({"algorithms": ["RS256"], "issuer": ks.base, "oidc_discovery": True, "audience": "api", "claims_check": accept_all})
    assert h.request(headers=bearer(kp.sign(claims(iss=ks.base, aud="api")))).status == 200
    assert len(seen) == 1
    for bad in (
        claims(iss="https://other.example", aud="api"),
        claims(aud="api"),
        claims(iss=ks.base, aud="other"),
        claims(iss=ks.base, aud="api", exp=int(time.time()) - 60),
    ):
        assert refused(h, kp.sign(bad))
    assert len(seen) == 1


def test_jwks_fetch_failure_with_two_tokens_and_optional_auth_cve_2025_64527(make: Any, ks: KeyServer) -> None:
    """CVE-2025-64527 (Envoy crashed when ``allow_missing_or_failed`` met two tokens and a failed
    JWKS fetch): with ``optional`` on and the key server down on a cold cache, two tokens are a
    400, one token a 503 with Retry-After, none a 500 or a pass; the fetcher recovers afterwards."""
    kp = rsa_pair()
    ks.keys = [kp.jwk()]
    ks.stop()
    h = make(remote(ks, optional=True, cookie="tok"))
    token = kp.sign()
    for _ in range(3):
        two = h.request(headers=[*bearer(token), *bearer(kp.sign(claims(n=1)))])
        assert two.status == 400 and not two.called
        mixed = h.request(headers=[*bearer(token), ("Cookie", f"tok={token}")])
        assert mixed.status == 400 and not mixed.called
        one = h.request(headers=bearer(token))
        assert one.status == 503 and not one.called and int(one.headers["retry-after"]) >= 1
    assert h.request().status == 200  # anonymous still passes: optional means no token, not a failed one
    ks.start()
    deadline = time.monotonic() + 10
    while (r := h.request(headers=bearer(token))).status != 200:
        assert r.status in (401, 503) and time.monotonic() < deadline
        time.sleep(0.05)
    assert r.called


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("eyJ" + "!" * 9000 + ".e30.c2ln", id="huge-header"),
        pytest.param("e30.e30." + "*" * 9000, id="huge-signature"),
        pytest.param("e30." + "$" * 9000 + ".c2ln", id="huge-payload"),
    ],
)
def test_oversized_segments_refused_before_decoding_cve_2025_61920(make: Any, token: str) -> None:
    """CVE-2025-61920 (Authlib decoded hundreds of megabytes of header or signature before refusing
    them): a segment over ``max_token_bytes`` is refused by length. Its bytes are not even base64url,
    so a parser that looked at them first would answer otherwise."""
    r = make({"algorithms": ["HS256"], "secret": SECRET, "max_token_bytes": 4096}).request(headers=bearer(token))
    assert r.status == 401 and not r.called
    assert r.json["error_description"] == "token is larger than allowed"


def test_verifier_alone_has_a_size_ceiling_cve_2025_61920() -> None:
    """CVE-2025-61920 for callers of ``Verifier`` without the middleware: a token above the
    largest allowed ``max_token_bytes`` (1 MiB) is refused before it is encoded, hashed or read."""
    v = Verifier(load_settings({"algorithms": ["HS256"], "secret": SECRET}))
    token = b64(json.dumps({"alg": "HS256", "pad": "a" * (3 << 20)}).encode()) + ".e30.c2ln"
    tracemalloc.start()
    try:
        with pytest.raises(InvalidToken, match="token_too_large"):
            v.verify(token)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def _never(*args: Any) -> None:
    raise AssertionError("never called")
