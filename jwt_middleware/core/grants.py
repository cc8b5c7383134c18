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
    """Raise ``InsufficientScope`` unless all (or, with ``match="any"``, any) of the grants are held.

    The challenge's ``scope`` names the scopes only (RFC 6750 §3); missing roles are named
    in the body's ``roles``, and the description says whether all or any were needed.
    """
    wanted = [(s, s in have_scopes) for s in scopes] + [(r, r in have_roles) for r in roles]
    ok = all(have for _, have in wanted) if match == "all" else any(have for _, have in wanted)
    if not ok:
        kinds = " or ".join(k for k, names in (("scope", scopes), ("role", roles)) if names)
        if len(wanted) == 1:
            description = f"the token lacks the required {kinds}"
        else:
            need = "all of them are needed" if match == "all" else "any one of them is enough"
            description = f"the token lacks a required {kinds} ({need})"
        raise InsufficientScope("insufficient_scope", description, " ".join(scopes), " ".join(roles))


def check_match(match: str) -> None:
    """For view helpers, when they are declared: ``match`` is ``all`` or ``any``, or ``ValueError``."""
    if match not in ("all", "any"):
        raise ValueError("match is 'all' or 'any'")


def demand(identity: Any, scopes: Sequence[str], roles: Sequence[str], match: str) -> None:
    """For view helpers: ``MissingToken`` when anonymous, else ``check_grants``."""
    if identity is None:
        raise MissingToken()
    check_grants(identity.scopes, identity.roles, scopes, roles, match)
