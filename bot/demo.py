"""`mailops demo`: the sim, the bot against it, and one Agents Playground per person.

    mailops demo [--fixture PATH] [--no-playground] [--as NAME,NAME]
                 [--sim-port 8765] [--bot-port 3978] [--playground-port 56150]

- the sim serves HTTPS with its own CA, kept in `var/sim/`;
- the bot (in this process) talks to the sim as the fixture's application, without
  inbound authentication, on loopback only; its store is a new SQLite file in `var/`
  (unless MAILOPS_DB_URL names another database);
- the Playground sends every message as its configured current user, so there is one per
  person: the first on `--playground-port`, the next ones on the following ports. Each
  person's Entra object id is the sim's, so the bot's permission checks see that person.

Ctrl-C or SIGTERM stops the Playgrounds, then the bot, then the sim. Port 0 picks a free
port for any of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.config import ConfigError, Settings
from bot.playground import (
    Playground,
    PlaygroundError,
    playground_config,
    start_playground,
    write_config,
)
from bot.serve import run
from sim.context import Sim
from sim.fixture import FIXTURES_DIR, Fixture
from sim.server import start_sim
from sim.tls import TlsFiles

log = logging.getLogger("mailops.demo")

LOOPBACK = "127.0.0.1"
BOT_START_TIMEOUT_S = 30.0
# The bot's own variables that a developer may set for the demo; the sim's coordinates
# and the listening address are the demo's to decide.
_DEMO_DECIDES = {
    "DATAVERSE_URL",
    "MAILOPS_TENANT_ID",
    "MAILOPS_CLIENT_ID",
    "MAILOPS_CLIENT_SECRET",
    "MAILOPS_AUTHORITY_HOST",
    "MAILOPS_GRAPH_URL",
    "MAILOPS_CA_BUNDLE",
    "MAILOPS_HOST",
    "MAILOPS_PORT",
    "MAILOPS_DEPLOYMENT",
}


@dataclass(frozen=True)
class DemoOptions:
    fixture: Path = FIXTURES_DIR / "contoso.yaml"
    var_dir: Path = Path("var")
    sim_port: int = 8765
    bot_port: int = 3978
    playground_port: int = 56150
    playground: bool = True
    people: tuple[str, ...] | None = None  # None: everyone in the fixture


@dataclass
class RunningDemo:
    sim: Sim
    tls: TlsFiles
    settings: Settings
    bot: asyncio.Task[None]
    playgrounds: dict[str, Playground] = field(default_factory=dict)

    @property
    def bot_endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}/api/messages"

    def summary(self) -> str:
        lines = [
            "MailOps demo is running.",
            f"  sim         {self.sim.origin}  (fixture {self.sim.fixture_path.name}; "
            f"its CA: {self.tls.ca_cert})",
            f"  sim state   {self.sim.origin}/_sim/state",
            f"  bot         {self.bot_endpoint}",
        ]
        if self.playgrounds:
            names = {p.name: p.display_name for p in self.sim.fixture.people}
            width = max(len(name) for name in self.playgrounds)
            lines.append("  Agents Playground, one per person (open one in a browser):")
            lines += [
                f"    {name:<{width}}  {playground.url:<26} {names.get(name, '')}"
                for name, playground in self.playgrounds.items()
            ]
            logs = {p.log_path.parent for p in self.playgrounds.values()}
            lines.append(f"  Playground logs in {', '.join(str(d) for d in sorted(logs))}")
        else:
            lines.append(
                "  no Playground: the bot answers whatever loopback service URL an activity names"
            )
        lines.append("Press Ctrl-C to stop.")
        return "\n".join(lines)


def free_port() -> int:
    """A port nobody listens on now (the bot's settings need a number before binding)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def fresh_sqlite(path: Path) -> str:
    """A new SQLite database at `path` (the sim starts from its fixture every time too)."""
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{path.resolve()}"


def bot_settings(
    sim: Sim,
    tls: TlsFiles,
    port: int,
    *,
    db_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The bot's settings against the running sim, plus the developer's other MAILOPS_*
    (MAILOPS_DB_URL among them, which wins over `db_url`)."""
    environ = os.environ if environ is None else environ
    fixture = sim.fixture
    values = {
        key: value
        for key, value in environ.items()
        if key.startswith("MAILOPS_") and key not in _DEMO_DECIDES
    }
    if db_url is not None:
        values.setdefault("MAILOPS_DB_URL", db_url)
    values |= {
        "DATAVERSE_URL": sim.origin,
        "MAILOPS_TENANT_ID": fixture.tenant_id,
        "MAILOPS_CLIENT_ID": fixture.application.client_id,
        "MAILOPS_CLIENT_SECRET": fixture.application.client_secret,
        "MAILOPS_AUTHORITY_HOST": sim.origin,
        "MAILOPS_GRAPH_URL": f"{sim.origin}/v1.0/",
        "MAILOPS_CA_BUNDLE": str(tls.ca_cert),
        "MAILOPS_HOST": LOOPBACK,
        "MAILOPS_PORT": str(port),
        "MAILOPS_DEPLOYMENT": fixture.environment.deployment.value,
    }
    # No MicrosoftAppId: the Playground sends no token, so inbound authentication is off.
    return Settings.from_env(values)


async def _wait_for_bot(settings: Settings, task: asyncio.Task[None]) -> None:
    url = f"http://{settings.host}:{settings.port}/healthz"
    try:
        async with (
            asyncio.timeout(BOT_START_TIMEOUT_S),
            httpx.AsyncClient(timeout=2.0, trust_env=False) as client,
        ):
            while not task.done():
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                await asyncio.sleep(0.05)
    except TimeoutError:
        msg = f"the bot did not answer {url} within {BOT_START_TIMEOUT_S:.0f} s"
        raise RuntimeError(msg) from None
    task.result()  # raises what stopped it (a busy port, say)
    msg = "the bot stopped while starting"
    raise RuntimeError(msg)


async def _start_playgrounds(
    running: RunningDemo, options: DemoOptions, stack: contextlib.AsyncExitStack
) -> None:
    fixture = running.sim.fixture
    people = options.people or tuple(p.name for p in fixture.people)
    work_dir = options.var_dir / "playground"
    configs = {
        name: write_config(work_dir / f"{name}.yml", playground_config(fixture, name))
        for name in people
    }
    base = options.playground_port
    ports = [base + i if base else 0 for i in range(len(people))]
    results = await asyncio.gather(
        *(
            start_playground(
                name,
                configs[name],
                bot_endpoint=running.bot_endpoint,
                port=port,
                log_path=work_dir / f"{name}.log",
                work_dir=work_dir,
            )
            for name, port in zip(people, ports, strict=True)
        ),
        return_exceptions=True,
    )
    for result in results:
        if isinstance(result, Playground):
            running.playgrounds[result.person] = result
            stack.push_async_callback(result.stop)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


@contextlib.asynccontextmanager
async def demo_stack(options: DemoOptions) -> AsyncIterator[RunningDemo]:
    """Sim, bot and Playgrounds up; all stopped, in reverse order, on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        runner, sim, tls = await start_sim(
            options.fixture, options.var_dir / "sim", host=LOOPBACK, port=options.sim_port
        )
        stack.push_async_callback(runner.cleanup)
        settings = bot_settings(
            sim,
            tls,
            options.bot_port or free_port(),
            db_url=fresh_sqlite(options.var_dir / "mailops-demo.db"),
        )
        stop = asyncio.Event()
        bot = asyncio.create_task(run(settings, stop=stop), name="mailops-bot")

        async def stop_bot() -> None:
            stop.set()
            if not bot.done():
                await bot
            elif not bot.cancelled():
                bot.exception()  # ended earlier; whoever saw it end has said why

        stack.push_async_callback(stop_bot)
        await _wait_for_bot(settings, bot)
        running = RunningDemo(sim, tls, settings, bot)
        if options.playground:
            await _start_playgrounds(running, options, stack)
        yield running


def _people(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        msg = "name at least one person"
        raise argparse.ArgumentTypeError(msg)
    return names


async def _serve(options: DemoOptions) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signals() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)

    on_signals()
    async with demo_stack(options) as running:
        on_signals()  # the bot's `run` installed its own on the way up
        sys.stdout.write(running.summary() + "\n")
        sys.stdout.flush()
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([stopped, running.bot], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if running.bot.done():
            running.bot.result()  # raises what ended it
            log.error("the bot stopped on its own")
        log.info("stopping")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mailops demo",
        description="The sim, the bot and the Microsoft 365 Agents Playground, together.",
    )
    parser.add_argument("--fixture", type=Path, default=DemoOptions.fixture)
    parser.add_argument(
        "--var-dir", type=Path, default=DemoOptions.var_dir, help="state and logs (var/)"
    )
    parser.add_argument("--sim-port", type=int, default=DemoOptions.sim_port)
    parser.add_argument("--bot-port", type=int, default=DemoOptions.bot_port)
    parser.add_argument(
        "--playground-port",
        type=int,
        default=DemoOptions.playground_port,
        help="the first person's Playground; the next ones on the following ports",
    )
    parser.add_argument("--no-playground", action="store_true", help="sim and bot only")
    parser.add_argument(
        "--as",
        dest="people",
        type=_people,
        default=None,
        metavar="NAME,NAME",
        help="the people to start a Playground for (default: everyone in the fixture)",
    )
    args = parser.parse_args(argv)
    try:
        people = [p.name for p in Fixture.load(args.fixture).people]
    except (OSError, ValueError) as exc:
        parser.error(f"--fixture {args.fixture}: {exc}")
    unknown = [name for name in args.people or () if name not in people]
    if unknown:
        parser.error(f"--as: no {', '.join(unknown)} in the fixture (people: {', '.join(people)})")
    options = DemoOptions(
        fixture=args.fixture,
        var_dir=args.var_dir,
        sim_port=args.sim_port,
        bot_port=args.bot_port,
        playground_port=args.playground_port,
        playground=not args.no_playground,
        people=args.people,
    )
    level = os.environ.get("MAILOPS_LOG_LEVEL", "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        asyncio.run(_serve(options))
    except KeyboardInterrupt:  # Ctrl-C before the handlers were in place
        return 130
    except (ConfigError, PlaygroundError, OSError, RuntimeError) as exc:
        sys.stderr.write(f"mailops demo: {exc}\n")
        return 1
    return 0
