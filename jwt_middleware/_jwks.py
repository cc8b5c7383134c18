"""Remote key sets (placeholder until the JWKS cache lands)."""

from __future__ import annotations

from ._keys import KeySource
from ._settings import Provider
from ._verify import static_source


def remote_or_static(provider: Provider) -> KeySource:
    return static_source(provider)
