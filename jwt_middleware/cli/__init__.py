"""jwt-middleware (also python -m jwt_middleware): keys, test tokens, decoding, verifying.

Exit codes: 0 success; 1 the token was refused (the reason code is printed); 2 bad usage
or settings; 3 the key source could not be reached.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt

from .config.settings import load_settings
from .core import jose as _jose
from .core.errors import AuthError, ConfigError, Unavailable
from .core.keys import load_pem
from .gate.verifier import Verifier
from .issuing.issuer import TokenIssuer
from .issuing.signing import SigningKey, thumbprint

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _token(arg: str) -> str:
    return sys.stdin.readline().strip() if arg == "-" else arg.strip()


def cmd_keygen(args: argparse.Namespace) -> int:
    key = SigningKey.generate(args.alg)
    if key.symmetric:
        print(base64.urlsafe_b64encode(key.key).rstrip(b"=").decode())
    elif args.format == "jwk":
        private = jwt.get_algorithm_by_name(key.alg).to_jwk(key.key, as_dict=True)
        _print_json({**private, "kid": key.kid, "alg": key.alg, "use": "sig"})
    else:
        print(key.private_pem(), end="")
    print(f"kid: {key.kid}  alg: {key.alg}", file=sys.stderr)
    return EXIT_OK


def cmd_jwks(args: argparse.Namespace) -> int:
    keys = []
    for path in args.pem:
        public = load_pem(Path(path).read_bytes())
        alg = args.alg or ("RS256" if "RSA" in type(public).__name__ else "EdDSA" if "Ed" in type(public).__name__ else "ES256")
        jwk = jwt.get_algorithm_by_name(alg).to_jwk(public, as_dict=True)
        keys.append({**jwk, "kid": thumbprint(jwk), "use": "sig", "alg": alg})
    _print_json({"keys": keys})
    return EXIT_OK


def _signing_key(args: argparse.Namespace) -> SigningKey:
    if args.secret is not None:
        return SigningKey.from_secret(args.secret, args.alg or "HS256")
    if args.key is None:
        raise ConfigError("--key", "give --key PEM_FILE or --secret SECRET")
    return SigningKey.from_pem(Path(args.key).read_bytes(), args.alg)


def cmd_issue(args: argparse.Namespace) -> int:
    extra: dict[str, Any] = {}
    for item in args.claim:
        name, _, raw = item.partition("=")
        try:
            extra[name] = json.loads(raw)
        except ValueError:
            extra[name] = raw
    issuer = TokenIssuer(_signing_key(args), issuer=args.iss, audience=args.aud, access_ttl=args.ttl, token_type="JWT")  # noqa: S106 - a media type
    print(issuer.issue(args.sub, scope=args.scope, **extra))
    return EXIT_OK


def cmd_decode(args: argparse.Namespace) -> int:
    try:
        parsed = _jose.parse(_jose.compact(_token(args.token)))
    except AuthError as exc:
        print(f"malformed: {exc.reason}: {exc.description}", file=sys.stderr)
        return EXIT_REFUSED
    print("UNVERIFIED: the signature and claims were NOT checked; use `verify` for that.", file=sys.stderr)
    _print_json({"header": parsed.header, "claims": parsed.claims})
    return EXIT_OK


def _verify_settings(args: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = json.loads(Path(args.settings).read_text()) if args.settings else {}
    if args.key:
        settings["keys"] = [Path(p).read_text() for p in args.key]
    if args.secret is not None:
        settings["secret"] = args.secret
    if args.jwks_url:
        settings["jwks_url"] = args.jwks_url
    for name in ("issuer", "audience", "leeway"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.alg:
        settings["algorithms"] = args.alg
    return settings


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        verifier = Verifier(load_settings(_verify_settings(args)))
        claims = verifier.verify(_token(args.token))
    except ConfigError as exc:
        print(f"settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AuthError as exc:
        print(f"invalid: {exc.reason}: {exc.description}", file=sys.stderr)
        return EXIT_REFUSED
    except Unavailable as exc:
        print(f"unavailable: {exc.reason}: {exc.description}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print("valid", file=sys.stderr)
    _print_json(dict(claims))
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jwt-middleware", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    k = sub.add_parser("keygen", help="generate a signing key (private PEM or JWK on stdout, kid on stderr)")
    k.add_argument("--alg", default="ES256", help="RS256, PS256, ES256, ES384, ES512, EdDSA, HS256... (default ES256)")
    k.add_argument("--format", choices=("pem", "jwk"), default="pem")
    k.set_defaults(run=cmd_keygen)

    j = sub.add_parser("jwks", help="turn PEM keys or certificates into a JWKS with RFC 7638 kids")
    j.add_argument("pem", nargs="+", help="PEM files (public, private or certificate)")
    j.add_argument("--alg", help="the alg to bind each key to (default: RS256, ES256 or EdDSA by key type)")
    j.set_defaults(run=cmd_jwks)

    i = sub.add_parser("issue", help="mint a token for testing")
    i.add_argument("--key", help="private key PEM file")
    i.add_argument("--secret", help="HMAC secret (with --alg HS256/384/512)")
    i.add_argument("--alg", help="algorithm (default from the key)")
    i.add_argument("--sub", required=True)
    i.add_argument("--iss", default="jwt-middleware-cli")
    i.add_argument("--aud")
    i.add_argument("--scope")
    i.add_argument("--ttl", type=int, default=900, help="lifetime in seconds (default 900)")
    i.add_argument("--claim", action="append", default=[], metavar="NAME=JSON", help="extra claim; repeatable")
    i.set_defaults(run=cmd_issue)

    d = sub.add_parser("decode", help="show header and claims WITHOUT verifying (clearly marked)")
    d.add_argument("token", help="the token, or - to read it from stdin")
    d.set_defaults(run=cmd_decode)

    v = sub.add_parser("verify", help="verify a token; prints the claims, or the reason code and exits 1")
    v.add_argument("token", help="the token, or - to read it from stdin")
    v.add_argument("--settings", help="a JSON file of middleware settings")
    v.add_argument("--key", action="append", help="public key PEM file; repeatable")
    v.add_argument("--secret", help="HMAC secret")
    v.add_argument("--jwks-url", help="a JWKS URL (https, or http on loopback)")
    v.add_argument("--alg", action="append", help="accepted algorithm; repeatable")
    v.add_argument("--issuer")
    v.add_argument("--audience")
    v.add_argument("--leeway", type=float)
    v.set_defaults(run=cmd_verify)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ConfigError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
