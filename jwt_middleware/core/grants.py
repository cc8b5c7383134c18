"""Authorization: grants (scopes, roles) read from the claims, and per-route requirements.

Claim paths understand the real providers: ``scope`` (space-separated), ``scp``, ``roles``,
``permissions`` (Auth0), ``realm_access.roles`` and ``resource_access.<client>.roles``
(Keycloak), ``cognito:groups`` (Cognito), Entra ID ``roles``. A path is tried first as one
literal claim name (Auth0's namespaced claims contain dots), then split on dots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import ConfigError, InsufficientScope, MissingToken
from ._routes import PathRules, is_clean

_MATCH = ("all", "any")


def read_path(claims: Mapping[str, Any], path: str) -> Any:
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def grants(claims: Mapping[str, Any], paths: Sequence[str]) -> list[str]:
    """Every string found at the paths: a space-separated string, or a list of strings."""
    found: list[str] = []
    for path in paths:
        value = read_path(claims, path)
        if isinstance(value, str):
            found.extend(value.split())
        elif isinstance(value, list):
            found.extend(v for v in value if isinstance(v, str))
    return list(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Rule:
    """One requirement: on these paths (and methods), these scopes and/or roles."""

    paths: PathRules
    methods: frozenset[str] | None
    scopes: tuple[str, ...]
    roles: tuple[str, ...]
    match: str

    def applies(self, path: str, method: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        # A path a router might rewrite (dot segments, //, %) gets every prefix rule: fail closed.
        return self.paths.matches(path) or (self.paths.has_prefixes and not is_clean(path))

    def check(self, scopes: Sequence[str], roles: Sequence[str]) -> None:
        check_grants(scopes, roles, self.scopes, self.roles, self.match)


def check_grants(
    have_scopes: Sequence[str], have_roles: Sequence[str], scopes: Sequence[str], roles: Sequence[str], match: str
) -> None:
    """Raise ``InsufficientScope`` unless all (or, with ``match="any"``, any) of the grants are held."""
    wanted = [(s, s in have_scopes) for s in scopes] + [(r, r in have_roles) for r in roles]
    ok = all(have for _, have in wanted) if match == "all" else any(have for _, have in wanted)
    if not ok:
        needed = " ".join(name for name, _ in wanted)
        raise InsufficientScope("insufficient_scope", "the token lacks a required scope or role", needed)


def demand(identity: Any, scopes: Sequence[str], roles: Sequence[str], match: str) -> None:
    """For view helpers: ``MissingToken`` when anonymous, else ``check_grants``."""
    if identity is None:
        raise MissingToken()
    check_grants(identity.scopes, identity.roles, scopes, roles, match)


def compile_rules(value: Any, key: str = "rules") -> tuple[Rule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise ConfigError(key, "expected a list of mappings")
    return tuple(_rule(raw, f"{key}[{i}]") for i, raw in enumerate(value))


def _names(raw: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = raw.get(name, ())
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v and " " not in v for v in value):
        raise ConfigError(f"{where}.{name}", "expected a list of names without spaces")
    return tuple(value)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "expected a mapping with path, and scopes or roles")
    unknown = set(raw) - {"path", "paths", "methods", "scopes", "roles", "match"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}", "unknown rule key (path, methods, scopes, roles, match)")
    paths = raw.get("paths", raw.get("path"))
    paths = [paths] if isinstance(paths, str) else paths
    if not isinstance(paths, list | tuple) or not paths:
        raise ConfigError(f"{where}.path", "expected a path or a list of paths")
    methods = raw.get("methods")
    if methods is not None and (not isinstance(methods, list | tuple) or not all(isinstance(m, str) for m in methods)):
        raise ConfigError(f"{where}.methods", "expected a list of HTTP methods")
    scopes, roles = _names(raw, "scopes", where), _names(raw, "roles", where)
    if not scopes and not roles:
        raise ConfigError(where, "a rule needs scopes or roles")
    match = raw.get("match", "all")
    if match not in _MATCH:
        raise ConfigError(f"{where}.match", "expected 'all' or 'any'")
    method_set = None if methods is None else frozenset(m.upper() for m in methods)
    return Rule(PathRules.compile(paths, f"{where}.path"), method_set, scopes, roles, match)
