"""`mailops demo`: the sim, and (as they land) the bot and the Agents Playground, together."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

from sim.fixture import FIXTURES_DIR
from sim.server import start_sim

log = logging.getLogger("mailops.demo")


async def _run(fixture: Path, state_dir: Path, port: int) -> None:
    runner, sim, tls = await start_sim(fixture, state_dir, port=port)
    log.info("sim on %s (fixture %s); trust its CA at %s", sim.origin, fixture, tls.ca_cert)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailops demo")
    parser.add_argument("--fixture", type=Path, default=FIXTURES_DIR / "contoso.yaml")
    parser.add_argument("--state-dir", type=Path, default=Path("var/sim"))
    parser.add_argument("--sim-port", type=int, default=8765)
    parser.add_argument("--no-playground", action="store_true", help="bot and sim only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args.fixture, args.state_dir, args.sim_port))
    return 0
