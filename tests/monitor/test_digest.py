"""The daily digest: sent once a day after its time, with the trend since yesterday."""

from __future__ import annotations

from datetime import time, timedelta

from dataverse import DataverseClient
from store import Store
from tests.cards import checks
from tests.monitor.conftest import MonitorFactory, quiet_config
from tests.monitor.kit import BOB, RecordingNotifier, facts, fail, flat
from tests.simharness import RunningSim
from tests.store.kit import FakeClock


async def test_the_digest_goes_out_once_a_day_with_the_trend(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    clock.current = clock.current.replace(hour=9, minute=0, second=0)
    monitor = monitor_for(lite_store, config=quiet_config(digest_at=time(8, 0)))

    first = await monitor.run_cycle()
    assert first.digest
    digest = notifier.posts[-1].card
    checks.check_card(digest)
    shown = facts(digest)
    assert "Daily mailbox digest" in flat(digest)
    assert shown["Failing mailboxes"] == "18"
    assert int(shown["Pending approvals"]) > 100
    assert "No figures from yesterday yet." in flat(digest)
    assert not (await monitor.run_cycle()).digest  # once a day

    await fail(sim, dv, [BOB])
    clock.advance(timedelta(days=1))
    next_day = await monitor.run_cycle()
    assert next_day.digest
    trend = facts(notifier.posts[-1].card)
    assert trend["Failing mailboxes"] == "19 (+1 since yesterday)"
    assert trend["Pending approvals"].endswith("(no change since yesterday)")


async def test_no_digest_before_its_time(
    lite_store: Store,
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    clock.current = clock.current.replace(hour=7, minute=59)
    monitor = monitor_for(lite_store, config=quiet_config(digest_at=time(8, 0)))
    assert not (await monitor.run_cycle()).digest
