"""jwt-middleware (also python -m jwt_middleware): decode, verify and explain tokens; keys; test tokens; revocations.

Exit codes: 0 success; 1 the token was refused (its reason code is printed); 2 bad usage
or settings; 3 a key source or store could not be reached.

decode, verify and explain compare times with the clock, or with --now or
$JWT_MIDDLEWARE_NOW (Unix seconds), so that their output can be reproduced.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ..core.errors import ConfigError
from . import decode, keys, revoke, verify
from .common import EXIT_UNAVAILABLE, EXIT_USAGE

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    """The ``jwt-middleware`` argument parser, every command with its ``--help``."""
    p = argparse.ArgumentParser(prog="jwt-middleware", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for module in (keys, decode, verify, revoke):
        module.add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
    """
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        print(f"settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, json.JSONDecodeError, OSError) as exc:
        if type(exc).__module__.startswith("redis"):
            print(f"unavailable: {exc}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
