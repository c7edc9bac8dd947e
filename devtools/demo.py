"""`mailops demo`: the sim, the bot against it, and one Agents Playground per person.

    mailops demo [--fixture PATH] [--no-playground] [--as NAME,NAME]
                 [--sim-port 8765] [--bot-port 3978] [--playground-port 56150]
                 [--onprem-fixture PATH | --no-onprem] [--onprem-sim-port PORT]

- the sim serves HTTPS with its own CA, kept in `var/sim/`;
- two environments: "prod" (the fixture, contoso.yaml) and "onprem" (a second sim on the
  next port, onprem.yaml: Customer Engagement on-premises). The on-premises fixture is
  another tenant with its own application, so its environment entry names its own tenant,
  application and token authority (that sim's); both sims share the CA in `var/sim/`.
  `… in onprem` selects it; prod is the default;
- the bot (in this process) talks to the sim as the fixture's application, without
  inbound authentication, on loopback only; its store is a new SQLite file in `var/`
  (unless MAILOPS_DB_URL names another database);
- the mailbox monitor runs every MAILOPS_MONITOR_INTERVAL_S seconds (default 60); until
  someone says `set on-call channel here`, the first demo person's personal chat (the first
  Playground, once it has talked to the bot) is made the on-call channel, so that failures
  (e.g. `test mailbox bob`) show up as incident cards there;
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
import json
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
from bot.serve import run
from devtools.playground import (
    Playground,
    PlaygroundError,
    playground_config,
    start_playground,
    write_config,
)
from sim.context import Sim
from sim.fixture import FIXTURES_DIR, Fixture
from sim.server import start_sim
from sim.tls import TlsFiles
from store import Person, Store, StoreError

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
    "MAILOPS_ENVIRONMENTS",
}
ONPREM_FIXTURE = FIXTURES_DIR / "onprem.yaml"
ONPREM_ENVIRONMENT = "onprem"


@dataclass(frozen=True)
class DemoOptions:
    fixture: Path = FIXTURES_DIR / "contoso.yaml"
    var_dir: Path = Path("var")
    sim_port: int = 8765
    bot_port: int = 3978
    playground_port: int = 56150
    playground: bool = True
    people: tuple[str, ...] | None = None  # None: everyone in the fixture
    # The second environment ("onprem"); None: the demo has one environment. Its sim's port
    # defaults to the next after sim_port (a free one when sim_port is 0).
    onprem_fixture: Path | None = ONPREM_FIXTURE
    onprem_sim_port: int | None = None

    @property
    def second_sim_port(self) -> int:
        if self.onprem_sim_port is not None:
            return self.onprem_sim_port
        return self.sim_port + 1 if self.sim_port else 0


@dataclass
class RunningDemo:
    sim: Sim
    tls: TlsFiles
    settings: Settings
    bot: asyncio.Task[None]
    playgrounds: dict[str, Playground] = field(default_factory=dict)
    # The other environments' sims, by environment name.
    other_sims: dict[str, Sim] = field(default_factory=dict)

    @property
    def bot_endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}/api/messages"

    def fixtures(self) -> list[Fixture]:
        """Every environment's fixture, the default environment's first."""
        return [self.sim.fixture, *(other.fixture for other in self.other_sims.values())]

    def summary(self) -> str:
        lines = [
            "MailOps demo is running.",
            f"  sim         {self.sim.origin}  (fixture {self.sim.fixture_path.name}; "
            f"its CA: {self.tls.ca_cert})",
            f"  sim state   {self.sim.origin}/_sim/state",
        ]
        for name, other in self.other_sims.items():
            lines.append(
                f"  sim {name:<7} {other.origin}  (fixture {other.fixture_path.name}; "
                f"`… in {name}`)"
            )
        lines += [
            f"  bot         {self.bot_endpoint}",
        ]
        if self.playgrounds:
            names = {p.name: p.display_name for f in self.fixtures() for p in f.people}
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
    other_sims: Mapping[str, Sim] | None = None,
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
    if other_sims:
        primary = values.get("MAILOPS_ENVIRONMENT_NAME", "prod")
        values["MAILOPS_ENVIRONMENTS"] = environments_json(sim, primary, other_sims)
        # The other fixtures' people write from their own tenants.
        tenants = [fixture.tenant_id, *(other.fixture.tenant_id for other in other_sims.values())]
        values.setdefault("MAILOPS_ALLOWED_TENANTS", ",".join(dict.fromkeys(tenants)))
    # No MicrosoftAppId: the Playground sends no token, so inbound authentication is off.
    return Settings.from_env(values)


def environments_json(primary: Sim, primary_name: str, others: Mapping[str, Sim]) -> str:
    """MAILOPS_ENVIRONMENTS for the demo: the primary sim as the default environment (its
    identity is the top-level MAILOPS_*), and each other sim with its own tenant, application
    and token authority (each sim's fixture is a tenant of its own)."""
    entries: list[dict[str, object]] = [
        {
            "name": primary_name,
            "url": primary.origin,
            "deployment": primary.fixture.environment.deployment.value,
            "default": True,
        }
    ]
    for name, other in others.items():
        fixture = other.fixture
        entries.append(
            {
                "name": name,
                "url": other.origin,
                "deployment": fixture.environment.deployment.value,
                "tenant_id": fixture.tenant_id,
                "client_id": fixture.application.client_id,
                "client_secret": fixture.application.client_secret,
                "authority_host": other.origin,
                "graph_url": f"{other.origin}/v1.0/",
            }
        )
    return json.dumps(entries)


async def _start_other_sims(
    options: DemoOptions, stack: contextlib.AsyncExitStack
) -> dict[str, Sim]:
    """The second environment's sim, sharing the first one's CA (same state directory)."""
    if options.onprem_fixture is None:
        return {}
    runner, sim, _ = await start_sim(
        options.onprem_fixture,
        options.var_dir / "sim",
        host=LOOPBACK,
        port=options.second_sim_port,
    )
    stack.push_async_callback(runner.cleanup)
    return {ONPREM_ENVIRONMENT: sim}


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
    # Everyone of every environment's fixture (an on-premises person's Playground is in
    # that person's tenant); the first fixture that knows a name is that person's.
    fixture_of: dict[str, Fixture] = {}
    for known in running.fixtures():
        for person in known.people:
            fixture_of.setdefault(person.name, known)
    people = options.people or tuple(fixture_of)
    work_dir = options.var_dir / "playground"
    configs = {
        name: write_config(
            work_dir / f"{name}.yml",
            playground_config(fixture_of.get(name, running.sim.fixture), name),
        )
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


ADOPT_EVERY_S = 2.0


async def adopt_on_call_chat(store: Store, object_id: str) -> bool:
    """Make `object_id`'s personal chat the on-call channel, unless one is set already or the
    person has not talked to the bot yet. True once there is an on-call channel."""
    if await store.conversations.find_on_call() is not None:
        return True
    chat = await store.conversations.find_personal(object_id)
    if chat is None:
        return False
    await store.conversations.set_on_call(chat.key, by=Person("mailops", "MailOps demo"))
    log.info("demo: the personal chat of %s is the on-call channel", object_id)
    return True


async def _adopt_loop(settings: Settings, object_id: str) -> None:
    """`adopt_on_call_chat` every few seconds until it is done (the demo's on-call channel)."""
    store = await Store.open(settings.db_url)
    try:
        while True:
            try:
                if await adopt_on_call_chat(store, object_id):
                    return
            except StoreError as exc:  # the demo goes on without it
                log.warning("demo: could not set the on-call channel: %s", exc)
            await asyncio.sleep(ADOPT_EVERY_S)
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def demo_stack(options: DemoOptions) -> AsyncIterator[RunningDemo]:
    """Sim, bot and Playgrounds up; all stopped, in reverse order, on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        runner, sim, tls = await start_sim(
            options.fixture, options.var_dir / "sim", host=LOOPBACK, port=options.sim_port
        )
        stack.push_async_callback(runner.cleanup)
        other_sims = await _start_other_sims(options, stack)
        settings = bot_settings(
            sim,
            tls,
            options.bot_port or free_port(),
            db_url=fresh_sqlite(options.var_dir / "mailops-demo.db"),
            other_sims=other_sims,
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
        first = (options.people or tuple(p.name for p in sim.fixture.people))[:1]
        people = {p.name: p for p in sim.fixture.people}
        if first and first[0] in people and settings.monitor_enabled:
            adopt = asyncio.create_task(
                _adopt_loop(settings, people[first[0]].object_id), name="demo-on-call"
            )
            stack.push_async_callback(_cancel, adopt)
        running = RunningDemo(sim, tls, settings, bot, other_sims=other_sims)
        if options.playground:
            await _start_playgrounds(running, options, stack)
        yield running


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _fixture_people(parser: argparse.ArgumentParser, option: str, path: Path) -> list[str]:
    try:
        return [p.name for p in Fixture.load(path).people]
    except (OSError, ValueError) as exc:
        parser.error(f"{option} {path}: {exc}")


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
        "--onprem-fixture",
        type=Path,
        default=ONPREM_FIXTURE,
        help="the second environment, 'onprem' (default: onprem.yaml)",
    )
    parser.add_argument("--no-onprem", action="store_true", help="one environment only")
    parser.add_argument(
        "--onprem-sim-port",
        type=int,
        default=None,
        help="the second sim's port (default: the one after --sim-port)",
    )
    parser.add_argument(
        "--as",
        dest="people",
        type=_people,
        default=None,
        metavar="NAME,NAME",
        help="the people to start a Playground for (default: everyone in the fixture)",
    )
    args = parser.parse_args(argv)
    people = _fixture_people(parser, "--fixture", args.fixture)
    if not args.no_onprem:
        people += _fixture_people(parser, "--onprem-fixture", args.onprem_fixture)
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
        onprem_fixture=None if args.no_onprem else args.onprem_fixture,
        onprem_sim_port=args.onprem_sim_port,
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
