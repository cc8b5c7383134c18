"""Settings: one frozen, typed, keyword-only object, validated once at construction.

``load_settings`` turns a plain mapping (a Django setting, a parsed config file) into a
``Settings``; both raise ``ConfigError`` naming the key, and the nearest valid key for a typo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..core import dpop as _dpop
from ..core import jose
from ..core import keys as _keys
from ..core.errors import ConfigError
from . import validate as check
from .dpop import DPoPPolicy, dpop_policy
from .paths import PathRules
from .resource import OriginPolicy, ResourceMetadata, origin_policy, resource_metadata
from .rules import Rule, compile_rules

_PROVIDER_INHERITS = (
    "algorithms", "audience", "leeway", "required_claims", "jwks_cache_seconds",
    "jwks_min_refresh_seconds", "jwks_timeout_seconds", "jwks_max_stale_seconds",
    "jwks_max_bytes", "jwks_max_keys", "jwks_allow_http", "token_types",
)  # fmt: skip
_KEY_SOURCES = ("secret", "keys", "jwks_url", "oidc_discovery")


@dataclass(frozen=True, kw_only=True, slots=True)
class Provider:
    """One issuer's keys and claim rules; built by ``Settings`` (``resolved_providers``), not by hand.

    Its fields are the provider-level settings, validated: see docs/configuration.md.
    """

    issuers: tuple[str, ...] | None
    algorithms: frozenset[str]
    keys: tuple[_keys.VerificationKey, ...]
    jwks_url: str | None
    oidc_discovery: bool
    audience: tuple[str, ...] | None
    leeway: float
    required_claims: tuple[str, ...]
    jwks_cache_seconds: float
    jwks_min_refresh_seconds: float
    jwks_timeout_seconds: float
    jwks_max_stale_seconds: float
    jwks_max_bytes: int
    jwks_max_keys: int
    jwks_allow_http: bool
    token_types: frozenset[str] | None

    @property
    def name(self) -> str:
        """The first issuer, or ``default``: how logs and health snapshots name the provider."""
        return self.issuers[0] if self.issuers else "default"

    @property
    def remote(self) -> bool:
        """Whether keys come from a JWKS URL or OIDC discovery."""
        return self.jwks_url is not None or self.oidc_discovery


def _provider(raw: Mapping[str, Any], where: str) -> Provider:
    """Validate one provider's values (top-level defaults already merged in)."""
    algorithms = check.algorithms(f"{where}algorithms", raw.get("algorithms"))
    hmac = [a for a in algorithms if a in _keys.HMAC_MIN_BYTES]
    asym = [a for a in algorithms if a not in _keys.HMAC_MIN_BYTES]
    allow_http = check.flag(f"{where}jwks_allow_http", raw["jwks_allow_http"])
    keys: list[_keys.VerificationKey] = []
    if raw.get("secret") is not None:
        if not hmac:
            raise ConfigError(f"{where}secret", "no HMAC algorithm (HS256/384/512) in algorithms uses it")
        keys.append(_keys.hmac_key(check.secret(f"{where}secret", raw["secret"], hmac), hmac))
    elif hmac:
        raise ConfigError(f"{where}secret", f"{hmac[0]} needs a local secret (remote key sets never supply HMAC keys)")
    if raw.get("keys") is not None:
        static = check.static_keys(f"{where}keys", raw["keys"])
        if not any(set(asym) & k.algorithms for k in static):
            raise ConfigError(f"{where}keys", "no key fits any algorithm in algorithms")
        keys.extend(static)
    jwks_url = None if raw.get("jwks_url") is None else check.url(f"{where}jwks_url", raw["jwks_url"], allow_http)
    discovery = check.flag(f"{where}oidc_discovery", raw.get("oidc_discovery", False))
    issuers = None if raw.get("issuer") is None else check.strings(f"{where}issuer", raw["issuer"], single_ok=True)
    if discovery:
        if jwks_url is not None:
            raise ConfigError(f"{where}oidc_discovery", "give either jwks_url or oidc_discovery, not both")
        if issuers is None or len(issuers) != 1:
            raise ConfigError(f"{where}issuer", "oidc_discovery needs exactly one issuer")
        check.url(f"{where}issuer", issuers[0], allow_http)
    if asym and raw.get("keys") is None and jwks_url is None and not discovery:
        raise ConfigError(f"{where}keys", f"{asym[0]} needs public keys: set keys, jwks_url or oidc_discovery")
    audience = raw.get("audience")
    return Provider(
        issuers=issuers,
        algorithms=frozenset(algorithms),
        keys=tuple(keys),
        jwks_url=jwks_url,
        oidc_discovery=discovery,
        audience=None if audience is None else check.strings(f"{where}audience", audience, single_ok=True),
        leeway=check.seconds(f"{where}leeway", raw["leeway"], 0, 600),
        required_claims=check.strings(f"{where}required_claims", raw["required_claims"], single_ok=False, empty_ok=True),
        jwks_cache_seconds=check.seconds(f"{where}jwks_cache_seconds", raw["jwks_cache_seconds"], 1, 86400),
        jwks_min_refresh_seconds=check.seconds(f"{where}jwks_min_refresh_seconds", raw["jwks_min_refresh_seconds"], 0, 86400),
        jwks_timeout_seconds=check.seconds(f"{where}jwks_timeout_seconds", raw["jwks_timeout_seconds"], 0.05, 60),
        jwks_max_stale_seconds=check.seconds(f"{where}jwks_max_stale_seconds", raw["jwks_max_stale_seconds"], 0, 7 * 86400),
        jwks_max_bytes=check.integer(f"{where}jwks_max_bytes", raw["jwks_max_bytes"], 1024, 16 * 1024 * 1024),
        jwks_max_keys=check.integer(f"{where}jwks_max_keys", raw["jwks_max_keys"], 1, 1000),
        jwks_allow_http=allow_http,
        token_types=_token_types(f"{where}token_types", raw.get("token_types")),
    )  # fmt: skip


def _token_types(key: str, value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset(t for t in map(jose.media_type, check.strings(key, value, single_ok=True)) if t)


DEFAULT_LEEWAY = 5.0
_PROVIDER_KEYS = ("issuer", *_KEY_SOURCES, *_PROVIDER_INHERITS)


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Every setting, keyword-only, validated at construction (``ConfigError`` names the key).

    Each keyword is a setting; the configuration page lists every one with its type,
    default and meaning. Build one from a mapping with ``load_settings``. Frozen, and its
    ``repr`` hides secrets and keys.
    """

    algorithms: Sequence[str] | None = None
    secret: str | bytes | None = field(default=None, repr=False)
    keys: Any = field(default=None, repr=False)
    jwks_url: str | None = None
    oidc_discovery: bool = False
    jwks_allow_http: bool = False
    issuer: str | Sequence[str] | None = None
    audience: str | Sequence[str] | None = None
    leeway: float = DEFAULT_LEEWAY
    required_claims: Sequence[str] = ("exp",)
    cookie: str | None = None
    query_param: str | None = None
    exclude_paths: Sequence[str] = ()
    optional: bool = False
    realm: str | None = None
    max_token_bytes: int = 8192
    jwks_cache_seconds: float = 600
    jwks_min_refresh_seconds: float = 60
    jwks_timeout_seconds: float = 5
    jwks_max_stale_seconds: float = 3600
    jwks_max_bytes: int = 512 * 1024
    jwks_max_keys: int = 64
    providers: Sequence[Mapping[str, Any]] | None = None
    claims_check: Callable[[Mapping[str, Any]], None] | None = None
    on_error: Callable[..., Any] | None = None
    token_cache_size: int = 4096
    scope_claims: Sequence[str] = ("scope", "scp")
    role_claims: Sequence[str] = ("roles",)  # RFC 9068 §2.2.3.1; TestIssuer tokens read the same way
    rules: Sequence[Mapping[str, Any]] | None = None
    revocation: Any = None
    revocation_fail_open: bool = False
    csrf: str = "double_submit"
    csrf_cookie: str = "csrf_token"
    csrf_header: str = "X-CSRF-Token"
    token_types: Sequence[str] | None = None
    user_loader: Callable[[Mapping[str, Any]], Any] | None = None
    cors_preflight: bool = True
    on_event: Any = None
    events_raw_subject: bool = False
    dpop: str = "allowed"
    dpop_max_age_seconds: float = 60
    dpop_algorithms: Sequence[str] = tuple(sorted(_dpop.DEFAULT_PROOF_ALGORITHMS))
    dpop_nonce: Any = None
    dpop_replay: Any = None
    resource_metadata: Mapping[str, Any] | None = None
    origin: str | None = None
    trusted_proxies: Sequence[str] = ()
    dpop_policy: DPoPPolicy = field(init=False, repr=False, compare=False)
    resource: ResourceMetadata | None = field(init=False, repr=False, compare=False)
    origin_policy: OriginPolicy = field(init=False, repr=False, compare=False)
    resolved_providers: tuple[Provider, ...] = field(init=False, repr=False, compare=False)
    path_rules: PathRules = field(init=False, repr=False, compare=False)
    route_rules: tuple[Rule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._check_front()
        object.__setattr__(
            self,
            "path_rules",
            PathRules.compile(check.strings("exclude_paths", self.exclude_paths, single_ok=False, empty_ok=True)),
        )
        object.__setattr__(self, "route_rules", compile_rules(self.rules))
        object.__setattr__(self, "resolved_providers", self._providers())
        policy = dpop_policy(
            self.dpop, self.dpop_max_age_seconds, self.dpop_algorithms, self.dpop_nonce, self.dpop_replay, float(self.leeway)
        )
        object.__setattr__(self, "dpop_policy", policy)
        meta = resource_metadata(
            self.resource_metadata, dpop_algs=sorted(policy.algorithms), dpop_required=policy.required,
            allow_http=bool(self.jwks_allow_http),
        )  # fmt: skip
        object.__setattr__(self, "resource", meta)
        served = origin_policy(self.origin, self.trusted_proxies, meta, allow_http=bool(self.jwks_allow_http))
        object.__setattr__(self, "origin_policy", served)

    def _check_front(self) -> None:
        for key in ("cookie", "query_param"):
            value = getattr(self, key)
            if value is not None and not (isinstance(value, str) and check.COOKIE_NAME.fullmatch(value)):
                raise ConfigError(key, "expected a name made of token characters")
        if self.realm is not None and not (isinstance(self.realm, str) and check.QUOTED_SAFE.fullmatch(self.realm)):
            raise ConfigError("realm", "expected a string without quotes, backslashes or control characters")
        check.flag("optional", self.optional)
        check.integer("max_token_bytes", self.max_token_bytes, 256, 1 << 20)
        check.integer("token_cache_size", self.token_cache_size, 0, 1 << 20)
        check.hook("claims_check", self.claims_check)
        check.hook("on_error", self.on_error)
        check.hook("user_loader", self.user_loader)
        object.__setattr__(self, "on_event", check.hooks("on_event", self.on_event))
        check.flag("events_raw_subject", self.events_raw_subject)
        check.flag("cors_preflight", self.cors_preflight)
        object.__setattr__(self, "scope_claims", check.strings("scope_claims", self.scope_claims, single_ok=False, empty_ok=True))
        object.__setattr__(self, "role_claims", check.strings("role_claims", self.role_claims, single_ok=False, empty_ok=True))
        check.flag("revocation_fail_open", self.revocation_fail_open)
        if self.csrf not in ("double_submit", "header", "off"):
            raise ConfigError("csrf", "expected 'double_submit', 'header' or 'off'")
        for key in ("csrf_cookie", "csrf_header"):
            value = getattr(self, key)
            if not (isinstance(value, str) and check.COOKIE_NAME.fullmatch(value)):
                raise ConfigError(key, "expected a name made of token characters")
        rev = self.revocation
        if rev is not None and not callable(rev) and not callable(getattr(rev, "is_revoked", None)):
            raise ConfigError("revocation", "expected a callable(claims) -> bool or a RevocationStore")

    def _own(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _PROVIDER_KEYS}

    def _providers(self) -> tuple[Provider, ...]:
        if self.providers is None:
            if self.algorithms is None:
                raise ConfigError("algorithms", "required: the list of accepted alg values")
            return (_provider(self._own(), ""),)
        if not isinstance(self.providers, list | tuple) or not self.providers:
            raise ConfigError("providers", "expected a non-empty list of mappings")
        for key in ("issuer", *_KEY_SOURCES):
            if getattr(self, key) not in (None, False):
                raise ConfigError(key, "with providers, set it inside each provider")
        built, seen = [], set()
        for i, raw in enumerate(self.providers):
            where = f"providers[{i}]."
            if not isinstance(raw, Mapping):
                raise ConfigError(f"providers[{i}]", "expected a mapping")
            check.known_keys(raw, _PROVIDER_KEYS, where)
            if raw.get("issuer") is None:
                raise ConfigError(f"{where}issuer", "each provider needs an issuer")
            merged = {k: getattr(self, k) for k in _PROVIDER_INHERITS if getattr(self, k) is not None} | dict(raw)
            provider = _provider(merged, where)
            for iss in provider.issuers or ():
                if iss in seen:
                    raise ConfigError(f"{where}issuer", "issuer appears in two providers")
                seen.add(iss)
            built.append(provider)
        return tuple(built)


SETTING_NAMES = tuple(f.name for f in fields(Settings) if f.init)


def load_settings(settings: Settings | Mapping[str, Any] | None = None, **overrides: Any) -> Settings:
    """A ``Settings`` from a mapping (or a ``Settings``), with keyword overrides; raises ``ConfigError``.

    Call it at import time, where the app is built, so that a bad setting stops the
    process at start-up.

    Args:
        settings: a mapping (a Django setting, a parsed config file) or a ``Settings``.
        overrides: settings that replace the mapping's.
    """
    if isinstance(settings, Settings) and not overrides:
        return settings
    if isinstance(settings, Settings):
        settings = {k: getattr(settings, k) for k in SETTING_NAMES}
    if settings is not None and not isinstance(settings, Mapping):
        raise ConfigError("settings", "expected a mapping or a Settings object")
    merged = {**(settings or {}), **overrides}
    check.known_keys(merged, SETTING_NAMES)
    return Settings(**merged)
