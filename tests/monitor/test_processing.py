"""Issue 13 point 2: the monitor classifies a mailbox by the documented columns only.

Sources (cited once in dataverse/models.py, `SYNC_DIRECTIONS`): server-side
synchronization stops processing a mailbox by switching off `enabledforincomingemail`,
`enabledforoutgoingemail` or `enabledforact` (mailbox.md; the alerts of "Troubleshooting and
monitoring server-side synchronization": "The mailbox has been disabled for receiving
email"). `processingstatecode` 1 with `hostid` set means an asynchronous host is processing
the mailbox right now (mailbox.md's `hostid`; CRM in the Field, 2019-02-14): a mailbox in
the middle of a sync is healthy.
"""

from __future__ import annotations

from typing import Any

from dataverse import DataverseClient
from monitor import Health, Monitor
from store import Store
from tests.dataverse.opskit import set_row
from tests.monitor.conftest import MonitorFactory
from tests.monitor.kit import (
    ENV,
    GINA_PERSON,
    RecordingNotifier,
    fail,
    flat,
    healthy_approved,
)
from tests.simharness import RunningSim


async def _baseline(monitor: Monitor, notifier: RecordingNotifier, store: Store) -> int:
    """The first cycle (a sweep); its grouped message for the fixture's failing mailboxes is
    acknowledged at once so that it neither escalates nor shows up later."""
    report = await monitor.run_cycle()
    assert report.leader and report.sweep
    lead = next(i for i in await store.incidents.open(environment=ENV) if i.card)
    await monitor.engine.acknowledge(lead.id, by=GINA_PERSON)
    return notifier.mark()


def _rows(sim: RunningSim) -> list[dict[str, Any]]:
    return sim.thread.call(lambda: [dict(r) for r in sim.sim.state.tables["mailboxes"].values()])


async def _open_for(store: Store, mailbox_id: str) -> list[str]:
    return [
        i.error_code
        for i in await store.incidents.open(environment=ENV)
        if i.subject_id == mailbox_id
    ]


async def test_the_sweep_counts_mailboxes_mid_sync_as_their_statuses_say(
    lite_store: Store, notifier: RecordingNotifier, monitor_for: MonitorFactory, sim: RunningSim
) -> None:
    """The demo fleet has mailboxes in the middle of a sync (processingstatecode 1, a
    hostid): none is read as disabled, and those whose last sync succeeded are healthy
    and have no incident."""
    monitor = monitor_for(lite_store)
    await _baseline(monitor, notifier, lite_store)

    syncing = [r for r in _rows(sim) if r["processingstatecode"] == 1]
    assert syncing and all(r["hostid"] for r in syncing)
    healthy = [r for r in syncing if r["mailboxstatus"] == 1]
    assert len(healthy) >= 5
    for row in healthy:
        assert monitor.watcher.health_of(row["mailboxid"]) is Health.HEALTHY
        assert await _open_for(lite_store, row["mailboxid"]) == []
    assert not {r["mailboxid"] for r in syncing} & {
        key for key, _ in monitor.watcher.mailboxes(Health.DISABLED)
    }


async def test_mid_sync_is_healthy_and_a_stopped_mailbox_is_reported(
    lite_store: Store, notifier: RecordingNotifier, monitor_for: MonitorFactory, sim: RunningSim
) -> None:
    """The done-when of issue 13 point 2, cycle by cycle against the sim."""
    monitor = monitor_for(lite_store)
    mark = await _baseline(monitor, notifier, lite_store)
    syncing, stopped = healthy_approved(sim, 2)

    # An asynchronous host picks a healthy mailbox up: the row changes, the monitor reads
    # it again, and it stays healthy with nothing to say.
    sim.thread.call(lambda: sim.sim.state.process_mailbox(syncing, "CRM-ASYNC-07"))
    report = await monitor.run_cycle()
    assert report.changed_mailboxes == 1
    assert monitor.watcher.health_of(syncing) is Health.HEALTHY
    assert (report.opened, report.posted) == (0, 0)
    assert notifier.since(mark) == []

    # Server-side sync stops another one by the documented signal (after ten transient
    # failures its last statuses may still read Success): reported, as disabled.
    set_row(sim, "mailboxes", stopped, enabledforincomingemail=False)
    report = await monitor.run_cycle()
    assert monitor.watcher.health_of(stopped) is Health.DISABLED
    assert report.opened == 1
    (post,) = notifier.since(mark)
    assert "Mailbox disabled for processing" in flat(post.card)
    assert await _open_for(lite_store, stopped) == ["processing-disabled"]
    assert await _open_for(lite_store, syncing) == []


async def test_a_permanent_failure_of_a_mailbox_mid_sync_is_reported(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    """Test & Enable fails for good while a host holds the mailbox: the failure and the
    switch that went off are what count, not the host."""
    monitor = monitor_for(lite_store)
    mark = await _baseline(monitor, notifier, lite_store)
    (bob,) = healthy_approved(sim, 1)
    sim.thread.call(lambda: sim.sim.state.process_mailbox(bob, "CRM-ASYNC-07"))

    await fail(sim, dv, [bob], code=4, text="No user was found.", permanent=True)
    report = await monitor.run_cycle()

    row = next(r for r in _rows(sim) if r["mailboxid"] == bob)
    assert (row["processingstatecode"], row["enabledforincomingemail"]) == (1, False)
    assert monitor.watcher.health_of(bob) is Health.FAILING
    assert report.opened == 1 and len(notifier.since(mark)) == 1
    assert await _open_for(lite_store, bob) == ["4"]
