"""What the monitor added to `store.incidents`, on both databases: `on_card` (grouped
cards), `observe_many` and `record_notifications` (a thousand changes in one cycle)."""

from __future__ import annotations

from datetime import timedelta

from store import CardLocation, ConversationKey, Sighting, Store, SubjectKind
from tests.store.kit import FakeClock

CHANNEL = ConversationKey("c0ffee00-0000-4000-8000-000000000001", "19:on-call@thread.tacv2")


async def test_incidents_sharing_a_card_open_or_resolved(store: Store) -> None:
    card = CardLocation(CHANNEL, "activity-1")
    other = CardLocation(CHANNEL, "activity-2")
    ids = []
    for n in range(3):
        observed = await store.incidents.observe(
            environment="prod",
            subject_kind=SubjectKind.MAILBOX,
            subject_id=f"mailbox-{n}",
            subject_display=f"Mailbox {n}",
            error_code="7",
            group_key="profile|7",
        )
        ids.append(observed.incident.id)
    await store.incidents.record_notification(ids[0], card=card)
    await store.incidents.record_notification(ids[1], card=card)
    await store.incidents.record_notification(ids[2], card=other)
    await store.incidents.resolve(ids[1])

    shared = await store.incidents.on_card("prod", "profile|7", card)

    assert {i.id for i in shared} == set(ids[:2])  # same first_seen: the order is by id
    assert await store.incidents.on_card("prod", "profile|8", card) == []
    assert await store.incidents.on_card("test", "profile|7", card) == []


async def test_observe_many_opens_and_counts_like_observe(store: Store, clock: FakeClock) -> None:
    first = await store.incidents.observe(
        environment="prod",
        subject_kind=SubjectKind.MAILBOX,
        subject_id="mailbox-0",
        subject_display="Mailbox 0",
        error_code="7",
    )
    clock.advance(timedelta(minutes=1))
    sightings = [
        Sighting(SubjectKind.MAILBOX, f"mailbox-{n}", f"Mailbox {n}", "7", "down", "p|7")
        for n in range(1200)
    ]
    sightings.append(sightings[5])  # the same key twice counts once

    observed = await store.incidents.observe_many("prod", sightings, chunk=500)

    assert [o.incident.subject_id for o in observed] == [f"mailbox-{n}" for n in range(1200)]
    assert [o.opened for o in observed[:2]] == [False, True]
    again = observed[0].incident
    assert (again.id, again.count, again.last_seen) == (first.incident.id, 2, clock.current)
    assert again.group_key == "p|7" and again.error_text == "down"
    assert sum(o.opened for o in observed) == 1199
    assert len(await store.incidents.open(environment="prod")) == 1200
    assert await store.incidents.observe_many("prod", []) == []


async def test_record_notifications_in_one_statement(store: Store, clock: FakeClock) -> None:
    card = CardLocation(CHANNEL, "activity-9")
    observed = await store.incidents.observe_many(
        "prod",
        [Sighting(SubjectKind.MAILBOX, f"m{n}", f"M {n}", "3", group_key="p|3") for n in range(5)],
    )
    ids = [o.incident.id for o in observed]
    assert await store.incidents.record_notifications(ids[:3], card=card) == 3
    clock.advance(timedelta(hours=1))
    assert await store.incidents.record_notifications(ids) == 5
    assert await store.incidents.record_notifications([]) == 0
    rows = {i.id: i for i in await store.incidents.open(environment="prod")}
    assert all(rows[i].card == card for i in ids[:3])
    assert all(rows[i].card is None for i in ids[3:])
    assert {rows[i].last_notified_at for i in ids} == {clock.current}
