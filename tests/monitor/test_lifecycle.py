"""The incident lifecycle against the sim, cycle by cycle (`await monitor.run_cycle()`, no
sleeping): announce once, dedupe, acknowledge, escalate, resolve, group, silence, restart.

Each test first runs a baseline cycle: the contoso fixture starts with some failing
generated mailboxes, which the monitor rightly announces (one grouped message); what a test
checks comes after `notifier.mark()`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cards import verbs
from dataverse import DataverseClient
from monitor import Audience, Monitor, SilenceNeedsConfirmation
from store import Incident, IncidentState, SilenceScope, Store, SubjectKind
from tests.monitor.conftest import MonitorFactory, quiet_config
from tests.monitor.kit import (
    BOB,
    DANA,
    DANA_PERSON,
    EDDIE,
    EDDIE_PERSON,
    ENV,
    GINA_PERSON,
    RecordingNotifier,
    facts,
    fail,
    flat,
    healthy_approved,
    recover,
    verbs_of,
)
from tests.simharness import RunningSim
from tests.store.kit import Backend, FakeClock


async def _baseline(monitor: Monitor, notifier: RecordingNotifier, store: Store) -> int:
    """The first cycle, whose grouped message (the fixture's failing mailboxes) someone on
    call acknowledges at once, so that it neither escalates nor shows up later."""
    report = await monitor.run_cycle()
    assert report.leader and report.sweep
    (baseline,) = notifier.posts
    assert "18 mailboxes failing the same way" in flat(baseline.card)
    lead = next(i for i in await store.incidents.open(environment=ENV) if i.card)
    await monitor.engine.acknowledge(lead.id, by=GINA_PERSON)
    return notifier.mark()


async def _bob(store: Store) -> list[Incident]:
    return [
        i
        for i in await store.incidents.open(environment=ENV)
        if i.subject_kind is SubjectKind.MAILBOX and i.subject_id == BOB
    ]


async def test_a_failing_mailbox_is_announced_once_within_one_poll(
    sim: RunningSim,
    dv: DataverseClient,
    store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(store)
    mark = await _baseline(monitor, notifier, store)

    await fail(sim, dv, [BOB], code=3, text="Authentication failure for bob@contoso.com.")
    report = await monitor.run_cycle()

    (post,) = notifier.since(mark)
    assert report.opened == 1 and report.posted == 1
    assert post.audience is Audience.ON_CALL
    assert post.mentions == (DANA,)
    text = flat(post.card)
    assert "Mailbox failing: Bob Brown" in text
    assert "<at>Dana Delegate</at> is on call." in text
    assert facts(post.card)["Error code"] == "3"
    assert verbs_of(post.card) == {
        verbs.INCIDENT_ACK,
        verbs.INCIDENT_RETEST,
        verbs.INCIDENT_SILENCE,
        verbs.INCIDENT_OPEN,
    }
    (incident,) = await _bob(store)
    assert (incident.error_code, incident.state, incident.card) == (
        "3",
        IncidentState.FIRING,
        post.location,
    )
    # Nothing changed since: nothing more is sent, and the poll costs two requests.
    quiet = await monitor.run_cycle()
    assert notifier.since(mark) == [post]
    assert (quiet.requests, quiet.opened, quiet.posted, quiet.updated) == (2, 0, 0, 0)


async def test_the_same_failure_again_sends_no_new_message(
    sim: RunningSim,
    dv: DataverseClient,
    store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(store)
    mark = await _baseline(monitor, notifier, store)
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    (post,) = notifier.since(mark)

    await fail(sim, dv, [BOB])  # the test runs again and fails the same way
    report = await monitor.run_cycle()

    assert notifier.since(mark) == [post]
    assert (report.opened, report.seen_again) == (0, 1)
    (incident,) = await _bob(store)
    assert incident.count == 2
    # The card in the channel says so.
    assert facts(notifier.current(post.location))["How often"] == "2 times"


async def test_acknowledge_shows_who_on_the_card(
    sim: RunningSim,
    dv: DataverseClient,
    store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(store)
    mark = await _baseline(monitor, notifier, store)
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    (post,) = notifier.since(mark)
    (incident,) = await _bob(store)

    result = await monitor.engine.acknowledge(incident.id, by=DANA_PERSON)

    assert result.applied and result.location == post.location
    shown = notifier.current(post.location)
    assert shown == result.card
    assert facts(shown)["State"] == "Acknowledged"
    assert facts(shown)["Acknowledged by"].startswith("Dana Delegate, ")
    assert verbs.INCIDENT_ACK not in verbs_of(shown)
    # A late second click changes nothing.
    again = await monitor.engine.acknowledge(incident.id, by=EDDIE_PERSON)
    assert not again.applied
    assert facts(again.card)["Acknowledged by"].startswith("Dana Delegate, ")


async def test_not_acknowledged_in_time_escalates_to_the_next_person_then_the_approvers(
    sim: RunningSim,
    dv: DataverseClient,
    store: Store,
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    config = quiet_config(ack_timeout=timedelta(minutes=15))
    monitor = monitor_for(store, config=config)
    mark = await _baseline(monitor, notifier, store)
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    (announced,) = notifier.since(mark)

    clock.advance(timedelta(minutes=14))
    assert (await monitor.run_cycle()).escalated == 0
    clock.advance(timedelta(minutes=1))
    first = await monitor.run_cycle()
    assert first.escalated == 1
    escalation = notifier.since(mark)[1]
    assert escalation.audience is Audience.ON_CALL
    assert escalation.mentions == (EDDIE,)
    assert "<at>Eddie Exchange</at>, please take over." in flat(escalation.card)
    assert facts(notifier.current(announced.location))["Escalated to"] == "Eddie Exchange"

    clock.advance(timedelta(minutes=15))
    second = await monitor.run_cycle()
    assert second.escalated == 1
    to_approvers = notifier.since(mark)[2]
    assert to_approvers.audience is Audience.APPROVERS
    assert facts(notifier.current(announced.location))["Escalated to"] == "the approvers"

    # Acknowledged: no more escalation, only the reminder after the repeat interval.
    (incident,) = await _bob(store)
    await monitor.engine.acknowledge(incident.id, by=EDDIE_PERSON)
    clock.advance(timedelta(hours=1))
    assert (await monitor.run_cycle()).escalated == 0
    assert len(notifier.since(mark)) == 3
    clock.advance(config.repeat_interval)
    reminded = await monitor.run_cycle()
    assert reminded.reminded >= 1
    assert any("Reminder" in flat(p.card) for p in notifier.since(mark)[3:])


async def test_recovery_updates_the_original_card_to_resolved(
    sim: RunningSim,
    dv: DataverseClient,
    store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(store)
    mark = await _baseline(monitor, notifier, store)
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    (post,) = notifier.since(mark)
    (incident,) = await _bob(store)

    await recover(sim, dv, [BOB])
    report = await monitor.run_cycle()

    assert report.resolved == 1 and report.posted == 0
    resolved = await store.incidents.get(incident.id)
    assert resolved is not None and resolved.state is IncidentState.RESOLVED
    card = notifier.current(post.location)
    assert "● Resolved" in flat(card)
    assert verbs_of(card) == {verbs.INCIDENT_OPEN}
    assert "Resolved" in facts(card)
    assert notifier.since(mark) == [post]


async def test_thirty_mailboxes_failing_the_same_way_are_one_message(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store)
    mark = await _baseline(monitor, notifier, lite_store)
    *thirty, late = healthy_approved(sim, 31)

    await fail(sim, dv, thirty, code=7, text="The mailbox's Exchange server did not answer.")
    report = await monitor.run_cycle()

    (post,) = notifier.since(mark)
    assert report.opened == 30 and report.posted == 1
    text = flat(post.card)
    assert "30 mailboxes failing the same way" in text
    assert "Server profile: Microsoft Exchange Online" in text
    assert "Every mailbox below fails with error code 7." in text
    assert "… and 5 more" in text  # 25 listed by default
    opened = [i for i in await lite_store.incidents.open(environment=ENV) if i.error_code == "7"]
    assert len(opened) == 30
    assert {i.card for i in opened} == {post.location}

    # A thirty-first one failing the same way later joins the same card.
    await fail(sim, dv, [late], code=7, text="The mailbox's Exchange server did not answer.")
    joined = await monitor.run_cycle()
    assert joined.posted == 0 and joined.updated == 1
    assert "31 mailboxes failing the same way" in flat(notifier.current(post.location))

    # Acknowledging the card acknowledges every mailbox on it.
    await monitor.engine.acknowledge(opened[0].id, by=DANA_PERSON)
    states = {
        i.state for i in await lite_store.incidents.open(environment=ENV) if i.error_code == "7"
    }
    assert states == {IncidentState.ACKNOWLEDGED}


async def test_a_silence_holds_everything_back_until_it_expires(
    sim: RunningSim,
    dv: DataverseClient,
    store: Store,
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(store)
    mark = await _baseline(monitor, notifier, store)
    await monitor.engine.silence_scope(
        SilenceScope.MAILBOX,
        BOB,
        reason="Exchange maintenance for bob until noon",
        duration=timedelta(hours=1),
        by=DANA_PERSON,
    )

    await fail(sim, dv, [BOB])
    silenced = await monitor.run_cycle()
    assert silenced.opened == 1 and silenced.posted == 0 and silenced.held_back >= 1
    clock.advance(timedelta(minutes=59))
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    assert notifier.since(mark) == []

    clock.advance(timedelta(minutes=1))
    expired = await monitor.run_cycle()
    (post,) = notifier.since(mark)
    assert expired.posted == 1
    assert "Bob Brown" in flat(post.card)
    assert facts(post.card)["How often"] == "2 times"


async def test_silence_from_the_card_and_the_confirmation_for_wide_silences(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store)
    mark = await _baseline(monitor, notifier, lite_store)
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    (post,) = notifier.since(mark)
    (incident,) = await _bob(lite_store)

    result = await monitor.engine.silence(
        incident.id,
        hours=8,
        reason="Known Exchange outage",
        by=DANA_PERSON,
    )

    card = notifier.current(post.location)
    assert card == result.card
    assert "● Silenced" in flat(card)
    assert "by Dana Delegate: Known Exchange outage" in facts(card)["Silenced until"]
    assert verbs.INCIDENT_SILENCE not in verbs_of(card)
    with pytest.raises(SilenceNeedsConfirmation):
        await monitor.engine.silence_scope(
            SilenceScope.ERROR_CODE,
            "3",
            reason="every authentication failure",
            duration=timedelta(hours=1),
            by=DANA_PERSON,
        )
    wide = await monitor.engine.silence_scope(
        SilenceScope.ERROR_CODE,
        "3",
        reason="every authentication failure",
        duration=timedelta(hours=1),
        by=DANA_PERSON,
        confirmed=True,
    )
    assert wide.environment == ENV


async def test_a_restart_sends_no_duplicates_and_open_incidents_carry_on(
    sim: RunningSim,
    dv: DataverseClient,
    backend: Backend,
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    first_store = await backend.open(clock)
    try:
        first = monitor_for(first_store)
        mark = await _baseline(first, notifier, first_store)
        await fail(sim, dv, [BOB])
        await first.run_cycle()
        (post,) = notifier.since(mark)
    finally:
        await first_store.close()  # the process stops without releasing its lease

    store = await backend.open(clock)
    try:
        again = monitor_for(store)  # the same replica, restarted
        report = await again.run_cycle()
        assert report.leader and report.sweep
        assert (report.opened, report.posted) == (0, 0)
        assert notifier.since(mark) == [post]

        await fail(sim, dv, [BOB])
        repeated = await again.run_cycle()
        assert (repeated.opened, repeated.posted, repeated.seen_again) == (0, 0, 1)
        (incident,) = await _bob(store)
        acked = await again.engine.acknowledge(incident.id, by=DANA_PERSON)
        assert acked.location == post.location

        await recover(sim, dv, [BOB])
        await again.run_cycle()
        assert "● Resolved" in flat(notifier.current(post.location))
        assert notifier.since(mark) == [post]
    finally:
        await store.close()


async def test_without_an_approvers_channel_the_last_escalation_stays_in_on_call(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    notifier.missing.add(Audience.APPROVERS)
    monitor = monitor_for(lite_store)
    mark = await _baseline(monitor, notifier, lite_store)
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    for _ in range(2):
        clock.advance(monitor.config.ack_timeout)
        assert (await monitor.run_cycle()).escalated == 1
    last = notifier.since(mark)[-1]
    assert last.audience is Audience.ON_CALL
    assert "escalated to you" in flat(last.card)
    (incident,) = await _bob(lite_store)
    assert incident.escalation_level == 2
