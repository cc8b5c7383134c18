from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from harness import HARNESSES, Harness
from tokens import SECRET


@pytest.fixture(params=sorted(HARNESSES))
def make(request: pytest.FixtureRequest) -> Callable[..., Harness]:
    """Build the same app under the ASGI or the WSGI adapter: ``make(settings, **overrides)``."""
    cls = HARNESSES[request.param]

    def build(settings: Any = None, **overrides: Any) -> Harness:
        return cls(settings if settings is not None else {"algorithms": ["HS256"], "secret": SECRET}, **overrides)

    return build


@pytest.fixture
def hs() -> dict[str, Any]:
    return {"algorithms": ["HS256"], "secret": SECRET}
