"""What the lean request path remembers, and that it decides exactly as the full path does.

The verifier remembers header verdicts (good and bad) and key candidates; the gate refuses
junk without raising. None of that may change an answer, and none of it may grow without
bound under a flood of distinct tokens.
"""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokens import SECRET, b64, claims, hs_signed, mint, raw, rsa_pair

from jwt_middleware import Identity, InvalidToken, Verifier, load_settings
from jwt_middleware.core.claims import ClaimList
from jwt_middleware.core.keys import KeySet, from_key_object
from jwt_middleware.gate.verifier import MAX_HEADERS

HS = {"algorithms": ["HS256"], "secret": SECRET}

JUNK = [
    "garbage",
    "x" * 300,
    "a.b",
    "a.b.c.d",
    "a.b.c.d.e",  # the shape of a JWE
    "a.b.c",
    "eyJhbGciOiJub25lIn0.e30.",  # alg none
    raw(b"[]", claims()),
    raw({"alg": "HS256", "jku": "https://evil.example/jwks"}, claims()),
    raw({"alg": "HS256", "crit": ["exp"]}, claims()),
]


def reason_of(verifier: Verifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    return caught.value.reason


@pytest.mark.parametrize("token", JUNK)
def test_a_quick_refusal_gives_the_full_paths_reason(token: str) -> None:
    v = Verifier(load_settings(HS))
    first = reason_of(v, token)  # the full path, which also learns a bad header
    quick = v.refusal(token)
    if quick is not None:
        assert quick.reason == first
    assert reason_of(v, token) == first  # and asking again, through the memo, answers the same


def test_a_bad_header_is_refused_quickly_the_second_time() -> None:
    v = Verifier(load_settings(HS))
    token = raw({"alg": "none"}, claims())
    assert v.refusal(token) is None  # nothing known about this header yet
    reason = reason_of(v, token)
    quick = v.refusal(token)
    assert quick is not None and quick.reason == reason == "alg_none"


def test_a_good_header_is_never_taken_for_a_bad_one() -> None:
    v = Verifier(load_settings(HS))
    good = mint()
    reason_of(v, raw({"alg": "none"}, claims()))
    assert v.refusal(good) is None
    assert v.verify(good)["sub"] == "alice"


@given(st.one_of(st.text(max_size=80), st.text(alphabet="eyJab.é_-=", max_size=30)))
@settings(max_examples=500, deadline=None)
def test_a_quick_refusal_never_refuses_what_the_full_path_would_not(text: str) -> None:
    v = Verifier(load_settings(HS))
    quick = v.refusal(text)
    if quick is not None:
        assert reason_of(v, text) == quick.reason


def test_header_memos_stay_bounded_under_a_flood() -> None:
    v = Verifier(load_settings(HS))
    for i in range(5 * MAX_HEADERS):
        good = hs_signed({"alg": "HS256", "typ": "JWT", "kid": f"k{i}"}, claims())
        v.verify(good)
        bad = raw({"alg": "none", "n": i}, claims())
        reason_of(v, bad)
        assert len(v._headers) <= MAX_HEADERS
        assert len(v._bad_headers) <= MAX_HEADERS


def test_key_candidates_are_remembered_for_known_kids_only() -> None:
    pair = rsa_pair()
    keyset = KeySet([from_key_object(pair.public, kid=pair.kid)])
    found, ambiguous = keyset.lookup(pair.kid, "RS256")
    assert [k.kid for k in found] == [pair.kid] and not ambiguous
    for i in range(3000):
        assert keyset.lookup(f"unknown-{i}", "RS256") == ((), False)
    assert len(keyset._memo) == 1


def test_two_keys_under_one_kid_are_ambiguous_only_for_an_alg_both_fit() -> None:
    rsa_a, rsa_b = rsa_pair("a"), rsa_pair("b")
    twins = KeySet([from_key_object(rsa_a.public, kid="same"), from_key_object(rsa_b.public, kid="same")])
    assert twins.lookup("same", "RS256")[1] is True
    assert twins.lookup("same", "ES256") == ((), False)


def test_lists_in_the_payload_are_read_only_and_plain_payloads_unchanged() -> None:
    v = Verifier(load_settings({**HS, "audience": "api"}))
    nested = v.verify(mint(claims(aud=["api", "other"], groups=[["a"], {"b": [1]}])))
    assert isinstance(nested["aud"], ClaimList) and isinstance(nested["groups"][0], ClaimList)
    assert isinstance(nested["groups"][1]["b"], ClaimList)
    with pytest.raises(TypeError):
        nested["groups"][1]["b"].append(2)
    plain = v.verify(mint(claims(aud="api", note="no [lists] here, only brackets in a string")))
    assert plain["note"] == "no [lists] here, only brackets in a string"
    assert json.loads(json.dumps(plain)) == dict(plain)


def test_identity_grants_are_worked_out_on_first_use_and_equal_across_threads() -> None:
    token = mint(claims(scope="read write", roles=["admin", "ops"]))
    identity = Verifier(load_settings({**HS, "role_claims": ["roles"]})).identify(token)
    assert identity._scopes is None and identity._auth is None  # nothing computed yet
    results: list[tuple[list[str], list[str], list[str]]] = []

    def ask() -> None:
        results.append((list(identity.scopes), list(identity.roles), list(identity.auth.scopes)))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [(["read", "write"], ["admin", "ops"], ["authenticated", "read", "write", "admin", "ops"])] * 8
    assert identity.user.identity == identity.subject == "alice"
    assert isinstance(identity, Identity) and identity.auth.roles == ["admin", "ops"]


def test_a_token_whose_header_segment_is_not_ascii_is_refused_plainly() -> None:
    v = Verifier(load_settings(HS))
    token = "é" + b64(b'{"alg":"HS256"}') + "." + b64(b"{}") + ".sig"
    assert reason_of(v, token) == "malformed_token"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("é.b.c.d.e", "unsupported_token"),
        ("é.b", "malformed_token"),
        ("é.b.c", "malformed_token"),
        ("a.b.c.d.é", "unsupported_token"),
    ],
)
def test_a_token_that_is_not_ascii_is_named_by_its_shape_first(token: str, reason: str) -> None:
    v = Verifier(load_settings(HS))
    quick = v.refusal(token)
    assert reason_of(v, token) == reason
    assert quick is None or quick.reason == reason
