"""``cards/`` imports nothing of ours but the Dataverse models (ARCHITECTURE.md), and only
``cards.i18n`` touches files (the catalogs, once per language)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CARDS_DIR = Path(__file__).resolve().parents[2] / "cards"
OURS = {"bot", "dialogs", "dataverse", "permissions", "monitor", "store", "sim", "tests"}
IO_MODULES = {"os", "io", "pathlib", "socket", "subprocess", "httpx", "aiohttp", "shutil"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CARDS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_cards_import_only_models_of_ours(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        if top in OURS:
            assert name == "dataverse.models", f"{path.name} imports {name}"
        else:
            assert top in sys.stdlib_module_names or top in {"babel", "cards"}, name


@pytest.mark.parametrize(
    "path",
    sorted(p for p in CARDS_DIR.glob("*.py") if p.name != "i18n.py"),
    ids=lambda p: p.name,
)
def test_builders_do_no_io(path: Path) -> None:
    tops = {name.split(".")[0] for name in _imports(path)}
    assert not tops & IO_MODULES
