"""`mailops bench monitor`: what one monitor cycle costs as the fleet grows, and how long a
change takes to reach the on-call channel.

    mailops bench monitor --sizes 1000 10000 100000 --cycles 5

For each size, an in-process sim is seeded with contoso.yaml plus `size` generated
mailboxes (all approved and healthy, one profile), and a `Monitor` runs against it with an
SQLite store in a temporary folder and a notifier that only records (the Teams side is not
measured). Then:

- the first cycle (a full sweep: every mailbox's status columns, paged 5000 a request);
- after waiting the overlap (5 s), one settling cycle: the seeded rows were one burst of
  changes, which the first poll after the overlap reads once more (in case a row committed
  late behind it); from then on the watermark starts after the burst;
- `--cycles` quiet cycles (nothing changed): requests and seconds per cycle;
- `--cycles` cycles with `--change` (default 1 %) of the mailboxes changed before each:
  half of the picks fail (statuses Failure and an error alert, as Test & Enable writes
  them), the other half of those already failing recover. The changes are made **directly
  in the sim's in-process state** (`SimState.touch`, `sim.testenable.write_alert`), not
  through the Web API, so that the requests counted are the monitor's own;
- detection latency: `run_forever` polls every `--interval` seconds; `--samples` times, at
  a random moment, one more mailbox fails with an error code of its own (so that it is a
  new message, not a card update), and the time from the change to its post is measured.
  The goal is at most the interval plus one second. It is measured twice per interval:
  on a quiet fleet, and under churn: from one interval before the first sample until the
  last post, every interval `--change` of the fleet (other mailboxes than the samples)
  changes in the sim's state as in the cycles above, at moments unrelated to the polls.

It prints one JSON object. Seeding the sim (building the rows) is timed too: at 100,000
mailboxes it is a noticeable part of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from dataverse import DataverseClient, EntraApp, RetryPolicy
from dataverse.errors import DataverseError
from devtools.bench import CountingTransport
from monitor import Audience, CycleReport, Monitor, MonitorConfig, Responder
from sim.fixture import FIXTURES_DIR, Fixture, GeneratedMailboxes
from sim.server import SimThread
from sim.testenable import LEVEL_ERROR, write_alert
from store import CardLocation, ConversationKey, Store

NAME_PREFIX = "mon"
PROFILE = "Microsoft Exchange Online"
FAIL_CODE = 7


@dataclass
class TimingNotifier:
    """Records when each card was posted; waits for a card that mentions a name."""

    posts: list[tuple[float, str]] = field(default_factory=list)
    updates: int = 0
    _count: int = 0
    _event: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(
        self,
        card: dict[str, Any],
        *,
        audience: Audience,
        mentions: Sequence[Responder] = (),
    ) -> CardLocation:
        self._count += 1
        self.posts.append((time.perf_counter(), json.dumps(card)))
        self._event.set()
        return CardLocation(
            ConversationKey("bench", f"19:{audience.value}"), f"activity-{self._count}"
        )

    async def update(self, location: CardLocation, card: dict[str, Any]) -> None:
        self.updates += 1

    async def wait_for(self, text: str, since: int, within: float) -> float:
        """The time the first post after index `since` mentioning `text` was made."""
        deadline = time.perf_counter() + within
        while True:
            for at, card in self.posts[since:]:
                if text in card:
                    return at
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                msg = f"no post about {text} within {within} s"
                raise TimeoutError(msg)
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), timeout=remaining)
            except TimeoutError:
                continue


def bench_fixture(size: int, directory: Path) -> Path:
    """contoso.yaml with `size` generated mailboxes, approved and tested successfully."""
    base = Fixture.load(FIXTURES_DIR / "contoso.yaml")
    generated = GeneratedMailboxes(
        count=size,
        seed=11,
        name_prefix=NAME_PREFIX,
        profile=PROFILE,
        failure_rate=0.0,
        approved_rate=1.0,
    )
    fixture = base.model_copy(update={"generated": generated})
    path = directory / f"monitor-{size}.yaml"
    path.write_text(yaml.safe_dump(fixture.model_dump(mode="json"), sort_keys=False))
    return path


def generated_ids(thread: SimThread) -> list[str]:
    def collect() -> list[str]:
        prefix = f"Generated {NAME_PREFIX}"
        rows = thread.sim.state.tables["mailboxes"].values()
        return sorted(str(r["mailboxid"]) for r in rows if str(r["name"]).startswith(prefix))

    return thread.call(collect)


def _set_statuses(row: dict[str, Any], value: int) -> None:
    for column in ("incomingemailstatus", "outgoingemailstatus", "actstatus", "mailboxstatus"):
        row[column] = value


def mutate(thread: SimThread, ids: Sequence[str], count: int, rng: random.Random) -> int:
    """Change `count` mailboxes in the sim's state: healthy ones fail (with an error alert),
    failing ones recover. Returns how many now fail."""

    def apply() -> int:
        sim = thread.sim
        rows = sim.state.tables["mailboxes"]
        failed = 0
        for key in rng.sample(list(ids), count):
            row = rows[key]
            if row["mailboxstatus"] == 2:
                _set_statuses(row, 1)
            else:
                _set_statuses(row, 2)
                failed += 1
            sim.state.touch(row)
            if row["mailboxstatus"] == 2:
                write_alert(sim, row, LEVEL_ERROR, FAIL_CODE, "The mailbox did not answer.")
        return failed

    return thread.call(apply)


def fail_one(thread: SimThread, key: str, code: int) -> str:
    """Make one mailbox fail with its own error code now; returns its name."""

    def apply() -> str:
        sim = thread.sim
        row = sim.state.tables["mailboxes"][key]
        _set_statuses(row, 2)
        sim.state.touch(row)
        write_alert(sim, row, LEVEL_ERROR, code, f"Bench failure {code}.")
        return str(row["name"])

    return thread.call(apply)


def _summary(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "min": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "max": round(max(values), 4),
    }


async def _cycles(
    monitor: Monitor,
    transport: CountingTransport,
    count: int,
    before: Callable[[], int] | None = None,
) -> dict[str, Any]:
    requests, seconds, changed, opened, resolved = [], [], [], [], []
    for _ in range(count):
        if before is not None:
            before()
        transport.reset()
        report = await monitor.run_cycle()
        assert report.leader
        requests.append(transport.requests)
        seconds.append(report.seconds)
        changed.append(report.changed_mailboxes)
        opened.append(report.opened)
        resolved.append(report.resolved)
    return {
        "requests_per_cycle": requests,
        "seconds": _summary(seconds),
        "changed_mailboxes": changed,
        "opened": opened,
        "resolved": resolved,
    }


async def _churn(
    thread: SimThread, ids: Sequence[str], count: int, every: float, rng: random.Random
) -> None:
    """Change `count` of `ids` every `every` seconds until cancelled (in a worker thread,
    so that the monitor's event loop is not held while the sim's state changes)."""
    while True:
        await asyncio.sleep(every)
        await asyncio.to_thread(mutate, thread, ids, count, rng)


async def _latency(
    thread: SimThread,
    client: DataverseClient,
    store: Store,
    ids: list[str],
    interval: float,
    samples: int,
    rng: random.Random,
    churn: int = 0,
) -> dict[str, Any]:
    notifier = TimingNotifier()
    config = MonitorConfig(
        interval=timedelta(seconds=interval), digest_at=None, approval_pending_after=None
    )
    tag = f"{'churn' if churn else 'quiet'}-{interval}"
    monitor = Monitor("bench", client, store, notifier, config, holder=f"latency-{tag}")
    stop = asyncio.Event()
    ended: list[tuple[float, CycleReport]] = []  # when each cycle ended, and its report
    task = asyncio.create_task(
        monitor.run_forever(stop, on_cycle=lambda r: ended.append((time.perf_counter(), r)))
    )
    churning: asyncio.Task[None] | None = None
    measured: list[tuple[float, float]] = []  # (changed, posted)
    try:
        await monitor_ready(monitor, notifier)
        healthy = thread.call(lambda: _healthy(thread, ids))[:samples]
        if churn:
            others = sorted(set(ids) - set(healthy))
            churn_rng = random.Random(rng.random())
            churning = asyncio.create_task(_churn(thread, others, churn, interval, churn_rng))
            await asyncio.sleep(interval)
        for n in range(samples):
            await asyncio.sleep(rng.uniform(0, interval))
            mark = len(notifier.posts)
            changed_at = time.perf_counter()
            code = 5000 + n + int(interval * 1000) + (500 if churn else 0)
            name = fail_one(thread, healthy[n], code)
            posted_at = await notifier.wait_for(name, mark, within=interval * 4 + 30)
            measured.append((changed_at, posted_at))
    finally:
        if churning is not None:
            churning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await churning
        stop.set()
        await task
    latencies = [posted - changed for changed, posted in measured]
    located = _starts(measured, ended)
    out: dict[str, Any] = {
        "interval_s": interval,
        "samples": len(measured),
        "latency_s": _summary(latencies),
        "within_interval_plus_1s": all(m <= interval + 1 for m in latencies),
        # The latency in two parts: waiting for the poll that read the change (from the
        # change to the start of the cycle that posted it), and that cycle's work up to
        # the post.
        "poll_wait_s": _summary([start - changed for (changed, _), start in located]),
        "post_in_cycle_s": _summary([posted - start for (_, posted), start in located]),
    }
    if churn:
        first = measured[0][0] if measured else 0.0
        cycles = [r for at, r in ended if at >= first and r.leader and not r.sweep]
        out.update(
            mailboxes_changed_per_interval=churn,
            cycles=len(cycles),
            cycle_seconds=_summary([r.seconds for r in cycles]),
            requests_per_cycle=_summary([r.requests for r in cycles]),
            opened_per_cycle=_summary([r.opened for r in cycles]),
            open_incidents_after=len(await store.incidents.open(environment="bench")),
        )
    return out


def _starts(
    measured: Sequence[tuple[float, float]], ended: Sequence[tuple[float, CycleReport]]
) -> list[tuple[tuple[float, float], float]]:
    """Each sample with the start of the cycle during which it was posted."""
    found = []
    for sample in measured:
        posted = sample[1]
        for end, report in ended:
            start = end - report.seconds
            if start <= posted <= end:
                found.append((sample, start))
                break
    return found


def _healthy(thread: SimThread, ids: Sequence[str]) -> list[str]:
    rows = thread.sim.state.tables["mailboxes"]
    return [key for key in ids if rows[key]["mailboxstatus"] == 1]


async def monitor_ready(monitor: Monitor, notifier: TimingNotifier) -> None:
    """Wait until the monitor's first cycle (the sweep) is done."""
    for _ in range(6000):
        if monitor.watcher.indexed:
            return
        await asyncio.sleep(0.01)
    msg = "the monitor did not finish its first cycle"
    raise TimeoutError(msg)


async def bench_size(size: int, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(size)
    with tempfile.TemporaryDirectory(prefix="mailops-bench-monitor-") as tmp:
        directory = Path(tmp)
        fixture_path = bench_fixture(size, directory)
        started = time.perf_counter()
        thread = SimThread(fixture_path, directory / "sim").start()
        seed_seconds = time.perf_counter() - started
        try:
            return await _measure(size, args, thread, directory, seed_seconds, rng)
        finally:
            thread.stop()


async def _measure(
    size: int,
    args: argparse.Namespace,
    thread: SimThread,
    directory: Path,
    seed_seconds: float,
    rng: random.Random,
) -> dict[str, Any]:
    sim = thread.sim
    fixture = sim.fixture
    ids = generated_ids(thread)
    ca = ssl.create_default_context(cafile=str(thread.tls.ca_cert))
    transport = CountingTransport(httpx.AsyncHTTPTransport(verify=ca))
    app = EntraApp(
        authority=f"{sim.origin}/{fixture.tenant_id}",
        client_id=fixture.application.client_id,
        client_credential=fixture.application.client_secret,
        ca_path=thread.tls.ca_cert,
    )
    url = args.db_url or f"sqlite+aiosqlite:///{directory / 'mailops.db'}"
    store = await Store.open(url)
    try:
        async with DataverseClient(
            sim.origin,
            auth=app.dataverse_auth(sim.origin),
            transport=transport,
            retry=RetryPolicy(),
            timeout=300.0,
            page_size=5000,
        ) as client:
            await client.whoami()
            notifier = TimingNotifier()
            config = MonitorConfig(digest_at=None, approval_pending_after=None)
            monitor = Monitor("bench", client, store, notifier, config, holder="bench")
            transport.reset()
            first = await monitor.run_cycle()
            sweep = {
                "requests": transport.requests,
                "seconds": round(first.seconds, 3),
                "mailboxes_indexed": monitor.watcher.indexed,
            }
            # The seeded rows are one burst of changes: the first poll after the overlap
            # reads it once more (rows committed late behind it), then it is settled.
            await asyncio.sleep(config.overlap.total_seconds())
            transport.reset()
            settling = await monitor.run_cycle()
            settle = {"requests": transport.requests, "seconds": round(settling.seconds, 3)}
            quiet = await _cycles(monitor, transport, args.cycles)
            changes = max(1, round(size * args.change))
            busy = await _cycles(
                monitor, transport, args.cycles, lambda: mutate(thread, ids, changes, rng)
            )
            await store.leases.release(monitor.lease_name, monitor.holder)
            intervals = args.intervals if size <= args.latency_max_size else []
            latency = [
                await _latency(thread, client, store, ids, interval, args.samples, rng)
                for interval in intervals
            ]
            churn = [
                await _latency(
                    thread, client, store, ids, interval, args.samples, rng, churn=changes
                )
                for interval in (intervals if args.churn_latency else [])
            ]
    finally:
        await store.close()
        app.close()
    return {
        "mailboxes": size,
        "fleet_rows": len(ids) + len(fixture.people) + len(fixture.queues),
        "seed_seconds": round(seed_seconds, 2),
        "first_cycle_sweep": sweep,
        "settling_cycle": settle,
        "quiet": quiet,
        "changing": {"mailboxes_changed_per_cycle": changes, **busy},
        "latency": latency,
        "latency_under_churn": churn,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailops bench monitor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--change", type=float, default=0.01, help="share changed per cycle")
    parser.add_argument("--intervals", type=float, nargs="+", default=[1.0, 2.0, 5.0])
    parser.add_argument("--samples", type=int, default=5, help="latency samples per interval")
    parser.add_argument(
        "--latency-max-size",
        type=int,
        default=100_000,
        help="measure latency only for fleets up to this size",
    )
    parser.add_argument(
        "--no-churn-latency",
        dest="churn_latency",
        action="store_false",
        help="skip measuring latency while --change of the fleet changes every interval",
    )
    parser.add_argument("--db-url", default=None, help="default: SQLite in a temporary folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.cycles < 1 or args.samples < 0 or not 0 <= args.change <= 1:
        sys.stderr.write("mailops bench monitor: bad --cycles, --samples or --change\n")
        return 2
    if any(s < 1 or s > 200_000 for s in args.sizes):
        sys.stderr.write("mailops bench monitor: sizes must be 1..200000\n")
        return 2
    try:
        results = [asyncio.run(bench_size(size, args)) for size in args.sizes]
    except (DataverseError, httpx.HTTPError, OSError) as exc:
        sys.stderr.write(f"mailops bench monitor: {exc}\n")
        return 1
    sys.stdout.write(json.dumps({"benchmark": "monitor", "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
