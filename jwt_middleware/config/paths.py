"""Public paths: exact matches, and prefixes written with a trailing ``/*``.

A prefix only matches a clean path: no dot segments, no ``//``, no percent sign. A path
that anything could rewrite into another is protected, never public; so is any path whose
case differs, since the match is exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..core.errors import ConfigError

_DIRTY = re.compile(r"//|/\.\.?(?:/|$)|%|\\")


def is_clean(path: str) -> bool:
    return _DIRTY.search(path) is None


class PathRules:
    """Compiled path patterns (``exclude_paths``, rule paths); ``matches(path)`` is one set lookup on the common path."""

    __slots__ = ("_exact", "_prefixes")

    def __init__(self, exact: frozenset[str], prefixes: tuple[str, ...]) -> None:
        self._exact = exact
        self._prefixes = prefixes

    @classmethod
    def compile(cls, patterns: Sequence[str], key: str = "exclude_paths") -> PathRules:
        exact: set[str] = set()
        prefixes: list[str] = []
        for i, pattern in enumerate(patterns):
            where = f"{key}[{i}]"
            if not isinstance(pattern, str) or not pattern.startswith("/"):
                raise ConfigError(where, "a path starts with '/'")
            base = pattern[:-2] if pattern.endswith("/*") else pattern
            if "*" in base or _DIRTY.search(base):
                raise ConfigError(where, "'*' only as a trailing '/*'; no dot segments, '//' or '%'")
            if pattern.endswith("/*"):
                prefixes.append(base)
            else:
                exact.add(pattern)
        return cls(frozenset(exact), tuple(prefixes))

    def matches(self, path: str) -> bool:
        if path in self._exact:
            return True
        if not self._prefixes or _DIRTY.search(path):
            return False
        return any(path == p or path.startswith(p + "/") for p in self._prefixes)

    @property
    def exact(self) -> frozenset[str]:
        return self._exact

    @property
    def has_prefixes(self) -> bool:
        return bool(self._prefixes)

    def __bool__(self) -> bool:
        return bool(self._exact or self._prefixes)
