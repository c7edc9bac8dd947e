"""Test & Enable against the sim: schedule, wait for the results, read the test's alerts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from dataverse import DataverseClient
from dataverse.errors import Forbidden, InvalidIdentifier, NotFound, PreconditionFailed
from dataverse.models import AlertLevel, EmailApproval, Mailbox, TestStatus
from dataverse.ops import (
    MailboxFilter,
    Outcome,
    Polling,
    TestFailed,
    TestNotFinished,
    TestState,
)
from dataverse.ops import testing as te
from tests.dataverse.conftest import mailbox_id, oid
from tests.dataverse.opskit import (
    batch_parts,
    dv_nowait,
    patches_of,
    row,
    set_row,
    statuses,
    stored,
    wait_until,
)
from tests.simharness import RunningSim

__all__ = ["dv_nowait"]

ONPREM_PROFILE = "e5000000-0000-4000-8000-000000000002"
FAST = Polling(first=0.1, factor=1.5, cap=0.5, deadline=10.0)


async def test_scheduling_without_waiting(sim: RunningSim, dv: DataverseClient) -> None:
    gina = mailbox_id(sim, "gina")

    result = await te.test_and_enable(dv, gina, acting_for=oid(sim, "eddie"))

    assert result.ok and result.test is not None
    assert result.test.state is TestState.SCHEDULED
    [patch] = patches_of(sim, gina)
    assert patch.startswith("PATCH ")
    assert row(sim, "mailboxes", gina)["testemailconfigurationscheduled"] is True


async def test_waiting_for_a_test_that_passes(sim: RunningSim, dv: DataverseClient) -> None:
    gina = mailbox_id(sim, "gina")

    result = await te.test_and_enable(dv, gina, wait=True, polling=FAST)

    assert result.ok and result.test is not None
    assert result.test.state is TestState.PASSED
    assert result.test.overall is TestStatus.SUCCESS
    assert result.test.completed_on is not None
    assert [a.level for a in result.test.alerts] == [AlertLevel.INFORMATION]
    assert "completed successfully" in (result.test.alerts[0].text or "")


async def test_a_failing_test_comes_with_its_alert(sim: RunningSim, dv: DataverseClient) -> None:
    bob = mailbox_id(sim, "bob")

    result = await te.test_and_enable(dv, bob, wait=True, polling=FAST)

    assert result.failed and isinstance(result.error, TestFailed)
    assert result.test is not None and result.test.state is TestState.FAILED
    assert result.test.incoming is TestStatus.FAILURE
    [alert] = result.error.alerts
    assert alert.level is AlertLevel.ERROR and alert.trace_code == 3
    assert (alert.text or "").startswith("Authentication failure")


async def test_self_approval_through_test_and_enable(sim: RunningSim, dv: DataverseClient) -> None:
    una = mailbox_id(sim, "una")

    result = await te.test_and_enable(dv, una, wait=True, polling=FAST, acting_for=oid(sim, "una"))

    assert result.ok and result.mailbox is not None
    assert result.mailbox.approval is EmailApproval.APPROVED


async def test_an_unapproved_address_fails_its_test(sim: RunningSim, dv: DataverseClient) -> None:
    result = await te.test_and_enable(
        dv, mailbox_id(sim, "alice"), wait=True, polling=FAST, acting_for=oid(sim, "eddie")
    )

    assert isinstance(result.error, TestFailed)
    assert "requires an approval" in str(result.error)


async def test_an_already_scheduled_test_is_skipped(sim: RunningSim, dv: DataverseClient) -> None:
    gina = mailbox_id(sim, "gina")
    set_row(sim, "mailboxes", gina, testemailconfigurationscheduled=True)

    result = await te.test_and_enable(dv, gina)

    assert result.skipped and result.reason == "a test is already scheduled"
    assert result.test is not None and result.test.state is TestState.SCHEDULED
    assert batch_parts(sim, "PATCH") == []


async def test_a_test_still_running_at_the_deadline(sim: RunningSim, dv: DataverseClient) -> None:
    def slow() -> None:
        sim.sim.state.test_enable_delay_ms = 60_000

    sim.thread.call(slow)

    result = await te.test_and_enable(
        dv, mailbox_id(sim, "gina"), wait=True, polling=Polling(first=0.1, cap=0.1, deadline=0.4)
    )

    assert result.failed and isinstance(result.error, TestNotFinished)
    assert result.test is not None and result.test.state is TestState.PENDING


async def test_denied_for_someone_elses_mailbox(sim: RunningSim, dv: DataverseClient) -> None:
    gina = mailbox_id(sim, "gina")

    result = await te.test_and_enable(dv, gina, acting_for=oid(sim, "una"))

    # una can read only her own mailbox: reading gina's by id is what Dataverse refuses.
    assert result.failed and isinstance(result.error, Forbidden)
    assert row(sim, "mailboxes", gina)["testemailconfigurationscheduled"] is False


async def test_unknown_and_malformed(sim: RunningSim, dv: DataverseClient) -> None:
    results = await te.test_and_enable_many(dv, [str(uuid.uuid4()), "mailbox' or 1 eq 1"])

    assert isinstance(results[0].error, NotFound)
    assert isinstance(results[1].error, InvalidIdentifier)
    with pytest.raises(InvalidIdentifier):
        await te.test_and_enable_profile(dv, "Microsoft Exchange Online")
    with pytest.raises(NotFound):
        await te.test_and_enable_profile(dv, uuid.uuid4())


async def test_a_stale_row_is_a_precondition_failure(sim: RunningSim, dv: DataverseClient) -> None:
    gina = mailbox_id(sim, "gina")
    seen = await dv.get_row(Mailbox, gina)
    set_row(sim, "mailboxes", gina, actdeliverymethod=2)

    [result] = await te.test_and_enable_many(dv, [seen])

    assert isinstance(result.error, PreconditionFailed)
    assert row(sim, "mailboxes", gina)["testemailconfigurationscheduled"] is False


async def test_throttled_then_succeeding(sim: RunningSim, dv_nowait: DataverseClient) -> None:
    sim.fault(r"POST /api/data/v9\.2/\$batch", 429, retry_after=1, times=1)

    result = await te.test_and_enable(dv_nowait, mailbox_id(sim, "gina"), wait=True, polling=FAST)

    assert result.ok
    assert statuses(sim)[0] == 429


async def test_partial_failure_in_bulk(sim: RunningSim, dv: DataverseClient) -> None:
    gina, bob = mailbox_id(sim, "gina"), mailbox_id(sim, "bob")
    unknown = str(uuid.uuid4())

    results = await te.test_and_enable_many(
        dv, [gina, bob, unknown, gina], wait=True, polling=FAST
    )

    assert [r.outcome for r in results] == [
        Outcome.OK,
        Outcome.FAILED,
        Outcome.FAILED,
        Outcome.SKIPPED,
    ]
    assert isinstance(results[1].error, TestFailed)
    assert isinstance(results[2].error, NotFound)
    assert results[3].test is None  # the duplicate is reported once, on its first item
    assert len(patches_of(sim, gina)) == 1 and len(patches_of(sim, bob)) == 1
    assert row(sim, "mailboxes", gina)["testemailconfigurationretrycount"] == 1


async def test_every_mailbox_of_a_profile(sim: RunningSim, dv: DataverseClient) -> None:
    results = await te.test_and_enable_profile(dv, ONPREM_PROFILE, acting_for=oid(sim, "gina"))

    assert [r.outcome for r in results] == [Outcome.OK, Outcome.OK]
    assert sorted(str(r.id) for r in results) == sorted(
        [mailbox_id(sim, "otto"), mailbox_id(sim, "olga")]
    )
    assert all(r.test is not None and r.test.state is TestState.SCHEDULED for r in results)


async def test_a_query_of_mailboxes(sim: RunningSim, dv: DataverseClient) -> None:
    results = await te.test_and_enable_where(
        dv, MailboxFilter(person="Gina"), wait=True, polling=FAST
    )

    [only] = results
    assert only.ok and only.id == uuid.UUID(mailbox_id(sim, "gina"))


async def test_polling_reads_only_what_is_still_pending(
    sim: RunningSim, dv: DataverseClient
) -> None:
    gina, bob = mailbox_id(sim, "gina"), mailbox_id(sim, "bob")

    def slow() -> None:
        sim.sim.state.test_enable_delay_ms = 60_000

    sim.thread.call(slow)
    task = asyncio.ensure_future(
        te.test_and_enable_many(
            dv, [gina, bob], wait=True, polling=Polling(first=0.2, cap=0.2, deadline=1.5)
        )
    )
    await wait_until(
        lambda: bool(stored(sim, "mailboxes", bob)["testemailconfigurationscheduled"])
    )
    # gina's test finishes now; bob's is still queued when the deadline passes.
    set_row(
        sim,
        "mailboxes",
        gina,
        testemailconfigurationscheduled=False,
        testmailboxaccesscompletedon=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    results = await task

    assert results[0].ok and isinstance(results[1].error, TestNotFinished)
    polls = [p for p in batch_parts(sim, "GET") if "mailboxes?" in p][1:]
    assert len(polls) >= 3
    assert gina in polls[0] and all(gina not in p and bob in p for p in polls[-2:])
