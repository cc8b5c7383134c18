"""The package's wings, and the one direction their imports run (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "jwt_middleware"
# Each wing with the wings it may import (besides its own). Root modules are listed by name.
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "config": {"core"},
    "issuing": {"core"},
    "keysets": {"config", "core"},
    "stores": {"issuing", "core"},
    "gate": {"keysets", "config", "core"},
    "asgi": {"gate", "config", "core"},
    "wsgi": {"gate", "config", "core"},
    "integrations": {"gate", "config", "core"},
    "metrics": {"core"},
    "server": {"gate", "issuing", "config", "core"},
    "cli": {"gate", "keysets", "config", "issuing", "stores", "core"},  # a folder of commands
    "__main__": {"cli"},
    "testing": {"issuing", "core"},
}
MAX_MODULES = 12


def wing_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def imported_wings(source: str, here: tuple[str, ...]) -> set[str]:
    """The wings of ours that a module imports; ``here`` is its folder inside the package (``()`` at the root)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(here[: len(here) - (node.level - 1)]) if node.level > 1 else list(here)
            target = base + (node.module.split(".") if node.module else [])
            names = [target[0]] if target else [alias.name for alias in node.names]
            found.update(names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jwt_middleware."):
            found.add(node.module.split(".")[1])  # type: ignore[union-attr]
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("jwt_middleware."))
    return found


def test_imports_run_one_way() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        wing = wing_of(path)
        if wing == "__init__":
            continue  # the package's face re-exports every wing
        allowed = MAY_IMPORT[wing] | {wing}
        here = path.relative_to(PACKAGE).parts[:-1]
        upward += [f"{path.relative_to(PACKAGE)} imports {w}" for w in imported_wings(path.read_text(), here) - allowed]
    assert not upward, upward


def test_every_wing_is_known_and_holds_at_most_a_dozen_modules() -> None:
    folders = [p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert {p.name for p in folders} <= set(MAY_IMPORT)
    for folder in folders:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert 0 < len(modules) <= MAX_MODULES, (folder.name, len(modules))
        assert (folder / "__init__.py").read_text().startswith('"""'), f"{folder.name}/__init__.py says what the wing holds"
    root_modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert root_modules <= set(MAY_IMPORT), root_modules - set(MAY_IMPORT)


def test_the_import_reader_sees_every_form_of_import() -> None:
    source = (
        "from ..gate.gate import Gate\nfrom . import claims\nfrom .jose import parse\nfrom jwt_middleware.stores import memory\n"
    )
    assert imported_wings(source, ("core",)) == {"gate", "core", "stores"}
    assert imported_wings("from .gate.gate import Gate\nfrom . import cli\n", ()) == {"gate", "cli"}
    assert imported_wings("import jwt_middleware.keysets.remote\n", ("gate",)) == {"keysets"}
