"""Which of our packages may import which ("Layout (target)" in the architecture notes).

Every `.py` file is parsed with `ast`, not imported, so that imports inside functions and
under `if TYPE_CHECKING:` count as well: a type-only import still ties one package to
another. A failure names each offending `file:line`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parent.parent

MAY_IMPORT: Final[Mapping[str, frozenset[str]]] = {
    "bot": frozenset({"dialogs", "cards", "dataverse", "permissions", "monitor", "store"}),
    "devtools": frozenset(
        {"bot", "dialogs", "cards", "dataverse", "permissions", "monitor", "store", "sim"}
    ),
    "dialogs": frozenset({"cards", "dataverse", "permissions", "store"}),
    "cards": frozenset({"dataverse.models"}),
    "dataverse": frozenset(),
    "permissions": frozenset({"dataverse.models"}),
    "monitor": frozenset({"dataverse", "store", "cards"}),
    "store": frozenset(),
    "sim": frozenset(),
}
"""Our top-level packages and what each may import of the others (a dotted entry allows
that module and what is below it). Only `devtools` may import `sim` (and `bot`): neither
ships with the product."""

BOT_FRAMEWORK_SDK: Final = frozenset({"botbuilder", "botframework", "microsoft_agents"})
SDK_IMPORTERS: Final = frozenset({"bot", "devtools"})
"""Only `bot` may import the Bot Framework SDK or the Microsoft 365 Agents SDK
(`microsoft_agents`, the second host), so that hosting stays there; and `devtools`, whose
stock echo bots are what `mailops bench turns` measures MailOps against."""

IMPORT_FUNCTIONS: Final = frozenset({"import_module", "__import__"})


def imported_names(source: str) -> list[tuple[int, tuple[str, ...]]]:
    """Each absolute import in `source` as (line, names), in line order: it is allowed when
    any of the names is.

    `from a import b` gives both `a` and `a.b`, because `b` may be a submodule (`from
    dataverse import models`) or a name of `a`. `importlib.import_module("x")` and
    `__import__("x")` with a literal name count too. Relative imports are left out: Python
    refuses any that would climb out of the top-level package, so they never cross a layer.
    """
    found: list[tuple[int, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, (alias.name,)) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            base = node.module
            found.extend((node.lineno, (base, f"{base}.{alias.name}")) for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                called in IMPORT_FUNCTIONS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.append((node.lineno, (first.value,)))
    return sorted(found)


def refusal(package: str, name: str) -> str | None:
    """Why `package` may not import `name`, or None when it may."""
    top = name.split(".", 1)[0]
    if top == package:
        return None
    if top in BOT_FRAMEWORK_SDK:
        return None if package in SDK_IMPORTERS else "only bot imports the Bot Framework SDK"
    if top == "bot" and "bot" not in MAY_IMPORT[package]:
        return "nothing but bot, devtools and the tests imports bot"
    if top not in MAY_IMPORT:
        return None  # the standard library or a third-party package
    allowed = MAY_IMPORT[package]
    if any(name == a or name.startswith(f"{a}.") for a in allowed):
        return None
    return f"{package} may import {', '.join(sorted(allowed)) or 'nothing of ours'}"


def violations_in(source: str, path: Path) -> list[str]:
    """`file:line: imports name (why not)` for each import of `source` (the text of `path`)
    that the layout forbids."""
    package = path.relative_to(ROOT).parts[0]
    found = []
    for line, names in imported_names(source):
        reasons = [refusal(package, name) for name in names]
        if all(reasons):
            where = f"{path.relative_to(ROOT)}:{line}"
            found.append(f"{where}: imports {names[-1]} ({reasons[-1]})")
    return found


def test_every_top_level_package_has_a_row() -> None:
    """A new package must be placed in the table before this test can vouch for it."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_follow_the_layout(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    found = [v for path in files for v in violations_in(path.read_text("utf-8"), path)]
    assert not found, "imports the layout forbids:\n" + "\n".join(found)


def test_the_check_sees_every_kind_of_import() -> None:
    """Type-only, function-local and dynamic imports are caught; a submodule named after
    `from … import` is judged as that submodule."""
    source = """
from typing import TYPE_CHECKING
from dataverse import models
from dataverse.models import ServerProfile
from dataverse import DataverseClient
if TYPE_CHECKING:
    from store import Store
def later() -> None:
    import bot.app
    importlib.import_module("botbuilder.core")
    from . import sibling
"""
    path = ROOT / "cards" / "sub" / "mod.py"
    found = violations_in(source, path)
    where = Path("cards", "sub", "mod.py")
    assert [v.split(": ", 1)[0] for v in found] == [f"{where}:{n}" for n in (5, 7, 9, 10)]
    assert "cards may import dataverse.models" in found[0]
    assert "nothing but bot, devtools" in found[2]
    assert "Bot Framework SDK" in found[3]
