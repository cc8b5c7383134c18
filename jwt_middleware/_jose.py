"""A strict JWS compact parser (RFC 7515 §7.1, RFC 8725 §3).

It reads the three segments once. What it refuses, ``jwt.decode`` either also refuses or
accepts against RFC 8725's advice: padding and non-canonical base64url, duplicate JSON
names, ``NaN``/``Infinity``, JWE and nested tokens, ``crit``, and header parameters that
point at keys.
"""

from __future__ import annotations

import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidToken

_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {c: i for i, c in enumerate(_B64URL)}
_TO_STD = str.maketrans("-_", "+/")
_KEY_POINTERS = frozenset({"jwk", "jku", "x5u", "x5c"})
_JWE_ONLY = frozenset({"enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"})
MAX_KID_LENGTH = 256


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A token whose encoding and header passed the strict checks; nothing is verified yet."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @property
    def alg(self) -> str:
        return str(self.header["alg"])

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None


def _malformed(description: str) -> InvalidToken:
    return InvalidToken("malformed_token", description)


def _b64url_decode(segment: str) -> bytes:
    """Decode canonical unpadded base64url (the caller has checked the alphabet)."""
    rest = len(segment) % 4
    if rest == 1:
        raise _malformed("bad base64url length")
    if rest and _INDEX[segment[-1]] & (0x0F if rest == 2 else 0x03):
        raise _malformed("non-canonical base64url")
    padded = segment.translate(_TO_STD) + "=" * (-len(segment) % 4)
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error as exc:
        raise _malformed("bad base64url") from exc


def _refuse_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member name")
    return obj


def json_object(data: bytes, what: str) -> dict[str, Any]:
    """Parse a UTF-8 JSON object with no duplicate names and no NaN/Infinity."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _malformed(f"{what} is not a valid JSON object") from exc
    if not isinstance(value, dict):
        raise _malformed(f"{what} is not a JSON object")
    return value


def check_header(header: dict[str, Any]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise _malformed("header has no alg")
    if alg.lower() == "none":
        raise InvalidToken("alg_none", "unsigned tokens are not accepted")
    if "crit" in header:
        raise InvalidToken("header_not_allowed", "crit header is not supported")
    if _KEY_POINTERS.intersection(header):
        raise InvalidToken("header_not_allowed", "key-bearing header parameters are refused")
    if _JWE_ONLY.intersection(header) or ("b64" in header and header["b64"] is not True):
        raise InvalidToken("unsupported_token", "encrypted or unencoded tokens are not accepted")
    cty = header.get("cty")
    if cty is not None and (not isinstance(cty, str) or cty.upper() == "JWT"):
        raise InvalidToken("unsupported_token", "nested tokens are not accepted")
    kid = header.get("kid", "-")
    if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise _malformed("kid must be a short string")
    typ = header.get("typ")
    if typ is not None and not isinstance(typ, str):
        raise _malformed("typ must be a string")


def parse(token: str) -> ParsedToken:
    """Split, decode and check a compact JWS. Raises InvalidToken; never anything else."""
    if token.count(".") != 2:
        if token.count(".") == 4:
            raise InvalidToken("unsupported_token", "encrypted tokens (JWE) are not accepted")
        raise _malformed("a token has three segments")
    if not _COMPACT.fullmatch(token):
        raise _malformed("bad characters in token")
    head, payload, sig = token.split(".")
    header = json_object(_b64url_decode(head), "header")
    check_header(header)
    claims = json_object(_b64url_decode(payload), "payload")
    signature = _b64url_decode(sig)
    if not signature:
        raise InvalidToken("bad_signature", "signature is missing")
    return ParsedToken(header, claims, f"{head}.{payload}".encode("ascii"), signature)
