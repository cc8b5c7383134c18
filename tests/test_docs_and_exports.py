"""The docs cover every setting and reason code; __all__ matches the package."""

from __future__ import annotations

import re
from pathlib import Path

import jwt_middleware
from jwt_middleware.config.settings import SETTING_NAMES

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_with_type_default_and_meaning() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z_]+)` \|(.+)\|$", text, re.M)}
    missing = [name for name in SETTING_NAMES if name not in rows]
    assert not missing, f"undocumented settings: {missing}"
    for name in SETTING_NAMES:
        cells = [c.strip() for c in rows[name].split("|")]
        assert len(cells) == 3 and all(cells), f"{name} needs type, default and meaning"
    assert set(rows) <= set(SETTING_NAMES), f"documented but not a setting: {set(rows) - set(SETTING_NAMES)}"


def test_every_reason_code_is_documented() -> None:
    modules = sorted((ROOT / "jwt_middleware").rglob("*.py"))
    assert len(modules) > 20, "the package's modules, in every wing"
    source = "\n".join(p.read_text() for p in modules)
    used = set(re.findall(r'(?:InvalidToken|InvalidRequest|InsufficientScope|KeySourceUnavailable)\(\s*"([a-z_]+)"', source))
    used |= set(re.findall(r'AuthError\("([a-z_]+)"', source)) | {"missing_token"}
    used |= set(re.findall(r'(?:ProofRejected|_refuse|Unavailable)\(\s*"(dpop_[a-z_]+)"', source))
    assert {"dpop_replay", "dpop_proof_missing", "dpop_no_proof"} <= used, "the pattern misses the DPoP codes"
    documented = set(re.findall(r"^\| `([a-z_]+)` \| \d{3} \|", (ROOT / "docs" / "errors.md").read_text(), re.M))
    assert used, "the pattern found no reason codes"
    assert used <= documented, f"undocumented reason codes: {sorted(used - documented)}"


def test_all_matches_public_names() -> None:
    import types

    public = {
        name
        for name in dir(jwt_middleware)
        if not name.startswith("_") and not isinstance(getattr(jwt_middleware, name), types.ModuleType) and name != "annotations"
    }
    assert set(jwt_middleware.__all__) == public | {"__version__"}
    for name in jwt_middleware.__all__:
        assert hasattr(jwt_middleware, name)


def test_every_exported_name_is_in_the_api_reference() -> None:
    text = (ROOT / "docs" / "reference.md").read_text()
    missing = [name for name in jwt_middleware.__all__ if f"::: jwt_middleware.{name}\n" not in text and name != "__version__"]
    assert not missing, f"not in docs/reference.md: {missing}"


def test_every_docs_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert pages and all(page in nav for page in pages), [p for p in pages if p not in nav]
