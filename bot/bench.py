"""`mailops bench`: benchmarks against an in-process sim.

    mailops bench bulk --mailboxes 5000 --latency-ms 20

`bulk` approves and Test & Enables N pending mailboxes twice, acting as eddie (Exchange
admin + System Administrator) through `CallerObjectId`:

- the bulk path (`dataverse.ops`): one query finds the pending mailboxes (or, with
  `--by-id`, the operations read the given ids), `approve_many` writes the approvals through
  `$batch` (chunked, a few requests in flight, each chunk verified by a read in the same
  batch), and `test_and_enable_many` queues the tests with the rows read back;
- after a sim reset, the one-record-at-a-time way a `Set-CrmRecord` script works: per
  mailbox, sequentially, read the record and write the approval, read it and write the test
  flag (four requests).

It prints one JSON object.

`bound_seconds` is the lower bound that the sim's service protection and latency allow for
the operations the bulk path needed:

    window  = (ceil(K / R) - 1) * W     K operations, R per sliding window of W seconds:
                                        operation R+1 cannot be admitted before the first
                                        one leaves the window, operation 2R+1 before W
                                        later again, …
    latency = ceil(K / (B * C)) * L     every request waits the sim's base latency L first;
                                        at most C requests of at most B operations each
                                        (the batch size limit) are in flight at once
    bound   = window + latency

The execution-time limit (20 minutes per window) is not part of it: the sim's handlers
spend far less than that.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from dataverse import DataverseClient, EntraApp, RetryPolicy
from dataverse.errors import DataverseError, Throttled
from dataverse.models import EmailApproval, Mailbox
from dataverse.ops import (
    BulkOptions,
    MailboxFilter,
    approve_many,
    find_mailboxes,
    test_and_enable_many,
)
from sim.context import Limits
from sim.fixture import FIXTURES_DIR, Fixture, GeneratedMailboxes
from sim.server import SimThread
from sim.webapi.model import service
from sim.webapi.throttle import Ticket

log = logging.getLogger("mailops.bench")

ACTING_AS = "eddie"  # Exchange admin + System Administrator in the demo fixture
NAME_PREFIX = "bench"
DOCUMENTED = Limits()  # Microsoft's documented defaults (reference §6.3)


# ---- counting ---------------------------------------------------------------------------


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the HTTP requests a client sends and the 429 answers it gets."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests = 0
        self.throttled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.requests += 1
        if response.status_code == 429:
            self.throttled += 1
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def reset(self) -> None:
        self.requests = 0
        self.throttled = 0


@dataclass
class OperationCounter:
    """What the sim's service protection accounted: operations admitted (a `$batch` counts
    its parts) and execution time (admission to answer; the sim runs one at a time)."""

    admitted: int = 0
    execution_s: float = 0.0

    def reset(self) -> None:
        self.admitted = 0
        self.execution_s = 0.0


def count_operations(thread: SimThread) -> OperationCounter:
    """Wrap the sim's admission so the bench sees the operation count the sim enforces."""
    counter = OperationCounter()

    def install() -> None:
        protection = service(thread.sim).protection
        admit: Callable[[str], Ticket] = protection.admit
        release: Callable[[Ticket], None] = protection.release

        def counting(user: str) -> Ticket:
            ticket = admit(user)
            counter.admitted += 1
            return ticket

        def timing(ticket: Ticket) -> None:
            if not ticket.released:
                counter.execution_s += max(0.0, time.monotonic() - ticket.started)
            release(ticket)

        protection.admit = counting  # type: ignore[method-assign]
        protection.release = timing  # type: ignore[method-assign]

    thread.call(install)
    return counter


# ---- the lower bound ----------------------------------------------------------------------


def lower_bound(operations: int, limits: Limits, latency_s: float) -> dict[str, float]:
    """The bound of the module docstring, with its two parts."""
    if operations <= 0:
        return {"window_s": 0.0, "latency_s": 0.0, "bound_s": 0.0}
    window = (math.ceil(operations / limits.requests_per_window) - 1) * limits.window_seconds
    per_round = limits.max_batch_parts * limits.concurrent_requests
    latency = math.ceil(operations / per_round) * latency_s
    return {"window_s": window, "latency_s": latency, "bound_s": window + latency}


def sequential_bound(operations: int, limits: Limits, latency_s: float) -> float:
    """A lower bound for one request at a time: each waits L, and the window still binds."""
    if operations <= 0:
        return 0.0
    window = (math.ceil(operations / limits.requests_per_window) - 1) * limits.window_seconds
    return max(operations * latency_s, window + latency_s)


# ---- the sim ------------------------------------------------------------------------------


def bench_fixture(count: int, directory: Path) -> Path:
    """contoso.yaml with `count` generated mailboxes, all pending approval."""
    base = Fixture.load(FIXTURES_DIR / "contoso.yaml")
    generated = GeneratedMailboxes(
        count=count,
        seed=7,
        name_prefix=NAME_PREFIX,
        profile="Microsoft Exchange Online",
        failure_rate=0.0,
        approved_rate=0.0,
    )
    fixture = base.model_copy(update={"generated": generated})
    Fixture.model_validate(fixture.model_dump())  # still a valid fixture
    path = directory / f"bench-{count}.yaml"
    path.write_text(yaml.safe_dump(fixture.model_dump(mode="json"), sort_keys=False))
    return path


def generated_ids(thread: SimThread) -> list[str]:
    def collect() -> list[str]:
        rows = thread.sim.state.tables["mailboxes"].values()
        prefix = f"Generated {NAME_PREFIX}"
        return sorted(str(r["mailboxid"]) for r in rows if str(r["name"]).startswith(prefix))

    return thread.call(collect)


async def configure(admin: httpx.AsyncClient, limits: Limits, latency_ms: int) -> None:
    (
        await admin.post(
            "limits",
            json={
                "requests_per_window": limits.requests_per_window,
                "window_seconds": float(limits.window_seconds),
                "concurrent_requests": limits.concurrent_requests,
            },
        )
    ).raise_for_status()
    (await admin.post("latency", json={"ms": latency_ms})).raise_for_status()


def sim_progress(thread: SimThread, ids: Sequence[str]) -> dict[str, int]:
    """How many of `ids` the sim holds approved, and with a test queued or done."""
    wanted = {i.lower() for i in ids}

    def look() -> dict[str, int]:
        rows = [thread.sim.state.tables["mailboxes"][i] for i in wanted]
        return {
            "approved": sum(1 for r in rows if r["emailrouteraccessapproval"] == 1),
            "tested": sum(
                1
                for r in rows
                if r["testemailconfigurationscheduled"] or r["testmailboxaccesscompletedon"]
            ),
        }

    return thread.call(look)


# ---- the two ways --------------------------------------------------------------------------


async def run_bulk(
    client: DataverseClient,
    ids: Sequence[str],
    acting_for: str,
    options: BulkOptions,
    *,
    by_query: bool,
) -> dict[str, Any]:
    """Approve, then Test & Enable what was approved (with the rows the approval read back).

    `by_query`: find the targets with one query, as the bot does for "approve all pending
    …" (the rows found carry the ETags the writes are conditioned on); otherwise start from
    the ids, which the operations read first.
    """
    targets: Sequence[str | Mailbox] = ids
    if by_query:
        pending = MailboxFilter(
            name=f"Generated {NAME_PREFIX}", approval=EmailApproval.PENDING_APPROVAL
        )
        targets = await find_mailboxes(client, pending, limit=None, acting_for=acting_for)
    approved = await approve_many(client, targets, acting_for=acting_for, options=options)
    tested = await test_and_enable_many(
        client, approved.mailboxes(), acting_for=acting_for, options=options
    )
    items = [*approved, *tested]
    unhandled = sum(1 for i in items if isinstance(i.error, Throttled))
    return {
        "targets": "query" if by_query else "ids",
        "targets_found": len(targets),
        "approve": approved.counts(),
        "test_and_enable": tested.counts(),
        "unhandled_429": unhandled,
        "errors": sorted({type(i.error).__name__ for i in items if i.error is not None}),
    }


async def run_baseline(client: DataverseClient, ids: Sequence[str]) -> int:
    """One record at a time, as `Get-CrmRecord` / `Set-CrmRecord` scripts do; the failures."""
    failures = 0
    for key in ids:
        try:
            row = await client.get_row(
                Mailbox, key, select=["mailboxid", "emailrouteraccessapproval"]
            )
            if row.approval != EmailApproval.APPROVED:
                await client.update_row(Mailbox, key, {"emailrouteraccessapproval": 1})
            await client.get_row(
                Mailbox, key, select=["mailboxid", "testemailconfigurationscheduled"]
            )
            await client.update_row(Mailbox, key, {"testemailconfigurationscheduled": True})
        except DataverseError as exc:
            failures += 1
            log.warning("baseline: mailbox %s failed: %s", key, exc)
    return failures


def _client(
    thread: SimThread,
    app: EntraApp,
    transport: CountingTransport,
    retry: RetryPolicy,
    parallel: int,
) -> DataverseClient:
    origin = thread.sim.origin
    return DataverseClient(
        origin,
        auth=app.dataverse_auth(origin),
        transport=transport,
        retry=retry,
        timeout=120.0,
        max_concurrency=max(parallel, 1),
        page_size=5000,
    )


async def bench_bulk(args: argparse.Namespace) -> dict[str, Any]:
    limits = Limits(
        requests_per_window=args.requests_per_window,
        window_seconds=args.window_s,
        concurrent_requests=args.concurrency_limit,
    )
    latency_s = args.latency_ms / 1000
    with tempfile.TemporaryDirectory(prefix="mailops-bench-") as tmp:
        directory = Path(tmp)
        fixture_path = bench_fixture(args.mailboxes, directory)
        thread = SimThread(fixture_path, directory / "sim").start()
        try:
            return await _measure(args, thread, limits, latency_s)
        finally:
            thread.stop()


async def _measure(
    args: argparse.Namespace, thread: SimThread, limits: Limits, latency_s: float
) -> dict[str, Any]:
    sim = thread.sim
    fixture = sim.fixture
    eddie = next(p.object_id for p in fixture.people if p.name == ACTING_AS)
    ca = ssl.create_default_context(cafile=str(thread.tls.ca_cert))
    counter = count_operations(thread)
    ids = generated_ids(thread)
    options = BulkOptions(chunk_size=args.chunk_size, max_parallel=args.parallel)
    admin = httpx.AsyncClient(base_url=f"{sim.origin}/_sim/", verify=ca)
    app = EntraApp(
        authority=f"{sim.origin}/{fixture.tenant_id}",
        client_id=fixture.application.client_id,
        client_credential=fixture.application.client_secret,
        ca_path=thread.tls.ca_cert,
    )
    try:
        # -- bulk
        await configure(admin, limits, args.latency_ms)
        transport = CountingTransport(httpx.AsyncHTTPTransport(verify=ca))
        bulk_retry = RetryPolicy()  # short 429 waits inside the client; long ones in ops
        async with _client(thread, app, transport, bulk_retry, args.parallel) as client:
            await client.whoami()  # a token and a connection before the clock starts
            transport.reset()
            counter.reset()
            started = time.perf_counter()
            outcome = await run_bulk(client, ids, eddie, options, by_query=not args.by_id)
            bulk_seconds = time.perf_counter() - started
        bulk_requests, bulk_429 = transport.requests, transport.throttled
        bulk_operations, bulk_execution = counter.admitted, counter.execution_s
        in_sim = sim_progress(thread, ids)

        # -- baseline
        (await admin.post("reset")).raise_for_status()
        await configure(admin, limits, args.latency_ms)
        sample = ids if args.baseline_sample is None else ids[: args.baseline_sample]
        patient = RetryPolicy(
            throttle_budget=limits.window_seconds * 4 + 60, max_throttle_retries=1_000_000
        )
        transport = CountingTransport(httpx.AsyncHTTPTransport(verify=ca))
        async with _client(thread, app, transport, patient, 1) as client:
            await client.whoami()
            transport.reset()
            counter.reset()
            started = time.perf_counter()
            baseline_failures = await run_baseline(client.acting_for(eddie), sample)
            measured = time.perf_counter() - started
        baseline_progress = sim_progress(thread, sample)
        base_ops = counter.admitted
        sampled = len(sample) < len(ids)
        scale = len(ids) / len(sample) if sample else 1.0
        baseline_seconds = measured * scale
    finally:
        await admin.aclose()
        app.close()

    bound = lower_bound(bulk_operations, limits, latency_s)
    full_baseline_ops = round(base_ops * scale)
    result: dict[str, Any] = {
        "mailboxes": len(ids),
        "latency_ms": args.latency_ms,
        "bulk_seconds": round(bulk_seconds, 3),
        "baseline_seconds": round(baseline_seconds, 3),
        "speedup": round(baseline_seconds / bulk_seconds, 2) if bulk_seconds else None,
        "requests": bulk_requests,
        "operations": bulk_operations,
        "bound_seconds": round(bound["bound_s"], 3),
        "bulk_to_bound": round(bulk_seconds / bound["bound_s"], 3) if bound["bound_s"] else None,
        "throttled_429": bulk_429,
        "unhandled_429": outcome["unhandled_429"],
        "limits": {
            "requests_per_window": limits.requests_per_window,
            "window_s": limits.window_seconds,
            "concurrency_limit": limits.concurrent_requests,
            "max_batch_operations": limits.max_batch_parts,
            "execution_ms_per_window": limits.execution_ms_per_window,
            "documented": (
                limits.requests_per_window == DOCUMENTED.requests_per_window
                and limits.window_seconds == DOCUMENTED.window_seconds
                and limits.concurrent_requests == DOCUMENTED.concurrent_requests
            ),
        },
        "bound": {
            "operations": bulk_operations,
            "window_part_s": round(bound["window_s"], 3),
            "latency_part_s": round(bound["latency_s"], 3),
            "formula": "(ceil(K/R)-1)*W + ceil(K/(B*C))*L",
        },
        "bulk": {
            "targets": outcome["targets"],
            "targets_found": outcome["targets_found"],
            "chunk_size": options.chunk_size,
            "max_parallel": options.max_parallel,
            "approve": outcome["approve"],
            "test_and_enable": outcome["test_and_enable"],
            "errors": outcome["errors"],
            "sim_execution_seconds": round(bulk_execution, 3),
            "sim_approved": in_sim["approved"],
            "sim_tested": in_sim["tested"],
        },
        "baseline": {
            "sampled": sampled,
            "sample_size": len(sample),
            "measured_seconds": round(measured, 3),
            "requests": transport.requests,
            "operations": base_ops,
            "throttled_429": transport.throttled,
            "failures": baseline_failures,
            "sim_approved": baseline_progress["approved"],
            "sim_tested": baseline_progress["tested"],
            "bound_seconds_full": round(sequential_bound(full_baseline_ops, limits, latency_s), 3),
        },
    }
    if sampled and transport.throttled:
        result["baseline"]["warning"] = (
            "the window throttled the sample: linear scaling is not valid for it"
        )
    return result


# ---- command line ------------------------------------------------------------------------


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            msg = f"must be positive: {text}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailops bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    bulk = sub.add_parser(
        "bulk",
        help="approve + Test & Enable N mailboxes: bulk path vs one record at a time",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bulk.add_argument("--mailboxes", type=_positive(int), default=500)
    bulk.add_argument("--latency-ms", type=int, default=20, help="sim base latency per call")
    bulk.add_argument("--window-s", type=_positive(float), default=DOCUMENTED.window_seconds)
    bulk.add_argument(
        "--requests-per-window", type=_positive(int), default=DOCUMENTED.requests_per_window
    )
    bulk.add_argument(
        "--concurrency-limit", type=_positive(int), default=DOCUMENTED.concurrent_requests
    )
    bulk.add_argument(
        "--baseline-sample",
        type=_positive(int),
        default=None,
        metavar="K",
        help="run the baseline on K mailboxes and scale linearly (only valid when the "
        "window does not bind K mailboxes' operations)",
    )
    bulk.add_argument("--chunk-size", type=_positive(int), default=100)
    bulk.add_argument("--parallel", type=_positive(int), default=4)
    bulk.add_argument(
        "--by-id",
        action="store_true",
        help="start the bulk path from the mailbox ids instead of one query for them",
    )
    bulk.add_argument("-v", "--verbose", action="store_true", help="log throttling to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv)[:1] == ["turns"]:  # bot/bench_turns.py
        from bot.bench_turns import main as turns_main

        return turns_main(list(sys.argv[2:] if argv is None else argv[1:]))
    if list(sys.argv[1:] if argv is None else argv)[:1] == ["monitor"]:  # bot/bench_monitor.py
        from bot.bench_monitor import main as monitor_main

        return monitor_main(list(sys.argv[2:] if argv is None else argv[1:]))
    args = _parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(asctime)s %(name)s %(message)s",
    )
    if args.latency_ms < 0:
        sys.stderr.write("mailops bench: --latency-ms must be >= 0\n")
        return 2
    if args.baseline_sample is not None:
        if args.baseline_sample > args.mailboxes:
            sys.stderr.write("mailops bench: --baseline-sample is larger than --mailboxes\n")
            return 2
        if 4 * args.baseline_sample > args.requests_per_window:
            sys.stderr.write(
                "mailops bench: the window would bind the sample (4 operations per mailbox "
                f"> {args.requests_per_window} per window); choose a smaller sample\n"
            )
            return 2
    try:
        result = asyncio.run(bench_bulk(args))
    except (DataverseError, httpx.HTTPError, OSError) as exc:
        sys.stderr.write(f"mailops bench: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
