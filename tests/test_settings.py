"""Bad settings raise ConfigError at construction, naming the key."""

from __future__ import annotations

from typing import Any

import pytest
from tokens import SECRET, ec_pair, rsa_pair

from jwt_middleware import ConfigError, JWTMiddleware, JWTWSGIMiddleware, Settings, load_settings

HS = {"algorithms": ["HS256"], "secret": SECRET}


def _app(*args: Any) -> None:
    raise AssertionError("never called")


CASES = [
    pytest.param({"algorithm": ["HS256"], "secret": SECRET}, "algorithm", "did you mean 'algorithms'", id="typo"),
    pytest.param({**HS, "exclude_path": ["/x"]}, "exclude_path", "did you mean 'exclude_paths'", id="typo-exclude"),
    pytest.param({**HS, "bogus": 1}, "bogus", "unknown setting", id="unknown"),
    pytest.param({"secret": SECRET}, "algorithms", "required", id="no-algorithms"),
    pytest.param({"algorithms": "HS256", "secret": SECRET}, "algorithms", "list", id="algorithms-string"),
    pytest.param({"algorithms": [], "secret": SECRET}, "algorithms", "empty", id="algorithms-empty"),
    pytest.param({"algorithms": ["none"]}, "algorithms", "never", id="alg-none"),
    pytest.param({"algorithms": ["HS256", "NoNe"], "secret": SECRET}, "algorithms", "never", id="alg-none-case"),
    pytest.param({"algorithms": ["RS255"], "keys": []}, "algorithms", "did you mean 'RS256'", id="alg-typo"),
    pytest.param({"algorithms": ["HS256"]}, "secret", "needs a local secret", id="hmac-no-secret"),
    pytest.param({"algorithms": ["HS256"], "secret": "short"}, "secret", "at least 32 bytes", id="short-secret"),
    pytest.param({"algorithms": ["HS512"], "secret": SECRET}, "secret", "at least 64 bytes", id="short-for-hs512"),
    pytest.param(
        {"algorithms": ["HS256"], "jwks_url": "https://idp.example/jwks"}, "secret", "remote key sets", id="hmac-remote"
    ),
    pytest.param({"algorithms": ["HS256"], "keys": ["x"]}, "secret", "needs a local secret", id="hmac-public-keys"),
    pytest.param({"algorithms": ["RS256"], "secret": SECRET}, "secret", "no HMAC algorithm", id="rsa-with-secret"),
    pytest.param({"algorithms": ["RS256"]}, "keys", "needs public keys", id="rsa-no-keys"),
    pytest.param({"algorithms": ["HS256"], "secret": 12345}, "secret", "string or bytes", id="secret-type"),
    pytest.param(
        {"algorithms": ["HS256"], "secret": "-----BEGIN PUBLIC KEY-----" + "A" * 40}, "secret", "PEM", id="pem-as-secret"
    ),
    pytest.param({"algorithms": ["RS256"], "keys": "-----BEGIN"}, "keys", "list", id="keys-string"),
    pytest.param({"algorithms": ["RS256"], "keys": ["not a pem"]}, "keys[0]", "PEM", id="bad-pem"),
    pytest.param({"algorithms": ["RS256"], "keys": [{"kty": "oct", "k": "AAAA"}]}, "keys[0]", "symmetric", id="oct-jwk"),
    pytest.param({"algorithms": ["RS256"], "keys": [{"kty": "RSA"}]}, "keys[0]", "JWK members", id="broken-jwk"),
    pytest.param({"algorithms": ["ES256"], "keys": [lambda: rsa_pair().jwk()]}, "keys", "no key fits", id="no-key-fits"),
    pytest.param(
        {"algorithms": ["RS256"], "keys": [lambda: rsa_pair("weak", 1024).public_pem]}, "keys[0]", "2048", id="weak-rsa"
    ),
    pytest.param({**HS, "issuer": 5}, "issuer", "strings", id="issuer-type"),
    pytest.param({**HS, "audience": [""]}, "audience", "non-empty", id="audience-empty-string"),
    pytest.param({**HS, "leeway": "10"}, "leeway", "seconds", id="leeway-string"),
    pytest.param({**HS, "leeway": -1}, "leeway", "between", id="leeway-negative"),
    pytest.param({**HS, "leeway": True}, "leeway", "seconds", id="leeway-bool"),
    pytest.param({**HS, "optional": "yes"}, "optional", "true or false", id="optional-type"),
    pytest.param({**HS, "max_token_bytes": 10}, "max_token_bytes", "whole number", id="max-bytes-small"),
    pytest.param({**HS, "cookie": "a b"}, "cookie", "token characters", id="cookie-name"),
    pytest.param({**HS, "realm": 'a"b'}, "realm", "quotes", id="realm-quote"),
    pytest.param({**HS, "exclude_paths": ["health"]}, "exclude_paths[0]", "starts with", id="path-no-slash"),
    pytest.param({**HS, "exclude_paths": ["/a*"]}, "exclude_paths[0]", "trailing", id="path-star"),
    pytest.param({**HS, "exclude_paths": ["/a/../b"]}, "exclude_paths[0]", "dot segments", id="path-dots"),
    pytest.param({**HS, "exclude_paths": "/health"}, "exclude_paths", "list", id="paths-string"),
    pytest.param({**HS, "required_claims": "exp"}, "required_claims", "list", id="required-string"),
    pytest.param({**HS, "claims_check": 5}, "claims_check", "callable", id="hook-type"),
    pytest.param({"algorithms": ["RS256"], "jwks_url": "http://idp.example/jwks"}, "jwks_url", "https", id="jwks-http"),
    pytest.param({"algorithms": ["RS256"], "jwks_url": "ftp://idp.example/jwks"}, "jwks_url", "https", id="jwks-ftp"),
    pytest.param({"algorithms": ["RS256"], "jwks_url": "https://u:p@idp.example/"}, "jwks_url", "credentials", id="jwks-creds"),
    pytest.param({"algorithms": ["RS256"], "oidc_discovery": True}, "issuer", "exactly one issuer", id="discovery-no-issuer"),
    pytest.param(
        {"algorithms": ["RS256"], "oidc_discovery": True, "issuer": "https://a", "jwks_url": "https://a/j"},
        "oidc_discovery",
        "not both",
        id="discovery-and-url",
    ),
    pytest.param({"providers": []}, "providers", "non-empty", id="providers-empty"),
    pytest.param(
        {"providers": [{"algorithms": ["HS256"], "secret": SECRET}]},
        "providers[0].issuer",
        "needs an issuer",
        id="provider-no-iss",
    ),
    pytest.param(
        {"providers": [{"issuer": "a", "algorithms": ["HS256"], "secret": SECRET, "audince": "x"}]},
        "providers[0].audince",
        "did you mean 'audience'",
        id="provider-typo",
    ),
    pytest.param(
        {"secret": SECRET, "providers": [{"issuer": "a", "algorithms": ["HS256"], "secret": SECRET}]},
        "secret",
        "inside each provider",
        id="provider-and-top-level-key",
    ),
    pytest.param(
        {
            "providers": [
                {"issuer": "a", "algorithms": ["HS256"], "secret": SECRET},
                {"issuer": "a", "algorithms": ["HS256"], "secret": SECRET},
            ]
        },
        "providers[1].issuer",
        "two providers",
        id="provider-dup-issuer",
    ),
]


def _resolve(value: Any) -> Any:
    if callable(value):
        return value()
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("settings", "key", "fragment"), CASES)
@pytest.mark.parametrize("adapter", [JWTMiddleware, JWTWSGIMiddleware])
def test_bad_settings_raise_config_error_naming_the_key(adapter: Any, settings: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        adapter(_app, settings=_resolve(settings) if "claims_check" not in settings else settings)
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ")
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_config_error_never_shows_the_secret() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"algorithms": ["HS512"], "secret": SECRET})
    assert SECRET not in str(info.value)


def test_typed_settings_object_is_accepted_and_frozen() -> None:
    s = Settings(algorithms=["HS256"], secret=SECRET, leeway=10)
    app = JWTMiddleware(_app, settings=s)
    assert app.gate.settings is s
    with pytest.raises(AttributeError):
        s.leeway = 0  # type: ignore[misc]
    assert SECRET not in repr(s)


def test_keyword_overrides() -> None:
    s = load_settings(HS, leeway=0, realm="r")
    assert (s.leeway, s.realm) == (0, "r")


def test_jwks_url_http_on_loopback_or_opt_in() -> None:
    assert load_settings({"algorithms": ["RS256"], "jwks_url": "http://127.0.0.1:9/jwks"}).jwks_url
    assert load_settings({"algorithms": ["RS256"], "jwks_url": "http://localhost:9/jwks"}).jwks_url
    assert load_settings({"algorithms": ["RS256"], "jwks_url": "http://idp.internal/jwks", "jwks_allow_http": True}).jwks_url


def test_providers_inherit_top_level_defaults() -> None:
    s = load_settings(
        {
            "algorithms": ["ES256"],
            "leeway": 0,
            "providers": [{"issuer": "a", "keys": [ec_pair().jwk()]}, {"issuer": "b", "keys": [ec_pair().jwk()], "leeway": 9}],
        }
    )
    assert [p.leeway for p in s.resolved_providers] == [0, 9]
    assert all(p.algorithms == {"ES256"} for p in s.resolved_providers)
