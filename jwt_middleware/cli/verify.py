"""``verify`` and ``explain``: the middleware's own verifier, from flags, a settings file, or an issuer.

``explain`` runs that verifier once, as the middleware would, and lays its answer over the
ordered list of checks: those before the one that refused passed, that one failed with its
reason code, the rest were not reached. It checks nothing itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config.settings import load_settings
from ..core import jose
from ..core.dpop import is_bound
from ..core.errors import AuthError, ConfigError, Unavailable
from ..gate.verifier import Verifier
from .common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    add_clock,
    now,
    print_json,
    relative,
    span,
    token_argument,
    utc,
)

CHECKS = (
    "format",
    "provider",
    "alg",
    "typ",
    "key",
    "signature",
    "required",
    "exp",
    "nbf",
    "iat",
    "iss",
    "aud",
    "claims_check",
    "revocation",
)
_BY_REASON = {
    "malformed_token": "format", "unsupported_token": "format", "alg_none": "format", "header_not_allowed": "format",
    "token_too_large": "format", "unknown_issuer": "provider", "alg_not_allowed": "alg", "token_type_not_allowed": "typ",
    "unknown_key": "key", "ambiguous_key": "key", "keys_unavailable": "key", "bad_signature": "signature",
    "expired": "exp", "not_yet_valid": "nbf", "issued_in_future": "iat", "issuer_mismatch": "iss",
    "audience_mismatch": "aud", "claims_rejected": "claims_check", "revoked": "revocation",
    "revocation_unavailable": "revocation", "revocation_stale": "revocation",
}  # fmt: skip
_HINTS = {
    "expired": "the token expired {exp_rel}; get a new one (or raise --leeway if the two clocks disagree)",
    "not_yet_valid": "the token is not valid until {nbf_at}; check the issuer's clock, or raise --leeway",
    "issued_in_future": "the token says it was issued at {iat_at}; check the issuer's clock, or raise --leeway",
    "bad_signature": "the signature does not match the key; is kid {kid} the issuer's current key, and the token unaltered?",
    "unknown_key": "no configured key fits kid {kid} and alg {alg}: add the issuer's key (--key, --jwks-url, --discover)",
    "ambiguous_key": "two configured keys share kid {kid}: remove one",
    "alg_not_allowed": "the token is signed with {alg}: add it to --alg (algorithms) if you expect it",
    "token_type_not_allowed": "the token's typ is {typ}: an ID token is not an access token; ask the issuer for an access token",
    "issuer_mismatch": "the token's iss is {iss}: set --issuer (issuer) to exactly that, if you trust it",
    "unknown_issuer": "no provider has the token's iss {iss}: add one to providers",
    "audience_mismatch": "the token's aud is {aud}: set --audience (audience) to one of its values",
    "missing_claim": "the token lacks a claim the settings require: the issuer must add it, or the settings stop requiring it",
    "bad_claim": "a claim has the wrong type (a date as a string, sub as a number): the issuer must fix it",
    "malformed_token": "this is not a compact JWS (three base64url segments of JSON): check what was copied",
    "unsupported_token": "encrypted (JWE) and nested tokens are not accepted",
    "alg_none": "an unsigned token is never accepted",
    "header_not_allowed": "headers that point at keys (jku, jwk, x5u, x5c) and crit are refused",
    "claims_rejected": "the claims_check hook refused the token",
    "revoked": "the token, or every token of its subject, was revoked",
    "keys_unavailable": "the key source could not be reached: check --jwks-url or the issuer's discovery document",
    "revocation_unavailable": "the revocation store could not be reached",
    "revocation_stale": "the revocation store's feed is down",
}


def _key_entry(item: Any, base: Path, where: str) -> list[Any]:
    """A ``keys`` entry: PEM text, a JWK or JWKS mapping, or a path to a PEM or JWK(S) file."""
    if not isinstance(item, str) or item.lstrip().startswith("-----BEGIN"):
        return [item]
    path = (base / item).expanduser()
    if not path.is_file():
        raise ConfigError(where, f"neither PEM text nor a readable file: {item}")
    text = path.read_text()
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        return list(document["keys"]) if isinstance(document.get("keys"), list) else [document]
    return [text]


def _settings_file(name: str) -> dict[str, Any]:
    path = Path(name)
    text = path.read_text()
    try:
        settings: dict[str, Any] = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("--settings", f"{name} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {exc}") from exc
    if isinstance(settings.get("keys"), list):
        settings["keys"] = [k for i, item in enumerate(settings["keys"]) for k in _key_entry(item, path.parent, f"keys[{i}]")]
    return settings


def settings_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings: the file's, then each flag over them."""
    settings = _settings_file(args.settings) if args.settings else {}
    if args.key:
        settings["keys"] = [k for i, p in enumerate(args.key) for k in _key_entry(p, Path.cwd(), f"--key[{i}]")]
    if args.secret is not None:
        settings["secret"] = args.secret
    if args.jwks_url:
        settings["jwks_url"] = args.jwks_url
    if args.discover:
        if not args.issuer:
            raise ConfigError("--discover", "needs --issuer, whose discovery document names the keys")
        settings["oidc_discovery"] = True
    for name in ("issuer", "audience", "leeway"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.alg:
        settings["algorithms"] = args.alg
    elif "algorithms" not in settings and (args.discover or args.jwks_url):
        settings["algorithms"] = ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"]
    if args.token_type:
        settings["token_types"] = args.token_type
    if args.redis:
        from ..stores.redis import RedisRevocationStore  # noqa: PLC0415 - the redis extra, for --redis only

        settings["revocation"] = RedisRevocationStore(args.redis)
    return settings


def _facts(token: str, current: float, leeway: float) -> dict[str, str]:
    """What the token says, unverified, to show beside each check and in the hints."""
    try:
        parsed = jose.parse(jose.compact(token))
    except AuthError:
        return {}
    header, claims = parsed.header, parsed.claims
    kid, typ = header.get("kid"), header.get("typ")
    facts = {"alg": str(header.get("alg")), "kid": repr(kid) if kid else "(none)", "typ": repr(typ) if typ else "(none)",
             "iss": repr(claims.get("iss")), "aud": repr(claims.get("aud"))}  # fmt: skip
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            facts[f"{name}_at"] = utc(value)
            facts[f"{name}_rel"] = relative(value, current, future="in {}", past="{} ago")
            facts[name] = f"{utc(value)} ({facts[f'{name}_rel']}; leeway {span(leeway)})"
        else:
            facts[name] = "absent" if value is None else f"{value!r} (not a number)"
    facts["required"] = ", ".join(n for n in ("exp", "iat", "nbf", "sub", "jti", "iss", "aud") if n in claims) or "(none)"
    return facts


def _bound_to(token: str) -> str | None:
    """The thumbprint a verified token is bound to (RFC 9449 ``cnf.jkt``), or ``None``."""
    claims = jose.parse(jose.compact(token)).claims
    cnf = claims.get("cnf")
    return str(cnf["jkt"]) if is_bound(claims) and isinstance(cnf, Mapping) else None


def _failed_check(exc: AuthError | Unavailable) -> str:
    if exc.reason in ("missing_claim", "bad_claim"):
        named = exc.description.replace("required claim ", "").split()[0]
        return named if named in ("exp", "nbf", "iat", "iss", "aud") else "required"
    return _BY_REASON.get(exc.reason, "format")


def _verify(args: argparse.Namespace) -> tuple[str, Any, AuthError | Unavailable | None, Verifier, float]:
    verifier = Verifier(load_settings(settings_from(args)))
    token, current = token_argument(args.token), now(args)
    try:
        return token, verifier.identify(token, now=current), None, verifier, current
    except (AuthError, Unavailable) as exc:
        return token, None, exc, verifier, current


def _hint(exc: AuthError | Unavailable, facts: Mapping[str, str]) -> str:
    try:
        return _HINTS.get(exc.reason, exc.description).format_map(facts)
    except KeyError:
        return exc.description


def _exit_for(exc: AuthError | Unavailable) -> int:
    return EXIT_UNAVAILABLE if isinstance(exc, Unavailable) else EXIT_REFUSED


def run_verify(args: argparse.Namespace) -> int:
    token, identity, exc, verifier, current = _verify(args)
    if exc is not None:
        print(f"invalid: {exc.reason}: {exc.description}", file=sys.stderr)
        print(f"hint: {_hint(exc, _facts(token, current, verifier.settings.leeway))}", file=sys.stderr)
        return _exit_for(exc)
    print("valid", file=sys.stderr)
    print_json(dict(identity.claims))
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    token, _, exc, verifier, current = _verify(args)
    settings = verifier.settings
    facts = _facts(token, current, settings.leeway)
    provider = settings.resolved_providers[0]
    types = provider.token_types
    shown = {
        "format": "three base64url segments, JSON header and claims",
        "provider": ", ".join(p.name for p in settings.resolved_providers),
        "alg": f"{facts.get('alg')} (allowed: {', '.join(sorted(provider.algorithms))})",
        "typ": f"{facts.get('typ')} (required: {', '.join(sorted(types))})" if types else "not required",
        "key": f"kid {facts.get('kid')}",
        "signature": facts.get("alg", ""),
        "required": f"{', '.join(provider.required_claims) or '(none)'} (present: {facts.get('required')})",
        "exp": facts.get("exp", ""), "nbf": facts.get("nbf", ""), "iat": facts.get("iat", ""),
        "iss": f"{facts.get('iss')} (expected: {', '.join(provider.issuers) if provider.issuers else 'any'})",
        "aud": f"{facts.get('aud')} (expected: {', '.join(provider.audience) if provider.audience else 'none'})",
        "claims_check": "the hook" if settings.claims_check else "not configured",
        "revocation": "asked" if settings.revocation is not None else "not configured",
    }  # fmt: skip
    failed = _failed_check(exc) if exc is not None else None
    print(f"explain: the checks the middleware makes, in order, at {utc(current)} (nothing is checked twice)")
    reached = True
    for check in CHECKS:
        if check == failed:
            verdict, reached = exc.reason, False  # type: ignore[union-attr]
        else:
            verdict = "ok" if reached else "-"
        print(f"  {check:<12} {verdict:<24} {shown[check] if reached or check == failed else 'not reached'}")
    if exc is None:
        print("result: valid")
        cnf = _bound_to(token)
        if cnf is not None:
            print(f"binding: DPoP key {cnf}: accepted only as 'Authorization: DPoP <token>' with a fresh proof by that key")
        return EXIT_OK
    print(f"result: refused ({exc.reason}): {exc.description}")
    print(f"hint: {_hint(exc, facts)}")
    return _exit_for(exc)


def add(sub: Any) -> None:
    for name, run, summary in (
        ("verify", run_verify, "verify a token; prints the claims, or the reason code and what to change"),
        ("explain", run_explain, "every check the middleware makes, in order, each with ok or its reason code"),
    ):
        v = sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
        v.add_argument("token", help="the token, or - to read it from standard input ('Bearer ' is dropped)")
        v.add_argument(
            "--settings",
            metavar="FILE",
            help="middleware settings, JSON or TOML (.toml); in keys, an entry may be a PEM or JWK file's path",
        )
        v.add_argument(
            "--key", action="append", metavar="FILE", help="a public key: PEM (key or certificate), JWK or JWKS file; repeatable"
        )
        v.add_argument("--secret", help="the HMAC secret (for HS256/384/512)")
        v.add_argument("--jwks-url", metavar="URL", help="a JWKS URL (https, or http on loopback)")
        v.add_argument(
            "--alg",
            action="append",
            metavar="ALG",
            help="an accepted algorithm; repeatable (default with --jwks-url or --discover: the asymmetric ones)",
        )
        v.add_argument("--issuer", metavar="URL", help="the accepted iss")
        v.add_argument("--discover", action="store_true", help="find the keys through --issuer's OIDC discovery document")
        v.add_argument("--audience", help="the accepted aud")
        v.add_argument("--leeway", type=float, metavar="SECONDS", help="clock skew allowed (default 5)")
        v.add_argument("--token-type", action="append", metavar="TYP", help="a required typ (at+jwt); repeatable")
        v.add_argument("--redis", metavar="URL", help="also ask this Redis revocation store")
        add_clock(v)
        v.set_defaults(run=run)
