"""`mailops bench`: benchmarks against a sim of their own.

    mailops bench bulk --mailboxes 5000 --latency-ms 20

`bulk` approves and Test & Enables N pending mailboxes twice, acting as eddie (Exchange
admin + System Administrator) through `CallerObjectId`:

- the bulk path (`dataverse.ops`): one query finds the pending mailboxes (or, with
  `--by-id`, the operations read the given ids), `approve_many` writes the approvals through
  `$batch` (spread evenly over up to `--parallel` requests in flight, each batch verified by
  a read in the same batch), and `test_and_enable_many` queues the tests with the rows read
  back;
- after a sim reset, the one-record-at-a-time way a `Set-CrmRecord` script works: per
  mailbox, sequentially, read the record and write the approval, read it and write the test
  flag (four requests).

The sim runs in a process of its own, so that it and the client each have a core (and a
GIL), as a real client and Dataverse do. It prints one JSON object.

`bound_seconds` is the lower bound that the sim's modelled service protection and latency
allow for the K operations in the Q requests the bulk path needed (api-limits.md: a `$batch`
counts once against the requests window, each of its operations adds its execution time,
and it holds one concurrency slot; its operations run one after the other, so each takes
the sim's base latency L):

    concurrency       = max(K * L / C, L * M)    at most C requests in flight, each
                                                 operation L of one of them; a request of
                                                 M operations takes M * L by itself
    execution window  = (ceil(K * L / E) - 1) * W   E seconds of execution time per
                                                 sliding window of W seconds: the time of
                                                 operation E/L + 1 cannot be spent before
                                                 the first one has left the window, …
    requests window   = (ceil(Q / R) - 1) * W    R requests per window, likewise
    bound             = max(concurrency, execution window, requests window)

Each term is a floor by itself; which one binds depends on K, L and the limits (with the
documented ones and K = 10,051, L = 20 ms: K * L / C = 3.87 s, the windows 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import ssl
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from dataverse import DataverseClient, EntraApp, RetryPolicy
from dataverse._transport import network_transport
from dataverse.errors import DataverseError, Throttled
from dataverse.models import EmailApproval, Mailbox
from dataverse.ops import (
    BulkOptions,
    MailboxFilter,
    approve_many,
    find_mailboxes,
    test_and_enable_many,
)
from dataverse.ops._bulk import MAX_PARALLEL
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


_BATCH_PART: Final = b"Content-Type: application/http"


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the HTTP requests a client sends, the 429 answers it gets, and the operations
    of the requests the service took (a `$batch` counts its parts)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests = 0
        self.throttled = 0
        self.operations = 0
        self.longest = 0  # operations of the largest request taken

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.requests += 1
        if response.status_code == 429:
            self.throttled += 1
        else:
            operations = _operations(request)
            self.operations += operations
            self.longest = max(self.longest, operations)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def reset(self) -> None:
        self.requests = 0
        self.throttled = 0
        self.operations = 0
        self.longest = 0


def _operations(request: httpx.Request) -> int:
    if not request.url.path.endswith("/$batch"):
        return 1
    try:
        return max(1, request.content.count(_BATCH_PART))
    except httpx.RequestNotRead:  # a streamed body: not what the client sends
        return 1


@dataclass
class OperationCounter:
    """What the sim's service protection accounted: requests admitted (a `$batch` once) and
    execution time (admission to answer: its operations' latencies and processing)."""

    admitted: int = 0
    execution_s: float = 0.0

    def reset(self) -> None:
        self.admitted = 0
        self.execution_s = 0.0


def count_operations(thread: SimThread) -> OperationCounter:
    """Wrap the sim's admission so the bench sees the request count the sim enforces."""
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
                counter.execution_s += max(0.0, protection.now() - ticket.started)
            release(ticket)

        protection.admit = counting  # type: ignore[method-assign]
        protection.release = timing  # type: ignore[method-assign]

    thread.call(install)
    return counter


# ---- the lower bound ----------------------------------------------------------------------


def lower_bound(
    operations: int,
    requests: int,
    limits: Limits,
    latency_s: float,
    longest: int = 1,
) -> dict[str, float]:
    """The bound of the module docstring, with its three terms."""
    if operations <= 0:
        return {"concurrency_s": 0.0, "execution_s": 0.0, "requests_s": 0.0, "bound_s": 0.0}
    window = limits.window_seconds
    work_s = operations * latency_s
    concurrency = max(work_s / limits.concurrent_requests, longest * latency_s)
    execution_s = limits.execution_ms_per_window / 1000
    execution = (max(1, math.ceil(work_s / execution_s)) - 1) * window
    by_requests = (max(1, math.ceil(requests / limits.requests_per_window)) - 1) * window
    return {
        "concurrency_s": concurrency,
        "execution_s": execution,
        "requests_s": by_requests,
        "bound_s": max(concurrency, execution, by_requests),
    }


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
                "execution_ms_per_window": limits.execution_ms_per_window,
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


def _serve_sim(fixture_path: Path, state_dir: Path, conn: Connection) -> None:
    """The child process: run the sim and answer the bench's questions about it."""
    thread = SimThread(fixture_path, state_dir).start()
    try:
        counter = count_operations(thread)
        cpu = time.process_time()
        conn.send((thread.sim.origin, thread.tls.ca_cert, generated_ids(thread)))
        while True:
            command, argument = conn.recv()
            if command == "stop":
                break
            if command == "progress":
                conn.send(sim_progress(thread, argument))
            elif command == "reset_counter":
                counter.reset()
                cpu = time.process_time()
                conn.send(None)
            elif command == "counter":
                conn.send((counter.admitted, counter.execution_s, time.process_time() - cpu))
    finally:
        thread.stop()


@dataclass
class SimProcess:
    """The sim in a process of its own: the client's work and the sim's do not share a GIL."""

    fixture_path: Path
    state_dir: Path
    origin: str = ""
    ca_cert: Path = field(default_factory=Path)
    ids: list[str] = field(default_factory=list)
    _conn: Connection | None = None
    _process: Any = None

    def start(self) -> SimProcess:
        context = multiprocessing.get_context("spawn")  # no copy of this process's loop
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve_sim, args=(self.fixture_path, self.state_dir, theirs), daemon=True
        )
        self._process.start()
        theirs.close()
        self._conn = ours
        try:
            if not ours.poll(120):
                msg = "the sim process did not start within 120 s"
                raise OSError(msg)
            self.origin, self.ca_cert, self.ids = ours.recv()
        except (OSError, EOFError) as exc:
            self.stop()
            msg = f"the sim process failed to start: {exc or type(exc).__name__}"
            raise OSError(msg) from exc
        return self

    def ask(self, command: str, argument: Any = None) -> Any:
        assert self._conn is not None
        self._conn.send((command, argument))
        return self._conn.recv()

    def stop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):  # the child is gone already
                self._conn.send(("stop", None))
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=30)
            if self._process.is_alive():
                self._process.terminate()
            self._process = None


# ---- the two ways --------------------------------------------------------------------------


@dataclass
class _PhaseClock:
    """Wall-clock and client CPU seconds of each step of the bulk path, by name: where the
    time over the bound goes (the steps wait on each other)."""

    phases: dict[str, dict[str, float]]

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.phases[name] = {
                "seconds": round(time.perf_counter() - started, 3),
                "client_cpu_seconds": round(time.process_time() - cpu, 3),
            }


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
    phases: dict[str, dict[str, float]] = {}
    clock = _PhaseClock(phases)
    targets: Sequence[str | Mailbox] = ids
    if by_query:
        pending = MailboxFilter(
            name=f"Generated {NAME_PREFIX}", approval=EmailApproval.PENDING_APPROVAL
        )
        with clock("find"):
            targets = await find_mailboxes(client, pending, limit=None, acting_for=acting_for)
    with clock("approve"):
        approved = await approve_many(client, targets, acting_for=acting_for, options=options)
    with clock("test_and_enable"):
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
        "phases": phases,
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
    origin: str,
    app: EntraApp,
    transport: CountingTransport,
    retry: RetryPolicy,
    parallel: int,
) -> DataverseClient:
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
        execution_ms_per_window=args.execution_ms_per_window,
    )
    latency_s = args.latency_ms / 1000
    with tempfile.TemporaryDirectory(prefix="mailops-bench-") as tmp:
        directory = Path(tmp)
        fixture_path = bench_fixture(args.mailboxes, directory)
        sim = SimProcess(fixture_path, directory / "sim").start()
        try:
            return await _measure(args, sim, Fixture.load(fixture_path), limits, latency_s)
        finally:
            sim.stop()


async def _measure(
    args: argparse.Namespace, sim: SimProcess, fixture: Fixture, limits: Limits, latency_s: float
) -> dict[str, Any]:
    eddie = next(p.object_id for p in fixture.people if p.name == ACTING_AS)
    ca = ssl.create_default_context(cafile=str(sim.ca_cert))
    ids = sim.ids
    options = BulkOptions(chunk_size=args.chunk_size, max_parallel=args.parallel)
    admin = httpx.AsyncClient(base_url=f"{sim.origin}/_sim/", verify=ca)
    app = EntraApp(
        authority=f"{sim.origin}/{fixture.tenant_id}",
        client_id=fixture.application.client_id,
        client_credential=fixture.application.client_secret,
        ca_path=sim.ca_cert,
    )
    try:
        # -- bulk
        await configure(admin, limits, args.latency_ms)
        transport = CountingTransport(
            network_transport(sim.ca_cert, max_connections=args.parallel)
        )
        bulk_retry = RetryPolicy()  # short 429 waits inside the client; long ones in ops
        async with _client(sim.origin, app, transport, bulk_retry, args.parallel) as client:
            await client.whoami()  # a token and a connection before the clock starts
            transport.reset()
            sim.ask("reset_counter")
            started, client_cpu = time.perf_counter(), time.process_time()
            outcome = await run_bulk(client, ids, eddie, options, by_query=not args.by_id)
            bulk_seconds = time.perf_counter() - started
            client_cpu = time.process_time() - client_cpu
        bulk = transport
        bulk_admitted, bulk_execution, sim_cpu = sim.ask("counter")
        in_sim = sim.ask("progress", ids)

        # -- baseline
        (await admin.post("reset")).raise_for_status()
        await configure(admin, limits, args.latency_ms)
        sample = ids if args.baseline_sample is None else ids[: args.baseline_sample]
        patient = RetryPolicy(
            throttle_budget=limits.window_seconds * 4 + 60, max_throttle_retries=1_000_000
        )
        transport = CountingTransport(network_transport(sim.ca_cert, max_connections=1))
        async with _client(sim.origin, app, transport, patient, 1) as client:
            await client.whoami()
            transport.reset()
            sim.ask("reset_counter")
            started = time.perf_counter()
            baseline_failures = await run_baseline(client.acting_for(eddie), sample)
            measured = time.perf_counter() - started
        baseline_progress = sim.ask("progress", sample)
        base_ops = transport.operations
        sampled = len(sample) < len(ids)
        scale = len(ids) / len(sample) if sample else 1.0
        baseline_seconds = measured * scale
    finally:
        await admin.aclose()
        app.close()

    bound = lower_bound(bulk.operations, bulk_admitted, limits, latency_s, bulk.longest)
    full_baseline_ops = round(base_ops * scale)
    result: dict[str, Any] = {
        "mailboxes": len(ids),
        "latency_ms": args.latency_ms,
        "bulk_seconds": round(bulk_seconds, 3),
        "baseline_seconds": round(baseline_seconds, 3),
        "speedup": round(baseline_seconds / bulk_seconds, 2) if bulk_seconds else None,
        "requests": bulk.requests,
        "operations": bulk.operations,
        "bound_seconds": round(bound["bound_s"], 3),
        "bulk_to_bound": round(bulk_seconds / bound["bound_s"], 3) if bound["bound_s"] else None,
        "throttled_429": bulk.throttled,
        "unhandled_429": outcome["unhandled_429"],
        "limits": {
            "requests_per_window": limits.requests_per_window,
            "window_s": limits.window_seconds,
            "concurrency_limit": limits.concurrent_requests,
            "execution_ms_per_window": limits.execution_ms_per_window,
            "max_batch_operations": limits.max_batch_parts,
            "documented": (
                limits.requests_per_window == DOCUMENTED.requests_per_window
                and limits.window_seconds == DOCUMENTED.window_seconds
                and limits.concurrent_requests == DOCUMENTED.concurrent_requests
                and limits.execution_ms_per_window == DOCUMENTED.execution_ms_per_window
            ),
        },
        "bound": {
            "operations": bulk.operations,
            "requests_admitted": bulk_admitted,
            "longest_request_operations": bulk.longest,
            "concurrency_part_s": round(bound["concurrency_s"], 3),
            "execution_window_part_s": round(bound["execution_s"], 3),
            "requests_window_part_s": round(bound["requests_s"], 3),
            "formula": "max(max(K*L/C, M*L), (ceil(K*L/E)-1)*W, (ceil(Q/R)-1)*W)",
        },
        "bulk": {
            "targets": outcome["targets"],
            "targets_found": outcome["targets_found"],
            "chunk_size": options.chunk_size or "spread",
            "max_parallel": options.max_parallel,
            "approve": outcome["approve"],
            "test_and_enable": outcome["test_and_enable"],
            "errors": outcome["errors"],
            "phases": outcome["phases"],
            "sim_execution_seconds": round(bulk_execution, 3),
            "sim_cpu_seconds": round(sim_cpu, 3),
            "client_cpu_seconds": round(client_cpu, 3),
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
        "--execution-ms-per-window",
        type=_positive(int),
        default=DOCUMENTED.execution_ms_per_window,
    )
    bulk.add_argument(
        "--baseline-sample",
        type=_positive(int),
        default=None,
        metavar="K",
        help="run the baseline on K mailboxes and scale linearly (only valid when the "
        "window does not bind K mailboxes' operations)",
    )
    bulk.add_argument(
        "--chunk-size",
        type=_positive(int),
        default=None,
        help="operations per $batch (default: spread evenly over --parallel requests)",
    )
    bulk.add_argument(
        "--parallel",
        type=_positive(int),
        default=MAX_PARALLEL,
        help=f"$batch requests in flight (at most {MAX_PARALLEL})",
    )
    bulk.add_argument(
        "--by-id",
        action="store_true",
        help="start the bulk path from the mailbox ids instead of one query for them",
    )
    bulk.add_argument("-v", "--verbose", action="store_true", help="log throttling to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if list(sys.argv[1:] if argv is None else argv)[:1] == ["turns"]:  # bench_turns.py
        from devtools.bench_turns import main as turns_main

        return turns_main(list(sys.argv[2:] if argv is None else argv[1:]))
    if list(sys.argv[1:] if argv is None else argv)[:1] == ["monitor"]:  # bench_monitor.py
        from devtools.bench_monitor import main as monitor_main

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
