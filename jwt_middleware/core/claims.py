"""The claim policy (RFC 7519 §4.1, RFC 8725 §3.8-3.10): types checked, never coerced.

The thresholds follow ``jwt.decode`` exactly (``exp <= now - leeway`` is expired; ``nbf`` or
``iat`` later than ``now + leeway`` is not yet valid), so that the differential test can hold
us to "never accept what PyJWT rejects"; the type rules are stricter than PyJWT's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn, Protocol

from .errors import InvalidToken

MAX_TIME = 2**53
_STRING_CLAIMS = ("iss", "sub", "jti")


class ClaimPolicy(Protocol):
    """What ``check_claims`` reads of a provider (``Settings`` builds a ``Provider`` that has it)."""

    @property
    def required_claims(self) -> tuple[str, ...]: ...
    @property
    def leeway(self) -> float: ...
    @property
    def issuers(self) -> tuple[str, ...] | None: ...
    @property
    def audience(self) -> tuple[str, ...] | None: ...


class Claims(dict[str, Any]):
    """The verified payload: a read-only ``dict`` (JSON-serialisable, compares equal to a dict).

    One verified token's claims may be handed to many requests, so none may change them;
    ``dict(claims)`` or ``claims.copy()`` gives a mutable shallow copy.
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("verified claims are read-only; use dict(claims) for a copy")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse


class ClaimList(list[Any]):
    """A read-only ``list`` inside verified claims."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("verified claims are read-only")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = remove = pop = clear = sort = reverse = _refuse


def freeze(value: Any) -> Any:
    """Make parsed JSON read-only in place: objects are already ``Claims``; lists become ``ClaimList``."""
    kind = type(value)
    if kind is list:
        return ClaimList([freeze(v) for v in value])
    if kind is Claims:
        for name, item in value.items():
            if type(item) is list or type(item) is Claims:
                dict.__setitem__(value, name, freeze(item))
        return value
    if isinstance(value, dict):
        return freeze(Claims(value))
    return value


def _bad(name: str, rule: str) -> InvalidToken:
    return InvalidToken("bad_claim", f"{name} {rule}")


_ABSENT: Any = object()


def time_claim(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name, _ABSENT)
    if value is _ABSENT:
        return None
    kind = type(value)  # JSON numbers are exactly int or float; a bool is neither
    if kind is not int and kind is not float:
        raise _bad(name, "must be a number")
    if not 0 <= value <= MAX_TIME:  # NaN fails every comparison; so does infinity
        raise _bad(name, "is out of range")
    return value  # type: ignore[no-any-return]


def check_times(exp: float | None, nbf: float | None, iat: float | None, leeway: float, now: float) -> None:
    """Run on every request, cached or not."""
    if exp is not None and exp <= now - leeway:
        raise InvalidToken("expired", "token has expired")
    if nbf is not None and nbf > now + leeway:
        raise InvalidToken("not_yet_valid", "token is not valid yet")
    if iat is not None and iat > now + leeway:
        raise InvalidToken("issued_in_future", "token was issued in the future")


def check_claims(claims: Mapping[str, Any], provider: ClaimPolicy, now: float) -> tuple[float | None, float | None, float | None]:
    """Check everything once; return ``(exp, nbf, iat)`` for the per-request re-check.

    One pass with few calls: this runs for every token not yet in the cache.
    """
    for name in provider.required_claims:
        if name not in claims:
            raise InvalidToken("missing_claim", f"required claim {name} is missing")
    get = claims.get
    for name in _STRING_CLAIMS:
        value = get(name, "")
        if not isinstance(value, str):
            raise _bad(name, "must be a string")
    exp, nbf, iat = time_claim(claims, "exp"), time_claim(claims, "nbf"), time_claim(claims, "iat")
    check_times(exp, nbf, iat, provider.leeway, now)
    if provider.issuers is not None and get("iss") not in provider.issuers:
        if "iss" not in claims:
            raise InvalidToken("missing_claim", "required claim iss is missing")
        raise InvalidToken("issuer_mismatch", "token issuer is not accepted")
    aud = get("aud", _ABSENT)
    if aud is _ABSENT:
        if provider.audience is not None:
            raise InvalidToken("missing_claim", "required claim aud is missing")
        return exp, nbf, iat
    if isinstance(aud, str):
        found: list[Any] = [aud]
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        found = aud
    else:
        raise _bad("aud", "must be a string or a list of strings")
    if provider.audience is None:
        raise InvalidToken("audience_mismatch", "token has an audience but none is configured")
    if not any(a in provider.audience for a in found):
        raise InvalidToken("audience_mismatch", "token audience is not accepted")
    return exp, nbf, iat
