"""``keygen``, ``jwks`` (PEM files to a JWKS; or fetch and inspect a remote set), and ``issue``."""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509

from ..config.settings import load_settings
from ..core.errors import ConfigError
from ..core.keys import KeyRejected, from_jwk, load_pem, thumbprint
from ..issuing.issuer import TokenIssuer
from ..issuing.signing import SigningKey
from ..keysets.fetch import FetchError, fetch
from ..keysets.policy import CachePolicy, discovery_url
from .common import EXIT_OK, EXIT_UNAVAILABLE, print_json

DEFAULT_ISS = "jwt-middleware-cli"


def run_keygen(args: argparse.Namespace) -> int:
    key = SigningKey.generate(args.alg)
    if key.symmetric:
        print(base64.urlsafe_b64encode(key.key).rstrip(b"=").decode())
    elif args.format == "jwk":
        private = jwt.get_algorithm_by_name(key.alg).to_jwk(key.key, as_dict=True)
        print_json({**private, "kid": key.kid, "alg": key.alg, "use": "sig"})
    else:
        print(key.private_pem(), end="")
    print(f"kid: {key.kid}  alg: {key.alg}", file=sys.stderr)
    return EXIT_OK


def _describe(jwk: Any) -> dict[str, str]:
    """One JWK as the middleware would see it: what it is, and whether it would be used."""
    if not isinstance(jwk, dict):
        return {"kid": "-", "kty": "?", "size": "-", "alg": "-", "thumbprint": "-", "verdict": "skipped: bad_jwk (not an object)"}
    row = {"kid": str(jwk.get("kid", "-")), "kty": str(jwk.get("kty", "?")), "alg": str(jwk.get("alg", "-"))}
    try:
        row["thumbprint"] = thumbprint(jwk)
    except (KeyError, TypeError):
        row["thumbprint"] = "-"
    row["size"] = str(jwk.get("crv", "-"))
    modulus = jwk.get("n")
    if isinstance(modulus, str):  # known before the key is read, so that a weak key shows its size
        with contextlib.suppress(ValueError):
            row["size"] = f"{int.from_bytes(base64.urlsafe_b64decode(modulus + '=' * (-len(modulus) % 4))).bit_length()} bits"
    try:
        key = from_jwk(jwk)
        row["verdict"] = f"ok ({', '.join(sorted(key.algorithms))})"
    except KeyRejected as exc:
        row["verdict"] = f"skipped: {exc.reason} ({exc})"
    chain = jwk.get("x5c")
    if isinstance(chain, list) and chain:
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
            row["verdict"] += f"; certificate expires {cert.not_valid_after_utc.astimezone(UTC):%Y-%m-%d}"
        except ValueError:
            row["verdict"] += "; x5c does not parse"
    return row


def _remote(args: argparse.Namespace) -> tuple[str, bytes]:
    if args.issuer:
        provider = load_settings({"algorithms": ["RS256"], "issuer": args.issuer, "oidc_discovery": True}).resolved_providers[0]
        policy = CachePolicy(provider)
        found = fetch(discovery_url(args.issuer), timeout=args.timeout, max_bytes=provider.jwks_max_bytes)
        if found.status != 200:
            raise FetchError("http_status", str(found.status))
        url = policy.discovered_jwks_uri(found.body)  # the middleware's own rules: exact issuer, https
    else:
        url = load_settings({"algorithms": ["RS256"], "jwks_url": args.url}).resolved_providers[0].jwks_url or ""
    response = fetch(url, timeout=args.timeout, max_bytes=512 * 1024)
    if response.status != 200:
        raise FetchError("http_status", str(response.status))
    return url, response.body


def run_jwks(args: argparse.Namespace) -> int:
    if args.url or args.issuer:
        try:
            url, body = _remote(args)
        except FetchError as exc:
            print(f"unavailable: {exc.reason}: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        members = json.loads(body).get("keys", [])
        print(f"JWKS {url} ({len(members)} keys)")
        rows = [_describe(jwk) for jwk in members]
        for row in rows:
            print(f"  kid {row['kid']}  {row['kty']} {row['size']}  alg {row['alg']}  thumbprint {row['thumbprint']}")
            print(f"      {row['verdict']}")
        return EXIT_OK
    if not args.pem:
        raise ConfigError("jwks", "give PEM files, or --url URL, or --issuer URL")
    keys = []
    for path in args.pem:
        public = load_pem(Path(path).read_bytes())
        kind = type(public).__name__
        alg = args.alg or ("RS256" if "RSA" in kind else "EdDSA" if "Ed" in kind else "ES256")
        jwk = jwt.get_algorithm_by_name(alg).to_jwk(public, as_dict=True)
        keys.append({**jwk, "kid": thumbprint(jwk), "use": "sig", "alg": alg})
    print_json({"keys": keys})
    return EXIT_OK


def _claims(args: argparse.Namespace) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for item in args.claim:
        name, eq, raw = item.partition("=")
        if not eq or not name:
            raise ConfigError("--claim", f"{item!r}: expected NAME=JSON")
        try:
            extra[name] = json.loads(raw)
        except ValueError as exc:
            raise ConfigError("--claim", f"{item!r}: the value is not JSON; for a string, use --claim-str {item}") from exc
    for item in args.claim_str:
        name, eq, raw = item.partition("=")
        if not eq or not name:
            raise ConfigError("--claim-str", f"{item!r}: expected NAME=TEXT")
        extra[name] = raw
    return extra


def run_issue(args: argparse.Namespace) -> int:
    if args.secret is not None:
        key = SigningKey.from_secret(args.secret, args.alg or "HS256")
    elif args.key is not None:
        key = SigningKey.from_pem(Path(args.key).read_bytes(), args.alg)
    else:
        raise ConfigError("--key", "give --key PEM_FILE or --secret SECRET")
    issuer = TokenIssuer(key, issuer=args.iss, audience=args.aud, access_ttl=args.ttl, token_type="JWT")  # noqa: S106 - a media type
    print(issuer.issue(args.sub, scope=args.scope, **_claims(args)))
    if args.iss == DEFAULT_ISS:
        print(f"iss: {DEFAULT_ISS} (the default; set --iss to your issuer)", file=sys.stderr)
    return EXIT_OK


def add(sub: Any) -> None:
    shows = argparse.ArgumentDefaultsHelpFormatter
    k = sub.add_parser(
        "keygen", help="generate a signing key (private PEM or JWK on stdout, kid on stderr)", formatter_class=shows
    )
    k.add_argument("--alg", default="ES256", help="RS256, PS256, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512")
    k.add_argument("--format", choices=("pem", "jwk"), default="pem", help="the private key's form")
    k.set_defaults(run=run_keygen)

    j = sub.add_parser(
        "jwks", help="PEM files to a JWKS with RFC 7638 kids; or fetch and inspect a remote JWKS", formatter_class=shows
    )
    j.add_argument("pem", nargs="*", help="PEM files (public keys, private keys or certificates) to publish")
    j.add_argument("--alg", help="the alg to bind each PEM key to (default: RS256, ES256 or EdDSA by key type)")
    j.add_argument("--url", help="fetch this JWKS and show each key: kid, type, size, alg, thumbprint, and whether it is used")
    j.add_argument("--issuer", help="find the JWKS through this issuer's OIDC discovery document, then show it")
    j.add_argument("--timeout", type=float, default=5.0, help="seconds for each fetch")
    j.set_defaults(run=run_jwks)

    i = sub.add_parser("issue", help="mint a token for testing", formatter_class=shows)
    i.add_argument("--key", help="the private key's PEM file")
    i.add_argument("--secret", help="an HMAC secret (then --alg HS256/384/512)")
    i.add_argument("--alg", help="the algorithm (default: from the key; HS256 with --secret)")
    i.add_argument("--sub", required=True, help="the subject (sub)")
    i.add_argument("--iss", default=DEFAULT_ISS, help="the issuer (iss); set it to what your verifiers expect")
    i.add_argument("--aud", help="the audience (aud); none by default")
    i.add_argument("--scope", help='the scopes, space-separated ("notes:read notes:write")')
    i.add_argument("--ttl", type=int, default=900, help="lifetime in seconds")
    i.add_argument(
        "--claim",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="an extra claim, its value as JSON (tier=2, roles='[\"a\"]'); repeatable",
    )
    i.add_argument(
        "--claim-str", action="append", default=[], metavar="NAME=TEXT", help="an extra claim, its value a string; repeatable"
    )
    i.set_defaults(run=run_issue)
