"""What every command shares: exit codes, the clock, times as people read them, the token argument."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from ..core.errors import ConfigError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
NOW_VARIABLE = "JWT_MIDDLEWARE_NOW"


def now(args: argparse.Namespace) -> float:
    """The time to check against: ``--now``, else ``$JWT_MIDDLEWARE_NOW``, else the clock (Unix seconds)."""
    given = getattr(args, "now", None)
    if given is None and os.environ.get(NOW_VARIABLE):
        try:
            given = float(os.environ[NOW_VARIABLE])
        except ValueError as exc:
            raise ConfigError(NOW_VARIABLE, "expected Unix seconds") from exc
    return time.time() if given is None else float(given)


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span(seconds: float) -> str:
    """``14 min``, ``3 h``, ``2 d``: a duration as people say it."""
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def relative(at: float, current: float, *, future: str = "in {}", past: str = "{} ago") -> str:
    return (future if at >= current else past).format(span(at - current))


def token_argument(value: str) -> str:
    """The token given, or read from standard input for ``-``; a ``Bearer `` prefix is dropped."""
    token = sys.stdin.readline().strip() if value == "-" else value.strip()
    return token[7:].strip() if token.lower().startswith("bearer ") else token


def add_clock(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--now", type=float, metavar="UNIX", help=f"check against this time (default: ${NOW_VARIABLE}, else the clock)"
    )


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))
