"""The `mailops` command: run the bot and build its app package; in a repository checkout,
also the sim, the demo and the benchmarks.

The developer commands live in `devtools/`, which the product does not ship (no wheel or
image holds it or the sim). They reach this command as entry points of the group
`mailops.commands` (pyproject.toml), so that nothing in `bot/` imports `devtools` or `sim`:
where the developer tools are not importable, asking for one says so instead of failing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Final

COMMAND_GROUP: Final = "mailops.commands"
DEVELOPER_COMMANDS: Final = {
    "sim": "run the local tenant stand-in (developer tool)",
    "demo": "sim + bot (+ Agents Playground) (developer tool)",
    "bench": "benchmarks: bulk, turns, monitor (developer tool)",
}


def _developer_command(name: str) -> Callable[[list[str]], int] | None:
    """The developer command `name`, or None where `devtools` is not importable."""
    for point in entry_points(group=COMMAND_GROUP, name=name):
        try:
            command: Callable[[list[str]], int] = point.load()
        except ImportError:
            return None
        return command
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="mailops", description=__doc__.partition("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the bot (configured from the environment)", add_help=False)
    sub.add_parser("manifest", help="build and validate the Teams app package", add_help=False)
    for name, about in DEVELOPER_COMMANDS.items():
        sub.add_parser(name, help=about, add_help=False)
    if not args or args[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        from bot.serve import main as serve_main

        return serve_main(rest)
    if command == "manifest":
        from bot.manifest import main as manifest_main

        return manifest_main(rest)
    if command in DEVELOPER_COMMANDS:
        developer_command = _developer_command(command)
        if developer_command is None:
            print(  # noqa: T201 - the CLI's own answer
                f"mailops {command} is a developer tool: run it from a checkout of the "
                "repository after `make demo` or `make test` (the product does not ship it).",
                file=sys.stderr,
            )
            return 2
        return developer_command(rest)
    parser.error(f"unknown command {command!r}")
    return 2  # pragma: no cover  (parser.error exits)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
