"""The developer commands of `mailops`, registered as entry points (group `mailops.commands`)."""

from __future__ import annotations


def sim(argv: list[str]) -> int:
    from sim.cli import main

    return main(argv)


def demo(argv: list[str]) -> int:
    from devtools.demo import main

    return main(argv)


def bench(argv: list[str]) -> int:
    from devtools.bench import main

    return main(argv)
