"""Server profiles: many failing mailboxes make a profile incident that holds its mailboxes'
incidents back (inhibition); a profile's own alert is an incident too; pending approvals
older than the threshold; re-tests; a channel that is not set yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dataverse import DataverseClient
from dataverse.models import Alert, Mailbox
from dataverse.ops import approve
from monitor import Audience, ProfileThreshold
from sim import testenable
from store import IncidentState, Store, SubjectKind
from tests.monitor.conftest import MonitorFactory, quiet_config
from tests.monitor.kit import (
    BOB,
    DANA_PERSON,
    ENV,
    GINA,
    OLGA,
    ONPREM_PROFILE,
    OTTO,
    RecordingNotifier,
    facts,
    fail,
    flat,
    recover,
)
from tests.simharness import RunningSim
from tests.store.kit import FakeClock

ONPREM = "Contoso Exchange (on-premises)"


async def test_a_failing_profile_holds_its_mailboxes_back(
    sim: RunningSim,
    dv: DataverseClient,
    store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    config = quiet_config(profile_threshold=ProfileThreshold(min_mailboxes=2, ratio=0.5))
    monitor = monitor_for(store, config=config)
    await monitor.run_cycle()
    mark = notifier.mark()

    # Both mailboxes of the on-premises profile fail (unapproved: the approval alert).
    await fail(sim, dv, [OTTO, OLGA])
    report = await monitor.run_cycle()

    (post,) = notifier.since(mark)
    assert report.opened == 3  # two mailboxes and the profile
    assert report.held_back == 2
    text = flat(post.card)
    assert f"Server profile failing: {ONPREM}" in text
    assert facts(post.card)["Failing mailboxes"] == "2 of 2"
    assert "2 mailbox incidents of this profile are held back while it fails." in text
    held = [i for i in await store.incidents.open(environment=ENV) if i.subject_id in {OTTO, OLGA}]
    assert len(held) == 2 and all(i.card is None for i in held)

    # otto is approved and recovers: the profile is no longer failing; olga, still
    # failing, is announced.
    await approve(dv, OTTO, acting_for=GINA.user_id)
    await recover(sim, dv, [OTTO])
    after = await monitor.run_cycle()
    assert after.resolved == 2  # otto's incident and the profile's
    assert "● Resolved" in flat(notifier.current(post.location))
    (olga,) = notifier.since(mark)[1:]
    assert "Mailbox failing: Olga Onprem" in flat(olga.card)


async def test_an_alert_about_a_profile_is_a_profile_incident(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store)
    await monitor.run_cycle()
    mark = notifier.mark()

    await dv.create_row(
        Alert,
        {
            "level": 3,
            "tracecode": 42,
            "text": "The email server profile could not connect to Exchange.",
            "regardingobjectid_emailserverprofile@odata.bind": (
                f"/emailserverprofiles({ONPREM_PROFILE})"
            ),
        },
    )
    await monitor.run_cycle()

    (post,) = notifier.since(mark)
    assert f"Server profile alert: {ONPREM}" in flat(post.card)
    assert facts(post.card)["Error code"] == "42"
    (incident,) = [
        i
        for i in await lite_store.incidents.open(environment=ENV)
        if i.subject_kind is SubjectKind.PROFILE
    ]
    assert (incident.subject_id, incident.error_code) == (ONPREM_PROFILE, "42")


async def test_the_channel_not_set_yet_keeps_incidents_waiting(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    notifier.missing.add(Audience.ON_CALL)
    monitor = monitor_for(lite_store)
    await monitor.run_cycle()
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    assert notifier.posts == []

    notifier.missing.clear()  # `set on-call channel here`
    report = await monitor.run_cycle()
    assert report.posted == 2  # the fixture's group and bob
    assert sum("Bob Brown" in flat(p.card) for p in notifier.posts) == 1


async def test_retest_from_the_card_schedules_test_and_enable(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store)
    await monitor.run_cycle()
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()
    (incident,) = [
        i for i in await lite_store.incidents.open(environment=ENV) if i.subject_id == BOB
    ]

    before = len(sim.requests())
    queued = await monitor.engine.retest(incident.id, by=DANA_PERSON)

    assert queued == 1
    assert sim.thread.call(lambda: testenable.pending(sim.sim)) == [BOB]
    # Dataverse checked dana's privileges: the writes ran as her (CallerObjectId).
    callers = {r["caller_object_id"] for r in sim.requests()[before:] if r["method"] != "GET"}
    assert callers == {DANA_PERSON.object_id}


async def test_automatic_retest_after_a_fix(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store, config=quiet_config(auto_retest=True))
    await monitor.run_cycle()
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()

    # Someone changes the failing mailbox (no test runs): the monitor tests it again.
    await dv.update_row(Mailbox, BOB, {"orgmarkedasprimaryforexchangesync": True})
    await monitor.run_cycle()
    assert sim.thread.call(lambda: testenable.pending(sim.sim)) == [BOB]
    sim.thread.call_async(testenable.run_pending(sim.sim))
    # Its result (still failing) is a new occurrence, not a reason to test again.
    report = await monitor.run_cycle()
    assert report.seen_again == 1
    assert sim.thread.call(lambda: testenable.pending(sim.sim)) == []


class TestPendingApprovals:
    """Addresses pending approval longer than the threshold (two days here); the clock
    starts three days after the sim's rows were written."""

    async def test_old_pending_approvals_open_grouped_incidents(
        self,
        sim: RunningSim,
        dv: DataverseClient,
        lite_store: Store,
        clock: FakeClock,
        notifier: RecordingNotifier,
        monitor_for: MonitorFactory,
    ) -> None:
        clock.current = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        config = quiet_config(approval_pending_after=timedelta(days=2), approval_check_every=1)
        monitor = monitor_for(lite_store, config=config)
        await monitor.run_cycle()
        waiting = [p for p in notifier.posts if "waiting for approval" in flat(p.card)]
        titles = {flat(p.card).split("\n")[0] for p in waiting}
        assert len(waiting) == 2  # one per profile
        assert "2 mailboxes waiting for approval" in titles  # otto and olga
        pending = [
            i
            for i in await lite_store.incidents.open(environment=ENV)
            if i.error_code == "approval-pending"
        ]
        una = "3b000000-0000-4000-8000-000000000008"
        assert una in {i.subject_id for i in pending}

        await approve(dv, una, acting_for=GINA.user_id)
        await monitor.run_cycle()

        done = await lite_store.incidents.get(next(i.id for i in pending if i.subject_id == una))
        assert done is not None and done.state is IncidentState.RESOLVED
        still = [
            i
            for i in await lite_store.incidents.open(environment=ENV)
            if i.error_code == "approval-pending"
        ]
        assert len(still) == len(pending) - 1


async def test_a_warning_on_a_healthy_mailbox_and_resolving_by_hand(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store)
    await monitor.run_cycle()
    mark = notifier.mark()
    gina = "3b000000-0000-4000-8000-000000000001"
    await dv.create_row(
        Alert,
        {
            "level": 2,
            "tracecode": 17,
            "text": "Some items could not be synchronized.",
            "regardingobjectid_mailbox@odata.bind": f"/mailboxes({gina})",
        },
    )
    await monitor.run_cycle()
    (post,) = notifier.since(mark)
    assert "Mailbox failing: Gina Global" in flat(post.card)  # named from the fleet index
    (incident,) = [
        i for i in await lite_store.incidents.open(environment=ENV) if i.subject_id == gina
    ]

    result = await monitor.engine.resolve(incident.id)

    assert result.applied
    assert "● Resolved" in flat(notifier.current(post.location))


async def test_a_deleted_mailbox_resolves_at_the_next_sweep(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store, config=quiet_config(full_sweep_every=2))
    await monitor.run_cycle()
    await fail(sim, dv, [BOB])
    await monitor.run_cycle()  # cycle 2 is a sweep, and bob's failure is read in it
    sim.thread.call(lambda: sim.sim.state.tables["mailboxes"].pop(BOB))
    await monitor.run_cycle()
    report = await monitor.run_cycle()  # cycle 4: a sweep
    assert report.sweep and report.resolved == 1
    assert [
        i for i in await lite_store.incidents.open(environment=ENV) if i.subject_id == BOB
    ] == []
