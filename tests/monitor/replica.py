"""One bot replica's monitor loop, as a process of its own (for the kill -9 test).

    python -m tests.monitor.replica --origin URL --ca PATH --tenant T --client-id C
        --secret S --db URL [--schema S] --holder NAME --posts FILE --reports FILE

It runs `Monitor.run_forever` against the sim and the shared database. Teams is a file:
every post is a JSON line in `--posts` (appended, flushed and synced, so a process killed
right after a post still leaves its line); every cycle report a line in `--reports`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from dataverse import DataverseClient, EntraApp
from monitor import Audience, CycleReport, Monitor, MonitorConfig, Responder
from store import CardLocation, ConversationKey, Store
from tests.monitor.kit import ENV, ON_CALL_LIST
from tests.simharness import FAST_RETRY


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


class FileNotifier:
    """Teams as a file of JSON lines."""

    def __init__(self, path: Path, holder: str) -> None:
        self._path = path
        self._holder = holder
        self._count = 0

    async def post(
        self, card: dict[str, Any], *, audience: Audience, mentions: Sequence[Responder] = ()
    ) -> CardLocation:
        self._count += 1
        activity = f"{self._holder}-{self._count}"
        _append(
            self._path,
            {
                "holder": self._holder,
                "activity": activity,
                "audience": audience.value,
                "title": card.get("fallbackText"),
                "at": time.time(),
            },
        )
        return CardLocation(ConversationKey("tenant", f"19:{audience.value}"), activity)

    async def update(self, location: CardLocation, card: dict[str, Any]) -> None:
        return None


async def run(args: argparse.Namespace) -> None:
    app = EntraApp(
        authority=f"{args.origin}/{args.tenant}",
        client_id=args.client_id,
        client_credential=args.secret,
        ca_path=Path(args.ca),
    )
    store = await Store.open(args.db, schema=args.schema)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reports = Path(args.reports)

    def record(report: CycleReport) -> None:
        _append(reports, {"holder": args.holder, "at": time.time(), **asdict(report)})

    try:
        async with DataverseClient(
            args.origin,
            auth=app.dataverse_auth(args.origin),
            ca_path=Path(args.ca),
            retry=FAST_RETRY,
            timeout=10.0,
        ) as client:
            config = MonitorConfig(
                interval=timedelta(seconds=args.interval),
                lease_ttl=timedelta(seconds=args.ttl),
                digest_at=None,
                approval_pending_after=None,
            )
            monitor = Monitor(
                ENV,
                client,
                store,
                FileNotifier(Path(args.posts), args.holder),
                config,
                schedule=ON_CALL_LIST,
                holder=args.holder,
            )
            await monitor.run_forever(stop, on_cycle=record)
    finally:
        await store.close()
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("origin", "ca", "tenant", "client-id", "secret", "db", "holder", "posts"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--reports", required=True)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--ttl", type=float, default=1.5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
