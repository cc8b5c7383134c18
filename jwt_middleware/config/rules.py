"""Per-route requirements (the ``rules`` setting), compiled once from the settings.

Each rule names paths (exact, or prefixes with ``/*``), optional methods, and the scopes
and/or roles it demands; every rule that matches a request applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigError
from ..core.grants import check_grants
from .paths import PathRules, is_clean

_MATCH = ("all", "any")


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
    if method_set is not None and "GET" in method_set:  # RFC 9110 §9.3.2: HEAD is GET without the body
        method_set |= {"HEAD"}
    return Rule(PathRules.compile(paths, f"{where}.path"), method_set, scopes, roles, match)
