"""What the monitor added to `store.incidents`, on both databases: `on_card` (grouped
cards), `observe_many`, `record_notifications` and `resolve_many` (a thousand changes in one
cycle), and the cached reads (`open_cached`, `on_card_cached`) that read in full only the
rows that changed."""

from __future__ import annotations

import uuid
from datetime import timedelta

from store import (
    CardLocation,
    ConversationKey,
    Incident,
    IncidentCache,
    IncidentState,
    Person,
    Sighting,
    SilenceScope,
    Store,
    SubjectKind,
)
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


async def test_cached_reads_return_what_the_plain_reads_return(
    store: Store, clock: FakeClock
) -> None:
    """`open_cached` and `on_card_cached` answer like `open` and `on_card` whatever changed
    between two reads (whoever changed it), and hand back unchanged rows as they were."""
    card = CardLocation(CHANNEL, "activity-1")
    opened = await store.incidents.observe_many(
        "prod",
        [Sighting(SubjectKind.MAILBOX, f"m{n}", f"M {n}", "7", group_key="p|7") for n in range(8)],
    )
    ids = [o.incident.id for o in opened]
    await store.incidents.record_notifications(ids[:6], card=card)
    open_cache, card_cache = IncidentCache(), IncidentCache()

    async def both_agree() -> list[Incident]:
        cached = await store.incidents.open_cached("prod", open_cache)
        assert cached == await store.incidents.open(environment="prod")
        on_card = await store.incidents.on_card_cached(
            "prod", "p|7", card, card_cache, shared=open_cache
        )
        assert on_card == await store.incidents.on_card("prod", "p|7", card)
        return cached

    first = await both_agree()
    again = await both_agree()
    assert all(a is b for a, b in zip(first, again, strict=True))  # nothing read again

    clock.advance(timedelta(minutes=1))
    await store.incidents.acknowledge(ids[0], by=Person("aa01", "Dana"))
    await store.incidents.resolve(ids[1])
    await store.incidents.observe_many("prod", [Sighting(SubjectKind.MAILBOX, "m2", "M 2", "7")])
    silence = await store.silences.create(
        scope=SilenceScope.MAILBOX,
        value="m3",
        reason="maintenance",
        created_by=Person("aa01", "Dana"),
        expires_in=timedelta(hours=1),
    )
    await store.incidents.set_silenced_by(ids[3], silence.id)
    await store.incidents.record_notifications(ids[6:], card=card)
    await store.incidents.observe(
        environment="prod",
        subject_kind=SubjectKind.PROFILE,
        subject_id="p",
        subject_display="Profile",
        error_code="profile_failing",
    )

    after = await both_agree()
    assert len(after) == 8  # m1 resolved, the profile incident opened
    unchanged = {i.id for i in first} - {ids[0], ids[1], ids[2], ids[3], ids[6], ids[7]}
    assert all(i is next(f for f in first if f.id == i.id) for i in after if i.id in unchanged)
    await both_agree()


async def test_rows_remembered_from_a_write_are_not_read_again(store: Store) -> None:
    cache = IncidentCache()
    observed = await store.incidents.observe_many(
        "prod", [Sighting(SubjectKind.MAILBOX, f"m{n}", f"M {n}", "7") for n in range(3)]
    )
    store.incidents.remember(cache, (o.incident for o in observed))

    read = await store.incidents.open_cached("prod", cache)

    assert [i.id for i in read] == [i.id for i in await store.incidents.open(environment="prod")]
    assert {id(i) for i in read} == {id(o.incident) for o in observed}
    card = CardLocation(CHANNEL, "activity-3")
    await store.incidents.record_notifications([read[0].id], card=card, cache=cache)
    (noted,) = [i for i in (await store.incidents.open_cached("prod", cache)) if i.card]
    assert noted.id == read[0].id and any(noted is i for i in cache.rows.values())


async def test_resolve_many_resolves_each_open_one_once(store: Store, clock: FakeClock) -> None:
    observed = await store.incidents.observe_many(
        "prod", [Sighting(SubjectKind.MAILBOX, f"m{n}", f"M {n}", "7") for n in range(1200)]
    )
    ids = [o.incident.id for o in observed]
    await store.incidents.resolve(ids[0])
    clock.advance(timedelta(minutes=1))

    resolved = await store.incidents.resolve_many([*ids, ids[5]])  # chunked; one twice

    assert sorted(i.id for i in resolved) == sorted(ids[1:])
    assert {(i.state, i.resolved_at) for i in resolved} == {
        (IncidentState.RESOLVED, clock.current)
    }
    assert await store.incidents.open(environment="prod") == []
    assert await store.incidents.resolve_many(ids) == []
    assert await store.incidents.resolve_many([]) == []


async def test_new_incident_ids_are_random_version_4_uuids(store: Store) -> None:
    observed = await store.incidents.observe_many(
        "prod", [Sighting(SubjectKind.MAILBOX, f"m{n}", f"M {n}", "7") for n in range(50)]
    )
    ids = [o.incident.id for o in observed]
    assert len(set(ids)) == 50
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
