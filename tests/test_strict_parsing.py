"""The strict JOSE parser and claim types: what RFC 8725 says to refuse, refused."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from tokens import SECRET, b64, claims, hs_signed, mint

from jwt_middleware import InvalidToken, Verifier, load_settings

VERIFIER = Verifier(load_settings({"algorithms": ["HS256"], "secret": SECRET, "token_cache_size": 0}))
HDR = {"alg": "HS256", "typ": "JWT"}


def reason(token: str) -> str:
    with pytest.raises(InvalidToken) as info:
        VERIFIER.verify(token)
    return info.value.reason


def jwt_decode_accepts(token: str) -> bool:
    try:
        jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return False
    return True


def test_a_good_token_passes() -> None:
    assert VERIFIER.verify(mint())["sub"] == "alice"


def _pad(token: str) -> str:
    h, p, s = token.split(".")
    return f"{h}=.{p}.{s}" if len(h) % 4 == 3 else f"{h}.{p}=.{s}"


def _noncanonical(token: str) -> str:
    h, p, s = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if len(s) % 4 == 0:
        raise AssertionError("need a segment with spare bits")
    last = alphabet[alphabet.index(s[-1]) | 1]
    return f"{h}.{p}.{s[:-1]}{last}"


ENCODING = [
    pytest.param(_pad, id="padding"),
    pytest.param(lambda t: t.replace("-", "+").replace("_", "/") if ("-" in t or "_" in t) else t[:-1] + "+", id="std-alphabet"),
    pytest.param(lambda t: t + ".", id="four-segments"),
    pytest.param(lambda t: t.replace(".", ". ", 1), id="space"),
    pytest.param(lambda t: t.rsplit(".", 1)[0] + ".", id="empty-signature"),
    pytest.param(lambda t: "." + t.split(".", 1)[1], id="empty-header"),
    pytest.param(lambda t: t[:-1] if len(t.split(".")[2]) % 4 == 2 else t + "A", id="truncated-length"),
    pytest.param(_noncanonical, id="non-canonical-bits"),
]


@pytest.mark.parametrize("mutate", ENCODING)
def test_bad_encodings_are_refused(mutate: Any) -> None:
    token = mutate(mint())
    assert reason(token) in {"malformed_token", "bad_signature"}


def test_non_canonical_base64_is_refused() -> None:
    """RFC 4648 §3.5: two encodings of one signature are one too many (PyJWT 2.15 agrees)."""
    assert reason(_noncanonical(mint())) == "malformed_token"


# Each of these passes jwt.decode (PyJWT 2.15.1) with the same key; RFC 8725 says to refuse it.
PYJWT_ACCEPTS = [
    pytest.param(
        lambda: hs_signed(HDR, b'{"sub":"alice","exp":%d,"sub":"admin"}' % (time.time() + 300)),
        "malformed_token",
        id="duplicate-names",
    ),
    pytest.param(
        lambda: hs_signed(HDR, b'{"sub":"a","exp":%d,"x":NaN}' % (time.time() + 300)), "malformed_token", id="NaN-constant"
    ),
    pytest.param(lambda: hs_signed({"alg": "HS256", "cty": "JWT"}, claims()), "unsupported_token", id="cty-JWT-nested"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "jku": "https://x.example"}, claims()), "header_not_allowed", id="jku"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "jwk": {"kty": "oct"}}, claims()), "header_not_allowed", id="jwk"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "x5u": "https://x.example"}, claims()), "header_not_allowed", id="x5u"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "enc": "A256GCM"}, claims()), "unsupported_token", id="enc-JWE-param"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "zip": "DEF"}, claims()), "unsupported_token", id="zip"),
    pytest.param(lambda: hs_signed(HDR, json.dumps(claims(exp=1e300)).encode()), "bad_claim", id="exp-1e300"),
    pytest.param(lambda: hs_signed(HDR, json.dumps(claims(exp=2**60)).encode()), "bad_claim", id="exp-beyond-2^53"),
    pytest.param(lambda: hs_signed(HDR, json.dumps(claims(nbf=False)).encode()), "bad_claim", id="nbf-bool"),
    pytest.param(lambda: hs_signed(HDR, json.dumps(claims(iat=True)).encode()), "bad_claim", id="iat-bool"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "typ": 5}, claims()), "malformed_token", id="typ-not-string"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "kid": ""}, claims()), "malformed_token", id="kid-empty"),
    pytest.param(lambda: hs_signed({"alg": "HS256", "kid": "a" * 1000}, claims()), "malformed_token", id="kid-1000-chars"),
    pytest.param(lambda: hs_signed(HDR, json.dumps(claims(aud=[])).encode()), "audience_mismatch", id="aud-unasked-empty"),
]


@pytest.mark.parametrize(("make_token", "why"), PYJWT_ACCEPTS)
def test_inputs_jwt_decode_accepts_that_we_refuse(make_token: Any, why: str) -> None:
    token = make_token()  # made now: a slow suite must not age it into expiry
    assert jwt_decode_accepts(token)
    assert reason(token) == why


@pytest.mark.parametrize("const", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_json_constants_are_refused(const: bytes) -> None:
    token = hs_signed(HDR, b'{"sub":"a","exp":%d,"x":%s}' % (time.time() + 300, const))
    assert reason(token) == "malformed_token"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"[1,2]", id="array"),
        pytest.param(b'"str"', id="string"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param(b"{" * 5000 + b"}" * 5000, id="deep-nesting"),
        pytest.param(b'{"exp": 1' + b"0" * 5000 + b"}", id="huge-int"),
        pytest.param(b"", id="empty"),
    ],
)
def test_payload_must_be_a_utf8_json_object(payload: bytes) -> None:
    assert reason(hs_signed(HDR, payload)) == "malformed_token"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("exp", True),
        ("exp", "2000000000"),
        ("exp", None),
        ("exp", 2**53 + 1),
        ("exp", -1),
        ("exp", [2000000000]),
        ("nbf", "0"),
        ("nbf", False),
        ("iat", "now"),
        ("iss", 5),
        ("sub", 123),
        ("sub", ["alice"]),
        ("jti", 7),
        ("aud", 5),
        ("aud", ["a", 5]),
    ],
)
def test_claim_types_are_checked_not_coerced(name: str, value: Any) -> None:
    body = claims()
    body[name] = value
    assert reason(hs_signed(HDR, json.dumps(body).encode())) in {"bad_claim", "missing_claim"}


def test_float_time_claims_are_fine() -> None:
    assert VERIFIER.verify(mint(claims(exp=time.time() + 60.5, iat=time.time() - 0.5)))["sub"] == "alice"


def test_exp_boundary_matches_pyjwt() -> None:
    now = 2_000_000_000.0
    v = Verifier(load_settings({"algorithms": ["HS256"], "secret": SECRET, "leeway": 0, "token_cache_size": 0}))
    assert v.verify(mint(claims(exp=int(now) + 1, iat=None)), now=now)
    with pytest.raises(InvalidToken):
        v.verify(mint(claims(exp=int(now), iat=None)), now=now)


def test_header_must_be_object_with_alg() -> None:
    assert reason(hs_signed(b"[]", claims())) == "malformed_token"
    assert reason(hs_signed({"typ": "JWT"}, claims())) == "malformed_token"
    assert reason(hs_signed({"alg": 256}, claims())) == "malformed_token"
    assert reason(hs_signed({"alg": "HS256", "typ": 1}, claims())) == "malformed_token"


def test_header_and_signature_segments_are_checked_once_each() -> None:
    token = mint()
    h, p, _ = token.split(".")
    assert reason(f"{h}.{p}.{b64(b'x' * 32)}") == "bad_signature"
