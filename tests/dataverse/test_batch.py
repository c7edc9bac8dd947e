"""`$batch` against the sim: per-operation results, chunks, change sets, throttled chunks."""

from __future__ import annotations

import uuid

from dataverse import BatchRequest, ChangeSet, DataverseClient, EntraApp, RetryPolicy
from dataverse.errors import NotFound, Throttled
from dataverse.models import Mailbox
from tests.dataverse.conftest import dataverse_requests, mailbox_id, row_ids
from tests.simharness import RunningSim
from tests.waits import RecordedWaits

BATCH = r"^POST /api/data/v9\.2/\$batch"


def _batch_posts(sim: RunningSim) -> list[dict[str, object]]:
    return [r for r in dataverse_requests(sim) if str(r["path"]).endswith("$batch")]


async def test_a_failing_operation_gets_its_own_result(
    sim: RunningSim, dv: DataverseClient
) -> None:
    missing = uuid.uuid4()
    results = await dv.batch(
        [
            BatchRequest.get(Mailbox, mailbox_id(sim, "gina")),
            BatchRequest.update(Mailbox, missing, {"testemailconfigurationscheduled": True}),
            BatchRequest.get(Mailbox, mailbox_id(sim, "alice")),
        ]
    )

    assert [r.status for r in results] == [200, 404, 200]
    assert [r.ok for r in results] == [True, False, True]
    assert isinstance(results[1].error, NotFound)
    assert results[0].row(Mailbox).email_address == "gina@contoso.com"
    assert results[2].row(Mailbox).email_address == "alice@contoso.com"
    assert str(missing) not in row_ids(sim, "mailboxes", "mailboxid")
    [post] = _batch_posts(sim)
    assert "Content-Transfer-Encoding: binary" in str(post["body"])


async def test_operations_are_sent_in_chunks(sim: RunningSim, dv: DataverseClient) -> None:
    ids = row_ids(sim, "mailboxes", "mailboxid")[:25]

    results = await dv.batch([BatchRequest.get(Mailbox, i) for i in ids], chunk_size=10)

    assert [r.row(Mailbox).id for r in results] == [uuid.UUID(i) for i in ids]
    assert len(_batch_posts(sim)) == 3


async def test_a_throttled_chunk_is_retried_whole(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    ids = row_ids(sim, "mailboxes", "mailboxid")[:4]
    sim.fault(BATCH, 429, retry_after=1)

    results = await dv.batch([BatchRequest.get(Mailbox, i) for i in ids])

    assert all(r.ok for r in results)
    assert [p["status"] for p in _batch_posts(sim)] == [429, 200]
    assert waits.waits == [1.0]  # after the Retry-After it asked for


async def test_a_chunk_throttled_past_the_budget_reports_each_operation(
    sim: RunningSim, entra: EntraApp
) -> None:
    ids = row_ids(sim, "mailboxes", "mailboxid")[:3]
    sim.fault(BATCH, 429, retry_after=60)
    async with DataverseClient(
        sim.dataverse_url,
        auth=entra.dataverse_auth(sim.dataverse_url),
        ca_path=sim.ca_path,
        retry=RetryPolicy(throttle_budget=1.0),
    ) as client:
        results = await client.batch(
            [BatchRequest.get(Mailbox, i) for i in ids], chunk_size=2, max_parallel=1
        )

    assert [r.status for r in results] == [None, None, 200]
    assert isinstance(results[0].error, Throttled)
    assert results[0].error.retry_after == 60


async def test_a_change_set_fails_as_a_whole(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")
    results = await dv.batch(
        [
            ChangeSet(
                (
                    BatchRequest.update(
                        Mailbox, alice, {"orgmarkedasprimaryforexchangesync": True}
                    ),
                    BatchRequest.update(Mailbox, uuid.uuid4(), {"name": "nobody"}),
                )
            )
        ]
    )

    assert [r.ok for r in results] == [False, False]
    assert all(isinstance(r.error, NotFound) for r in results)
    assert (await dv.get_mailbox(alice)).org_marked_primary is not True


async def test_a_change_set_succeeds_as_a_whole(sim: RunningSim, dv: DataverseClient) -> None:
    alice, una = mailbox_id(sim, "alice"), mailbox_id(sim, "una")
    results = await dv.batch(
        [
            ChangeSet(
                (
                    BatchRequest.update(
                        Mailbox, alice, {"orgmarkedasprimaryforexchangesync": True}
                    ),
                    BatchRequest.update(Mailbox, una, {"orgmarkedasprimaryforexchangesync": True}),
                )
            ),
            BatchRequest.get(Mailbox, alice),
        ]
    )

    assert [r.status for r in results] == [204, 204, 200]
    assert results[2].row(Mailbox).org_marked_primary is True
    assert (await dv.get_mailbox(una)).org_marked_primary is True


async def test_without_continue_on_error_the_batch_stops(
    sim: RunningSim, dv: DataverseClient
) -> None:
    results = await dv.batch(
        [
            BatchRequest.update(Mailbox, uuid.uuid4(), {"name": "nobody"}),
            BatchRequest.get(Mailbox, mailbox_id(sim, "gina")),
        ],
        continue_on_error=False,
    )

    assert results[0].status == 404
    assert results[1].status is None
    assert not results[1].ok
