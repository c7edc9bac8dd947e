"""Test & Enable: one mailbox, many, a query of mailboxes, or every mailbox of a profile.

Scheduling is a PATCH of `testemailconfigurationscheduled: true` with the row's ETag in
If-Match (reference §5.1; no public action exists). The platform runs the test later, in
the background. With `wait`, the mailboxes still pending are read again (batched, with
backoff, until a deadline) until the flag is back to false and `testmailboxaccesscompletedon`
has moved; the statuses are then the result (§5.2) and the alerts the test wrote are read
with it (§5.3).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from dataverse.client import DataverseClient
from dataverse.errors import InvalidInput
from dataverse.models import Alert, Mailbox, ServerProfile, TestStatus
from dataverse.odata import parse_guid
from dataverse.ops._bulk import (
    DEFAULT_OPTIONS,
    BulkOptions,
    Caller,
    MailboxTarget,
    Plan,
    as_caller,
    load_mailboxes,
    shows,
    update_mailboxes,
)
from dataverse.ops.alerts import TEST_ALERT_TOLERANCE, alerts_since
from dataverse.ops.errors import TestFailed, TestNotFinished
from dataverse.ops.results import BulkResult, ItemResult, Outcome, TestReport, TestState
from dataverse.ops.search import MailboxFilter, find_mailboxes

SCHEDULE_COLUMN: Final = "testemailconfigurationscheduled"


@dataclass(frozen=True)
class Polling:
    """How to wait for tests: first read after `first` s, then `factor` times longer each
    time up to `cap` s, and no longer than `deadline` s in all."""

    first: float = 0.5
    factor: float = 1.6
    cap: float = 10.0
    deadline: float = 180.0

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.cap < self.first or self.deadline < 0:
            msg = "polling needs first > 0, factor >= 1, cap >= first, deadline >= 0"
            raise InvalidInput(msg)


DEFAULT_POLLING: Final = Polling()


def _finished(row: Mailbox, before: datetime | None) -> bool:
    return (
        not row.test_scheduled
        and row.test_completed_on is not None
        and (before is None or row.test_completed_on > before)
    )


def schedule_plan(row: Mailbox, extra: dict[str, object] | None = None) -> Plan:
    """Queue a test (with `extra` columns in the same PATCH), unless one is queued already."""
    if row.test_scheduled and not extra:
        return Plan(skip="a test is already scheduled")
    before = row.test_completed_on

    def done(fresh: Mailbox) -> bool:
        scheduled = bool(fresh.test_scheduled) or _finished(fresh, before)
        return scheduled and (not extra or shows(fresh, extra))

    return Plan(changes={**(extra or {}), SCHEDULE_COLUMN: True}, done=done)


async def test_and_enable_many(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    *,
    wait: bool = False,
    polling: Polling = DEFAULT_POLLING,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Queue Test & Enable for each target; with `wait`, also wait for the results.

    Without `wait` an item is ok with a `scheduled` report. With it, ok means the test
    passed; a test that failed is a failed item with `TestFailed` (its alerts attached),
    one still running at the deadline a failed item with `TestNotFinished`.
    """
    caller = as_caller(client, acting_for)
    before: dict[uuid.UUID, datetime | None] = {}

    def plan(row: Mailbox) -> Plan:
        before[row.id] = row.test_completed_on
        return schedule_plan(row)

    scheduled = await update_mailboxes(caller, targets, plan, options)
    return await follow_tests(
        caller, scheduled, before, wait=wait, polling=polling, options=options
    )


async def test_and_enable(
    client: DataverseClient,
    target: MailboxTarget,
    *,
    wait: bool = False,
    polling: Polling = DEFAULT_POLLING,
    acting_for: Caller = None,
) -> ItemResult:
    """Test & Enable one mailbox."""
    return (
        await test_and_enable_many(
            client, [target], wait=wait, polling=polling, acting_for=acting_for
        )
    )[0]


async def test_and_enable_where(
    client: DataverseClient,
    where: MailboxFilter,
    *,
    limit: int | None = None,
    wait: bool = False,
    polling: Polling = DEFAULT_POLLING,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Test & Enable every mailbox `where` finds (the rows found are the preconditions)."""
    rows = await find_mailboxes(client, where, limit=limit, acting_for=acting_for)
    return await test_and_enable_many(
        client, rows, wait=wait, polling=polling, acting_for=acting_for, options=options
    )


async def test_and_enable_profile(
    client: DataverseClient,
    profile_id: str | uuid.UUID,
    *,
    wait: bool = False,
    polling: Polling = DEFAULT_POLLING,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Test & Enable every active mailbox of a server profile (the seed's "Uji & Aktifkan
    Kotak Surat" on a profile). An unknown profile answers `NotFound`."""
    profile = parse_guid(profile_id)
    await as_caller(client, acting_for).get_row(
        ServerProfile, profile, select=["emailserverprofileid"]
    )
    return await test_and_enable_where(
        client,
        MailboxFilter(profile_id=profile),
        wait=wait,
        polling=polling,
        acting_for=acting_for,
        options=options,
    )


def _report(row: Mailbox, state: TestState, alerts: tuple[Alert, ...] = ()) -> TestReport:
    return TestReport(
        state=state,
        incoming=row.incoming_status,
        outgoing=row.outgoing_status,
        act=row.act_status,
        overall=row.mailbox_status,
        completed_on=row.test_completed_on,
        alerts=alerts,
    )


def _failed_test(row: Mailbox) -> bool:
    statuses = (row.incoming_status, row.outgoing_status, row.act_status, row.mailbox_status)
    return any(s == TestStatus.FAILURE for s in statuses)


async def follow_tests(
    client: DataverseClient,
    scheduled: BulkResult,
    before: dict[uuid.UUID, datetime | None],
    *,
    wait: bool,
    polling: Polling,
    options: BulkOptions,
) -> BulkResult:
    """Attach a `TestReport` to each item that queued (or found queued) a test; with `wait`,
    wait for the tests and turn their outcome into the item's."""
    queued = {
        i.id
        for i in scheduled
        if i.id is not None
        and i.id in before
        and (i.ok or (i.skipped and i.mailbox is not None and i.mailbox.test_scheduled))
    }
    if not wait:
        report = TestReport(TestState.SCHEDULED)
        return BulkResult.of(
            [replace(i, test=report) if _is_queued(i, queued) else i for i in scheduled]
        )
    finished = await _poll(client, {key: before[key] for key in queued}, polling, options)
    since = {
        key: row.test_completed_on - TEST_ALERT_TOLERANCE
        for key, row in finished.items()
        if row.test_completed_on is not None
    }
    alerts = await alerts_since(client, since, options) if since else {}
    out: list[ItemResult] = []
    for item in scheduled:
        if item.id is None or not _is_queued(item, queued):
            out.append(item)
            continue
        row = finished.get(item.id)
        if row is None:
            pending = TestNotFinished(
                item.id,
                message=f"Test & Enable of mailbox {item.id} had not finished after "
                f"{polling.deadline:.0f} s",
                mailbox=item.mailbox,
            )
            out.append(
                replace(
                    item,
                    outcome=Outcome.FAILED,
                    error=pending,
                    test=TestReport(TestState.PENDING),
                )
            )
            continue
        found = alerts.get(item.id, ())
        if _failed_test(row):
            report = _report(row, TestState.FAILED, found)
            out.append(
                replace(
                    item,
                    outcome=Outcome.FAILED,
                    error=TestFailed(item.id, found, mailbox=row),
                    mailbox=row,
                    test=report,
                )
            )
        else:
            out.append(
                replace(
                    item,
                    outcome=Outcome.OK,
                    mailbox=row,
                    test=_report(row, TestState.PASSED, found),
                )
            )
    return BulkResult.of(out)


def _is_queued(item: ItemResult, queued: set[uuid.UUID]) -> bool:
    # A skipped duplicate shares its id with the item that queued the test: not that one.
    return item.id in queued and not (item.skipped and item.mailbox is None)


async def _poll(
    client: DataverseClient,
    pending: dict[uuid.UUID, datetime | None],
    polling: Polling,
    options: BulkOptions,
) -> dict[uuid.UUID, Mailbox]:
    """Read the still-pending mailboxes again until each finished or the deadline passed."""
    finished: dict[uuid.UUID, Mailbox] = {}
    left = dict(pending)
    start = time.monotonic()
    delay = polling.first
    while left:
        remaining = polling.deadline - (time.monotonic() - start)
        if remaining <= 0:
            break
        await asyncio.sleep(min(delay, remaining))
        rows = await load_mailboxes(client, list(left), options)
        for key, row in rows.items():
            if isinstance(row, Mailbox) and _finished(row, left[key]):
                finished[key] = row
                del left[key]
        delay = min(delay * polling.factor, polling.cap)
    return finished


# Names that start with "test" would be collected by pytest wherever a test module imports them.
test_and_enable.__test__ = False  # type: ignore[attr-defined]
test_and_enable_many.__test__ = False  # type: ignore[attr-defined]
test_and_enable_where.__test__ = False  # type: ignore[attr-defined]
test_and_enable_profile.__test__ = False  # type: ignore[attr-defined]
