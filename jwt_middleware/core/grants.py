"""Grants (scopes, roles) read from the claims, and the one rule that checks them.

Claim paths understand the real providers: ``scope`` (space-separated), ``scp``, ``roles``,
``permissions`` (Auth0), ``realm_access.roles`` and ``resource_access.<client>.roles``
(Keycloak), ``cognito:groups`` (Cognito), Entra ID ``roles``. A path is tried first as one
literal claim name (Auth0's namespaced claims contain dots), then split on dots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InsufficientScope, MissingToken


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
