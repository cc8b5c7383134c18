"""Settings from environment variables, for twelve-factor deployments."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from ..core.errors import ConfigError
from . import validate as check
from .settings import SETTING_NAMES, Settings, load_settings


def load_settings_from_env(
    prefix: str = "JWT_",
    environ: Mapping[str, str] | None = None,
    ignore: Sequence[str] = ("JWT_MIDDLEWARE_NOW",),
    **overrides: Any,
) -> Settings:
    """A ``Settings`` from environment variables, for twelve-factor deployments.

    Each setting is ``<prefix><NAME>`` in upper case (``JWT_ALGORITHMS``, ``JWT_JWKS_URL``).
    A value that parses as JSON is taken as JSON (``["RS256"]``, ``30``, ``true``); any
    other is a string, and a list-valued setting splits it on commas (``RS256,ES256``). A
    variable with the prefix that names no setting is a ``ConfigError``, as a misspelt key
    is.

    Args:
        prefix: the variables' prefix (default ``JWT_``).
        environ: where to read them (default ``os.environ``).
        ignore: variables with the prefix that are not settings (default the CLI's clock).
        overrides: settings that replace what the environment says (hooks, stores).
    """
    source = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    for variable, text in source.items():
        if not variable.startswith(prefix) or variable in ignore:
            continue
        name = variable[len(prefix) :].lower()
        if name not in SETTING_NAMES:
            raise ConfigError(variable, f"names no setting{check.closest(name, SETTING_NAMES)}")
        found[name] = _env_value(name, text)
    return load_settings(found, **overrides)


_LIST_SETTINGS = frozenset(f.name for f in fields(Settings) if "Sequence" in str(f.type) and f.name != "secret")


def _env_value(name: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        if name in _LIST_SETTINGS and name not in ("issuer", "audience"):
            return [part.strip() for part in text.split(",") if part.strip()]
        return text
