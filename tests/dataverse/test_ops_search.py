"""Finding mailboxes and resolving free text against the sim; text is always escaped."""

from __future__ import annotations

import uuid
from urllib.parse import unquote

import pytest

from dataverse import DataverseClient
from dataverse.errors import InvalidIdentifier, InvalidInput
from dataverse.models import EmailApproval, TestStatus
from dataverse.ops import MailboxFilter, find_mailboxes, resolve
from dataverse.ops.search import Candidate, Resolution
from tests.dataverse.conftest import dataverse_requests, mailbox_id, oid, systemuser_id
from tests.dataverse.opskit import set_row, statuses
from tests.simharness import RunningSim
from tests.waits import RecordedWaits

ONPREM_PROFILE = "e5000000-0000-4000-8000-000000000002"
SUPPORT_MAILBOX = "3b000000-0000-4000-8000-0000000000f1"
SUPPORT_QUEUE = "9e000000-0000-4000-8000-000000000001"


def _queries(sim: RunningSim) -> list[str]:
    return [unquote(str(r["query"])) for r in dataverse_requests(sim)]


async def test_by_person_name_upn_and_email(sim: RunningSim, dv: DataverseClient) -> None:
    alice = uuid.UUID(mailbox_id(sim, "alice"))

    by_name = await find_mailboxes(dv, MailboxFilter(person="alice a"))
    by_upn = await find_mailboxes(dv, MailboxFilter(upn="ALICE@contoso"))
    by_email = await find_mailboxes(dv, MailboxFilter(email="alice@contoso.com"))

    assert [m.id for m in by_name] == [m.id for m in by_upn] == [m.id for m in by_email] == [alice]


async def test_by_queue(sim: RunningSim, dv: DataverseClient) -> None:
    by_name = await find_mailboxes(dv, MailboxFilter(queue="Supp"))
    by_address = await find_mailboxes(dv, MailboxFilter(queue="support@contoso.com"))

    assert [str(m.id) for m in by_name] == [str(m.id) for m in by_address] == [SUPPORT_MAILBOX]


async def test_by_approval_test_status_and_profile(sim: RunningSim, dv: DataverseClient) -> None:
    onprem_pending = await find_mailboxes(
        dv, MailboxFilter(approval=EmailApproval.PENDING_APPROVAL, profile_id=ONPREM_PROFILE)
    )
    failing = await find_mailboxes(dv, MailboxFilter(test_status=TestStatus.FAILURE), limit=None)
    pending = await find_mailboxes(dv, MailboxFilter(approval=2), limit=7)

    assert sorted(m.name or "" for m in onprem_pending) == ["Olga Onprem", "Otto Onprem"]
    assert failing and all(m.mailbox_status is TestStatus.FAILURE for m in failing)
    assert len(pending) == 7
    assert all(m.approval is EmailApproval.PENDING_APPROVAL for m in pending)


async def test_inactive_mailboxes_only_when_asked(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")
    set_row(sim, "mailboxes", alice, statecode=1, statuscode=2)

    active = await find_mailboxes(dv, MailboxFilter(person="Alice"))
    every = await find_mailboxes(dv, MailboxFilter(person="Alice", include_inactive=True))

    assert active == [] and [str(m.id) for m in every] == [alice]


async def test_quotes_and_injection_are_only_text(sim: RunningSim, dv: DataverseClient) -> None:
    assert await find_mailboxes(dv, MailboxFilter(person="O'Brien")) == []
    assert await find_mailboxes(dv, MailboxFilter(email="alice' or 1 eq 1")) == []
    assert (await resolve(dv, "alice' or 1 eq 1")).candidates == ()

    queries = _queries(sim)
    assert "startswith(fullname,'O''Brien')" in queries[0]
    assert "startswith(emailaddress,'alice'' or 1 eq 1')" in queries[1]
    assert all(r["status"] == 200 for r in dataverse_requests(sim))


async def test_a_name_with_a_quote_is_found(sim: RunningSim, dv: DataverseClient) -> None:
    set_row(sim, "systemusers", systemuser_id(sim, "alice"), fullname="Alice O'Brien")

    found = await find_mailboxes(dv, MailboxFilter(person="Alice O'B"))
    resolution = await resolve(dv, "Alice O'Brien")

    assert [str(m.id) for m in found] == [mailbox_id(sim, "alice")]
    assert resolution.best is not None and resolution.best.rank == 0


async def test_bad_filters_raise_before_any_request(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(InvalidInput):
        await find_mailboxes(dv, MailboxFilter(person="alice", queue="support"))
    with pytest.raises(InvalidInput):
        await find_mailboxes(dv, MailboxFilter(person="   "))
    with pytest.raises(InvalidInput):
        await find_mailboxes(dv, MailboxFilter(email="x" * 300))
    with pytest.raises(InvalidInput):
        await find_mailboxes(dv, MailboxFilter(approval=9))
    with pytest.raises(InvalidIdentifier):
        await find_mailboxes(dv, MailboxFilter(profile_id="Microsoft Exchange Online"))
    with pytest.raises(InvalidInput):
        await find_mailboxes(dv, MailboxFilter(), limit=0)
    with pytest.raises(InvalidInput):
        await resolve(dv, "")
    with pytest.raises(InvalidInput):
        await resolve(dv, "alice\r\nPrefer: x")

    assert dataverse_requests(sim) == []


async def test_resolve_a_short_name_to_the_person(sim: RunningSim, dv: DataverseClient) -> None:
    resolution = await resolve(dv, "alice")

    best = resolution.best
    assert best is not None and best.kind == "person" and best.rank == 1
    assert best.mailbox_id == uuid.UUID(mailbox_id(sim, "alice"))
    assert len(resolution.candidates) == 1  # her mailbox is the same candidate


async def test_resolve_brings_the_mailbox_row_and_its_alerts_in_one_round_trip(
    sim: RunningSim, dv: DataverseClient
) -> None:
    """Her mailbox's name matches too, so its row (and, asked for, its latest alerts
    expanded through `tracelog_Mailbox`) comes in the same three parallel requests."""
    plain = (await resolve(dv, "alice")).best
    assert plain is not None and plain.alerts is None
    assert plain.mailbox is not None and plain.mailbox.id == plain.mailbox_id

    before = len(dataverse_requests(sim))
    best = (await resolve(dv, "alice", alerts=3)).best
    assert best is not None and best.mailbox is not None and best.alerts is not None
    assert best.upn is not None and best.upn.startswith("alice@")
    requests = dataverse_requests(sim)[before:]
    assert len(requests) == 3
    assert any("tracelog_Mailbox" in r["query"] for r in requests)


async def test_resolve_a_queue_address(sim: RunningSim, dv: DataverseClient) -> None:
    resolution = await resolve(dv, "support@contoso.com")

    assert resolution.best is not None and resolution.best.kind == "queue"
    assert resolution.best.id == uuid.UUID(SUPPORT_QUEUE)
    assert resolution.best.mailbox_id == uuid.UUID(SUPPORT_MAILBOX)


async def test_resolve_several_prefix_matches(sim: RunningSim, dv: DataverseClient) -> None:
    resolution = await resolve(dv, "o")

    labels = [c.label for c in resolution.candidates]
    assert {"Olga Onprem", "Otto Onprem"} <= set(labels)
    assert resolution.best is None  # the bot asks which one


async def test_resolve_nothing(sim: RunningSim, dv: DataverseClient) -> None:
    resolution = await resolve(dv, "nobody-by-that-name")

    assert resolution.candidates == () and resolution.best is None


def test_the_best_candidate_rule() -> None:
    def cand(rank: int, label: str) -> Candidate:
        return Candidate("person", uuid.uuid4(), label, None, None, rank)

    assert Resolution("a", (cand(0, "A"), cand(2, "Ab"))).best is not None
    assert Resolution("a", (cand(0, "A"), cand(0, "a"))).best is None
    assert Resolution("a", (cand(2, "Ab"),)).best is not None
    assert Resolution("a", (cand(2, "Ab"), cand(2, "Ac"))).best is None


async def test_searching_as_a_person_sees_what_they_may(
    sim: RunningSim, dv: DataverseClient
) -> None:
    # una (Basic User) reads her own mailbox only: the query answers with what she may see.
    mine = await find_mailboxes(dv, MailboxFilter(approval=2), acting_for=oid(sim, "una"))
    assert [str(m.id) for m in mine] == [mailbox_id(sim, "una")]


async def test_throttled_then_succeeding(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(r"GET /api/data/v9\.2/systemusers", 429, retry_after=1, times=1)

    found = await find_mailboxes(dv, MailboxFilter(person="Alice"))

    assert len(found) == 1 and statuses(sim)[0] == 429
    assert waits.waits == [1.0]  # each Retry-After: 1 honoured


async def test_resolve_when_throttled(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(r"GET /api/data/v9\.2/queues", 429, retry_after=1, times=1)

    resolution = await resolve(dv, "Support")

    assert resolution.best is not None and resolution.best.kind == "queue"
    assert 429 in statuses(sim)
    assert waits.waits == [1.0]  # each Retry-After: 1 honoured


async def test_resolve_as_a_person_without_read_on_queues(
    sim: RunningSim, dv: DataverseClient
) -> None:
    # gary holds Basic User: people and queues are readable, mailboxes only his own.
    resolution = await resolve(dv, "support", acting_for=oid(sim, "gary"))

    assert [c.kind for c in resolution.candidates] == ["queue"]
