"""Every public name has a docstring that explains its parameters, and the built API reference shows it."""

from __future__ import annotations

import dataclasses
import html
import importlib
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The public modules and what they export; names also exported by ``jwt_middleware`` are documented there.
PUBLIC_MODULES = (
    "jwt_middleware",
    "jwt_middleware.asgi",
    "jwt_middleware.wsgi",
    "jwt_middleware.integrations.django",
    "jwt_middleware.integrations.drf",
    "jwt_middleware.integrations.fastapi",
    "jwt_middleware.integrations.flask",
    "jwt_middleware.testing",
    "jwt_middleware.cli",
    "jwt_middleware.server.apps",
    "jwt_middleware.server.throttle",
    "jwt_middleware.metrics.prometheus",
    "jwt_middleware.metrics.opentelemetry",
    "jwt_middleware.issuing.cookies",
    "jwt_middleware.issuing.publish",
    "jwt_middleware.stores.memory",
    "jwt_middleware.stores.redis",
    "jwt_middleware.core.dpop",
)
# Their fields are the settings, each documented in docs/configuration.md (test_docs_and_exports checks it).
FIELDS_DOCUMENTED_ELSEWHERE = {"Settings", "Provider"}


def public_names() -> Iterator[tuple[str, Any]]:
    """``(qualified name, object)`` for each public name, under the path users import it from."""
    root = importlib.import_module("jwt_middleware")
    for module_name in PUBLIC_MODULES:
        module: ModuleType = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            if module_name != "jwt_middleware" and getattr(root, name, None) is obj:
                continue
            yield f"{module_name}.{name}", obj


def own_methods(cls: type) -> Iterator[tuple[str, Any]]:
    for attr, member in vars(cls).items():
        func = member.__func__ if isinstance(member, classmethod | staticmethod) else member
        func = func.fget if isinstance(func, property) else func
        if attr.startswith("_") or not inspect.isfunction(func) or func.__name__.startswith("_"):
            continue  # private, or an alias of a private helper (Claims' refusing mutators)
        yield attr, func


def parameters(func: Any) -> list[str]:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [p for p in signature.parameters if p not in ("self", "cls")]


def init_owner(cls: type) -> type | None:
    """The class of ours whose ``__init__`` a class uses (its docstring documents the arguments)."""
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            return klass if klass.__module__.startswith("jwt_middleware") else None
    return None


def undocumented() -> list[str]:
    problems: list[str] = []
    for qualified, obj in public_names():
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        if not doc.strip():
            problems.append(f"{qualified}: no docstring")
            continue
        if inspect.isfunction(obj):
            problems += [f"{qualified}: parameter {p!r} not explained" for p in parameters(obj) if p not in doc]
            continue
        owner = None if getattr(obj, "_is_protocol", False) else init_owner(obj)
        if owner is not None and obj.__name__ not in FIELDS_DOCUMENTED_ELSEWHERE and not dataclasses.is_dataclass(owner):
            owner_doc = inspect.getdoc(owner) or ""
            problems += [f"{qualified}: parameter {p!r} not explained" for p in parameters(obj) if p not in owner_doc]
        elif dataclasses.is_dataclass(obj) and obj.__name__ not in FIELDS_DOCUMENTED_ELSEWHERE:
            problems += [
                f"{qualified}: field {f.name!r} not explained" for f in dataclasses.fields(obj) if f.init and f.name not in doc
            ]
        for attr, method in own_methods(obj):
            method_doc = inspect.getdoc(method) or ""
            if not method_doc.strip():
                problems.append(f"{qualified}.{attr}: no docstring")
            else:
                problems += [
                    f"{qualified}.{attr}: parameter {p!r} not explained" for p in parameters(method) if p not in method_doc
                ]
    return problems


def test_every_public_name_has_a_docstring_that_explains_its_parameters() -> None:
    assert list(public_names()), "found no public names"
    problems = undocumented()
    assert not problems, "\n".join(problems)


def test_the_docstring_check_catches_a_missing_docstring_and_an_unexplained_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    from jwt_middleware.issuing import cookies

    monkeypatch.setattr(cookies.new_csrf_token, "__doc__", None)
    monkeypatch.setattr(cookies.clear_cookie, "__doc__", "Expire a cookie now.")
    problems = undocumented()
    assert "jwt_middleware.issuing.cookies.new_csrf_token: no docstring" in problems
    assert "jwt_middleware.issuing.cookies.clear_cookie: parameter 'domain' not explained" in problems


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_every_public_name_and_method_is_in_the_built_reference(site: Path) -> None:
    page = (site / "reference" / "index.html").read_text()
    anchors = set(re.findall(r'id="(jwt_middleware[\w.]*)"', page))
    wanted = []
    for qualified, obj in public_names():
        wanted.append(qualified)
        if inspect.isclass(obj) and obj.__name__ not in FIELDS_DOCUMENTED_ELSEWHERE and not issubclass(obj, dict):
            wanted += [f"{qualified}.{attr}" for attr, _ in own_methods(obj)]
    missing = [name for name in wanted if name not in anchors]
    assert not missing, f"not in the built API reference: {missing}"


def test_the_reference_shows_signatures_with_types_and_defaults(site: Path) -> None:
    page = (site / "reference" / "index.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert 'samesite: str = "Lax"' in text
    assert "max_age: int = 900" in text
    assert "timeout: float = 0.5" in text  # RedisRefreshStore


def test_the_site_loads_nothing_from_another_host(site: Path) -> None:
    external = []
    for page in site.rglob("*.html"):
        for match in re.finditer(r'<(script|link|img|iframe)\b[^>]*?(?:src|href)="(https?:)?//[^"]+"', page.read_text()):
            if match.group(1) == "link" and 'rel="stylesheet"' not in match.group(0) and "preload" not in match.group(0):
                continue
            external.append(f"{page.relative_to(site)}: {match.group(0)[:120]}")
    assert not external, external
    assert (site / "search" / "search_index.json").exists(), "the search index is built with the site"


def test_the_sdist_ships_docs_examples_and_the_changelog(tmp_path: Path) -> None:
    import tarfile
    import tomllib

    done = subprocess.run(
        [sys.executable, "-c", f"from setuptools import build_meta; print(build_meta.build_sdist({str(tmp_path)!r}))"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with tarfile.open(tmp_path / done.stdout.strip().splitlines()[-1]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for wanted in ("CHANGELOG.md", "docs/index.md", "docs/architecture.md", "examples/demo.py", "jwt_middleware/core/jose.py"):
        assert wanted in names, wanted
    assert not any("__pycache__" in name for name in names)
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    assert set(urls) == {"Documentation", "Source", "Changelog", "Issues"}
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog\n"), "Keep a Changelog form"
