"""DPoP proof checks (RFC 9449 §4.3) against proofs made by a real client library (joserfc)
and the RFC's own figures as fixed vectors."""

from __future__ import annotations

import base64
import json
import threading
import uuid
import warnings
from typing import Any

import pytest
from joserfc import jwk
from joserfc import jwt as jose_jwt

from jwt_middleware.core.dpop import (
    MemoryReplay,
    ProofRejected,
    access_token_hash,
    check_binding,
    normalise_htu,
    verify_proof,
)

# RFC 9449 figure 2 (§4.1, token request) and figure 13 (§7.1, resource request), unfolded.
RFC_TOKEN_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFV"
    "ZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VT"
    "YzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4"
    "vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
)
RFC_RESOURCE_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFV"
    "ZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9i"
    "S2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2"
    "MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAg"
    "R6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
)
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
RFC_RESOURCE = {"method": "GET", "url": "https://resource.example.org/protectedresource", "now": 1562262618}

NOW = 1_800_000_000
URL = "https://api.test/notes"
TOKEN = "an.access.token"


def proof(
    key: Any = None,
    alg: str = "ES256",
    header: dict[str, Any] | None = None,
    public: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A proof made by joserfc, as a client would; claims and header can be overridden or dropped (None)."""
    key = key or jwk.ECKey.generate_key("P-256")
    head = {"typ": "dpop+jwt", "alg": alg, "jwk": public or key.as_dict(private=False), **(header or {})}
    body = {"jti": uuid.uuid4().hex, "htm": "GET", "htu": URL, "iat": NOW, "ath": access_token_hash(TOKEN), **claims}
    return jose_jwt.encode(
        {k: v for k, v in head.items() if v is not None}, {k: v for k, v in body.items() if v is not None}, key, algorithms=[alg]
    )


def weak_rsa() -> Any:
    with warnings.catch_warnings():  # joserfc warns of a 1024-bit key, rightly: this one is to be refused
        warnings.simplefilter("ignore")
        return jwk.RSAKey.generate_key(1024)


def check(value: str, **overrides: Any) -> Any:
    return verify_proof(value, **{"method": "GET", "url": URL, "access_token": TOKEN, "now": NOW, **overrides})


def reason(value: str, **overrides: Any) -> str:
    with pytest.raises(ProofRejected) as info:
        check(value, **overrides)
    return info.value.reason


# -- the RFC's figures ----------------------------------------------------------------------------


def test_rfc_figures_verify_and_give_the_rfc_thumbprint() -> None:
    token_request = verify_proof(RFC_TOKEN_PROOF, method="POST", url="https://server.example.com/token", now=1562262616)
    assert token_request.jkt == RFC_JKT and token_request.claims["jti"] == "-BwC3ESc6acc2lTc"
    resource = verify_proof(RFC_RESOURCE_PROOF, access_token=RFC_ACCESS_TOKEN, **RFC_RESOURCE)  # type: ignore[arg-type]
    assert resource.jkt == RFC_JKT
    assert access_token_hash(RFC_ACCESS_TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo" == resource.claims["ath"]
    check_binding({"cnf": {"jkt": RFC_JKT}}, resource)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"method": "POST"}, "dpop_htm_mismatch"),
        ({"url": "https://resource.example.org/other"}, "dpop_htu_mismatch"),
        ({"now": 1562262618 + 3600}, "dpop_stale"),
        ({"access_token": "another"}, "dpop_ath_mismatch"),
    ],
)
def test_rfc_figure_13_refused_for_another_request(change: dict[str, Any], expected: str) -> None:
    arguments: dict[str, Any] = {**RFC_RESOURCE, "access_token": RFC_ACCESS_TOKEN, **change}
    with pytest.raises(ProofRejected) as info:
        verify_proof(RFC_RESOURCE_PROOF, **arguments)
    assert info.value.reason == expected and info.value.error == "invalid_dpop_proof"


def test_a_tampered_rfc_proof_is_refused() -> None:
    with pytest.raises(ProofRejected) as info:
        verify_proof(RFC_RESOURCE_PROOF[:-2] + "AA", access_token=RFC_ACCESS_TOKEN, **RFC_RESOURCE)  # type: ignore[arg-type]
    assert info.value.reason == "dpop_bad_signature"


# -- proofs from joserfc ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "make"),
    [
        ("ES256", lambda: jwk.ECKey.generate_key("P-256")),
        ("ES384", lambda: jwk.ECKey.generate_key("P-384")),
        ("PS256", lambda: jwk.RSAKey.generate_key(2048)),
        ("RS256", lambda: jwk.RSAKey.generate_key(2048)),
        ("Ed25519", lambda: jwk.OKPKey.generate_key("Ed25519")),  # RFC 9864's name for EdDSA over Ed25519
    ],
)
def test_proofs_of_each_key_type_verify_and_bind(alg: str, make: Any) -> None:
    key = make()
    verified = check(proof(key, alg))
    assert verified.alg == alg and verified.jkt == key.thumbprint()
    check_binding({"cnf": {"jkt": key.thumbprint()}}, verified)
    with pytest.raises(ProofRejected) as info:
        check_binding({"cnf": {"jkt": jwk.ECKey.generate_key("P-256").thumbprint()}}, verified)
    assert info.value.reason == "dpop_key_mismatch"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: proof(header={"typ": "JWT"}), "dpop_bad_typ"),
        (lambda: proof(header={"typ": None}), "dpop_bad_typ"),
        (lambda: proof(header={"jwk": None}), "dpop_no_key"),
        (lambda: proof(header={"x5u": "https://evil.test/key"}), "dpop_bad_header"),
        (lambda: proof(public=jwk.ECKey.generate_key("P-256").as_dict(private=True)), "dpop_private_key"),
        (lambda: proof(public=jwk.ECKey.generate_key("P-256").as_dict(private=False)), "dpop_bad_signature"),
        (lambda: proof(weak_rsa(), "RS256"), "dpop_bad_key"),
        (lambda: proof(jti=None), "dpop_bad_jti"),
        (lambda: proof(jti="x" * 300), "dpop_bad_jti"),
        (lambda: proof(htm="POST"), "dpop_htm_mismatch"),
        (lambda: proof(htm="get"), "dpop_htm_mismatch"),
        (lambda: proof(htu="https://api.test/other"), "dpop_htu_mismatch"),
        (lambda: proof(htu="https://evil.test/notes"), "dpop_htu_mismatch"),
        (lambda: proof(htu="http://api.test/notes"), "dpop_htu_mismatch"),
        (lambda: proof(htu="not a url"), "dpop_htu_mismatch"),
        (lambda: proof(iat=NOW - 61), "dpop_stale"),
        (lambda: proof(iat=NOW + 6), "dpop_bad_iat"),
        (lambda: proof(iat="1800000000"), "dpop_bad_iat"),
        (lambda: proof(iat=True), "dpop_bad_iat"),
        (lambda: proof(ath=None), "dpop_ath_mismatch"),
        (lambda: proof(ath=access_token_hash("another.token")), "dpop_ath_mismatch"),
    ],
)
def test_refused_proofs(make: Any, expected: str) -> None:
    assert reason(make()) == expected


def test_an_hmac_proof_and_an_unsigned_one_are_refused() -> None:
    secret = jwk.OctKey.generate_key(256)
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": secret.as_dict(private=False)}
    hmac = jose_jwt.encode(header, {"jti": "j", "htm": "GET", "htu": URL, "iat": NOW}, secret, algorithms=["HS256"])
    assert reason(hmac, access_token=None) == "dpop_bad_alg"
    key = jwk.ECKey.generate_key("P-256")
    good = proof(key).split(".")
    head = json.dumps({"typ": "dpop+jwt", "alg": "none", "jwk": key.as_dict(private=False)}).encode()
    none = base64.urlsafe_b64encode(head).rstrip(b"=").decode()
    assert reason(f"{none}.{good[1]}.{good[2]}") == "dpop_bad_alg"
    assert reason(f"{none}.{good[1]}.") == "dpop_malformed"


def test_an_algorithm_that_is_not_allowed_is_refused() -> None:
    assert reason(proof(jwk.OKPKey.generate_key("Ed25519"), "Ed25519"), algorithms={"ES256"}) == "dpop_bad_alg"
    p384 = proof(jwk.ECKey.generate_key("P-384"), "ES384").split(".")
    header = json.loads(base64.urlsafe_b64decode(p384[0] + "=="))
    claimed = base64.urlsafe_b64encode(json.dumps({**header, "alg": "ES256"}).encode()).rstrip(b"=").decode()
    assert reason(f"{claimed}.{p384[1]}.{p384[2]}") == "dpop_bad_alg"  # the alg must fit the key


@pytest.mark.parametrize("junk", ["", "a.b", "a.b.c", "..", "x" * 9000, "é.é.é", "eyJ9.eyJ9.AA", "a" * 50 + "." * 4])
def test_junk_is_refused_with_a_reason_never_an_exception(junk: str) -> None:
    assert reason(junk).startswith("dpop_")


def test_a_signature_segment_that_is_not_base64url_is_malformed() -> None:
    head, body, _ = proof().split(".")
    assert reason(f"{head}.{body}.A") == "dpop_malformed"


def test_within_the_window_and_the_leeway_it_passes() -> None:
    assert check(proof(iat=NOW - 59)).claims["iat"] == NOW - 59
    assert check(proof(iat=NOW + 4)).claims["iat"] == NOW + 4


def test_at_a_token_endpoint_no_ath_is_needed() -> None:
    assert check(proof(ath=None), access_token=None).jkt


def test_htu_normalisation() -> None:
    assert normalise_htu("HTTPS://Api.Test:443/notes?page=2#top") == "https://api.test/notes"
    assert normalise_htu("http://api.test:80") == "http://api.test/"
    assert normalise_htu("https://api.test:8443/x") == "https://api.test:8443/x"
    assert normalise_htu("wss://api.test/socket") == "https://api.test/socket"  # a handshake is an HTTP request
    assert normalise_htu("ws://api.test:80/socket") == "http://api.test/socket"
    assert normalise_htu("https://[::1]:443/x") == "https://[::1]/x"
    assert normalise_htu("ftp://api.test/x") is None
    assert normalise_htu("https://api.test:99999/x") is None
    assert normalise_htu("/notes") is None
    assert check(proof(htu="https://API.test:443/notes")).claims  # the same place, written differently
    assert reason(proof(htu="https://api.test/Notes")) == "dpop_htu_mismatch"  # the path is case-sensitive


# -- replay and nonce ---------------------------------------------------------------------------------


def test_a_proof_is_accepted_once_and_a_refused_proof_does_not_spend_its_jti() -> None:
    replay = MemoryReplay()
    once = proof()
    assert check(once, replay=replay).jkt
    assert reason(once, replay=replay) == "dpop_replay"
    other = proof()
    assert reason(other, replay=replay, method="POST") == "dpop_htm_mismatch"
    assert check(other, replay=replay).jkt


def test_the_same_jti_from_another_key_is_another_proof() -> None:
    replay, jti = MemoryReplay(), "shared-jti"
    check(proof(jti=jti), replay=replay)
    check(proof(jti=jti), replay=replay)  # a different key: its own proof
    assert len(replay) == 2


def test_concurrent_replays_let_exactly_one_through() -> None:
    replay, once, passed = MemoryReplay(), proof(), []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        try:
            check(once, replay=replay)
            passed.append(1)
        except ProofRejected as exc:
            assert exc.reason == "dpop_replay"

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(passed) == 1


def test_the_replay_cache_forgets_expired_entries_and_refuses_rather_than_forget_live_ones() -> None:
    replay = MemoryReplay(max_entries=2)
    assert replay.claim("a", 0) and replay.claim("b", 0)  # already expired: free to drop
    assert replay.claim("c", 4e9) and replay.claim("d", 4e9)
    assert len(replay) == 2
    assert not replay.claim("c", 4e9)
    with pytest.raises(ProofRejected) as info:
        replay.claim("e", 4e9)
    assert info.value.reason == "dpop_replay_cache_full"


def test_a_server_nonce_is_required_when_set() -> None:
    with pytest.raises(ProofRejected) as info:
        check(proof(), nonce="n-1")
    assert (info.value.reason, info.value.error) == ("dpop_nonce", "use_dpop_nonce")
    assert reason(proof(nonce="old"), nonce="n-1") == "dpop_nonce"
    assert check(proof(nonce="n-1"), nonce="n-1").claims["nonce"] == "n-1"


# -- binding --------------------------------------------------------------------------------------------


def test_binding_rules() -> None:
    key = jwk.ECKey.generate_key("P-256")
    verified = check(proof(key))
    check_binding({"sub": "alice"}, None)  # a plain Bearer token, no proof: nothing to bind
    for claims, given, expected in [
        ({"cnf": {"jkt": key.thumbprint()}}, None, "dpop_proof_missing"),  # a bound token sent as Bearer
        ({"sub": "alice"}, verified, "dpop_token_not_bound"),
        ({"cnf": {"jkt": 42}}, verified, "dpop_key_mismatch"),
        ({"cnf": {"jkt": RFC_JKT}}, verified, "dpop_key_mismatch"),
    ]:
        with pytest.raises(ProofRejected) as info:
            check_binding(claims, given)
        assert info.value.reason == expected, claims
    check_binding({"cnf": {"jkt": key.thumbprint()}}, verified)


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("exponent", "bits"),
    [
        pytest.param(2**2000 + 1, 2048, id="huge-exponent"),
        pytest.param(65537, 16384, id="huge-modulus"),
    ],
)
def test_a_proof_key_that_would_make_verifying_expensive_is_refused_before_verifying(exponent: int, bits: int) -> None:
    """Issue 22 item 10: an RSA proof key with a huge exponent cost 123x a normal verify, before
    credentials and the throttle; it is refused as a key (``dpop_bad_key``), never verified."""
    key = jwk.RSAKey.generate_key(2048)
    public = key.as_dict(private=False)
    modulus = int.from_bytes(base64.urlsafe_b64decode(public["n"] + "=="), "big")
    if bits != 2048:
        modulus = (1 << (bits - 1)) | 1  # the shape of a 16384-bit key, enough to be refused for its size
    assert reason(proof(key, "RS256", public={**public, "n": _b64(modulus), "e": _b64(exponent)})) == "dpop_bad_key"
    assert check(proof(key, "RS256")).jkt  # the same key, with its own exponent, is accepted
