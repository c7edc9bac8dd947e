"""The bulk engine under every mailbox operation: targets, batched reads, batched writes.

- Targets are mailbox ids (text or UUID) or `Mailbox` rows already read (their ETag is
  then the precondition of the write, e.g. a preview the person confirmed). A malformed id
  or a repeated one is an item result, never an exception.
- Rows are read many at a time: `mailboxid eq A or mailboxid eq B …` queries, several per
  `$batch` (one operation per query, not per row: service protection counts operations).
  Ids a query did not return are read one by one, so a missing row answers 404 and an
  unreadable one 403, as Dataverse says it.
- Writes go through `$batch` with continue-on-error, at most `max_parallel` requests in
  flight. A `$batch` counts once against the number-of-requests limit, but each of its
  operations still adds its execution time, the operations run one after the other, and the
  batch holds one of the user's 52 concurrent slots (reference §6.3, api-limits.md). So the
  time of a run is set by its longest batch, and the operations are spread evenly over as
  many batches as may run at once (`spread`): N operations with P slots take ceil(N / P)
  operations' time per round, in ceil(N / (1000 P)) rounds, rather than a fixed size's
  N / size batches queuing for P slots. `BulkOptions.chunk_size` fixes the size instead.
  Every write carries `If-Match` with the row's ETag, so a
  repeat can never apply twice: it answers 412, and a 412 is settled by reading the row again
  and comparing it with what was asked for.
- A 429 means the request was refused before it ran: the refused operations wait the
  `Retry-After` and go again, within `BulkOptions.throttle_budget`. Other failures of a
  whole request are repeated only for reads and ETag-guarded writes, and only once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Generic, TypeAlias, TypeVar

from pydantic import ValidationError

from dataverse.batch import BatchRequest, BatchResult
from dataverse.client import DataverseClient
from dataverse.errors import (
    DataverseError,
    DataverseRequestError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Throttled,
    UnexpectedResponse,
)
from dataverse.models import LOOKUP_LOGICAL_NAME, Mailbox
from dataverse.odata import Query, col, encode_params, identifier, parse_guid
from dataverse.ops.errors import NotApplied, refine
from dataverse.ops.results import BulkResult, ItemResult, Outcome

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

MailboxTarget: TypeAlias = uuid.UUID | str | Mailbox
Caller: TypeAlias = str | uuid.UUID | None

# Mailbox reads ask which table the polymorphic regarding lookup points to (user or queue).
_MAILBOX_PREFER: Final = {"Prefer": f'odata.include-annotations="{LOOKUP_LOGICAL_NAME}"'}
_BIND: Final = re.compile(r"^/?([A-Za-z_]+)\(([0-9a-fA-F-]{36})\)$")
# Dataverse's documented concurrency limit per user (reference §6.3): the 53rd request in
# flight is refused at once. Two slots stay free for what the rest of the bot sends as the
# same application user while a bulk run is going (a monitor cycle, someone else's single
# read); a collision is not an error either, only a 429 whose Retry-After the chunk waits.
CONCURRENCY_LIMIT: Final = 52
MAX_PARALLEL: Final = CONCURRENCY_LIMIT - 2
MAX_BATCH_OPERATIONS: Final = 1000  # per `$batch` (reference §6.5)


@dataclass(frozen=True)
class BulkOptions:
    """How a bulk operation talks to Dataverse.

    Attributes:
        chunk_size: write operations per `$batch` request (at most 1000, §6.5); None spreads
            them evenly over `max_parallel` requests (`spread`), none smaller than
            `min_chunk` operations.
        max_parallel: `$batch` requests in flight at once (at most `MAX_PARALLEL`). The
            default, 8, is what a `DataverseClient` sends at once unless told otherwise
            (`max_concurrency`): more batches than that would only queue in the client,
            each a longer wait than the spread sizes assume.
        min_chunk: the fewest operations a spread batch carries: below it a request's own
            cost (a round trip, headers, a token check) outweighs running in parallel.
        ids_per_query: mailbox ids per read query (its URL must stay short).
        reads_per_batch: read queries per `$batch` request.
        throttle_budget: seconds a chunk may spend waiting on 429 Retry-After in total.
        verify_in_batch: verify a write with a read in the same `$batch` (Dataverse runs a
            batch's parts in order); False reads back in a separate request afterwards.
    """

    chunk_size: int | None = None
    max_parallel: int = 8
    min_chunk: int = 10
    ids_per_query: int = 100
    reads_per_batch: int = 10
    throttle_budget: float = 900.0
    verify_in_batch: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.chunk_size is not None and not 1 <= self.chunk_size <= MAX_BATCH_OPERATIONS:
            problems.append(f"chunk_size must be 1..{MAX_BATCH_OPERATIONS}")
        if not 1 <= self.min_chunk <= MAX_BATCH_OPERATIONS:
            problems.append(f"min_chunk must be 1..{MAX_BATCH_OPERATIONS}")
        if not 1 <= self.max_parallel <= MAX_PARALLEL:
            problems.append(f"max_parallel must be 1..{MAX_PARALLEL}")
        if not 1 <= self.ids_per_query <= 200:
            problems.append("ids_per_query must be 1..200")
        if not 1 <= self.reads_per_batch <= 100:
            problems.append("reads_per_batch must be 1..100")
        if self.throttle_budget < 0:
            problems.append("throttle_budget must be >= 0")
        if problems:
            raise InvalidInput("; ".join(problems))


DEFAULT_OPTIONS: Final = BulkOptions()


def as_caller(client: DataverseClient, acting_for: Caller) -> DataverseClient:
    """The client itself, or its view acting for the Entra user `acting_for` (§6.7)."""
    return client if acting_for is None else client.acting_for(acting_for)


async def settle(*tasks: asyncio.Future[Any]) -> None:
    """Wait until every task is done (none left running, whatever fails); cancel them all
    when the waiting itself is cancelled. The caller then reads `.result()` in its order."""
    try:
        await asyncio.wait(tasks)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise


# ---- targets ---------------------------------------------------------------------------


@dataclass
class Target:
    """One target as given, normalized."""

    position: int
    text: str
    id: uuid.UUID | None = None
    row: Mailbox | None = None
    result: ItemResult | None = None  # decided already (bad id, duplicate, …)


def normalize(targets: Sequence[MailboxTarget]) -> list[Target]:
    """Parse ids, keep rows, and settle malformed or repeated targets as item results."""
    if isinstance(targets, (str, bytes, Mailbox)):
        msg = "targets must be a sequence of mailbox ids or rows, not a single one"
        raise InvalidInput(msg)
    out: list[Target] = []
    seen: dict[uuid.UUID, int] = {}
    for position, given in enumerate(targets):
        if isinstance(given, Mailbox):
            item = Target(position, str(given.id), given.id, given)
        else:
            text = str(given)
            item = Target(position, text)
            try:
                item.id = parse_guid(given) if isinstance(given, (str, uuid.UUID)) else None
            except DataverseError as exc:
                item.result = failed(item, exc)
            if item.id is None and item.result is None:
                item.result = failed(item, InvalidInput(f"not a mailbox id: {text!r}"))
        if item.id is not None and item.result is None:
            if item.id in seen:
                item.result = ItemResult(
                    item.text,
                    item.id,
                    Outcome.SKIPPED,
                    reason=f"same mailbox as item {seen[item.id] + 1}",
                )
            else:
                seen[item.id] = position
        out.append(item)
    return out


def failed(item: Target, error: DataverseError, row: Mailbox | None = None) -> ItemResult:
    return ItemResult(item.text, item.id, Outcome.FAILED, error=refine(error), mailbox=row)


def skipped(item: Target, reason: str, row: Mailbox | None) -> ItemResult:
    return ItemResult(item.text, item.id, Outcome.SKIPPED, reason=reason, mailbox=row)


def succeeded(item: Target, row: Mailbox | None, reason: str = "") -> ItemResult:
    return ItemResult(item.text, item.id, Outcome.OK, reason=reason, mailbox=row)


# ---- running operations through $batch ----------------------------------------------------


@dataclass(frozen=True)
class Op(Generic[K]):
    """One operation of a bulk run; `repeatable` when sending it twice cannot act twice."""

    key: K
    request: BatchRequest
    repeatable: bool


@dataclass
class Executed(Generic[K]):
    results: dict[K, BatchResult] = field(default_factory=dict)
    tails: list[BatchResult] = field(default_factory=list)


def _throttle_wait(result: BatchResult) -> float | None:
    """Seconds to wait when this operation was refused by service protection, else None."""
    error = result.error
    if isinstance(error, Throttled) and (result.status in (None, 429)):
        return error.retry_after if error.retry_after is not None else 1.0
    return None


def _transient(result: BatchResult) -> bool:
    return result.status is None and isinstance(
        result.error, (ServiceUnavailable, DataverseRequestError)
    )


def spread(
    count: int, parallel: int, min_chunk: int = 1, largest: int = MAX_BATCH_OPERATIONS
) -> list[int]:
    """Batch sizes for `count` operations, `parallel` batches at a time: as few rounds as
    batches of at most `largest` operations allow, each round's batches as even as possible
    (they differ by one at most), none below `min_chunk` unless `count` is."""
    if count <= 0:
        return []
    rounds = -(-count // (parallel * largest))
    batches = max(1, min(parallel * rounds, count // max(1, min_chunk)))
    batches = max(batches, -(-count // largest))
    small, extra = divmod(count, batches)
    return [small + 1] * extra + [small] * (batches - extra)


def room(ops: Sequence[Op[K]], tail: Callable[[Sequence[K]], list[BatchRequest]] | None) -> int:
    """The most of `ops` one `$batch` can carry when `tail` adds its requests to each: the
    whole batch stays within the 1000 operations Dataverse accepts (reference §6.5)."""
    largest = MAX_BATCH_OPERATIONS
    if tail is None or not ops:
        return largest
    while largest > 1:
        extra = len(tail([op.key for op in ops[:largest]]))
        if largest + extra <= MAX_BATCH_OPERATIONS:
            break
        largest = max(1, MAX_BATCH_OPERATIONS - extra)
    return largest


def _chunks(ops: Sequence[Op[K]], sizes: Sequence[int]) -> list[list[Op[K]]]:
    out: list[list[Op[K]]] = []
    start = 0
    for size in sizes:
        out.append(list(ops[start : start + size]))
        start += size
    return out


async def execute(
    client: DataverseClient,
    ops: Sequence[Op[K]],
    options: BulkOptions,
    *,
    chunk_size: int | None = None,
    tail: Callable[[Sequence[K]], list[BatchRequest]] | None = None,
) -> Executed[K]:
    """Run `ops` through `$batch`; one `BatchResult` per key.

    `tail` adds requests after each chunk's operations in the same `$batch` (for instance a
    read that verifies what the chunk wrote); their answers are in `Executed.tails`.
    """
    done: Executed[K] = Executed()
    gate = asyncio.Semaphore(options.max_parallel)

    async def run(chunk: list[Op[K]]) -> None:
        pending = chunk
        waited = 0.0
        repeated = False
        while pending:
            extra = tail([op.key for op in pending]) if tail else []
            items = [op.request for op in pending] + extra
            async with gate:
                answers = await client.batch(items, chunk_size=len(items), max_parallel=1)
            done.tails.extend(a for a in answers[len(pending) :] if a.ok)
            retry: list[Op[K]] = []
            wait = 0.0
            for op, answer in zip(pending, answers, strict=False):
                hint = _throttle_wait(answer)
                if hint is not None and waited + hint <= options.throttle_budget:
                    retry.append(op)
                    wait = max(wait, hint)
                elif _transient(answer) and op.repeatable and not repeated:
                    retry.append(op)
                else:
                    done.results[op.key] = answer
            if not retry:
                return
            if wait == 0.0:
                repeated = True  # a transient failure: once only
            else:
                logger.info(
                    "service protection refused %d operations; waiting %.0fs", len(retry), wait
                )
            await asyncio.sleep(wait)
            waited += wait
            pending = retry

    largest = room(ops, tail)
    size = chunk_size or options.chunk_size
    if size is not None:
        size = min(size, largest)
        sizes = [size] * (len(ops) // size) + ([len(ops) % size] if len(ops) % size else [])
    else:
        sizes = spread(len(ops), options.max_parallel, options.min_chunk, largest)
    tasks = [asyncio.ensure_future(run(chunk)) for chunk in _chunks(ops, sizes)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return done


# ---- reading mailboxes ------------------------------------------------------------------


def mailbox_query(ids: Sequence[uuid.UUID]) -> BatchRequest:
    """One read of up to `ids_per_query` mailboxes: every column the model has.

    Built in one step (what `BatchRequest.query` would send, with the Prefer header): a
    `BatchRequest` validates its URL, which for 100 ids is most of what building it costs,
    and every approval chunk builds its verifying read before it can be sent."""
    query = Query(filter=col("mailboxid").in_(ids)).with_select(*Mailbox.columns())
    url = f"{identifier(Mailbox.entity_set)}?{encode_params(query.params())}"
    return BatchRequest("GET", url, headers=_MAILBOX_PREFER)


def rows_of(answer: BatchResult) -> list[Mailbox]:
    """The mailbox rows of a collection answer."""
    body = answer.body
    values = body.get("value") if isinstance(body, dict) else None
    if not isinstance(values, list):
        msg = "a mailbox query in a $batch answered without a `value` list"
        raise UnexpectedResponse(msg)
    try:
        return [Mailbox.model_validate(v) for v in values]
    except ValidationError as exc:
        msg = "a mailbox row in a $batch answer does not fit the model"
        raise UnexpectedResponse(msg) from exc


async def load_mailboxes(
    client: DataverseClient, ids: Sequence[uuid.UUID], options: BulkOptions
) -> dict[uuid.UUID, Mailbox | DataverseError]:
    """Each mailbox as it is now, or the error that says why it cannot be read."""
    found: dict[uuid.UUID, Mailbox | DataverseError] = {}
    if not ids:
        return found
    size = options.ids_per_query
    groups = [list(ids[i : i + size]) for i in range(0, len(ids), size)]
    queries = [Op(n, mailbox_query(group), True) for n, group in enumerate(groups)]
    done = await execute(client, queries, options, chunk_size=options.reads_per_batch)
    for n, group in enumerate(groups):
        answer = done.results.get(n)
        if answer is not None and answer.ok:
            for row in rows_of(answer):
                found[row.id] = row
        elif answer is not None and answer.error is not None:
            for key in group:
                found[key] = answer.error
    # What a query did not return is read by id: Dataverse then says 404 or 403.
    missing = [key for key in ids if key not in found]
    if missing:
        gets = [
            Op(key, replace(BatchRequest.get(Mailbox, key), headers=_MAILBOX_PREFER), True)
            for key in missing
        ]
        singles = await execute(client, gets, options)
        for key in missing:
            answer = singles.results[key]
            if answer.ok:
                found[key] = answer.row(Mailbox)
            else:
                found[key] = answer.error or UnexpectedResponse(f"no answer for mailbox {key}")
    return found


async def resolve_rows(client: DataverseClient, items: list[Target], options: BulkOptions) -> None:
    """Fill `row` (or a failed `result`) for every target that has neither yet."""
    wanted = [i.id for i in items if i.result is None and i.row is None and i.id is not None]
    loaded = await load_mailboxes(client, wanted, options)
    for item in items:
        if item.result is not None or item.row is not None or item.id is None:
            continue
        value = loaded.get(item.id)
        if isinstance(value, Mailbox):
            item.row = value
        else:
            item.result = failed(item, value or NotFound(service="dataverse", status=404))


# ---- writing mailboxes -------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What to write on one mailbox; `changes` None means leave it (`skip` says why)."""

    changes: Mapping[str, Any] | None = None
    skip: str = ""
    # Whether a row already shows what was asked for (default: the columns equal `changes`).
    done: Callable[[Mailbox], bool] | None = None


def _bound_id(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    match = _BIND.match(str(value))
    return uuid.UUID(match.group(2)) if match else None


def shows(row: Mailbox, changes: Mapping[str, Any]) -> bool:
    """Whether `row` holds every value in `changes` (lookups through their `@odata.bind`)."""
    current = row.model_dump(by_alias=True)
    for name, wanted in changes.items():
        if name.endswith("@odata.bind"):
            column = f"_{name.removesuffix('@odata.bind')}_value"
            if current.get(column) != _bound_id(wanted):
                return False
        elif current.get(name) != wanted:
            return False
    return True


def _check(plan: Plan, row: Mailbox) -> bool:
    return plan.done(row) if plan.done is not None else shows(row, plan.changes or {})


PlanFn: TypeAlias = Callable[[Mailbox], Plan]


async def update_mailboxes(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    plan: PlanFn,
    options: BulkOptions,
    *,
    verify: bool = False,
) -> BulkResult:
    """Read, plan, write (If-Match), and when `verify`, read back: one result per target.

    With `verify`, success means a read after the write shows the change; the read rides in
    the same `$batch` as the writes it checks (Dataverse runs a batch's parts in order).
    """
    items = normalize(targets)
    await resolve_rows(client, items, options)
    results: dict[int, ItemResult] = {i.position: i.result for i in items if i.result}
    plans: dict[uuid.UUID, tuple[Target, Plan, Mailbox]] = {}
    for item in items:
        if item.position in results or item.row is None or item.id is None:
            continue
        decided = plan(item.row)
        if decided.changes is None:
            results[item.position] = skipped(item, decided.skip, item.row)
        else:
            plans[item.id] = (item, decided, item.row)

    ops = [
        Op(
            key,
            BatchRequest.update(Mailbox, key, p.changes or {}, etag=_etag(row)),
            repeatable=row.etag is not None,
        )
        for key, (_, p, row) in plans.items()
    ]
    tail = _verify_tail(options) if verify and options.verify_in_batch else None
    done = await execute(client, ops, options, tail=tail)
    verified: dict[uuid.UUID, Mailbox] = {}
    for answer in done.tails:
        verified.update((row.id, row) for row in rows_of(answer))

    reread: list[uuid.UUID] = []
    for key, (item, _p, row) in plans.items():
        answer = done.results[key]
        if answer.ok:
            if verify and key not in verified:
                reread.append(key)
            elif not verify:
                results[item.position] = succeeded(item, None)
        elif isinstance(answer.error, PreconditionFailed):
            reread.append(key)
        else:
            error = answer.error or UnexpectedResponse(f"no answer for mailbox {key}")
            results[item.position] = failed(item, error, row)

    if reread:
        verified.update(
            (k, v)
            for k, v in (await load_mailboxes(client, reread, options)).items()
            if isinstance(v, Mailbox)
        )
    for key, (item, p, row) in plans.items():
        if item.position in results:
            continue
        answer = done.results[key]
        fresh = verified.get(key)
        if fresh is None:
            results[item.position] = failed(
                item, UnexpectedResponse(f"mailbox {key} could not be read back"), row
            )
        elif answer.ok and _check(p, fresh):
            results[item.position] = succeeded(item, fresh)
        elif answer.ok:
            results[item.position] = failed(item, _not_applied(key, p, fresh), fresh)
        elif _check(p, fresh):
            # 412, and the row already shows the change: made by an earlier attempt or by
            # someone else; either way it is in place once, not twice.
            results[item.position] = succeeded(item, fresh, "already in place (412 re-read)")
        else:
            assert answer.error is not None
            results[item.position] = failed(item, answer.error, fresh)
    return BulkResult.of([results[i.position] for i in items])


def _etag(row: Mailbox) -> str:
    # Without an ETag If-Match: * still refuses to create a missing row (§6.4).
    return row.etag or "*"


def _verify_tail(options: BulkOptions) -> Callable[[Sequence[uuid.UUID]], list[BatchRequest]]:
    def tail(keys: Sequence[uuid.UUID]) -> list[BatchRequest]:
        size = options.ids_per_query
        return [mailbox_query(keys[i : i + size]) for i in range(0, len(keys), size)]

    return tail


def _not_applied(key: uuid.UUID, plan: Plan, row: Mailbox) -> NotApplied:
    current = row.model_dump(by_alias=True)
    for name, wanted in (plan.changes or {}).items():
        if not name.endswith("@odata.bind") and current.get(name) != wanted:
            return NotApplied(key, name, wanted, current.get(name))
    name = next(iter(plan.changes or {"?": None}))
    return NotApplied(key, name, (plan.changes or {}).get(name), None)
