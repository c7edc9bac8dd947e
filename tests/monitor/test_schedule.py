"""`Monitor.run_forever` polls at a fixed rate: a poll starts an interval after the previous
one started, not after it ended, so the time a cycle takes does not add to the wait for the
next one; a cycle longer than the interval is followed at once by the next. The cycles are
made slow by the sim (a delay on every mailbox read), not by touching the monitor."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from dataverse.errors import DataverseError
from monitor import CycleReport, Monitor
from monitor.watcher import ALERT_STREAM, MAILBOX_STREAM
from store import Store
from tests.monitor.conftest import MonitorFactory, quiet_config
from tests.monitor.kit import ENV
from tests.simharness import RunningSim

MAILBOX_READS = r"^GET /api/data/v9\.2/mailboxes\?"


async def _starts(monitor: Monitor, cycles: int) -> list[tuple[float, CycleReport]]:
    """When each of the first `cycles` cycles of `run_forever` started, with its report."""
    loop = asyncio.get_running_loop()
    seen: list[tuple[float, CycleReport]] = []
    stop = asyncio.Event()

    def record(report: CycleReport) -> None:
        seen.append((loop.time() - report.seconds, report))
        if len(seen) >= cycles:
            stop.set()

    await asyncio.wait_for(monitor.run_forever(stop, on_cycle=record), timeout=60)
    return seen


async def test_polls_start_an_interval_apart_however_long_a_cycle_takes(
    sim: RunningSim, lite_store: Store, monitor_for: MonitorFactory
) -> None:
    monitor = monitor_for(lite_store, config=quiet_config(interval=timedelta(seconds=1)))
    await monitor.run_cycle()  # the first sweep, out of the way
    sim.fault(MAILBOX_READS, 200, latency_ms=500, times=100)

    seen = await _starts(monitor, 5)

    assert all(report.leader and report.seconds >= 0.5 for _, report in seen)
    gaps = [b - a for (a, _), (b, _) in zip(seen, seen[1:], strict=False)]
    # Starting each wait at the end of a cycle would make every gap 1.5 s or more.
    assert all(0.9 <= gap < 1.3 for gap in gaps), gaps


async def test_a_cycle_longer_than_the_interval_is_followed_at_once(
    sim: RunningSim, lite_store: Store, monitor_for: MonitorFactory
) -> None:
    monitor = monitor_for(lite_store, config=quiet_config(interval=timedelta(seconds=0.5)))
    await monitor.run_cycle()
    sim.fault(MAILBOX_READS, 200, latency_ms=800, times=100)

    seen = await _starts(monitor, 4)

    for (start, report), (after, _) in zip(seen, seen[1:], strict=False):
        assert report.seconds >= 0.8
        assert after - (start + report.seconds) < 0.25  # no interval waited on top


async def test_a_failed_read_fails_as_itself_and_leaves_the_watermarks(
    sim: RunningSim, lite_store: Store, monitor_for: MonitorFactory
) -> None:
    """The mailbox and alert reads go out side by side; one failing cancels the other and
    the cycle raises the client's own error."""
    monitor = monitor_for(lite_store)
    await monitor.run_cycle()
    await monitor.run_cycle()
    before = [await lite_store.watermarks.get(ENV, s) for s in (MAILBOX_STREAM, ALERT_STREAM)]
    sim.fault(r"^GET /api/data/v9\.2/tracelogs\?", 500, times=100)

    with pytest.raises(DataverseError):
        await monitor.run_cycle()

    after = [await lite_store.watermarks.get(ENV, s) for s in (MAILBOX_STREAM, ALERT_STREAM)]
    assert after == before
