"""The watcher: incremental reads on `modifiedon` watermarks, paging, the overlap, what a
quiet fleet costs, and the full sweep that catches what the watermark missed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dataverse import DataverseClient
from dataverse.models import Mailbox
from monitor import Health, Mark, classify
from monitor.watcher import ALERT_STREAM, MAILBOX_STREAM
from sim.state import iso
from store import Store, SubjectKind
from tests.monitor.conftest import MonitorFactory, quiet_config
from tests.monitor.kit import BOB, ENV, RecordingNotifier, fail, flat, healthy_approved
from tests.simharness import RunningSim

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _mailbox(**columns: object) -> Mailbox:
    return Mailbox.model_validate({"mailboxid": "3b000000-0000-4000-8000-000000000001", **columns})


@pytest.mark.parametrize(
    ("columns", "health"),
    [
        ({"incomingemailstatus": 2, "mailboxstatus": 2}, Health.FAILING),
        ({"incomingemailstatus": 1, "actstatus": 2, "mailboxstatus": 1}, Health.FAILING),
        ({"mailboxstatus": 2}, Health.FAILING),
        # Mid-sync (processingstatecode 1 with a hostid) is not "disabled" (issue 13).
        ({"mailboxstatus": 1, "processingstatecode": 1, "hostid": "CRM-1"}, Health.HEALTHY),
        ({"mailboxstatus": 1, "processingstatecode": 0}, Health.HEALTHY),
        # Stopped: a direction synced through server-side sync has its switch off.
        (
            {
                "mailboxstatus": 1,
                "incomingemaildeliverymethod": 2,
                "enabledforincomingemail": False,
            },
            Health.DISABLED,
        ),
        (
            {
                "mailboxstatus": 1,
                "outgoingemaildeliverymethod": 2,
                "enabledforoutgoingemail": False,
            },
            Health.DISABLED,
        ),
        (
            {
                "mailboxstatus": 1,
                "actdeliverymethod": 1,
                "enabledforact": False,
                "hostid": "CRM-1",
            },
            Health.DISABLED,
        ),
        # The switch of a direction server-side sync does not process is not read.
        ({"mailboxstatus": 1, "actdeliverymethod": 2, "enabledforact": False}, Health.HEALTHY),
        ({"incomingemailstatus": 1, "actstatus": 0, "mailboxstatus": 1}, Health.HEALTHY),
        ({"mailboxstatus": 0}, Health.UNTESTED),
        ({"mailboxstatus": 2, "statecode": 1}, Health.INACTIVE),
    ],
)
def test_classify(columns: dict[str, object], health: Health) -> None:
    assert classify(_mailbox(**columns)) is health


def test_the_mark_moves_to_the_newest_row_minus_the_overlap() -> None:
    overlap = timedelta(seconds=5)
    mark = Mark(T0)
    rows = [
        ("a", "10", T0 + timedelta(seconds=1)),
        ("b", "11", T0 + timedelta(seconds=30)),
        ("c", "12", T0 + timedelta(seconds=28)),
    ]
    now = T0 + timedelta(seconds=31)
    moved = mark.advance(rows, overlap, now)
    assert moved.since == T0 + timedelta(seconds=25)
    assert dict(moved.seen) == {"b": "11", "c": "12"}  # a is behind the new mark
    assert (moved.newest, moved.newest_at) == (T0 + timedelta(seconds=30), now)
    assert mark.advance([], overlap, now) is mark
    # Never backwards, whatever the rows say.
    assert moved.advance([("d", "1", T0)], overlap, now).since == moved.since
    assert Mark.decode(moved.encode()) == moved


def test_once_the_overlap_has_passed_the_mark_settles_after_the_newest_row() -> None:
    overlap = timedelta(seconds=5)
    burst = [(f"m{n}", "1", T0 + timedelta(milliseconds=n)) for n in range(1000)]
    first = Mark(T0 - timedelta(hours=1)).advance(burst, overlap, T0 + timedelta(seconds=1))
    assert len(first.seen) == 1000  # read again while a late commit may still come
    # The next read, a poll later, returns the same burst (and nothing new) ...
    again = first.advance(burst, overlap, T0 + timedelta(seconds=2))
    assert again.since == first.since and len(again.seen) == 1000
    # ... until a read has covered the overlap: then only rows after the newest one.
    settled = again.advance(burst, overlap, T0 + timedelta(seconds=6, milliseconds=1))
    assert settled.since == T0 + timedelta(milliseconds=1000) and settled.seen == {}
    # A new row starts the overlap again from it.
    late = T0 + timedelta(minutes=1)
    fresh = settled.advance([("x", "2", late)], overlap, late)
    assert fresh.since == late - overlap and dict(fresh.seen) == {"x": "2"}


@pytest.mark.parametrize(
    "text", ["", "{}", "[]", '{"since": "yesterday"}', '{"since": "2026-03-01T09:00:00"}']
)
def test_a_broken_mark_reads_as_none(text: str) -> None:
    assert Mark.decode(text) is None


async def test_a_quiet_fleet_costs_two_requests_and_changes_are_read_once(
    sim: RunningSim,
    dv: DataverseClient,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store)
    first = await monitor.run_cycle()
    assert first.sweep and first.changed_mailboxes == monitor.watcher.indexed == 255

    quiet = [await monitor.run_cycle() for _ in range(3)]
    assert [(r.requests, r.changed_mailboxes, r.changed_alerts) for r in quiet] == [(2, 0, 0)] * 3
    dataverse = [r for r in sim.requests() if r["path"].startswith("/api/data/")][-2:]
    assert [r["path"].rsplit("/", 1)[-1] for r in dataverse] == ["mailboxes", "tracelogs"]
    assert "modifiedon ge " in dataverse[0]["query"].replace("%20", " ")

    await fail(sim, dv, [BOB])
    changed = await monitor.run_cycle()
    assert (changed.changed_mailboxes, changed.changed_alerts) == (1, 1)
    # bob is inside the overlap now: read again by the query, skipped by id and version.
    again = await monitor.run_cycle()
    assert (again.changed_mailboxes, again.changed_alerts, again.requests) == (0, 0, 2)

    stored = await lite_store.watermarks.get(ENV, MAILBOX_STREAM)
    assert stored is not None
    mark = Mark.decode(stored.value)
    assert mark is not None and BOB in mark.seen
    assert await lite_store.watermarks.get(ENV, ALERT_STREAM) is not None


async def test_paging_follows_next_links(
    sim: RunningSim,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store, config=quiet_config(page_size=50))
    report = await monitor.run_cycle()
    mailbox_pages = [
        r for r in sim.requests() if r["path"].endswith("/mailboxes") and "skiptoken" in r["query"]
    ]
    assert len(mailbox_pages) == 5  # 255 rows, 50 a page: 6 pages, 5 of them next links
    assert monitor.watcher.indexed == 255
    assert report.requests >= 6 + 1 + 1  # profiles, mailboxes, alerts (and look-ups)


async def test_a_row_the_watermark_missed_is_caught_by_the_sweep(
    sim: RunningSim,
    lite_store: Store,
    notifier: RecordingNotifier,
    monitor_for: MonitorFactory,
) -> None:
    monitor = monitor_for(lite_store, config=quiet_config(full_sweep_every=3))
    await monitor.run_cycle()  # cycle 1: a sweep
    (late,) = healthy_approved(sim, 1)

    # A change committed late with an old timestamp, behind watermark and overlap.
    def backdate() -> None:
        row = sim.sim.state.tables["mailboxes"][late]
        row.update(incomingemailstatus=2, mailboxstatus=2)
        sim.sim.state.version_counter += 1
        row["versionnumber"] = sim.sim.state.version_counter
        row["modifiedon"] = iso(datetime.now(UTC) - timedelta(hours=1))

    sim.thread.call(backdate)
    second = await monitor.run_cycle()
    assert (second.sweep, second.changed_mailboxes, second.opened) == (False, 0, 0)
    third = await monitor.run_cycle()
    assert third.sweep and third.opened == 1
    # It fails like the fixture's failing mailboxes: it joins their card.
    (group,) = notifier.posts
    assert third.posted == 0 and third.updated == 1
    assert "19 mailboxes failing the same way" in flat(notifier.current(group.location))
    (incident,) = [
        i for i in await lite_store.incidents.open(environment=ENV) if i.subject_id == late
    ]
    assert incident.subject_kind is SubjectKind.MAILBOX and incident.error_code == "status"
