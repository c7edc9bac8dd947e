"""`python -m sim` / `mailops sim`: run the sim in the foreground.

    python -m sim --fixture sim/fixtures/contoso.yaml --port 8765 --state-dir var/sim
    python -m sim --print-schema

It prints where clients find it: the origin (also the Dataverse environment URL and the
Graph host), the authority for msal, the tenant and client ids, and the CA to trust. The
client secret is the fixture's own fake one; it is not printed, `GET /_sim/state` has it.

The sim is a fake tenant whose secrets are in a public file, so it binds loopback only
unless `--allow-remote` says otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

from sim.fixture import FIXTURES_DIR, Fixture, fixture_json_schema
from sim.server import start_sim

log = logging.getLogger("sim")

DEFAULT_FIXTURE = FIXTURES_DIR / "contoso.yaml"
DEFAULT_STATE_DIR = Path("var/sim")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailops sim",
        description="Run the local stand-in for Entra ID, Graph, Dataverse and the Bot Connector.",
    )
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE, help="YAML fixture")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback)")
    parser.add_argument("--port", type=int, default=8765, help="HTTPS port; 0 picks a free one")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where the CA and server certificate are kept (made on first start)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the tenant's secrets are public: be careful)",
    )
    parser.add_argument(
        "--print-schema", action="store_true", help="print the fixture JSON schema and exit"
    )
    return parser


def _describe(fixture: Fixture, origin: str, ca: Path, cert: Path, state_dir: Path) -> str:
    tenant = fixture.tenant_id
    rows = [
        ("origin", origin),
        ("dataverse", f"{origin}/api/data/v9.2/   (token scope {origin}/.default)"),
        ("graph", f"{origin}/v1.0/"),
        ("authority", f"{origin}/{tenant}   (msal: instance_discovery=False)"),
        ("tenant id", tenant),
        ("client id", fixture.application.client_id),
        ("client secret", f"GET {origin}/_sim/state   (key app.client_secret)"),
        ("connector", f"{origin}/_sim/connector/   (service URL for the bot)"),
        ("CA certificate", f"{ca}   (trust this; never turn verification off)"),
        ("server cert", str(cert)),
        ("state dir", str(state_dir)),
        ("admin", f"{origin}/_sim/   (health, state, requests, faults, reset, activities)"),
    ]
    lines = [
        f"MailOps sim for {fixture.tenant_name} ({fixture.environment.deployment.value}, "
        f"version {fixture.environment.version})",
        *(f"  {label + ':':<16}{value}" for label, value in rows),
    ]
    return "\n".join(lines) + "\n"


async def _serve(args: argparse.Namespace, fixture: Fixture) -> int:
    try:
        runner, sim, tls = await start_sim(
            args.fixture, args.state_dir, host=args.host, port=args.port
        )
    except OSError as exc:
        sys.stderr.write(f"mailops sim: cannot listen on {args.host}:{args.port}: {exc}\n")
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sys.stdout.write(
        _describe(fixture, sim.origin, tls.ca_cert, tls.server_cert, args.state_dir.resolve())
    )
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.print_schema:
        sys.stdout.write(fixture_json_schema() + "\n")
        return 0
    if not is_loopback(args.host) and not args.allow_remote:
        sys.stderr.write(
            f"mailops sim: refusing to bind {args.host!r}: the sim is a fake tenant with "
            "published secrets. Use a loopback address, or --allow-remote if you mean it.\n"
        )
        return 2
    if not 0 <= args.port <= 65535:
        sys.stderr.write(f"mailops sim: invalid port {args.port}\n")
        return 2
    try:
        fixture = Fixture.load(args.fixture)
    except OSError as exc:
        sys.stderr.write(f"mailops sim: cannot read fixture {args.fixture}: {exc}\n")
        return 2
    except (yaml.YAMLError, ValidationError) as exc:
        sys.stderr.write(f"mailops sim: invalid fixture {args.fixture}:\n{exc}\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_serve(args, fixture))
    return 0
