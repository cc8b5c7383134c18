"""Property-based tests: no input makes us raise or answer 500, and we never accept what
``jwt.decode`` rejects with the same keys and options."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from harness import ASGIHarness, WSGIHarness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokens import SECRET, b64, ec_pair, hs_signed

from jwt_middleware import InvalidToken, Verifier, load_settings

SETTINGS = {"algorithms": ["HS256", "ES256"], "secret": SECRET, "keys": [ec_pair().jwk()], "cookie": "at", "query_param": "t"}
APPS = [ASGIHarness(SETTINGS), WSGIHarness(SETTINGS)]
B64CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

latin1 = st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
jwtish = st.lists(st.text(alphabet=B64CHARS + "=.+/ ", max_size=60), min_size=1, max_size=6).map(".".join)
header_value = st.one_of(latin1, jwtish, jwtish.map(lambda t: "Bearer " + t), latin1.map(lambda t: "Bearer " + t))
NAMES = ["Authorization", "Cookie", "Authorization", "X-Other"]


def _field(value: str) -> str:
    return value.replace("\r", "").replace("\n", "")  # servers refuse these in headers before any app sees them


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(st.sampled_from(NAMES), header_value), max_size=3),
    query=st.one_of(latin1, jwtish.map(lambda t: "t=" + t)),
    path=st.one_of(st.just("/api"), latin1.map(lambda p: "/" + p)),
)
def test_no_input_raises_or_answers_500(headers: list[tuple[str, str]], query: str, path: str) -> None:
    for app in APPS:
        r = app.request(path=path, headers=[(k, _field(v)) for k, v in headers], query=_field(query))
        assert r.status in (200, 400, 401), r.status
        if r.status != 200:
            assert not r.called
            assert json.loads(r.body)["error"]
            assert r.headers["www-authenticate"].startswith("Bearer")


# --- differential: ours ⊆ jwt.decode ---------------------------------------------------

ISS, AUD = "https://idp.example", "api"
OURS = Verifier(
    load_settings(
        {"algorithms": ["HS256", "ES256"], "secret": SECRET, "keys": [ec_pair().jwk()],
         "issuer": ISS, "audience": AUD, "leeway": 5, "required_claims": ["exp", "sub"], "token_cache_size": 0}
    )
)  # fmt: skip
NOW = time.time()
numbers = st.one_of(
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([NOW - 3600, NOW - 6, NOW - 4, NOW, NOW + 4, NOW + 6, NOW + 3600]),
)
anything = st.one_of(st.none(), st.booleans(), st.text(max_size=8), numbers, st.lists(st.text(max_size=4), max_size=2))
claim_values = {
    "exp": st.one_of(numbers, anything),
    "nbf": st.one_of(numbers, anything),
    "iat": st.one_of(numbers, anything),
    "iss": st.one_of(st.sampled_from([ISS, ISS + "/", "https://idp", ISS.upper()]), anything),
    "aud": st.one_of(st.sampled_from([AUD, [AUD], ["x", AUD], "apix", []]), anything),
    "sub": st.one_of(st.just("alice"), anything),
    "jti": anything,
}


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A valid claim set with up to two claims removed or replaced by anything at all."""
    now = time.time()  # at draw time: a long suite must not age the baseline into expiry
    p: dict[str, Any] = {"sub": "alice", "exp": now + 300, "iss": ISS, "aud": AUD, "iat": now - 10}
    for name in draw(st.lists(st.sampled_from(sorted(claim_values)), max_size=2, unique=True)):
        if draw(st.booleans()):
            p.pop(name, None)
        else:
            p[name] = draw(claim_values[name])
    return p


WILD_HEADERS = {
    "typ": st.one_of(st.just("JWT"), anything),
    "kid": st.one_of(st.just(ec_pair().kid), anything),
    "crit": st.just(["exp"]),
    "cty": st.sampled_from(["JWT", "json"]),
    "jku": st.just("https://x"),
    "b64": st.booleans(),
}


@st.composite
def headers(draw: st.DrawFn) -> dict[str, Any]:
    h: dict[str, Any] = {"alg": draw(st.sampled_from(["HS256", "HS256", "ES256", "ES256", "HS384", "RS256", "none", "ES384"]))}
    if h["alg"] == "ES256" and draw(st.booleans()):
        h["kid"] = ec_pair().kid
    for name in draw(st.lists(st.sampled_from(sorted(WILD_HEADERS)), max_size=1)):
        h[name] = draw(WILD_HEADERS[name])
    return h


def _sign(header: dict[str, Any], payload: dict[str, Any]) -> str:
    try:
        if header["alg"] == "ES256":
            return jwt.encode(payload, ec_pair().private, algorithm="ES256", headers=header)
    except (TypeError, ValueError, jwt.PyJWTError):
        pass
    return hs_signed(header, json.dumps(payload, allow_nan=True).encode())


def _mutate(token: str, how: int, where: int) -> str:
    if how == 0:
        return token
    if how == 1:
        i = where % len(token)
        c = token[i]
        return token[:i] + (B64CHARS[(B64CHARS.find(c) + 1) % 64] if c != "." else ".") + token[i + 1 :]
    if how == 2:
        h, p, s = token.split(".")
        return f"{h}.{p}.{s[: where % (len(s) + 1)]}"
    h, p, s = token.split(".")
    return f"{h}.{b64(json.dumps({'sub': 'mallory', 'exp': time.time() + 99, 'iss': ISS, 'aud': AUD}).encode())}.{s}"


def _pyjwt_accepts(token: str) -> bool:
    try:
        header = jwt.get_unverified_header(token)
        key: Any = SECRET if str(header.get("alg", "")).startswith("HS") else ec_pair().public
        jwt.decode(
            token, key, algorithms=["HS256", "ES256"], issuer=ISS, audience=AUD, leeway=5,
            options={"require": ["exp", "sub"]},
        )  # fmt: skip
    except jwt.PyJWTError:
        return False
    return True


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=headers(), payload=payloads(), how=st.integers(0, 3), where=st.integers(0, 10_000))
def test_never_accept_what_jwt_decode_rejects(header: dict[str, Any], payload: dict[str, Any], how: int, where: int) -> None:
    token = _mutate(_sign(header, payload), how, where)
    try:
        OURS.verify(token)
    except InvalidToken:
        return
    assert _pyjwt_accepts(token), token


def test_the_differential_generator_reaches_acceptance() -> None:
    """Guard against a vacuous differential test: valid tokens from the generator pass both."""
    now = time.time()
    token = _sign({"alg": "ES256", "kid": ec_pair().kid}, {"sub": "alice", "exp": now + 60, "iss": ISS, "aud": AUD})
    assert OURS.verify(token)["sub"] == "alice" and _pyjwt_accepts(token)
    assert OURS.verify(_sign({"alg": "HS256"}, {"sub": "a", "exp": now + 60, "iss": ISS, "aud": [AUD]}))
