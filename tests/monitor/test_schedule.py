"""`Monitor.run_forever` polls at a fixed rate: a poll starts an interval after the previous
one started, not after it ended, so the time a cycle takes does not add to the wait for the
next one; a cycle longer than the interval is followed at once by the next.

The schedule runs in fake time: the monitor's clock and pause are a `RecordedWaits`, and
every Dataverse request of a cycle (real ones, to the sim) moves that clock on by a fixed
amount, told by the client's response observer. So a cycle is slow without touching the
monitor or waiting for real, and the test asserts the exact pauses the loop asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest

from dataverse._http import response_observer
from dataverse.errors import DataverseError
from monitor import CycleReport, Monitor
from monitor.watcher import ALERT_STREAM, MAILBOX_STREAM
from store import Store
from tests.monitor.conftest import MonitorFactory, quiet_config
from tests.monitor.kit import ENV
from tests.simharness import RunningSim
from tests.waits import RecordedWaits


@pytest.fixture
def fake_time() -> RecordedWaits:
    return RecordedWaits()


def _each_request_takes(fake_time: RecordedWaits, seconds: float) -> Iterator[None]:
    token = response_observer.set(lambda *_: fake_time.advance(seconds))
    try:
        yield
    finally:
        response_observer.reset(token)


@pytest.fixture
def quarter_second_requests(fake_time: RecordedWaits) -> Iterator[None]:
    yield from _each_request_takes(fake_time, 0.25)


@pytest.fixture
def slow_requests(fake_time: RecordedWaits) -> Iterator[None]:
    yield from _each_request_takes(fake_time, 0.4)


async def _starts(
    monitor: Monitor, fake_time: RecordedWaits, cycles: int
) -> list[tuple[float, CycleReport]]:
    """When each of the first `cycles` cycles of `run_forever` started, with its report."""
    seen: list[tuple[float, CycleReport]] = []
    stop = asyncio.Event()

    def record(report: CycleReport) -> None:
        seen.append((fake_time.now - report.seconds, report))
        if len(seen) >= cycles:
            stop.set()

    # A guard against a loop that never stops, not a wait: fake time passes at once.
    await asyncio.wait_for(monitor.run_forever(stop, on_cycle=record), timeout=60)
    return seen


async def test_polls_start_an_interval_apart_however_long_a_cycle_takes(
    sim: RunningSim,
    lite_store: Store,
    monitor_for: MonitorFactory,
    fake_time: RecordedWaits,
    quarter_second_requests: None,
) -> None:
    monitor = monitor_for(
        lite_store,
        config=quiet_config(interval=timedelta(seconds=1)),
        clock=fake_time.clock,
        pause=fake_time.until_stopped,
    )
    await monitor.run_cycle()  # the first sweep, out of the way

    seen = await _starts(monitor, fake_time, 5)

    # A quiet cycle is two reads (mailboxes and alerts), side by side: 0.5 s of fake time.
    assert [(report.leader, report.requests) for _, report in seen] == [(True, 2)] * 5
    assert all(report.seconds == pytest.approx(0.5) for _, report in seen)
    gaps = [b - a for (a, _), (b, _) in zip(seen, seen[1:], strict=False)]
    assert gaps == pytest.approx([1.0] * 4)
    # Each pause is what is left of the interval; waiting a whole interval after a cycle
    # ended would make every gap 1.5 s.
    assert fake_time.waits == pytest.approx([0.5] * 4)


async def test_a_cycle_longer_than_the_interval_is_followed_at_once(
    sim: RunningSim,
    lite_store: Store,
    monitor_for: MonitorFactory,
    fake_time: RecordedWaits,
    slow_requests: None,
) -> None:
    monitor = monitor_for(
        lite_store,
        config=quiet_config(interval=timedelta(seconds=0.5)),
        clock=fake_time.clock,
        pause=fake_time.until_stopped,
    )
    await monitor.run_cycle()

    seen = await _starts(monitor, fake_time, 4)

    assert all(report.seconds == pytest.approx(0.8) for _, report in seen)
    for (start, report), (after, _) in zip(seen, seen[1:], strict=False):
        assert after == pytest.approx(start + report.seconds)  # no interval waited on top
    assert fake_time.waits == [0.0] * 3


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
