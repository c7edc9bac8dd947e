"""Approving and rejecting email addresses against the sim: the seed's rules, per item."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from dataverse import DataverseClient
from dataverse.errors import (
    Forbidden,
    InvalidIdentifier,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Throttled,
)
from dataverse.models import EmailApproval, Mailbox
from dataverse.ops import (
    ApprovalNotApplied,
    BulkOptions,
    EmailApprovalDenied,
    NotApplied,
    Outcome,
    approve,
    approve_many,
    is_approval_refusal,
    reject,
    reject_many,
    set_approval_many,
)
from sim import approval as sim_approval
from tests.dataverse.conftest import dataverse_requests, mailbox_id, oid, systemuser_id
from tests.dataverse.opskit import (
    admin_post,
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

SUPPORT_MAILBOX = "3b000000-0000-4000-8000-0000000000f1"
SUPPORT_QUEUE = "9e000000-0000-4000-8000-000000000001"


async def test_an_exchange_admin_approves_a_person(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")

    result = await approve(dv, alice, acting_for=oid(sim, "eddie"))

    assert result.outcome is Outcome.OK and result.error is None
    assert result.mailbox is not None and result.mailbox.approval is EmailApproval.APPROVED
    stored = row(sim, "mailboxes", alice)
    assert stored["emailrouteraccessapproval"] == 1
    assert stored["_emailaddressapprovedby_value"] == systemuser_id(sim, "eddie")
    assert row(sim, "systemusers", systemuser_id(sim, "alice"))["emailrouteraccessapproval"] == 1


async def test_the_approval_travels_alone_as_the_acting_person(
    sim: RunningSim, dv: DataverseClient
) -> None:
    alice = mailbox_id(sim, "alice")

    await approve(dv, alice, acting_for=oid(sim, "eddie"))

    [write] = [r for r in dataverse_requests(sim) if "PATCH" in str(r["body"])]
    body = str(write["body"])
    patch = body[body.index(f"PATCH {sim.origin}") :]
    payload = patch[patch.index("{") : patch.index("}") + 1]
    assert json.loads(payload) == {"emailrouteraccessapproval": 1}
    assert "If-Match: W/" in patch  # the ETag read just before, not *
    assert write["caller_object_id"] == oid(sim, "eddie")
    assert len(dataverse_requests(sim)) == 2  # one read, one $batch with write + verify


async def test_a_queue_address_is_approved_through_its_mailbox(
    sim: RunningSim, dv: DataverseClient
) -> None:
    result = await approve(dv, SUPPORT_MAILBOX, acting_for=oid(sim, "gina"))

    assert result.ok
    assert row(sim, "mailboxes", SUPPORT_MAILBOX)["emailrouteraccessapproval"] == 1
    assert row(sim, "queues", SUPPORT_QUEUE)["emailrouteraccessapproval"] == 1
    assert patches_of(sim, SUPPORT_MAILBOX) and not [
        p for p in batch_parts(sim, "PATCH") if "queues(" in p
    ]


async def test_an_approved_address_is_skipped_without_a_write(
    sim: RunningSim, dv: DataverseClient
) -> None:
    gina = mailbox_id(sim, "gina")
    before = row(sim, "mailboxes", gina)["versionnumber"]

    result = await approve(dv, gina, acting_for=oid(sim, "eddie"))

    assert result.outcome is Outcome.SKIPPED and result.reason == "already approved"
    assert batch_parts(sim, "PATCH") == []
    assert row(sim, "mailboxes", gina)["versionnumber"] == before


async def test_a_system_administrator_alone_is_denied(
    sim: RunningSim, dv: DataverseClient
) -> None:
    alice = mailbox_id(sim, "alice")

    result = await approve(dv, alice, acting_for=oid(sim, "sam"))

    assert result.failed
    assert isinstance(result.error, EmailApprovalDenied)
    assert isinstance(result.error, Forbidden)
    assert result.error.status == 403 and result.error.code.lower() == "0x8009000b"
    assert row(sim, "mailboxes", alice)["emailrouteraccessapproval"] == 2


async def test_the_app_identity_itself_may_not_approve(
    sim: RunningSim, dv: DataverseClient
) -> None:
    result = await approve(dv, mailbox_id(sim, "alice"))

    assert isinstance(result.error, EmailApprovalDenied)


async def test_a_person_approves_their_own_mailbox(sim: RunningSim, dv: DataverseClient) -> None:
    una = mailbox_id(sim, "una")

    result = await approve(dv, una, acting_for=oid(sim, "una"))

    assert result.ok
    assert row(sim, "mailboxes", una)["emailrouteraccessapproval"] == 1


async def test_reject_then_reject_again_is_skipped(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")

    first = await reject(dv, alice, acting_for=oid(sim, "eddie"))
    again = await reject(dv, alice, acting_for=oid(sim, "eddie"))

    assert first.ok and first.mailbox is not None
    assert first.mailbox.approval is EmailApproval.REJECTED
    assert again.skipped and again.reason == "already rejected"
    assert len(patches_of(sim, alice)) == 1


async def test_unknown_and_malformed_targets(sim: RunningSim, dv: DataverseClient) -> None:
    unknown = str(uuid.uuid4())
    injected = f"{mailbox_id(sim, 'alice')}) or (1 eq 1"

    results = await approve_many(
        dv, [unknown, injected, "alice' or 1 eq 1", ""], acting_for=oid(sim, "eddie")
    )

    assert [r.outcome for r in results] == [Outcome.FAILED] * 4
    assert isinstance(results[0].error, NotFound) and results[0].error.status == 404
    assert all(isinstance(r.error, InvalidIdentifier) for r in results[1:])
    sent = " ".join(str(r["query"]) + str(r["body"]) for r in dataverse_requests(sim))
    assert "1 eq 1" not in sent and "alice'" not in sent
    assert batch_parts(sim, "PATCH") == []


async def test_bad_arguments_raise_before_any_request(
    sim: RunningSim, dv: DataverseClient
) -> None:
    with pytest.raises(InvalidInput):
        await approve_many(dv, mailbox_id(sim, "alice"))  # a string, not a list
    with pytest.raises(InvalidInput):
        await set_approval_many(dv, [mailbox_id(sim, "alice")], EmailApproval.PENDING_APPROVAL)
    with pytest.raises(InvalidInput):
        await set_approval_many(dv, [mailbox_id(sim, "alice")], 7)  # type: ignore[arg-type]
    with pytest.raises(InvalidIdentifier):
        await approve(dv, mailbox_id(sim, "alice"), acting_for="eddie@contoso.com")
    with pytest.raises(InvalidInput):
        BulkOptions(chunk_size=0)
    with pytest.raises(InvalidInput):
        BulkOptions(max_parallel=60)

    assert dataverse_requests(sim) == []


async def test_partial_failure_in_bulk(sim: RunningSim, dv: DataverseClient) -> None:
    alice, otto, gina = (mailbox_id(sim, n) for n in ("alice", "otto", "gina"))
    unknown = str(uuid.uuid4())

    results = await approve_many(
        dv, [alice, otto, gina, unknown, "bad", otto.upper()], acting_for=oid(sim, "sam")
    )

    outcomes = [(r.outcome, type(r.error).__name__ if r.error else r.reason) for r in results]
    assert outcomes == [
        (Outcome.FAILED, "EmailApprovalDenied"),  # Exchange Online: SA alone is not enough
        (Outcome.OK, ""),  # on-premises Exchange profile: SA is enough
        (Outcome.SKIPPED, "already approved"),
        (Outcome.FAILED, "NotFound"),
        (Outcome.FAILED, "InvalidIdentifier"),
        (Outcome.SKIPPED, "same mailbox as item 2"),
    ]
    assert row(sim, "mailboxes", alice)["emailrouteraccessapproval"] == 2
    assert row(sim, "mailboxes", otto)["emailrouteraccessapproval"] == 1
    # Each mailbox was written once at most; the approved one was not skipped into a repeat.
    assert len(patches_of(sim, otto)) == 1 and len(patches_of(sim, alice)) == 1
    assert patches_of(sim, gina) == []


async def test_throttled_then_succeeding(sim: RunningSim, dv_nowait: DataverseClient) -> None:
    alice, una = mailbox_id(sim, "alice"), mailbox_id(sim, "una")
    sim.fault(r"POST /api/data/v9\.2/\$batch", 429, retry_after=1, times=2)

    results = await approve_many(dv_nowait, [alice, una], acting_for=oid(sim, "eddie"))

    assert [r.outcome for r in results] == [Outcome.OK, Outcome.OK]
    assert statuses(sim).count(429) == 2
    assert len(patches_of(sim, alice)) == len(patches_of(sim, una)) == 1


async def test_the_window_binds_and_the_engine_waits_it_out(
    sim: RunningSim, dv_nowait: DataverseClient
) -> None:
    # One read batch and three write batches: a `$batch` counts once (api-limits.md), so a
    # window of 3 requests refuses the last write batch until the first request has left.
    admin_post(sim, "limits", {"requests_per_window": 3, "window_seconds": 2.0})
    targets = [mailbox_id(sim, n) for n in ("alice", "una", "otto")]
    options = BulkOptions(chunk_size=1, max_parallel=1)

    results = await approve_many(dv_nowait, targets, acting_for=oid(sim, "eddie"), options=options)

    assert all(r.ok for r in results)
    assert 429 in statuses(sim)
    assert all(len(patches_of(sim, t)) == 1 for t in targets)


async def test_throttling_past_the_budget_is_an_item_failure(
    sim: RunningSim, dv_nowait: DataverseClient
) -> None:
    alice = mailbox_id(sim, "alice")
    sim.fault(r"POST /api/data/v9\.2/\$batch", 429, retry_after=30, times=1)

    [result] = await approve_many(
        dv_nowait, [alice], acting_for=oid(sim, "eddie"), options=BulkOptions(throttle_budget=1)
    )

    assert isinstance(result.error, Throttled) and result.error.retry_after == 30
    assert row(sim, "mailboxes", alice)["emailrouteraccessapproval"] == 2


async def test_a_stale_row_is_a_precondition_failure(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")
    seen = await dv.get_row(Mailbox, alice)
    set_row(sim, "mailboxes", alice, incomingemaildeliverymethod=0)  # someone else's change

    [result] = await approve_many(dv, [seen], acting_for=oid(sim, "eddie"))

    assert result.failed and isinstance(result.error, PreconditionFailed)
    assert result.error.status == 412
    assert row(sim, "mailboxes", alice)["emailrouteraccessapproval"] == 2


async def test_a_412_on_an_address_approved_meanwhile_is_not_applied_twice(
    sim: RunningSim, dv: DataverseClient
) -> None:
    alice = mailbox_id(sim, "alice")
    seen = await dv.get_row(Mailbox, alice)
    set_row(sim, "mailboxes", alice, emailrouteraccessapproval=1)

    [result] = await approve_many(dv, [seen], acting_for=oid(sim, "eddie"))

    assert result.ok and "412" in result.reason
    assert batch_parts(sim, "PATCH") == [f"PATCH {dv.api_root}mailboxes({alice})"]


async def test_an_approval_that_does_not_stick_is_reported_not_applied(
    sim: RunningSim, dv: DataverseClient
) -> None:
    alice = mailbox_id(sim, "alice")
    # The third request (the read-back) is held for a moment; meanwhile the address is
    # set back to pending, as if the platform had not applied the approval.
    sim.fault(r"\$batch", 200, times=2)
    sim.fault(r"\$batch", 200, latency_ms=1500, times=1)
    options = BulkOptions(verify_in_batch=False)

    task = asyncio.ensure_future(
        approve_many(dv, [alice], acting_for=oid(sim, "eddie"), options=options)
    )
    await wait_until(lambda: stored(sim, "mailboxes", alice)["emailrouteraccessapproval"] == 1)
    set_row(sim, "mailboxes", alice, emailrouteraccessapproval=2)
    [result] = await task

    assert result.failed and isinstance(result.error, NotApplied)
    assert result.error.column == "emailrouteraccessapproval"
    assert result.error.wanted == 1 and result.error.found == EmailApproval.PENDING_APPROVAL


async def test_rejecting_many_mixes_done_and_denied(sim: RunningSim, dv: DataverseClient) -> None:
    alice, olga = mailbox_id(sim, "alice"), mailbox_id(sim, "olga")

    results = await reject_many(dv, [alice, olga], acting_for=oid(sim, "sam"))

    assert isinstance(results[0].error, EmailApprovalDenied)
    assert results[1].ok
    assert row(sim, "mailboxes", olga)["emailrouteraccessapproval"] == 3


# ---- the refusals seen in the field (reference §4.3; issue 13 point 6) --------------------


def _scenario(sim: RunningSim, chosen: sim_approval.ApprovalScenario) -> None:
    sim.thread.call(lambda: sim_approval.set_scenario(sim.sim.extras, sim.sim.state, chosen))


@pytest.mark.parametrize(
    ("shape", "status", "code"),
    [
        (sim_approval.RefusalShape.DOCUMENTED, 403, "0x8009000B"),
        (sim_approval.RefusalShape.CRM_SECURITY, 403, "0x80040256"),
        (sim_approval.RefusalShape.CRM_SECURITY_WRAPPED, 500, "0x80040216"),
    ],
)
async def test_every_refusal_shape_is_an_approval_refusal(
    sim: RunningSim,
    dv: DataverseClient,
    shape: sim_approval.RefusalShape,
    status: int,
    code: str,
) -> None:
    """S12 documents 0x8009000B; S40 shows 0x80040256 ("… should be a global administrator
    to approve mailbox …") under the outer 0x80040216. Each is an approval refused, with the
    service's own status and code kept, never a generic failure; the row is read back."""
    _scenario(sim, sim_approval.ApprovalScenario(refusal=shape))
    alice = mailbox_id(sim, "alice")

    result = await approve(dv, alice, acting_for=oid(sim, "sam"))

    assert result.failed and isinstance(result.error, EmailApprovalDenied)
    assert is_approval_refusal(result.error)
    assert (result.error.status, result.error.code) == (status, code)
    assert result.mailbox is not None and result.mailbox.approval is EmailApproval.PENDING_APPROVAL
    assert row(sim, "mailboxes", alice)["emailrouteraccessapproval"] == 2


async def test_a_silently_ignored_app_approval_is_a_refusal(
    sim: RunningSim, dv: DataverseClient
) -> None:
    """S43: the application user's approval answers 204 and the mailbox stays pending; the
    read-back (always done) finds it, and the item says the approval was refused."""
    _scenario(sim, sim_approval.ApprovalScenario(app_write_ignored=True))
    alice = mailbox_id(sim, "alice")

    result = await approve(dv, alice)

    assert batch_parts(sim, "PATCH") == [f"PATCH {dv.api_root}mailboxes({alice})"]
    assert result.failed and isinstance(result.error, ApprovalNotApplied)
    assert isinstance(result.error, NotApplied) and is_approval_refusal(result.error)
    assert result.error.found == EmailApproval.PENDING_APPROVAL
    assert row(sim, "mailboxes", alice)["emailrouteraccessapproval"] == 2


async def test_a_refusal_text_without_the_known_codes_is_recognised(
    sim: RunningSim, dv: DataverseClient
) -> None:
    """S41/S42: the refusal quoted without a code; its text is enough."""
    message = (
        "This email address can only be approved by a user with the Global Administrator "
        "or Exchange Administrator role in Office 365 or the Delegated Mailbox Approver role."
    )
    body = {"error": {"code": "0x80040265", "message": message}}
    sim.fault(r"\$batch", 400, body=body, times=1)
    alice = mailbox_id(sim, "alice")

    result = await approve(dv, alice, acting_for=oid(sim, "eddie"))

    assert result.failed and isinstance(result.error, EmailApprovalDenied)
    assert result.error.status == 400


async def test_other_failures_are_no_approval_refusal(
    sim: RunningSim, dv: DataverseClient
) -> None:
    body = {"error": {"code": "0x80040216", "message": "An unexpected error occurred."}}
    sim.fault(r"\$batch", 500, body=body, times=1)

    result = await approve(dv, mailbox_id(sim, "alice"), acting_for=oid(sim, "eddie"))

    assert result.failed and not is_approval_refusal(result.error)
