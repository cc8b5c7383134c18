"""``decode``: header and claims, times in UTC and relative, and what an expert would warn about. UNVERIFIED."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from typing import Any

from ..core import jose
from ..core.errors import AuthError
from ..core.keys import HMAC_MIN_BYTES
from .common import EXIT_OK, EXIT_REFUSED, add_clock, now, print_json, relative, span, token_argument, utc

_SECRET_NAMES = re.compile(r"pass(word|wd)?|secret|pin|ssn|card|cvv|iban|api_?key|private", re.I)
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){13,19}(?!\d)")
_TIME_CLAIMS = ("iat", "nbf", "exp")


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _secret_like(claims: Mapping[str, Any], path: str = "") -> list[str]:
    found = []
    for name, value in claims.items():
        where = f"{path}{name}"
        if _SECRET_NAMES.search(str(name)):
            found.append(f"claim {where!r} looks like a secret")
        if isinstance(value, str):
            for match in _CARD.finditer(value):
                digits = re.sub(r"\D", "", match.group())
                if _luhn(digits):
                    found.append(f"claim {where!r} holds what looks like a card number")
        elif isinstance(value, Mapping):
            found.extend(_secret_like(value, where + "."))
    return found


def _lifetime(claims: Mapping[str, Any]) -> float:
    exp, iat = claims.get("exp"), claims.get("iat")
    return float(exp - iat) if isinstance(exp, int | float) and isinstance(iat, int | float) else 0.0


def warnings(header: Mapping[str, Any], claims: Mapping[str, Any]) -> list[str]:
    """What an expert would point out at a glance."""
    said = []
    alg, typ = header.get("alg"), header.get("typ")
    if "exp" not in claims:
        said.append("no exp: this token never expires, and can never be taken back")
    elif _lifetime(claims) > 86400:
        said.append(f"lives {span(_lifetime(claims))}: access tokens should live minutes, not days")
    if isinstance(alg, str) and alg.lower() == "none":
        said.append("alg none: unsigned, anyone could have written it")
    elif alg in HMAC_MIN_BYTES:
        said.append(f"alg {alg}: a shared secret; a token that leaves the service that signed it should be asymmetric")
    if isinstance(typ, str) and jose.media_type(typ) not in ("at+jwt", "jwt"):
        said.append(f"typ {typ!r}: not an access token (at+jwt) or a plain JWT; an ID token is not an access token")
    said.extend(_secret_like(claims))
    if said:
        said.append("claims are readable by anyone who holds the token: never put sensitive data in a payload")
    return said


def run(args: argparse.Namespace) -> int:
    try:
        parsed = jose.parse(jose.compact(token_argument(args.token)))
    except AuthError as exc:
        print(f"malformed: {exc.reason}: {exc.description}", file=sys.stderr)
        return EXIT_REFUSED
    header, claims = dict(parsed.header), dict(parsed.claims)
    print("UNVERIFIED: the signature and claims were NOT checked.", file=sys.stderr)
    if args.json:
        print_json({"header": header, "claims": claims})
        return EXIT_OK
    current = now(args)
    print("UNVERIFIED: nothing below was checked; `jwt-middleware verify` or `explain` checks it.")
    print("header:")
    print_json(header)
    print("claims:")
    print_json(claims)
    print(f"times (UTC, now {utc(current)}):")
    for name in _TIME_CLAIMS:
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            says = (
                relative(value, current, future="expires in {}", past="expired {} ago")
                if name == "exp"
                else relative(value, current)
            )
            print(f"  {name:<4} {utc(value)}  ({says})")
    if isinstance(claims.get("exp"), int | float) and isinstance(claims.get("iat"), int | float):
        print(f"  lifetime {span(claims['exp'] - claims['iat'])}")
    said = warnings(header, claims)
    if said:
        print("warnings:")
        for line in said:
            print(f"  - {line}")
    return EXIT_OK


def add(sub: Any) -> None:
    d = sub.add_parser(
        "decode",
        help="show header and claims, times and warnings, WITHOUT verifying (clearly marked)",
        description="Show a token's header and claims, its times in UTC and relative to now, and warnings. "
        "Nothing is verified: use `verify` or `explain` to check a token.",
    )
    d.add_argument("token", help="the token, or - to read it from standard input ('Bearer ' is dropped)")
    d.add_argument("--json", action="store_true", help="print {header, claims} as JSON only")
    add_clock(d)
    d.set_defaults(run=run)
