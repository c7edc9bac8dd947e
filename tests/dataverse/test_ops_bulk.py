"""The bulk engine against the sim: chunking, repeats that cannot act twice, results."""

from __future__ import annotations

import re
import uuid

import pytest

from dataverse import DataverseClient
from dataverse.batch import BatchRequest
from dataverse.errors import InvalidInput, ServiceUnavailable
from dataverse.models import Mailbox
from dataverse.ops import (
    BulkOptions,
    BulkResult,
    ItemResult,
    Outcome,
    approve_many,
    set_org_primary_sync,
)
from dataverse.ops._bulk import (
    MAX_PARALLEL,
    Op,
    _verify_tail,
    load_mailboxes,
    normalize,
    room,
    spread,
)
from tests.dataverse.conftest import dataverse_requests, mailbox_id, oid
from tests.dataverse.opskit import batch_parts, patches_of, row, statuses
from tests.simharness import RunningSim


def _generated(sim: RunningSim, count: int) -> list[str]:
    rows = sim.state()["mailboxes"]
    pending = [
        r["mailboxid"]
        for r in rows
        if str(r["name"]).startswith("Generated") and r["emailrouteraccessapproval"] == 2
    ]
    return sorted(pending)[:count]


async def test_writes_are_chunked_with_their_verification(
    sim: RunningSim, dv: DataverseClient
) -> None:
    targets = _generated(sim, 5)
    options = BulkOptions(chunk_size=2, max_parallel=2, ids_per_query=3, reads_per_batch=1)

    results = await approve_many(dv, targets, acting_for=oid(sim, "eddie"), options=options)

    assert [r.outcome for r in results] == [Outcome.OK] * 5
    batches = [r for r in dataverse_requests(sim) if r["path"].endswith("$batch")]
    # reads: 2 queries of at most 3 ids, one per batch; writes: 3 batches of <= 2 + a read.
    assert len(batches) == 5
    writes = [b for b in batches if "PATCH" in str(b["body"])]
    assert [str(b["body"]).count("PATCH ") for b in writes] == [2, 2, 1]
    assert all(str(b["body"]).count("GET ") == 1 for b in writes)
    assert all(row(sim, "mailboxes", t)["emailrouteraccessapproval"] == 1 for t in targets)


def test_operations_are_spread_evenly_over_the_slots() -> None:
    """A `$batch` counts once against the requests window but runs its operations one after
    the other and holds one concurrency slot (api-limits.md, reference §6.3): a run takes as
    long as its longest batch, so the batches of a round are as even as can be."""
    assert MAX_PARALLEL == 50
    assert spread(5000, 50) == [100] * 50
    assert spread(5001, 50) == [101] + [100] * 49
    assert spread(30, 8, min_chunk=10) == [10, 10, 10]  # no batch below 10 operations
    assert spread(5, 8, min_chunk=10) == [5]
    # beyond 1000 operations per batch, more rounds, still even
    assert spread(60_000, 50) == [600] * 100
    assert max(spread(1001, 1)) == 501 and sum(spread(1001, 1)) == 1001
    assert spread(0, 8) == []


def test_a_batch_with_its_verifying_reads_stays_within_1000_operations() -> None:
    """reference §6.5: at most 1000 operations per `$batch`. The verifying reads ride in the
    same batch as the writes they check, one per 100 ids, so a batch carries at most 990
    writes (+ 10 reads), and a spread run is cut to fit."""
    keys = [uuid.uuid4() for _ in range(2000)]
    ops = [Op(k, BatchRequest.get(Mailbox, k), True) for k in keys]
    tail = _verify_tail(BulkOptions())
    assert room(ops, tail) == 990
    assert room(ops, None) == 1000
    assert spread(2000, 1, largest=990) == [667, 667, 666]
    assert all(size + len(tail(keys[:size])) <= 1000 for size in spread(2000, 2, largest=990))


async def test_by_default_a_run_is_spread_over_the_parallel_requests(
    sim: RunningSim, dv: DataverseClient
) -> None:
    targets = _generated(sim, 30)
    options = BulkOptions(max_parallel=3)

    results = await approve_many(dv, targets, acting_for=oid(sim, "eddie"), options=options)

    assert results.counts() == {"ok": 30, "skipped": 0, "failed": 0}
    batches = [r for r in dataverse_requests(sim) if r["path"].endswith("$batch")]
    writes = [b for b in batches if "PATCH" in str(b["body"])]
    assert [str(b["body"]).count("PATCH ") for b in writes] == [10, 10, 10]


async def test_a_lost_write_batch_is_repeated_once_safely(
    sim: RunningSim, dv: DataverseClient
) -> None:
    alice = mailbox_id(sim, "alice")
    sim.fault(r"\$batch", 200, times=1)  # the read goes through
    sim.fault(r"\$batch", 503, times=1)  # the write batch is lost once

    [result] = await approve_many(dv, [alice], acting_for=oid(sim, "eddie"))

    assert result.ok
    assert statuses(sim).count(503) == 1
    assert len(patches_of(sim, alice)) == 1  # the 503 was answered before it ran


async def test_a_write_batch_that_keeps_failing_is_an_item_failure(
    sim: RunningSim, dv: DataverseClient
) -> None:
    alice = mailbox_id(sim, "alice")
    sim.fault(r"\$batch", 200, times=1)
    sim.fault(r"\$batch", 503, times=2)

    [result] = await set_org_primary_sync(dv, [alice])

    assert result.failed and isinstance(result.error, ServiceUnavailable)
    assert statuses(sim).count(503) == 2  # the first try and one repeat, no more
    assert row(sim, "mailboxes", alice)["orgmarkedasprimaryforexchangesync"] is False


async def test_rows_are_read_many_per_query_and_missing_ones_by_id(
    sim: RunningSim, dv: DataverseClient
) -> None:
    known = [uuid.UUID(mailbox_id(sim, n)) for n in ("alice", "bob", "gina")]
    unknown = uuid.uuid4()

    found = await load_mailboxes(dv, [*known, unknown], BulkOptions())

    assert all(isinstance(found[k], Mailbox) for k in known)
    assert type(found[unknown]).__name__ == "NotFound"
    gets = batch_parts(sim, "GET")
    assert len(gets) == 2
    assert gets[0].count("mailboxid%20eq%20") == 4 and f"mailboxes({unknown})" in gets[1]


def test_targets_are_normalized() -> None:
    one = uuid.uuid4()
    row_ = Mailbox.model_validate({"mailboxid": str(one), "@odata.etag": 'W/"1"'})
    items = normalize([str(one).upper(), row_, "nope", 42, one])  # type: ignore[list-item]

    assert items[0].id == one and items[0].result is None
    assert items[1].result is not None and items[1].result.skipped  # same mailbox again
    assert items[2].result is not None and items[2].result.failed
    assert items[3].result is not None and isinstance(items[3].result.error, InvalidInput)
    assert items[4].result is not None and items[4].result.skipped
    with pytest.raises(InvalidInput):
        normalize(row_)  # type: ignore[arg-type]


def test_bulk_result_views() -> None:
    items = (
        ItemResult("a", None, Outcome.OK),
        ItemResult("b", None, Outcome.SKIPPED, reason="already approved"),
        ItemResult("c", None, Outcome.FAILED, error=InvalidInput("x")),
    )
    result = BulkResult.of(items)

    assert result.counts() == {"ok": 1, "skipped": 1, "failed": 1}
    assert [i.target for i in result.failed] == ["c"]
    assert result[1:] == items[1:] and len(result) == 3
    assert result.mailboxes() == []


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_size": 0},
        {"chunk_size": 1001},
        {"max_parallel": 0},
        {"max_parallel": 51},  # 52 is the documented concurrency limit; 2 are kept free
        {"min_chunk": 0},
        {"ids_per_query": 500},
        {"reads_per_batch": 0},
        {"throttle_budget": -1},
    ],
)
def test_options_are_checked(options: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        BulkOptions(**options)  # type: ignore[arg-type]


async def test_the_acting_person_goes_on_every_batch(sim: RunningSim, dv: DataverseClient) -> None:
    await approve_many(dv, [mailbox_id(sim, "alice")], acting_for=oid(sim, "eddie"))

    batches = [r for r in dataverse_requests(sim) if r["path"].endswith("$batch")]
    assert batches and all(b["caller_object_id"] == oid(sim, "eddie") for b in batches)
    assert all(
        re.search(r"If-Match: W/", str(b["body"])) for b in batches if "PATCH" in str(b["body"])
    )
