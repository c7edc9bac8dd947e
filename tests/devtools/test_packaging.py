"""What the product ships: the wheel and the image hold no sim and no developer tools, and
the `mailops` command of a product install says so when asked for one (issue 14: "bot/ is
hosting only")."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.bot.test_dockerfile import _all

ROOT = Path(__file__).resolve().parents[2]
DEVELOPER_ONLY = ("sim", "devtools")


def test_the_wheel_holds_the_product_only(tmp_path: Path) -> None:
    """Built from a copy of the checkout, sim/ and devtools/ included, as `pip wheel` builds
    it for an image or an index."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "node_modules", "build", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    subprocess.run(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=source,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("mailops-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert tops.isdisjoint(DEVELOPER_ONLY)
    assert {"bot", "dialogs", "cards", "dataverse", "permissions", "monitor", "store"} <= tops


def test_the_image_copies_no_sim_and_no_developer_tools() -> None:
    copied = {arg.split()[0] for arg in _all("COPY") if not arg.startswith("--from")}
    assert copied.isdisjoint(DEVELOPER_ONLY)
    allowed = (ROOT / ".dockerignore").read_text("utf-8").splitlines()
    assert not [line for line in allowed if line.strip("!/") in DEVELOPER_ONLY]


def test_a_product_install_names_the_developer_commands_it_lacks(tmp_path: Path) -> None:
    """The product's import path: its packages, without the checkout on sys.path (no
    `mailops-checkout.pth`), so `devtools` and `sim` cannot be imported."""
    root = str(ROOT)
    script = (
        "import sys\n"
        f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {root!r} and p != '']\n"
        "from bot.cli import main\n"
        "raise SystemExit(main(['sim', '--help']))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "mailops sim is a developer tool" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_checkout_runs_the_developer_commands() -> None:
    done = subprocess.run(  # noqa: S603 - our own command
        [str(Path(sys.executable).with_name("mailops")), "sim", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: mailops sim" in done.stdout
