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
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .claims import Claims, freeze
from .errors import InvalidToken

_B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_DOT = _B64URL + b"."
_SPARE_BITS = {2: 0x0F, 3: 0x03}  # unpadded length % 4 -> bits of the last character that must be 0
_VALUE = bytes(_B64URL.find(bytes([c])) & 0x3F for c in range(256))  # byte -> its 6-bit value
_TO_STD = bytes.maketrans(b"-_", b"+/")
_KEY_POINTERS = frozenset({"jwk", "jku", "x5u", "x5c"})
_JWE_ONLY = frozenset({"enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"})
MAX_KID_LENGTH = 256
MAX_TOKEN_BYTES = 1 << 20  # the largest ``max_token_bytes`` allows: a ceiling for every caller (CVE-2025-61920)
_PLAIN = frozenset({"alg", "typ", "kid"})


class ParsedToken(NamedTuple):
    """A token whose encoding and header passed the strict checks; nothing is verified yet."""

    header: Claims
    claims: Claims
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


def _b64url_decode(segment: bytes) -> bytes:
    """Decode canonical unpadded base64url (the caller has checked the alphabet)."""
    rest = len(segment) % 4
    if rest == 1:
        raise _malformed("bad base64url length")
    if rest and _VALUE[segment[-1]] & _SPARE_BITS[rest]:
        raise _malformed("non-canonical base64url")
    try:
        return binascii.a2b_base64(segment.translate(_TO_STD) + b"=" * (-len(segment) % 4), strict_mode=True)
    except binascii.Error as exc:
        raise _malformed("bad base64url") from exc


def _refuse_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> Claims:
    obj = Claims(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member name")
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


MAX_JSON_DEPTH = 32  # objects and arrays inside each other; real tokens need 3 or 4
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.S)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def too_deep(data: bytes) -> bool:
    """Whether JSON text nests objects and arrays deeper than ``MAX_JSON_DEPTH``.

    Checked before parsing, and cheaply: most payloads hold fewer brackets than the limit.
    """
    if data.count(b"{") + data.count(b"[") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for c in _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        depth += 1 if c in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


def _lone_surrogate(value: Any) -> bool:
    """I-JSON (RFC 7493 §2.1): no string, member name included, may hold an unpaired surrogate."""
    if isinstance(value, str):
        return not value.isascii() and any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_lone_surrogate(k) or _lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_lone_surrogate(v) for v in value)
    return False


def json_object(data: bytes, what: str) -> Claims:
    """Parse a UTF-8 I-JSON object: no duplicate names, no NaN/Infinity, no unpaired surrogates,
    nesting at most ``MAX_JSON_DEPTH``; objects are read-only."""
    if too_deep(data):
        raise _malformed(f"{what} JSON is nested too deeply")
    try:
        text = data.decode("utf-8")
        try:
            value, end = _SCAN(text, 0)  # the fast path: no surrounding whitespace
        except StopIteration:
            value, end = _DECODER.decode(text), len(text)
        if end != len(text):
            value = _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _malformed(f"{what} is not a valid JSON object") from exc
    if not isinstance(value, Claims):
        raise _malformed(f"{what} is not a JSON object")
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) and _lone_surrogate(value):  # only escapes can make one
        raise _malformed(f"{what} has a string that is not valid Unicode")
    return value


def check_header(header: Mapping[str, Any]) -> None:
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise _malformed("header has no alg")
    if alg.lower() == "none":
        raise InvalidToken("alg_none", "unsigned tokens are not accepted")
    if header.keys() <= _PLAIN and isinstance(header.get("typ", ""), str):
        kid = header.get("kid", "-")
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
            raise _malformed("kid must be a short string")
        return
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


def media_type(typ: object) -> str | None:
    """A ``typ`` as compared (RFC 7515 §4.1.9): lower case, without an ``application/`` prefix; ``None`` if absent."""
    if not isinstance(typ, str):
        return None
    typ = typ.lower()
    return typ[12:] if typ.startswith("application/") else typ


def ascii_bytes(token: str) -> bytes:
    """The token's bytes; a token that is not ASCII is refused for its shape first, as ``compact`` does."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("token_too_large", "token is larger than allowed")
    try:
        return token.encode("ascii")
    except UnicodeEncodeError:
        pass
    dots = token.count(".")
    if dots != 2:
        check_shape(b"." * dots)
    raise _malformed("bad characters in token")


def check_shape(raw: bytes) -> None:
    """Three base64url segments, or raise: the shape of a compact JWS."""
    dots = raw.count(b".")
    if dots != 2:
        if dots == 4:
            raise InvalidToken("unsupported_token", "encrypted tokens (JWE) are not accepted")
        raise _malformed("a token has three segments")
    if raw.translate(None, _B64URL_DOT):
        raise _malformed("bad characters in token")


def compact(token: str) -> bytes:
    """The token's bytes, if it has the shape of a compact JWS: three base64url segments."""
    raw = ascii_bytes(token)
    check_shape(raw)
    return raw


class Header(NamedTuple):
    """A header segment that passed ``check_header``: what the verifier needs from it."""

    alg: str
    kid: str | None
    header: Claims


def read_header(segment: bytes) -> Header:
    """Decode and check one header segment. Raises InvalidToken; never anything else."""
    if not segment:
        raise _malformed("empty segment")
    header = json_object(_b64url_decode(segment), "header")
    check_header(header)
    kid = header.get("kid")
    return Header(header["alg"], kid if isinstance(kid, str) else None, header)


def read_payload(segment: bytes) -> Claims:
    """The claims, read-only all the way down: objects are ``Claims`` as parsed, and lists
    (only where the text has a ``[`` at all) become ``ClaimList``."""
    if not segment:
        raise _malformed("empty segment")
    data = _b64url_decode(segment)
    claims = json_object(data, "payload")
    return freeze(claims) if b"[" in data else claims


def read_signature(segment: bytes) -> bytes:
    signature = _b64url_decode(segment)
    if not signature:
        raise InvalidToken("bad_signature", "signature is missing")
    return signature


def parse(raw: bytes) -> ParsedToken:
    """Decode and check the bytes ``compact`` returned. Raises InvalidToken; never anything else."""
    head, payload, sig = raw.split(b".")
    if not head or not payload:
        raise _malformed("empty segment")
    header = read_header(head).header
    claims = read_payload(payload)
    return ParsedToken(header, claims, raw[: len(head) + 1 + len(payload)], read_signature(sig))
