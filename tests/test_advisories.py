"""Named regression tests for published JWT advisories, through both adapters."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from tokens import SECRET, b64, claims, ec_pair, hs_signed, mint, raw, rsa_pair

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
    """python-jose / jwcrypto decompression and size DoS: refused by length before any parsing."""
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
