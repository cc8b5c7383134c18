"""Every ```python block of docs/*.md and README.md compiles; those that stand alone also run.

A block is run as written, in a fresh interpreter, unless the line before its fence marks it
(an HTML comment, invisible on the built site):

- ``<!-- snippet: excerpt -->``: a part of something larger, using names defined elsewhere
  on the page (``app``, a store) or a service (Redis, an identity provider). It is compiled,
  not run; settings elided as ``{..., "key": value}`` are read as ``{"key": value}``, and
  top-level ``await`` is allowed.
- ``<!-- snippet: fragment -->``: entries of a settings mapping (``"rules": [...]``),
  compiled inside ``{...}``.

So nothing is skipped silently: an unmarked block that cannot run fails here, and so does a
marked one that does not compile.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(
    r"^(?:(?P<mark>[ \t]*<!-- snippet: (?P<kind>\w+) -->)\n)?(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)
KINDS = ("run", "excerpt", "fragment")
_ELIDED = re.compile(r"\{\.\.\.,\s*")


def _snippets() -> list[pytest.param]:  # type: ignore[valid-type]
    found = []
    for path in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            line = text.count("\n", 0, m.start("indent")) + 1
            body = "\n".join(row[len(m["indent"]) :] for row in m["body"].splitlines())
            found.append(pytest.param(m["kind"] or "run", body, id=f"{path.name}:{line}"))
    return found


SNIPPETS = _snippets()


def test_snippets_are_found() -> None:
    assert len(SNIPPETS) >= 50


@pytest.mark.parametrize(("kind", "body"), SNIPPETS)
def test_snippet_compiles(kind: str, body: str) -> None:
    assert kind in KINDS, f"unknown snippet marker {kind!r}; use one of {KINDS}"
    if kind == "fragment":
        body = "{\n" + body + "\n}"
    elif kind == "excerpt":
        body = _ELIDED.sub("{", body)
    compile(body, "<snippet>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.parametrize(("kind", "body"), [p for p in SNIPPETS if p.values[0] == "run"])
def test_standalone_snippet_runs(kind: str, body: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", body], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
