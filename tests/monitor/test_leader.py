"""Two monitors on one database (an SQLite file, and PostgreSQL): one polls, the other takes
over within the lease time when the leader stops renewing, and nothing is lost or
announced twice. Work done under a stale fencing token is discarded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from dataverse import DataverseClient
from monitor import Monitor
from monitor.watcher import MAILBOX_STREAM, Mark
from store import Store, SubjectKind
from tests.monitor.conftest import MonitorFactory
from tests.monitor.kit import BOB, ENV, RecordingNotifier, fail, flat, healthy_approved
from tests.simharness import RunningSim
from tests.store.kit import Backend, FakeClock


@pytest.fixture
async def stores(backend: Backend, clock: FakeClock) -> AsyncIterator[tuple[Store, Store]]:
    """Two Store objects with their own engines on one database: two bot processes."""
    first = await backend.open(clock)
    second = await backend.open(clock)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def _dataverse_calls(sim: RunningSim) -> int:
    return sum(1 for r in sim.requests() if r["path"].startswith("/api/data/"))


async def _posts_about(store: Store, mailbox: str) -> int:
    return sum(
        1
        for i in await store.incidents.open(environment=ENV)
        if i.subject_kind is SubjectKind.MAILBOX and i.subject_id == mailbox and i.card
    )


async def test_only_the_leader_polls(
    sim: RunningSim,
    stores: tuple[Store, Store],
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    a = monitor_for(stores[0], holder="replica-a")
    b = monitor_for(stores[1], holder="replica-b")

    for _ in range(3):
        first, second = await asyncio.gather(a.run_cycle(), b.run_cycle())
        assert first.leader != second.leader  # exactly one of them, every time
    leader, follower = (a, b) if a.token is not None else (b, a)
    assert leader.token == 1 and follower.token is None
    before = _dataverse_calls(sim)
    report = await follower.run_cycle()
    assert not report.leader and report.requests == 0
    assert _dataverse_calls(sim) == before
    assert len(notifier.posts) == 1  # the fixture's failing group, announced once


async def test_the_other_takes_over_within_the_lease_time(
    sim: RunningSim,
    dv: DataverseClient,
    stores: tuple[Store, Store],
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    a = monitor_for(stores[0], holder="replica-a")
    b = monitor_for(stores[1], holder="replica-b")
    assert (await a.run_cycle()).leader
    await fail(sim, dv, [BOB])
    assert (await a.run_cycle()).posted == 1
    ttl = a.config.ttl
    assert ttl == 3 * a.config.interval

    # a dies (it stops renewing); meanwhile another mailbox fails.
    (other,) = healthy_approved(sim, 1)
    await fail(sim, dv, [other], code=9, text="Mailbox locked.")
    clock.advance(ttl - timedelta(seconds=1))
    assert not (await b.run_cycle()).leader
    clock.advance(timedelta(seconds=1))
    takeover = await b.run_cycle()

    assert takeover.leader and takeover.sweep and takeover.token == 2
    # Nothing lost: the failure a never saw is announced; nothing twice: bob is not.
    assert takeover.posted == 1
    assert "Mailbox failing: Generated user" in flat(notifier.posts[-1].card)
    assert await _posts_about(stores[1], BOB) == 1
    assert sum("Bob Brown" in flat(p.card) for p in notifier.posts) == 1
    # a comes back: it lost the lease, does nothing, and b keeps leading.
    assert not (await a.run_cycle()).leader
    assert (await b.run_cycle()).leader


async def test_work_under_a_stale_token_is_discarded(
    sim: RunningSim,
    dv: DataverseClient,
    stores: tuple[Store, Store],
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    a: Monitor = monitor_for(stores[0], holder="replica-a")
    b: Monitor = monitor_for(stores[1], holder="replica-b")
    await a.run_cycle()
    await fail(sim, dv, [BOB])
    mark = notifier.mark()
    # a's next read hangs (a long GC pause, a slow network) for longer than its lease.
    sim.fault(r"^GET /api/data/v9\.2/mailboxes\?", 200, latency_ms=1500)
    stalled = asyncio.create_task(a.run_cycle())
    for _ in range(1000):  # until a's request has met the fault (it is on the sim now)
        if not sim.thread.call(lambda: len(sim.sim.faults)):
            break
        await asyncio.sleep(0.01)
    clock.advance(a.config.ttl + timedelta(seconds=1))

    taken = await b.run_cycle()
    written = await stores[0].watermarks.get(ENV, MAILBOX_STREAM)
    clock.advance(timedelta(seconds=1))  # anything a wrote now would carry a later stamp
    late = await stalled

    assert taken.leader and taken.token == 2 and taken.posted == 1
    assert late.discarded and not late.leader
    assert len(notifier.since(mark)) == 1  # bob, once, by b
    assert await stores[0].watermarks.get(ENV, MAILBOX_STREAM) == written  # b's, not a's
    assert written is not None and Mark.decode(written.value) is not None
    assert not (await a.run_cycle()).leader


async def test_a_cycle_longer_than_the_lease_keeps_it_when_nobody_took_over(
    sim: RunningSim,
    dv: DataverseClient,
    stores: tuple[Store, Store],
    clock: FakeClock,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    a = monitor_for(stores[0], holder="replica-a")
    await a.run_cycle()
    await fail(sim, dv, [BOB])
    mark = notifier.mark()
    sim.fault(r"^GET /api/data/v9\.2/mailboxes\?", 200, latency_ms=300)
    slow = asyncio.create_task(a.run_cycle())
    for _ in range(1000):
        if not sim.thread.call(lambda: len(sim.sim.faults)):
            break
        await asyncio.sleep(0.01)
    clock.advance(a.config.ttl + timedelta(seconds=1))  # the lease lapses mid-read

    report = await slow

    assert report.leader and not report.discarded and report.token == 1
    assert report.posted == 1 and len(notifier.since(mark)) == 1
