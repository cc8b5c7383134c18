"""Small validators for settings: each checks one value and raises ``ConfigError`` naming its key."""

from __future__ import annotations

import difflib
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..core import events
from ..core import keys as _keys
from ..core.errors import ConfigError

# A public key in text, wherever it starts (CVE-2026-34950: an anchored check missed a leading
# space, and its first fix any other leading byte): PEM, or an OpenSSH key type and its base64.
_PUBLIC_KEY_TEXT = re.compile(
    rb"-----BEGIN|(?:ssh-(?:rsa|dss|ed25519|ed448)|ecdsa-sha2-nistp\d+|sk-[a-z0-9-]+@openssh\.com)\s+AAAA"
)
_JWK_TEXT = re.compile(rb'"(?:kty|keys)"\s*:')  # a JWK or JWKS pasted as JSON (CVE-2026-48526)
COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
QUOTED_SAFE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def closest(key: str, valid: Sequence[str]) -> str:
    """The suggestion for a misspelt name, compared case-insensitively (``hs256`` suggests ``HS256``)."""
    by_lower = {v.lower(): v for v in valid}
    match = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[match[0]]!r}?" if match else ""


def known_keys(mapping: Mapping[str, Any], valid: Sequence[str], where: str = "") -> None:
    for key in mapping:
        if key not in valid:
            raise ConfigError(f"{where}{key}", f"unknown setting{closest(str(key), valid)}")


def strings(key: str, value: Any, *, single_ok: bool, empty_ok: bool = False) -> tuple[str, ...]:
    if isinstance(value, str) and single_ok:
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(key, "expected a list of non-empty strings" + (" or one string" if single_ok else ""))
    if not value and not empty_ok:
        raise ConfigError(key, "must not be empty")
    return tuple(value)


def seconds(key: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(key, "expected a number of seconds")
    if not low <= value <= high:
        raise ConfigError(key, f"must be between {low:g} and {high:g} seconds")
    return float(value)


def integer(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, f"expected a whole number from {low} to {high}")
    return value


def flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, "expected true or false")
    return value


def algorithms(key: str, value: Any) -> tuple[str, ...]:
    algs = strings(key, value, single_ok=False)
    for alg in algs:
        if alg.lower() == "none":
            raise ConfigError(key, "'none' is never accepted")
        if alg not in _keys.SUPPORTED_ALGORITHMS:
            raise ConfigError(key, f"unknown algorithm {alg!r}{closest(alg, sorted(_keys.SUPPORTED_ALGORITHMS))}")
    return algs


def secret(key: str, value: Any, algorithms: Sequence[str]) -> bytes:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise ConfigError(key, "expected a string or bytes")
    if _PUBLIC_KEY_TEXT.search(value) or value.startswith((b"ssh-", b"ecdsa-")):
        raise ConfigError(key, "looks like a PEM or SSH key; put public keys in 'keys'")
    if _JWK_TEXT.search(value):
        raise ConfigError(key, "looks like a JWK or JWKS; put public keys in 'keys'")
    for alg in algorithms:
        need = _keys.HMAC_MIN_BYTES.get(alg)
        if need and len(value) < need:
            raise ConfigError(key, f"{alg} needs a secret of at least {need} bytes (RFC 7518 §3.2)")
    return value


def one_key(key: str, item: Any) -> _keys.VerificationKey:
    try:
        if isinstance(item, str | bytes):
            return _keys.from_key_object(_keys.load_pem(item))
        if isinstance(item, Mapping):
            return _keys.from_jwk(item)
        return _keys.from_key_object(item)
    except _keys.KeyRejected as exc:
        raise ConfigError(key, str(exc)) from exc


def static_keys(key: str, value: Any) -> tuple[_keys.VerificationKey, ...]:
    if isinstance(value, Mapping):
        if not isinstance(value.get("keys"), list):
            raise ConfigError(key, "a JWKS is an object with a 'keys' list")
        value = value["keys"]
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(key, "expected a non-empty list of PEM strings or JWK dicts, or a JWKS dict")
    return tuple(one_key(f"{key}[{i}]", item) for i, item in enumerate(value))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url(key: str, value: Any, allow_http: bool) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, "expected a URL string")
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(key, "not a valid URL") from exc
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise ConfigError(key, "expected an https URL with a host and no credentials")
    if parts.scheme == "http" and not (allow_http or is_loopback(host)):
        raise ConfigError(key, "must be https (http only for loopback hosts, or with jwks_allow_http)")
    return value


def hooks(key: str, value: object) -> Callable[[Any], None] | None:
    """One callable, or a list of them called in turn; ``ConfigError`` naming ``key`` otherwise."""
    try:
        return events.chain(value)
    except TypeError as exc:
        raise ConfigError(key, "expected a callable or a list of callables") from exc


def hook(key: str, value: object) -> None:
    if value is not None and not callable(value):
        raise ConfigError(key, "expected a callable")
