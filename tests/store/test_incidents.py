"""Incidents (one per open key, counted, acknowledged once, escalated, resolved) and silences."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import timedelta

import pytest

from store import (
    INCIDENT_TRANSITIONS,
    CardLocation,
    ConversationKey,
    IllegalTransition,
    IncidentState,
    InvalidInput,
    NotFound,
    Observation,
    SilenceScope,
    Store,
    SubjectKind,
    incident_transition,
)
from tests.store.kit import ALICE_MAILBOX, DANA, ERIN, FakeClock

PROFILE = "33333333-3333-3333-3333-333333333333"
CHANNEL = ConversationKey("72f988bf-86f1-41af-91ab-2d7cd011db47", "19:oncall@thread.tacv2")
LEGAL = {
    (IncidentState.FIRING, IncidentState.ACKNOWLEDGED),
    (IncidentState.FIRING, IncidentState.RESOLVED),
    (IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED),
}


async def fail(
    store: Store,
    mailbox: str = ALICE_MAILBOX,
    code: str = "IncomingFailure",
    *,
    environment: str = "prod",
    text: str = "The mailbox could not be reached.",
) -> Observation:
    return await store.incidents.observe(
        environment=environment,
        subject_kind=SubjectKind.MAILBOX,
        subject_id=mailbox,
        subject_display=f"{mailbox[:4]}@contoso.com",
        error_code=code,
        error_text=text,
        group_key=PROFILE,
    )


@pytest.mark.parametrize(
    ("current", "target"), list(itertools.product(IncidentState, IncidentState))
)
def test_transition_function(current: IncidentState, target: IncidentState) -> None:
    legal = (current, target) in LEGAL
    assert (target in INCIDENT_TRANSITIONS[current]) is legal
    if legal:
        assert incident_transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            incident_transition(current, target)


async def test_the_same_failure_counts_on_the_open_incident(
    store: Store, clock: FakeClock
) -> None:
    first = await fail(store)
    assert first.opened
    incident = first.incident
    assert (incident.state, incident.count, incident.escalation_level) == (
        IncidentState.FIRING,
        1,
        0,
    )
    assert incident.first_seen == incident.last_seen == clock.current

    clock.advance(timedelta(minutes=1))
    again = await fail(store, text="Still unreachable.")
    assert not again.opened
    assert again.incident.id == incident.id
    assert again.incident.count == 2
    assert again.incident.first_seen == incident.first_seen
    assert again.incident.last_seen == clock.current
    assert again.incident.error_text == "Still unreachable."


async def test_different_keys_make_different_incidents(store: Store) -> None:
    base = await fail(store)
    others = [
        await fail(store, code="OutgoingFailure"),
        await fail(store, mailbox="44444444-4444-4444-4444-444444444444"),
        await fail(store, environment="test"),
    ]
    assert all(other.opened for other in others)
    assert len({base.incident.id, *(other.incident.id for other in others)}) == 4
    assert len(await store.incidents.open()) == 4
    assert len(await store.incidents.open(environment="prod")) == 3
    assert len(await store.incidents.open(environment="prod", group_key=PROFILE)) == 3
    assert await store.incidents.open(group_key="other") == []


async def test_two_replicas_seeing_one_failure_make_one_incident(
    store: Store, other_store: Store
) -> None:
    for code in ("A", "B", "C", "D"):
        first, second = await asyncio.gather(fail(store, code=code), fail(other_store, code=code))
        assert first.incident.id == second.incident.id
        assert sorted([first.opened, second.opened]) == [False, True]


async def test_acknowledge_once(store: Store, clock: FakeClock) -> None:
    incident = (await fail(store)).incident
    clock.advance(timedelta(minutes=2))
    first, second = await asyncio.gather(
        store.incidents.acknowledge(incident.id, by=DANA),
        store.incidents.acknowledge(incident.id, by=ERIN),
    )
    assert sorted([first.applied, second.applied]) == [False, True]
    acknowledged = first.incident if first.applied else second.incident
    assert acknowledged.state is IncidentState.ACKNOWLEDGED
    assert acknowledged.acknowledged_at == clock.current
    assert acknowledged.acknowledged_by in (DANA, ERIN)
    # Seen again while acknowledged: counted, still acknowledged.
    again = await fail(store)
    assert again.incident.state is IncidentState.ACKNOWLEDGED
    assert again.incident.count == 2


async def test_resolve_and_reopen_as_a_new_incident(store: Store, clock: FakeClock) -> None:
    incident = (await fail(store)).incident
    clock.advance(timedelta(minutes=10))
    resolved = await store.incidents.resolve(incident.id)
    assert resolved.applied
    assert resolved.incident.state is IncidentState.RESOLVED
    assert resolved.incident.resolved_at == clock.current
    assert not (await store.incidents.resolve(incident.id)).applied
    late_ack = await store.incidents.acknowledge(incident.id, by=DANA)
    assert not late_ack.applied
    assert late_ack.incident.state is IncidentState.RESOLVED

    clock.advance(timedelta(hours=1))
    recurrence = await fail(store)
    assert recurrence.opened
    assert recurrence.incident.id != incident.id
    history = await store.incidents.get(incident.id)
    assert history is not None
    assert history.state is IncidentState.RESOLVED


async def test_a_mailbox_that_works_again_resolves_its_incidents(
    store: Store, other_store: Store
) -> None:
    incoming = (await fail(store, code="IncomingFailure")).incident
    outgoing = (await fail(store, code="OutgoingFailure")).incident
    await store.incidents.acknowledge(outgoing.id, by=DANA)
    other_mailbox = (await fail(store, mailbox="44444444-4444-4444-4444-444444444444")).incident

    first, second = await asyncio.gather(
        store.incidents.resolve_subject("prod", SubjectKind.MAILBOX, ALICE_MAILBOX),
        other_store.incidents.resolve_subject("prod", SubjectKind.MAILBOX, ALICE_MAILBOX),
    )
    assert sorted(incident.id for incident in first + second) == sorted([incoming.id, outgoing.id])
    assert all(incident.state is IncidentState.RESOLVED for incident in first + second)
    assert [incident.id for incident in await store.incidents.open()] == [other_mailbox.id]


async def test_escalation_happens_once_per_level(store: Store, clock: FakeClock) -> None:
    incident = (await fail(store)).incident
    clock.advance(timedelta(minutes=15))
    first, second = await asyncio.gather(
        store.incidents.escalate(incident.id, from_level=0),
        store.incidents.escalate(incident.id, from_level=0),
    )
    assert sorted([first.applied, second.applied]) == [False, True]
    assert (
        await store.incidents.escalate(incident.id, from_level=1)
    ).incident.escalation_level == 2
    escalated = await store.incidents.get(incident.id)
    assert escalated is not None
    assert escalated.escalation_level == 2
    assert escalated.last_notified_at == clock.current

    await store.incidents.acknowledge(incident.id, by=DANA)
    assert not (await store.incidents.escalate(incident.id, from_level=2)).applied


async def test_notification_and_card(store: Store, clock: FakeClock) -> None:
    incident = (await fail(store)).incident
    assert incident.card is None
    card = CardLocation(CHANNEL, "1717318800000")
    noted = await store.incidents.record_notification(incident.id, card=card)
    assert noted.card == card
    assert noted.last_notified_at == clock.current
    clock.advance(timedelta(hours=4))
    reminded = await store.incidents.record_notification(incident.id)
    assert reminded.card == card
    assert reminded.last_notified_at == clock.current
    found = await store.incidents.find_open(
        "prod", SubjectKind.MAILBOX, ALICE_MAILBOX, "IncomingFailure"
    )
    assert found == reminded
    with pytest.raises(NotFound):
        await store.incidents.record_notification(uuid.uuid4())


async def test_silences(store: Store, clock: FakeClock) -> None:
    mailbox = await store.silences.create(
        scope=SilenceScope.MAILBOX,
        value=ALICE_MAILBOX,
        reason="  migration weekend  ",
        created_by=DANA,
        expires_in=timedelta(hours=8),
        environment="prod",
    )
    assert mailbox.reason == "migration weekend"
    assert mailbox.expires_at == clock.current + timedelta(hours=8)
    clock.advance(timedelta(seconds=1))
    code = await store.silences.create(
        scope=SilenceScope.ERROR_CODE,
        value="OutgoingFailure",
        reason="known Exchange incident",
        created_by=ERIN,
        expires_in=timedelta(hours=1),
    )
    assert await store.silences.get(mailbox.id) == mailbox

    assert [s.id for s in await store.silences.active()] == [mailbox.id, code.id]
    assert [s.id for s in await store.silences.active(environment="test")] == [code.id]
    matching = await store.silences.matching(
        "prod", mailbox_id=ALICE_MAILBOX, profile_id=PROFILE, error_code="OutgoingFailure"
    )
    assert [s.id for s in matching] == [mailbox.id, code.id]
    assert [s.id for s in await store.silences.matching("test", mailbox_id=ALICE_MAILBOX)] == []
    assert await store.silences.matching("prod") == []

    incident = (await fail(store)).incident
    silenced = await store.incidents.set_silenced_by(incident.id, mailbox.id)
    assert silenced.silenced_by == mailbox.id

    clock.advance(timedelta(hours=2))
    assert [s.id for s in await store.silences.active()] == [mailbox.id]
    assert await store.silences.lift(mailbox.id, by=ERIN) is True
    assert await store.silences.lift(mailbox.id, by=ERIN) is False
    lifted = await store.silences.get(mailbox.id)
    assert lifted is not None
    assert (lifted.lifted_at, lifted.lifted_by) == (clock.current, ERIN)
    assert await store.silences.active() == []
    assert await store.silences.lift(code.id, by=ERIN) is False  # expired already


@pytest.mark.parametrize(
    ("value", "reason", "expires_in"),
    [
        (ALICE_MAILBOX, "", timedelta(hours=1)),
        (ALICE_MAILBOX, "   ", timedelta(hours=1)),
        ("", "reason", timedelta(hours=1)),
        (ALICE_MAILBOX, "reason", timedelta(0)),
    ],
)
async def test_a_silence_needs_a_reason_a_scope_and_an_end(
    store: Store, value: str, reason: str, expires_in: timedelta
) -> None:
    with pytest.raises(InvalidInput):
        await store.silences.create(
            scope=SilenceScope.MAILBOX,
            value=value,
            reason=reason,
            created_by=DANA,
            expires_in=expires_in,
        )
