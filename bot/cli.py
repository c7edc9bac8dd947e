"""The `mailops` command: run the sim, the bot, the demo, benchmarks and the app package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="mailops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sim", help="run the local tenant stand-in", add_help=False)
    sub.add_parser("demo", help="sim + bot (+ Agents Playground)", add_help=False)
    sub.add_parser("bench", help="benchmarks (bulk, turns, monitor)", add_help=False)
    sub.add_parser("serve", help="run the bot (configured from the environment)", add_help=False)
    sub.add_parser("manifest", help="build and validate the Teams app package", add_help=False)
    if not args or args[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "sim":
        from sim.cli import main as sim_main

        return sim_main(rest)
    if command == "demo":
        from bot.demo import main as demo_main

        return demo_main(rest)
    if command == "serve":
        from bot.serve import main as serve_main

        return serve_main(rest)
    if command == "manifest":
        from bot.manifest import main as manifest_main

        return manifest_main(rest)
    if command == "bench":
        from bot.bench import main as bench_main

        return bench_main(rest)
    parser.error(f"unknown command {command!r}")
    return 2  # pragma: no cover  (parser.error exits)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
