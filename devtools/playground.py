"""The Microsoft 365 Agents Playground for the demo: its configuration and its process.

The Playground is the npm package `@microsoft/m365agentsplayground`, installed by `make`
into `node_modules/` and never fetched at run time. Facts of its version 0.2.28 that this
module relies on (read from its bundle; see reference/teams.md §5.1):

- the configuration's `users` must hold exactly five people besides `currentUser`;
- every message typed into its chat comes from `currentUser` (its server fixes "me" at
  start, and the UI has no way to switch), and carries the locale `en-US`. So the demo runs
  one Playground per person, each with that person as `currentUser` and that person's Entra
  object id as `aadObjectId`, which is what the bot's permission checks look up;
- it listens on every interface and has no option for the host: a script loaded before it
  (`node --require`) keeps it on loopback, and ends it when its parent goes away;
- `-p 0` (or a busy port) makes it pick a free port, which it prints as `Listening on N` on
  its standard output; everything else it says goes to its log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from sim.fixture import Fixture, PersonSpec

log = logging.getLogger("mailops.playground")

CONFIG_VERSION = "0.1.1"  # the newest the 0.2.28 schema accepts
OTHER_USERS = 5  # the schema's `users`: minItems = maxItems = 5
BOT_NAME = "MailOps"
START_TIMEOUT_S = 30.0
_LISTENING = re.compile(rb"Listening on (\d+)")

# Variables the Playground reads that would change what the demo configures explicitly,
# or make it sign requests against login.microsoftonline.com.
_FOREIGN_VARIABLES = (
    "BOT_ENDPOINT",
    "DEFAULT_CHANNEL_ID",
    "SEND_INSTALLATION_ACTIVITY",
    "AUTH_CLIENT_ID",
    "AUTH_CLIENT_SECRET",
    "AUTH_TENANT_ID",
)
_FOREIGN_PREFIXES = ("M365_AGENTS_PLAYGROUND_", "TEAMSAPPTESTER_", "TEAMS_APP_TEST_TOOL_")

# Loaded before the Playground with `node --require`.
LOOPBACK_SHIM = """\
// Written by devtools/playground.py; loaded before the Agents Playground with `node --require`.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
// The Playground has no host option and would listen on every interface: keep it on loopback.
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && (args.length === 1 || typeof args[1] === 'function')) {
    args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
// End with the process that started us: it holds our standard input open while it lives.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
"""


class PlaygroundError(RuntimeError):
    """The Playground is missing, misconfigured or did not start."""


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def playground_binary(root: Path | None = None) -> Path:
    """`node_modules/.bin/agentsplayground` of the checkout (installed by `npm ci`)."""
    return (root or repo_root()) / "node_modules" / ".bin" / "agentsplayground"


# ---- configuration ---------------------------------------------------------------------


def _user(person: PersonSpec, domain: str) -> dict[str, str]:
    upn = person.upn or f"{person.name}@{domain}"
    given, _, surname = person.display_name.partition(" ")
    return {
        "id": f"29:{person.name}",
        "name": person.display_name,
        "userPrincipleName": upn,  # sic: the Playground's spelling
        "aadObjectId": person.object_id,
        "givenName": given,
        "surname": surname,
        "email": upn,
    }


def _guest(number: int) -> dict[str, str]:
    """A filler for fixtures with fewer than six people; unknown to the sim."""
    address = f"guest{number}@guests.invalid"
    return {
        "id": f"29:guest-{number}",
        "name": f"Guest {number}",
        "userPrincipleName": address,
        "aadObjectId": f"00000000-0000-4000-8000-{number:012d}",
        "givenName": "Guest",
        "surname": str(number),
        "email": address,
    }


def playground_config(fixture: Fixture, person: str) -> dict[str, Any]:
    """The Playground configuration in which `person` of the fixture is the current user.

    The five other users are the fixture's next people (members of the group chat and the
    team). Conversation ids carry the person's name: each Playground is a world of its own,
    and the bot must not mistake one's chat for another's.
    """
    people = {p.name: p for p in fixture.people}
    if person not in people:
        known = ", ".join(people) or "none"
        msg = f"no person {person!r} in the fixture (people: {known})"
        raise PlaygroundError(msg)
    others = [p for p in fixture.people if p.name != person][:OTHER_USERS]
    users = [_user(p, fixture.domain) for p in others]
    users += [_guest(n) for n in range(1, OTHER_USERS - len(users) + 1)]
    team_group = uuid.uuid5(uuid.NAMESPACE_URL, f"mailops-demo:{fixture.tenant_id}:team")
    return {
        "version": CONFIG_VERSION,
        "tenantId": fixture.tenant_id,
        "bot": {"id": f"28:{fixture.application.client_id}", "name": BOT_NAME},
        "currentUser": _user(people[person], fixture.domain),
        "users": users,
        "personalChat": {"id": f"a:mailops-personal-{person}"},
        "groupChat": {"id": f"19:mailops-group-{person}@thread.v2", "name": "Mailbox admins"},
        "team": {
            "id": f"19:mailops-general-{person}@thread.tacv2",
            "name": f"{fixture.tenant_name} IT",
            "aadGroupId": str(team_group),
            "channels": [{"id": f"19:mailops-oncall-{person}@thread.tacv2", "name": "On-call"}],
        },
    }


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by `mailops demo` (devtools/playground.py); rewritten on every start.\n"
    text += yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---- the process -----------------------------------------------------------------------


@dataclass
class Playground:
    """One running Playground, for one person."""

    person: str
    port: int
    config_path: Path
    log_path: Path
    process: asyncio.subprocess.Process = field(repr=False)
    _drain: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        return self.process.pid

    async def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it lingers `grace_s` seconds; idempotent."""
        process = self.process
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), grace_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if process.stdin is not None:
            process.stdin.close()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
            self._drain = None


def _environment(config_path: Path, log_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _FOREIGN_VARIABLES and not key.startswith(_FOREIGN_PREFIXES)
    }
    env["TEAMSAPPTESTER_BROWSER"] = "none"
    env["M365_AGENTS_PLAYGROUND_CONFIG_PATH"] = str(config_path)
    env["M365_AGENTS_PLAYGROUND_LOGFILE"] = str(log_path)
    return env


def _log_tail(log_path: Path, lines: int = 8) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    useful = [line for line in text.splitlines() if not line.startswith("debug Telemetry")]
    return "\n".join(useful[-lines:]) or "(empty log)"


async def _read_port(process: asyncio.subprocess.Process) -> int | None:
    assert process.stdout is not None
    while line := await process.stdout.readline():
        match = _LISTENING.search(line)
        if match:
            return int(match.group(1))
    return None


async def _drain(process: asyncio.subprocess.Process, person: str) -> None:
    """Keep reading its standard output so that the pipe never fills."""
    assert process.stdout is not None
    while line := await process.stdout.readline():
        log.debug("playground %s: %s", person, line.decode(errors="replace").rstrip())


async def _answers(playground: Playground) -> bool:
    """Poll its ping endpoint until it answers (True) or the process ends (False)."""
    url = f"http://127.0.0.1:{playground.port}/_debug/ping"
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
        while playground.process.returncode is None:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return True
            await asyncio.sleep(0.05)
    return False


async def _until_ready(playground: Playground) -> bool:
    """Learn its port from its output, then wait until it answers there."""
    process = playground.process
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(START_TIMEOUT_S):
            bound = await _read_port(process)
            if bound is None:
                return False
            playground.port = bound
            playground._drain = asyncio.create_task(_drain(process, playground.person))
            return await _answers(playground)
    return False


def _prepare_files(work_dir: Path, log_path: Path) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.unlink(missing_ok=True)
    shim = work_dir / "loopback.cjs"
    shim.write_text(LOOPBACK_SHIM, encoding="utf-8")
    return shim


async def start_playground(
    person: str,
    config_path: Path,
    *,
    bot_endpoint: str,
    port: int,
    log_path: Path,
    work_dir: Path,
    binary: Path | None = None,
) -> Playground:
    """Start one Playground and return once it answers; `port=0` picks a free one."""
    # It runs in `work_dir`: every path it is given must hold from there.
    config_path, log_path, work_dir = (p.resolve() for p in (config_path, log_path, work_dir))
    binary = (binary or playground_binary()).resolve()
    if not binary.exists():
        msg = f"the Agents Playground is not installed ({binary} is missing): run `make demo`"
        raise PlaygroundError(msg)
    node = shutil.which("node")
    if node is None:
        msg = "Node.js (`node`) is not on PATH; the Agents Playground needs it"
        raise PlaygroundError(msg)
    shim = _prepare_files(work_dir, log_path)
    args = [
        *("--require", str(shim), str(binary)),
        *("-e", bot_endpoint, "-c", "msteams", "-p", str(port), "--disable-telemetry"),
    ]
    with log_path.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            node,
            *args,
            cwd=work_dir,
            env=_environment(config_path, log_path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops it in order
        )
    playground = Playground(person, 0, config_path, log_path, process)
    try:
        ready = await _until_ready(playground)
    except BaseException:  # cancelled while starting: leave nothing behind
        await playground.stop()
        raise
    if not ready:
        await playground.stop()
        msg = (
            f"the Agents Playground for {person} did not start; "
            f"its log ({log_path}) says:\n{_log_tail(log_path)}"
        )
        raise PlaygroundError(msg)
    if port and playground.port != port:
        log.warning(
            "port %d was busy: the Playground for %s is on %d", port, person, playground.port
        )
    return playground
