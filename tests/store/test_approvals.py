"""Approval requests: the state machine, the single decision, expiry, reminders, cards."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import timedelta

import pytest

from store import (
    APPROVAL_TRANSITIONS,
    ApprovalRequest,
    ApprovalState,
    CardRole,
    ConversationKey,
    IllegalTransition,
    InvalidInput,
    NotFound,
    StaleVersion,
    Store,
    approval_transition,
)
from tests.store.kit import ALICE_MAILBOX, DANA, ERIN, SAM, FakeClock

TERMINAL = [state for state in ApprovalState if state is not ApprovalState.PENDING]
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


async def new_request(
    store: Store,
    *,
    expires_in: timedelta = timedelta(hours=24),
    remind_after: timedelta | None = None,
    environment: str = "prod",
) -> ApprovalRequest:
    return await store.approvals.create(
        environment=environment,
        action="approve_mailbox",
        target_mailbox_id=ALICE_MAILBOX,
        target_display="alice@contoso.com",
        requester=SAM,
        reason="alice starts on Monday",
        parameters={"mailboxid": ALICE_MAILBOX},
        correlation_id="corr-1",
        expires_in=expires_in,
        remind_after=remind_after,
    )


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(ApprovalState, ApprovalState))
)
def test_transition_function(current: ApprovalState, target: ApprovalState) -> None:
    legal = current is ApprovalState.PENDING and target is not ApprovalState.PENDING
    assert (target in APPROVAL_TRANSITIONS[current]) is legal
    if legal:
        assert approval_transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition) as caught:
            approval_transition(current, target)
        assert (caught.value.current, caught.value.target) == (current, target)


async def test_create_and_get(store: Store, clock: FakeClock) -> None:
    request = await new_request(store, remind_after=timedelta(hours=20))
    assert request.state is ApprovalState.PENDING
    assert request.requester == SAM
    assert request.created_at == clock.current
    assert request.expires_at == clock.current + timedelta(hours=24)
    assert request.remind_at == clock.current + timedelta(hours=20)
    assert request.version == 1
    assert await store.approvals.get(request.id) == request
    assert await store.approvals.get(uuid.uuid4()) is None


@pytest.mark.parametrize(
    ("expires_in", "remind_after"),
    [
        (timedelta(0), None),
        (timedelta(hours=-1), None),
        (timedelta(hours=1), timedelta(hours=1)),
        (timedelta(hours=1), timedelta(0)),
    ],
)
async def test_create_refuses_impossible_times(
    store: Store, expires_in: timedelta, remind_after: timedelta | None
) -> None:
    with pytest.raises(InvalidInput):
        await new_request(store, expires_in=expires_in, remind_after=remind_after)


@pytest.mark.parametrize("state", TERMINAL)
async def test_every_legal_decision(store: Store, clock: FakeClock, state: ApprovalState) -> None:
    request = await new_request(store)
    clock.advance(timedelta(minutes=3))
    decision = await store.approvals.decide(request.id, state, by=DANA, detail="because")
    assert decision.won
    decided = decision.request
    assert decided.state is state
    assert decided.decided_by == DANA
    assert decided.decided_at == clock.current
    assert decided.outcome_detail == "because"
    assert decided.version == 2
    assert await store.approvals.get(request.id) == decided


@pytest.mark.parametrize(("first", "second"), list(itertools.product(TERMINAL, TERMINAL)))
async def test_a_decided_request_stays_decided(
    store: Store, first: ApprovalState, second: ApprovalState
) -> None:
    request = await new_request(store)
    await store.approvals.decide(request.id, first, by=DANA)
    again = await store.approvals.decide(request.id, second, by=ERIN)
    assert not again.won
    assert again.request.state is first
    assert again.request.decided_by == DANA
    with pytest.raises(IllegalTransition):
        approval_transition(again.request.state, second)


async def test_nothing_moves_back_to_pending(store: Store) -> None:
    request = await new_request(store)
    with pytest.raises(IllegalTransition):
        await store.approvals.decide(request.id, ApprovalState.PENDING, by=DANA)


@pytest.mark.parametrize("state", [ApprovalState.APPROVED, ApprovalState.REJECTED])
async def test_people_decisions_name_the_person(store: Store, state: ApprovalState) -> None:
    request = await new_request(store)
    with pytest.raises(InvalidInput):
        await store.approvals.decide(request.id, state, by=None)


async def test_the_system_may_fail_a_request(store: Store) -> None:
    request = await new_request(store)
    decision = await store.approvals.decide(
        request.id, ApprovalState.FAILED, by=None, detail="mailbox no longer exists"
    )
    assert decision.won
    assert decision.request.decided_by is None


async def test_deciding_an_unknown_request(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.approvals.decide(uuid.uuid4(), ApprovalState.APPROVED, by=DANA)


async def test_two_approvers_at_once_one_wins(store: Store, other_store: Store) -> None:
    for _ in range(8):
        request = await new_request(store)
        first, second = await asyncio.gather(
            store.approvals.decide(request.id, ApprovalState.APPROVED, by=DANA),
            other_store.approvals.decide(request.id, ApprovalState.REJECTED, by=ERIN),
        )
        assert [first.won, second.won].count(True) == 1
        winner, loser = (first, second) if first.won else (second, first)
        assert loser.request == winner.request
        assert loser.request.version == 2


async def test_many_clicks_in_one_process_one_wins(store: Store) -> None:
    request = await new_request(store)
    decisions = await asyncio.gather(
        *(store.approvals.decide(request.id, ApprovalState.APPROVED, by=DANA) for _ in range(6))
    )
    assert [decision.won for decision in decisions].count(True) == 1


async def test_a_click_after_expiry_expires_the_request(store: Store, clock: FakeClock) -> None:
    request = await new_request(store, expires_in=timedelta(hours=1))
    clock.advance(timedelta(hours=1))
    decision = await store.approvals.decide(request.id, ApprovalState.APPROVED, by=DANA)
    assert not decision.won
    assert decision.request.state is ApprovalState.EXPIRED
    assert decision.request.decided_by is None
    assert decision.request.decided_at == clock.current


async def test_expiry(store: Store, other_store: Store, clock: FakeClock) -> None:
    short = await new_request(store, expires_in=timedelta(hours=1))
    long = await new_request(store, expires_in=timedelta(hours=3))
    decided = await new_request(store, expires_in=timedelta(hours=1))
    await store.approvals.decide(decided.id, ApprovalState.REJECTED, by=DANA)
    assert await store.approvals.due_for_expiry() == []

    clock.advance(timedelta(hours=2))
    assert [request.id for request in await store.approvals.due_for_expiry()] == [short.id]
    first, second = await asyncio.gather(
        store.approvals.expire_due(), other_store.approvals.expire_due()
    )
    expired = first + second
    assert [request.id for request in expired] == [short.id]
    assert expired[0].state is ApprovalState.EXPIRED
    assert await store.approvals.due_for_expiry() == []
    assert await store.approvals.expire_due() == []
    current = await store.approvals.get(long.id)
    assert current is not None
    assert current.state is ApprovalState.PENDING


async def test_reminders(store: Store, other_store: Store, clock: FakeClock) -> None:
    request = await new_request(
        store, expires_in=timedelta(hours=24), remind_after=timedelta(hours=20)
    )
    await new_request(store, expires_in=timedelta(hours=24))  # no reminder asked for
    clock.advance(timedelta(hours=19))
    assert await store.approvals.due_for_reminder() == []

    clock.advance(timedelta(hours=1))
    assert [due.id for due in await store.approvals.due_for_reminder()] == [request.id]
    claims = await asyncio.gather(
        store.approvals.mark_reminded(request.id), other_store.approvals.mark_reminded(request.id)
    )
    assert sorted(claims) == [False, True]
    assert await store.approvals.due_for_reminder() == []
    reminded = await store.approvals.get(request.id)
    assert reminded is not None
    assert reminded.reminder_sent_at == clock.current


async def test_no_reminder_once_decided_or_expired(store: Store, clock: FakeClock) -> None:
    decided = await new_request(store, remind_after=timedelta(hours=1))
    await new_request(store, expires_in=timedelta(hours=2), remind_after=timedelta(hours=1))
    await store.approvals.decide(decided.id, ApprovalState.APPROVED, by=DANA)
    clock.advance(timedelta(hours=3))
    assert await store.approvals.due_for_reminder() == []
    assert await store.approvals.mark_reminded(decided.id) is False


async def test_record_outcome_with_optimistic_concurrency(store: Store) -> None:
    request = await new_request(store)
    approved = (await store.approvals.decide(request.id, ApprovalState.APPROVED, by=DANA)).request
    done = await store.approvals.record_outcome(
        request.id, "mailbox approved", expected_version=approved.version
    )
    assert done.outcome_detail == "mailbox approved"
    assert done.state is ApprovalState.APPROVED
    assert done.version == approved.version + 1
    with pytest.raises(StaleVersion) as caught:
        await store.approvals.record_outcome(
            request.id, "again", expected_version=approved.version
        )
    assert caught.value.actual == done.version
    unchecked = await store.approvals.record_outcome(request.id, "note")
    assert unchecked.version == done.version + 1
    with pytest.raises(NotFound):
        await store.approvals.record_outcome(uuid.uuid4(), "x")


async def test_every_copy_of_the_card_is_remembered(store: Store) -> None:
    request = await new_request(store)
    sam_chat = ConversationKey(TENANT, "a:sam")
    dana_chat = ConversationKey(TENANT, "a:dana")
    channel = ConversationKey(TENANT, "19:approvers@thread.tacv2")
    await store.approvals.add_card(
        request.id, sam_chat, "act-1", CardRole.REQUESTER, recipient_object_id=SAM.object_id
    )
    await store.approvals.add_card(
        request.id, dana_chat, "act-2", CardRole.APPROVER, recipient_object_id=DANA.object_id
    )
    await store.approvals.add_card(request.id, channel, "act-3", CardRole.APPROVER)
    again = await store.approvals.add_card(request.id, dana_chat, "act-2", CardRole.APPROVER)
    assert again.recipient_object_id == DANA.object_id

    cards = await store.approvals.cards(request.id)
    assert [(card.conversation, card.activity_id, card.role) for card in cards] == [
        (sam_chat, "act-1", CardRole.REQUESTER),
        (dana_chat, "act-2", CardRole.APPROVER),
        (channel, "act-3", CardRole.APPROVER),
    ]
    with pytest.raises(NotFound):
        await store.approvals.add_card(uuid.uuid4(), sam_chat, "act-9", CardRole.REQUESTER)


async def test_pending_views(store: Store, clock: FakeClock) -> None:
    first = await new_request(store)
    clock.advance(timedelta(seconds=1))
    second = await new_request(store, environment="test")
    clock.advance(timedelta(seconds=1))
    decided = await new_request(store)
    await store.approvals.decide(decided.id, ApprovalState.REJECTED, by=DANA)
    await store.approvals.add_card(
        second.id,
        ConversationKey(TENANT, "a:dana"),
        "act-1",
        CardRole.APPROVER,
        recipient_object_id=DANA.object_id,
    )

    assert [r.id for r in await store.approvals.pending()] == [first.id, second.id]
    assert [r.id for r in await store.approvals.pending(environment="test")] == [second.id]
    assert [r.id for r in await store.approvals.pending_for_approver(DANA.object_id)] == [
        second.id
    ]
    assert await store.approvals.pending_for_approver(ERIN.object_id) == []
    mine = await store.approvals.by_requester(SAM.object_id)
    assert [r.id for r in mine] == [decided.id, second.id, first.id]
    assert [r.id for r in await store.approvals.by_requester(SAM.object_id, limit=1)] == [
        decided.id
    ]
    assert await store.approvals.by_requester(DANA.object_id) == []
