"""The Dockerfile, checked without a Docker engine (none runs here): what can be read is read.

The image is never built in these tests. They check the instructions: the pinned slim Python
3.11 base, a non-root user, the runtime-only install, a health check that really works against
the bot, `mailops serve`, and that every file the build copies exists and is in the context.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import create_app
from bot.config import ConfigError, Settings
from tests.bot.serving import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    parsed = []
    for line in lines:
        word, _, rest = line.partition(" ")
        parsed.append((word.upper(), rest.strip()))
    return parsed


def _all(name: str) -> list[str]:
    return [rest for word, rest in instructions() if word == name]


def _final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for word, rest in stage:
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                values[key] = value
    return values


def _base_image() -> str:
    args = dict(
        rest.split("=", 1) for word, rest in instructions() if word == "ARG" and "=" in rest
    )
    images = {args.get(f[2:-1], f) if f.startswith("${") else f for f in _from_images()}
    assert len(images) == 1, images
    return images.pop()


def _from_images() -> list[str]:
    return [rest.split()[0] for rest in _all("FROM")]


def test_the_base_is_a_pinned_slim_python_3_11() -> None:
    image = _base_image()
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", image)
    assert "latest" not in image


def test_the_process_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in _final_stage() if word == "USER"]
    assert users, "no USER in the final stage: the bot would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    # numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd
    assert user.isdigit()
    assert int(user) >= 1000


def test_it_installs_the_runtime_dependencies_only_with_the_constraints() -> None:
    installs = [rest for rest in _all("RUN") if "pip install" in rest]
    assert len(installs) == 1
    assert re.search(r"pip install -c constraints\.txt \.(\s|$)", installs[0])
    assert "[dev]" not in installs[0]
    assert "-e " not in installs[0]


def test_the_command_is_mailops_serve() -> None:
    [cmd] = [rest for word, rest in _final_stage() if word == "CMD"]
    assert json.loads(cmd) == ["mailops", "serve"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["mailops"] == "bot.cli:main"


def _dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    patterns = [
        p.strip()
        for p in DOCKERIGNORE.read_text().splitlines()
        if p.strip() and not p.startswith("#")
    ]
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern[1:] if negated else pattern
        glob = glob.rstrip("/")
        if any(
            fnmatch.fnmatch(c, glob) or fnmatch.fnmatch(c, glob.removeprefix("**/"))
            for c in candidates
        ):
            ignored = not negated
    return ignored


def _copies() -> list[str]:
    sources = []
    for rest in _all("COPY"):
        words = [w for w in rest.split() if not w.startswith("--")]
        if "--from=" in rest:
            continue
        sources.extend(words[:-1])
    return sources


def test_every_copied_file_exists_and_is_in_the_build_context() -> None:
    sources = _copies()
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such file"
        assert not _dockerignored(source), f"COPY {source}: excluded by .dockerignore"


def test_every_package_the_wheel_needs_is_copied() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {source.rstrip("/") for source in _copies()}
    assert packages <= copied
    assert {"pyproject.toml", "constraints.txt", project["project"]["readme"]} <= copied


def test_the_context_leaves_out_what_the_image_must_not_hold() -> None:
    for path in (".venv", ".git", "node_modules", "tests", ".env", "dist/mailops.zip"):
        assert _dockerignored(path), path
    assert _dockerignored("bot/__pycache__/app.cpython-311.pyc")


def test_listening_on_all_interfaces_needs_an_app_id() -> None:
    """The image listens on 0.0.0.0: the config refuses that unless authentication is on."""
    env = _env(_final_stage())
    assert env["MAILOPS_HOST"] == "0.0.0.0"  # noqa: S104
    [exposed] = [rest for word, rest in _final_stage() if word == "EXPOSE"]
    assert exposed == env["MAILOPS_PORT"]
    required = {
        "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
        "MAILOPS_TENANT_ID": "t",
        "MAILOPS_CLIENT_ID": "c",
        "MAILOPS_CLIENT_SECRET": "s",
    }
    with pytest.raises(ConfigError, match="MAILOPS_HOST=0.0.0.0"):
        Settings.from_env({**env, **required})
    Settings.from_env({**env, **required, "MicrosoftAppId": "a", "MicrosoftAppPassword": "p"})


def _healthcheck() -> list[str]:
    [check] = [rest for word, rest in _final_stage() if word == "HEALTHCHECK"]
    command: list[str] = json.loads(check[check.index("CMD") + 3 :].strip())
    return command


def test_the_health_check_needs_nothing_but_python() -> None:
    command = _healthcheck()
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]
    assert "curl" not in " ".join(command) and "wget" not in " ".join(command)
    compile(command[2], "<HEALTHCHECK>", "exec")


async def test_the_health_check_passes_against_the_bot_and_fails_without_it() -> None:
    """The HEALTHCHECK's own command, run against the bot's app on a real port."""
    code = _healthcheck()[2]
    port = free_port()
    env = {"MAILOPS_PORT": str(port), "PATH": "/usr/bin:/bin"}

    def run() -> int:
        return subprocess.run(  # noqa: S603 - our own interpreter and command
            [sys.executable, "-c", code], env=env, capture_output=True, timeout=30, check=False
        ).returncode

    runner = web.AppRunner(create_app(_NoAdapter(), _NoDispatcher()))  # type: ignore[arg-type]
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        assert await asyncio.to_thread(run) == 0
    finally:
        await runner.cleanup()
    assert await asyncio.to_thread(run) != 0


class _NoAdapter:
    """/healthz needs no adapter; the app only sets its error hook."""

    on_turn_error: Any = None
    bot_framework_authentication: Any = None


class _NoDispatcher:
    pass
