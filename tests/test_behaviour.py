"""The behaviour suite: every case runs through the ASGI and the WSGI adapter."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tokens import SECRET, claims, ec_pair, ed_pair, hs_signed, mint, raw, rsa_pair

from jwt_middleware import Challenge

NOW = int(time.time())


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def test_valid_token_reaches_the_app_with_claims(make: Any) -> None:
    r = make().request(headers=bearer(mint()))
    assert r.status == 200 and r.called
    assert r.seen["claims"]["sub"] == "alice"
    assert r.seen["claims"]["scope"] == "read write"


def test_identity_lands_where_the_contract_says(make: Any) -> None:
    h = make()
    r = h.request(headers=bearer(mint()))
    if h.kind == "asgi":
        assert r.seen["user"].is_authenticated and r.seen["user"].identity == "alice"
        assert r.seen["auth"].scopes == ["authenticated", "read", "write"]
    else:
        assert r.seen["remote_user"] == "alice"


def test_no_token_gets_a_bare_challenge(make: Any) -> None:
    r = make().request()
    assert (r.status, r.called) == (401, False)
    assert r.challenge == "Bearer"
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    assert r.json["error"] == "unauthorized"


def test_realm_is_in_every_challenge(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "realm": "api"})
    assert h.request().challenge == 'Bearer realm="api"'
    assert h.request(headers=bearer("a.b.c")).challenge.startswith('Bearer realm="api", error="invalid_token"')


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(make: Any, scheme: str) -> None:
    assert make().request(headers=[("Authorization", f"{scheme} {mint()}")]).status == 200


def test_other_schemes_are_not_a_bearer_token(make: Any, hs: dict[str, Any]) -> None:
    r = make().request(headers=[("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")])
    assert (r.status, r.challenge) == (401, "Bearer")
    r = make({**hs, "optional": True}).request(headers=[("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")])
    assert (r.status, r.seen["claims"]) == (200, None)


BAD_TOKENS = [
    pytest.param(lambda: "abc", "malformed_token", id="not-a-jwt"),
    pytest.param(lambda: "a.b.c", "malformed_token", id="garbage-segments"),
    pytest.param(lambda: mint(claims(exp=NOW - 3600)), "expired", id="expired"),
    pytest.param(lambda: mint(claims(nbf=NOW + 3600)), "not_yet_valid", id="not-yet-valid"),
    pytest.param(lambda: mint(claims(iat=NOW + 3600)), "issued_in_future", id="issued-in-future"),
    pytest.param(lambda: mint(claims(exp=None)), "missing_claim", id="no-exp"),
    pytest.param(lambda: mint(key="another-secret-another-secret-0123456789"), "bad_signature", id="wrong-secret"),
    pytest.param(lambda: mint()[:-4] + "AAAA", "bad_signature", id="tampered-signature"),
    pytest.param(lambda: rsa_pair().sign(claims()), "alg_not_allowed", id="alg-not-allowed"),
    pytest.param(lambda: raw({"alg": "none"}, claims(), b""), "alg_none", id="alg-none-empty-sig"),
    pytest.param(lambda: raw({"alg": "none"}, claims()), "alg_none", id="alg-none"),
    pytest.param(lambda: mint(claims(exp="9999999999")), "bad_claim", id="exp-string"),
    pytest.param(lambda: mint(claims(aud="someone")), "audience_mismatch", id="aud-but-none-configured"),
]


@pytest.mark.parametrize(("factory", "reason"), BAD_TOKENS)
def test_bad_tokens_get_invalid_token(make: Any, factory: Any, reason: str, caplog: pytest.LogCaptureFixture) -> None:
    token = factory()
    caplog.set_level("INFO", logger="jwt_middleware")
    r = make().request(headers=bearer(token))
    assert (r.status, r.called) == (401, False)
    assert r.challenge.startswith('Bearer error="invalid_token", error_description="')
    assert r.json["error"] == "invalid_token"
    assert f"reason={reason}" in caplog.text
    assert token not in r.body.decode() and token not in r.challenge and token not in caplog.text


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("abc", "malformed_token"),
        ("a.b.c.d.e", "unsupported_token"),
        ("a.b.c", "malformed_token"),
        (raw({"alg": "none"}, claims()), "alg_none"),
        (raw({"alg": "HS256", "jku": "https://evil.example/k"}, claims()), "header_not_allowed"),
    ],
)
def test_junk_refused_the_quick_way_answers_as_the_first_time(
    make: Any, token: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The second request meets the remembered header verdict; the answer must not change."""
    caplog.set_level("INFO", logger="jwt_middleware")
    h = make()
    first, second = h.request(headers=bearer(token)), h.request(headers=bearer(token))
    assert (first.status, first.called) == (second.status, second.called) == (401, False)
    assert (first.challenge, first.body) == (second.challenge, second.body)
    assert caplog.text.count(f"reason={reason}") == 2
    assert h.request(headers=bearer(mint())).status == 200  # a good token still passes beside them


MALFORMED_REQUESTS = [
    pytest.param([("Authorization", "Bearer")], id="empty-credential"),
    pytest.param([("Authorization", "Bearer   ")], id="blank-credential"),
    pytest.param([("Authorization", "Bearer a b")], id="two-words"),
    pytest.param([("Authorization", "Bearer tok,en")], id="comma"),
    pytest.param([("Authorization", "Bearer tok\ten")], id="tab"),
    pytest.param([("Authorization", "Bearer =abc")], id="leading-equals"),
    pytest.param([("Authorization", "Bearer abc"), ("Authorization", "Bearer abc")], id="two-headers"),
]


@pytest.mark.parametrize("headers", MALFORMED_REQUESTS)
def test_malformed_bearer_requests_get_400(make: Any, headers: list[tuple[str, str]]) -> None:
    r = make().request(headers=headers)
    assert (r.status, r.called) == (400, False)
    assert 'error="invalid_request"' in r.challenge
    assert r.json["error"] == "invalid_request"


def test_oversized_token_is_refused_before_parsing(make: Any, hs: dict[str, Any]) -> None:
    big = mint(claims(pad="x" * 2000))
    h = make({**hs, "max_token_bytes": 1024})
    r = h.request(headers=bearer(big))
    assert (
        r.status == 401
        and 'error="invalid_token"' in r.challenge
        and r.json["error_description"] == "token is larger than allowed"
    )
    assert h.request(headers=bearer(mint())).status == 200


def test_cookie_token(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "cookie": "access"})
    assert h.request(headers=[("Cookie", f"theme=dark; access={mint()}")]).status == 200
    assert h.request(headers=[("Cookie", f'access="{mint()}"')]).status == 200
    assert h.request(headers=[("Cookie", "theme=dark")]).status == 401
    assert h.request(headers=[("Cookie", "access=")]).challenge == "Bearer"


def test_cookie_not_read_unless_configured(make: Any) -> None:
    assert make().request(headers=[("Cookie", f"access={mint()}")]).status == 401


def test_two_cookies_of_the_name_is_400(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "cookie": "access"})
    assert h.request(headers=[("Cookie", f"access={mint()}; access={mint()}")]).status == 400
    assert h.request(headers=[("Cookie", f"access={mint()}"), ("Cookie", f"access={mint()}")]).status == 400


def test_query_param_token(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "query_param": "access_token"})
    assert h.request(query=f"x=1&access_token={mint()}").status == 200
    assert h.request(query=f"access_token={mint()}&access_token={mint()}").status == 400
    assert make().request(query=f"access_token={mint()}").status == 401


@pytest.mark.parametrize(
    "where",
    [
        pytest.param({"headers": [("Authorization", "Bearer {t}"), ("Cookie", "access={t}")]}, id="header+cookie"),
        pytest.param({"headers": [("Authorization", "Bearer {t}")], "query": "access_token={t}"}, id="header+query"),
        pytest.param({"headers": [("Cookie", "access={t}")], "query": "access_token={t}"}, id="cookie+query"),
    ],
)
def test_token_in_two_places_is_400(make: Any, hs: dict[str, Any], where: dict[str, Any]) -> None:
    t = mint()
    h = make({**hs, "cookie": "access", "query_param": "access_token"})
    headers = [(k, v.format(t=t)) for k, v in where.get("headers", [])]
    r = h.request(headers=headers, query=where.get("query", "").format(t=t))
    assert (r.status, r.called) == (400, False)


PATHS = [
    ("/health", True),
    ("/health/", False),
    ("/HEALTH", False),
    ("/healthz", False),
    ("/public", True),
    ("/public/", True),
    ("/public/a/b", True),
    ("/publicity", False),
    ("/public/../api", False),
    ("/public/./x", False),
    ("/public//x", False),
    ("/public/%2e%2e/api", False),
    ("/public/..", False),
    ("/public\\..\\api", False),
    ("/api", False),
]


@pytest.mark.parametrize(("path", "public"), PATHS, ids=[p for p, _ in PATHS])
def test_exclude_paths(make: Any, hs: dict[str, Any], path: str, public: bool) -> None:
    r = make({**hs, "exclude_paths": ["/health", "/public/*"]}).request(path=path)
    assert r.status == (200 if public else 401)
    assert r.called is public


def test_public_path_sees_no_claims_even_with_a_token(make: Any, hs: dict[str, Any]) -> None:
    r = make({**hs, "exclude_paths": ["/health"]}).request(path="/health", headers=bearer("garbage"))
    assert (r.status, r.seen["claims"]) == (200, None)


def test_optional_mode(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "optional": True})
    anon = h.request()
    assert (anon.status, anon.seen["claims"]) == (200, None)
    assert h.request(headers=bearer(mint())).seen["claims"]["sub"] == "alice"
    bad = h.request(headers=bearer(mint(claims(exp=NOW - 3600))))
    assert (bad.status, bad.called) == (401, False)
    assert h.request(headers=[("Authorization", "Bearer")]).status == 400


def test_issuer_and_audience_are_exact(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "issuer": "https://idp.example", "audience": ["api", "admin"]})
    ok = claims(iss="https://idp.example", aud=["other", "api"])
    assert h.request(headers=bearer(mint(ok))).status == 200
    for bad in (
        claims(iss="https://idp.example.evil", aud="api"),
        claims(iss="https://idp.exampl", aud="api"),
        claims(iss="HTTPS://IDP.EXAMPLE", aud="api"),
        claims(iss="https://idp.example", aud="ap"),
        claims(iss="https://idp.example", aud="apiX"),
        claims(iss="https://idp.example", aud=["API"]),
        claims(iss="https://idp.example"),
        claims(aud="api"),
    ):
        assert h.request(headers=bearer(mint(bad))).status == 401, bad
    listed = hs_signed({"alg": "HS256", "typ": "JWT"}, claims(iss=["https://idp.example"], aud="api"))
    assert h.request(headers=bearer(listed)).status == 401


def test_required_claims_and_leeway(make: Any, hs: dict[str, Any]) -> None:
    h = make({**hs, "required_claims": ["exp", "sub", "jti"], "leeway": 60})
    assert h.request(headers=bearer(mint(claims(jti="1")))).status == 200
    assert h.request(headers=bearer(mint())).status == 401
    now = int(time.time())
    assert h.request(headers=bearer(mint(claims(jti="1", exp=now - 30)))).status == 200
    assert h.request(headers=bearer(mint(claims(jti="1", exp=now - 90)))).status == 401


@pytest.mark.parametrize(
    ("pair", "alg"),
    [
        pytest.param(rsa_pair, "RS256", id="RS256"),
        pytest.param(rsa_pair, "PS256", id="PS256"),
        pytest.param(ec_pair, "ES256", id="ES256"),
        pytest.param(lambda: ec_pair("ec384", "P-384"), "ES384", id="ES384"),
        pytest.param(lambda: ec_pair("ec521", "P-521"), "ES512", id="ES512"),
        pytest.param(ed_pair, "EdDSA", id="EdDSA"),
    ],
)
def test_public_key_algorithms_from_pem_and_jwk(make: Any, pair: Any, alg: str) -> None:
    kp = pair()
    token = mint(claims(), key=kp.private, alg=alg, kid=kp.kid)
    for keys in ([kp.public_pem], [kp.jwk()], {"keys": [kp.jwk()]}):
        assert make({"algorithms": [alg], "keys": keys}).request(headers=bearer(token)).status == 200


def test_key_is_bound_to_its_type(make: Any) -> None:
    rsa, ec = rsa_pair(), ec_pair()
    h = make({"algorithms": ["RS256", "ES256"], "keys": [rsa.jwk(), ec.jwk()]})
    assert h.request(headers=bearer(ec.sign())).status == 200
    forged = mint(claims(), key=ec.private, alg="ES256", kid=rsa.kid)
    assert h.request(headers=bearer(forged)).status == 401


def test_jwk_alg_must_equal_token_alg(make: Any) -> None:
    kp = rsa_pair()
    h = make({"algorithms": ["RS256", "PS256"], "keys": [kp.jwk(alg="RS256")]})
    assert h.request(headers=bearer(mint(claims(), key=kp.private, alg="RS256", kid=kp.kid))).status == 200
    assert h.request(headers=bearer(mint(claims(), key=kp.private, alg="PS256", kid=kp.kid))).status == 401


def test_kid_selects_among_keys(make: Any) -> None:
    a, b = rsa_pair("a"), rsa_pair("b")
    h = make({"algorithms": ["RS256"], "keys": [a.jwk(), b.jwk()]})
    assert h.request(headers=bearer(a.sign())).status == 200
    assert h.request(headers=bearer(b.sign())).status == 200
    assert h.request(headers=bearer(mint(claims(), key=a.private, alg="RS256", kid="b"))).status == 401
    assert h.request(headers=bearer(mint(claims(), key=a.private, alg="RS256", kid="zzz"))).status == 401


def test_duplicate_kid_is_ambiguous_never_first_match(make: Any, caplog: pytest.LogCaptureFixture) -> None:
    a, b = rsa_pair("a"), rsa_pair("b")
    caplog.set_level("INFO", logger="jwt_middleware")
    h = make({"algorithms": ["RS256"], "keys": [a.jwk(), b.jwk(kid="a")]})
    assert h.request(headers=bearer(a.sign())).status == 401
    assert "reason=ambiguous_key" in caplog.text


def test_providers_pick_by_issuer_and_never_cross(make: Any) -> None:
    a, b = rsa_pair("a"), ec_pair("b")
    h = make(
        {
            "providers": [
                {"issuer": "https://a.example", "algorithms": ["RS256"], "keys": [a.jwk()], "audience": "api-a"},
                {"issuer": "https://b.example", "algorithms": ["ES256"], "keys": [b.jwk()], "audience": "api-b"},
            ]
        }
    )
    assert h.request(headers=bearer(a.sign(claims(iss="https://a.example", aud="api-a")))).status == 200
    assert h.request(headers=bearer(b.sign(claims(iss="https://b.example", aud="api-b")))).status == 200
    assert h.request(headers=bearer(a.sign(claims(iss="https://b.example", aud="api-b")))).status == 401
    assert h.request(headers=bearer(b.sign(claims(iss="https://a.example", aud="api-a")))).status == 401
    assert h.request(headers=bearer(a.sign(claims(iss="https://a.example", aud="api-b")))).status == 401
    assert h.request(headers=bearer(a.sign(claims(iss="https://c.example", aud="api-a")))).status == 401
    assert h.request(headers=bearer(a.sign(claims(aud="api-a")))).status == 401


def test_claims_check_hook(make: Any, hs: dict[str, Any]) -> None:
    def only_admins(c: Any) -> bool:
        return c.get("role") == "admin"

    h = make({**hs, "claims_check": only_admins})
    assert h.request(headers=bearer(mint(claims(role="admin")))).status == 200
    assert h.request(headers=bearer(mint(claims(role="user")))).status == 401


def test_claims_check_that_raises_refuses_and_logs(make: Any, hs: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    def broken(c: Any) -> None:
        raise RuntimeError("boom")

    r = make({**hs, "claims_check": broken}).request(headers=bearer(mint()))
    assert (r.status, r.called) == (401, False)
    assert "claims_check_error" in caplog.text


def test_on_error_hook_customises_the_response(make: Any, hs: dict[str, Any]) -> None:
    def custom(ch: Challenge) -> Challenge:
        return ch.with_body(b"<h1>nope</h1>", "text/html")

    r = make({**hs, "on_error": custom}).request()
    assert (r.status, r.body, r.headers["content-type"]) == (401, b"<h1>nope</h1>", "text/html")
    assert r.headers["content-length"] == str(len(b"<h1>nope</h1>"))
    assert r.challenge == "Bearer"


def test_claims_are_read_only_and_shared_safely(make: Any) -> None:
    h = make()
    token = mint(claims(roles=["a"]))
    first = h.request(headers=bearer(token)).seen["claims"]
    with pytest.raises(TypeError):
        first["sub"] = "mallory"
    with pytest.raises(TypeError):
        first["roles"].append("admin")
    assert first == {**first} and first["roles"] == ["a"]
    again = h.request(headers=bearer(token)).seen["claims"]
    assert again["sub"] == "alice" and again["roles"] == ["a"]


def test_secret_given_as_bytes(make: Any) -> None:
    assert make({"algorithms": ["HS256"], "secret": SECRET.encode()}).request(headers=bearer(mint())).status == 200


def test_a_mounted_wsgi_app_matches_exclude_paths_against_script_name_and_path_info() -> None:
    """Under a dispatcher the app sees SCRIPT_NAME=/api: public paths are written as the client sees them."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client

    from jwt_middleware import JWTWSGIMiddleware, get_claims

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"claims" if get_claims(environ) else b"anonymous"]

    def root(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]

    guarded = JWTWSGIMiddleware(app, algorithms=["HS256"], secret=SECRET, exclude_paths=["/api/health", "/api/docs/*"])
    client = Client(DispatcherMiddleware(root, {"/api": guarded}))
    assert (client.get("/api/health").status_code, client.get("/api/health").data) == (200, b"anonymous")
    assert client.get("/api/docs/intro").status_code == 200
    assert client.get("/api/data").status_code == 401
    assert client.get("/api/data", headers={"Authorization": f"Bearer {mint()}"}).data == b"claims"
    direct = Client(JWTWSGIMiddleware(app, algorithms=["HS256"], secret=SECRET, exclude_paths=["/api/health"]))
    assert direct.get("/health").status_code == 401  # not mounted: /health is not /api/health
