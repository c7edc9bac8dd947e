"""Reading one environment incrementally: what changed since the last poll, and nothing else.

Each cycle reads two collections, each filtered on a `modifiedon` watermark:

- `mailboxes` changed since the mailbox watermark, with only the status columns;
- `tracelogs` (alerts, reference §5.3) of level Warning or Error changed since the alert
  watermark. An alert that repeats is the same row updated (its `modifiedon` moves), so a
  repeated failure shows up here again.

A quiet fleet therefore costs two requests per cycle whatever its size. Change tracking
(`Prefer: odata.track-changes`, §6.10) would be cheaper still, but whether `mailbox`
supports it is unconfirmed (§12.10) and the sim refuses it.

The watermark is the newest `modifiedon` seen minus an overlap: a row committed a moment
late with an older timestamp, or in the same second as the newest one, is read again
rather than missed, and rows already seen in the overlap are skipped by id and version
(`versionnumber` for mailboxes; `modifiedon` for alerts, which have no version column).
Watermarks live in `store.watermarks`, so a restarted or new leader continues where the
last one stopped. A full sweep (the first cycle of a process, then every Nth) reads every
mailbox's status columns to catch anything the watermark missed and to rebuild the fleet
index, which counts each profile's failing mailboxes.

A mailbox that server-side synchronization stopped processing is told by the documented
signal only, its enabled-for switches (`Mailbox.stopped_directions`, which cites the
sources); `processingstatecode` 1 with a `hostid` means an asynchronous host is processing
the mailbox right now, and such a mailbox is as healthy as its statuses say.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar

from pydantic import Field

from cards.incidents import Cause
from dataverse import DataverseClient
from dataverse.concurrent import both
from dataverse.models import (
    STOPPED_SIGNAL_COLUMNS,
    Alert,
    DataverseRow,
    EmailApproval,
    Mailbox,
    ServerProfile,
)
from dataverse.odata import Query, asc, col
from monitor.config import MonitorConfig
from store import Incident, Store, SubjectKind

log = logging.getLogger(__name__)

MAILBOX_STREAM: Final = "mailboxes.modifiedon"
ALERT_STREAM: Final = "tracelogs.modifiedon"

FAILURE: Final = 2  # incomingemailstatus & co.: 0 Not Run, 1 Success, 2 Failure (§1.2)
SUCCESS: Final = 1
WARNING_LEVEL: Final = 2  # tracelog.level: 1 Information, 2 Warning, 3 Error (§5.3)

MAILBOX_COLUMNS: Final = (
    "mailboxid",
    "name",
    "emailaddress",
    "incomingemailstatus",
    "outgoingemailstatus",
    "actstatus",
    "mailboxstatus",
    *STOPPED_SIGNAL_COLUMNS,
    "_emailserverprofile_value",
    "statecode",
    "modifiedon",
    "versionnumber",
)
"""The status columns; `statecode` tells a deactivated mailbox, `versionnumber` dedupes."""

ALERT_COLUMNS: Final = (
    "tracelogid",
    "level",
    "tracecode",
    "text",
    "_regardingobjectid_value",
    "regardingobjecttypecode",
    "modifiedon",
)
PENDING_COLUMNS: Final = (
    "mailboxid",
    "name",
    "emailaddress",
    "_emailserverprofile_value",
    "modifiedon",
)
ENRICH_IDS_PER_QUERY: Final = 50
"""Mailbox ids per alert query when a failing mailbox's alert is not known yet."""

R = TypeVar("R", bound=DataverseRow)


class TracedAlert(Alert):
    """An alert with the table its regarding lookup points to (mailbox or profile)."""

    regarding_type: str | None = Field(default=None, alias="regardingobjecttypecode")


class Health(StrEnum):
    """What a mailbox's status columns say, as the monitor reads them."""

    FAILING = "failing"
    """A direction's test or the overall sync status is Failure."""
    DISABLED = "disabled"
    """Not failing, but server-side synchronization stopped processing a direction."""
    HEALTHY = "healthy"
    """The overall status is Success and nothing failed."""
    UNTESTED = "untested"
    """Nothing failed, nothing succeeded overall (Not Run)."""
    INACTIVE = "inactive"
    """The mailbox row is deactivated (statecode 1)."""


def classify(row: Mailbox) -> Health:
    """The health of a mailbox from its status columns (`MAILBOX_COLUMNS`)."""
    if row.state not in (None, 0):
        return Health.INACTIVE
    statuses = (row.incoming_status, row.outgoing_status, row.act_status, row.mailbox_status)
    if FAILURE in statuses:
        return Health.FAILING
    if row.stopped_directions:
        return Health.DISABLED
    if row.mailbox_status == SUCCESS:
        return Health.HEALTHY
    return Health.UNTESTED


@dataclass(frozen=True, slots=True)
class Mark:
    """A watermark: read rows modified at or after `since`, skipping the `seen` ones
    (row id → version) that were already handled.

    `newest` is the newest `modifiedon` read so far and `newest_at` when (by the monitor's
    clock) it was first read. While that is less than the overlap ago, the next read starts
    the overlap before `newest`; once a read has covered the overlap after it, nothing can
    still arrive behind `newest` (short of a commit slower than the overlap, which the full
    sweep is for) and the next read starts just after it. So a burst of changes (a bulk
    update of 100,000 rows in a few seconds) is read again once, not on every quiet cycle.
    Only durations of the monitor's clock are used, never its time against Dataverse's.
    """

    since: datetime
    seen: Mapping[str, str] = field(default_factory=dict)
    newest: datetime | None = None
    newest_at: datetime | None = None

    def encode(self) -> str:
        return json.dumps(
            {
                "since": self.since.isoformat(),
                "newest": None if self.newest is None else self.newest.isoformat(),
                "newest_at": None if self.newest_at is None else self.newest_at.isoformat(),
                "seen": dict(sorted(self.seen.items())),
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, text: str) -> Mark | None:
        """The mark stored as `text`; None when it is not one (then the watcher sweeps)."""
        try:
            data = json.loads(text)
            since = datetime.fromisoformat(data["since"])
            newest, newest_at = (
                None if data.get(key) is None else datetime.fromisoformat(data[key])
                for key in ("newest", "newest_at")
            )
            seen = {str(k): str(v) for k, v in dict(data.get("seen", {})).items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return None
        times = [t for t in (since, newest, newest_at) if t is not None]
        if any(t.tzinfo is None for t in times):
            return None
        return cls(since, seen, newest, newest_at)

    def advance(
        self, rows: Iterable[tuple[str, str, datetime]], overlap: timedelta, now: datetime
    ) -> Mark:
        """The mark after a read from `since` that returned `rows` (id, version,
        modifiedon): every row at or after `since`, so every row at or after the new
        `since` is among them. `now` is the monitor's clock at the read."""
        listed = list(rows)
        newest, newest_at = self.newest, self.newest_at
        if listed:
            top = max(modified for _, _, modified in listed)
            if newest is None or top > newest:
                newest, newest_at = top, now
        if newest is None or newest_at is None:
            return self
        if now - newest_at >= overlap:
            since = max(self.since, newest + _TICK)
        else:
            since = max(self.since, newest - overlap)
        seen = {key: version for key, version, modified in listed if modified >= since}
        return Mark(since, seen, newest, newest_at)


_TICK: Final = timedelta(milliseconds=1)
"""Dataverse keeps `modifiedon` to the millisecond: the next moment after a timestamp."""


@dataclass(frozen=True, slots=True)
class MailboxSeen:
    """A mailbox row read this cycle, classified; `previous` is what the fleet index said."""

    id: str
    name: str
    email: str | None
    profile_id: str | None
    health: Health
    previous: Health | None
    statuses: tuple[int | None, ...]
    modified_on: datetime

    @property
    def display(self) -> str:
        return self.name or self.email or self.id


@dataclass(frozen=True, slots=True)
class AlertSeen:
    """A Warning or Error alert read this cycle (or remembered as a mailbox's latest)."""

    id: str
    regarding: SubjectKind
    regarding_id: str
    level: int
    code: str
    text: str | None
    modified_on: datetime


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """An address that has been pending approval since at least `since`."""

    mailbox_id: str
    name: str
    email: str | None
    profile_id: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class ProfileHealth:
    """A server profile's mailboxes in the fleet index."""

    id: str
    name: str
    total: int
    failing: int


@dataclass
class Poll:
    """What one cycle read. `marks` are committed only once the cycle's work is applied."""

    mailboxes: list[MailboxSeen]
    alerts: list[AlertSeen]
    sweep: bool
    profiles: dict[str, ProfileHealth]
    latest_alerts: dict[str, AlertSeen]
    pending: list[PendingApproval] | None = None
    still_pending: set[str] | None = None
    """Of the mailboxes with an open pending-approval incident, those still pending (read
    when `pending` is)."""
    marks: dict[str, Mark] = field(default_factory=dict)
    requests: int = 0


@dataclass(slots=True)
class _Entry:
    profile_id: str | None
    health: Health
    version: str
    display: str


class Watcher:
    """Reads one environment for the monitor; see the module docstring.

    Holds the fleet index (mailbox → profile and health) and each failing mailbox's latest
    alert in memory; `reset()` drops them (a new leader starts with a sweep).
    """

    def __init__(
        self,
        environment: str,
        client: DataverseClient,
        store: Store,
        config: MonitorConfig,
    ) -> None:
        self.environment = environment
        self._client = client
        self._store = store
        self._config = config
        self._cycle = 0
        self._index: dict[str, _Entry] | None = None
        self._totals: dict[str | None, int] = {}
        self._failing: dict[str | None, int] = {}
        self._profile_names: dict[str, str] = {}
        self._latest: dict[str, AlertSeen | None] = {}
        self._marks: dict[str, Mark] | None = None

    def reset(self) -> None:
        """Forget everything in memory: the next poll sweeps and reloads the watermarks."""
        self._cycle = 0
        self._index = None
        self._totals.clear()
        self._failing.clear()
        self._latest.clear()
        self._marks = None

    @property
    def indexed(self) -> int:
        """How many mailboxes the fleet index holds."""
        return 0 if self._index is None else len(self._index)

    def profile_name(self, profile_id: str) -> str:
        return self._profile_names.get(profile_id, profile_id)

    async def poll(
        self,
        now: datetime,
        open_incidents: Sequence[Incident] | Awaitable[Sequence[Incident]] = (),
    ) -> Poll:
        """Read what changed. `open_incidents` tell which mailboxes have open incidents
        already (their alerts need not be looked up) and which pending approvals to check
        again; an awaitable (the store being read meanwhile) is awaited once the changes
        are read. Watermarks move only with `commit(poll)`."""
        self._cycle += 1
        config = self._config
        sweep = self._index is None or self._cycle % config.full_sweep_every == 0
        if self._marks is None:
            self._marks = await self._load_marks()
        counter = _Counter()

        mailbox_mark = self._marks.get(MAILBOX_STREAM)
        if sweep or mailbox_mark is None:
            sweep = True
            mailbox_query = Query(select=MAILBOX_COLUMNS, orderby=(asc("mailboxid"),))
            await self._load_profiles(counter)
        else:
            mailbox_query = Query(
                select=MAILBOX_COLUMNS,
                filter=col("modifiedon").ge(mailbox_mark.since),
                orderby=(asc("modifiedon"), asc("mailboxid")),
            )

        alert_mark = self._marks.get(ALERT_STREAM)
        lookback = now - config.alert_lookback
        alert_since = lookback if sweep or alert_mark is None else alert_mark.since
        if sweep and alert_mark is not None:
            alert_since = min(alert_since, alert_mark.since)
        alert_query = Query(
            select=ALERT_COLUMNS,
            filter=col("level").ge(WARNING_LEVEL) & col("modifiedon").ge(alert_since),
            orderby=(asc("modifiedon"), asc("tracelogid")),
        )
        # The two reads do not depend on each other: they go out side by side.
        rows, alert_rows = await both(
            self._collect(Mailbox, mailbox_query, counter),
            self._collect(TracedAlert, alert_query, counter),
        )

        # (id, version, modifiedon) of every row, worked out once: the overlap makes a busy
        # fleet's reads mostly rows already seen, which only these are needed for.
        mailbox_keys = [(str(r.id), _version(r), _modified(r)) for r in rows]
        alert_keys = [(str(a.id), m.isoformat(), m) for a in alert_rows for m in (_modified(a),)]
        seen = self._apply_mailboxes(rows, mailbox_keys, mailbox_mark, sweep)
        alerts = self._apply_alerts(alert_rows, alert_keys, alert_mark, sweep)
        marks = {
            MAILBOX_STREAM: (mailbox_mark or Mark(_EPOCH)).advance(
                mailbox_keys, config.overlap, now
            ),
            ALERT_STREAM: (alert_mark or Mark(alert_since)).advance(
                alert_keys, config.overlap, now
            ),
        }
        if not isinstance(open_incidents, Sequence):
            open_incidents = await open_incidents
        mailbox, approval = SubjectKind.MAILBOX, Cause.APPROVAL_PENDING.value
        known_failing = {i.subject_id for i in open_incidents if i.subject_kind is mailbox}
        awaiting = sorted({i.subject_id for i in open_incidents if i.error_code == approval})
        missing = [
            m.id
            for m in seen
            if m.health in (Health.FAILING, Health.DISABLED)
            and m.id not in self._latest
            and m.id not in known_failing
        ]
        if missing:
            await self._enrich(missing, counter)
        pending = still_pending = None
        if config.approval_pending_after is not None and (
            self._cycle == 1 or self._cycle % config.approval_check_every == 0
        ):
            pending = await self._pending(now - config.approval_pending_after, counter)
            still_pending = await self._still_pending(awaiting, counter)
        latest = {m.id: alert for m in seen if (alert := self._latest.get(m.id)) is not None}
        return Poll(
            mailboxes=seen,
            alerts=alerts,
            sweep=sweep,
            profiles=self.profiles(),
            latest_alerts=latest,
            pending=pending,
            still_pending=still_pending,
            marks=marks,
            requests=counter.requests,
        )

    async def commit(self, poll: Poll) -> None:
        """Store the watermarks the poll reached (after its work was applied)."""
        assert self._marks is not None
        for stream, mark in poll.marks.items():
            if self._marks.get(stream) != mark:
                await self._store.watermarks.set(self.environment, stream, mark.encode())
                self._marks[stream] = mark

    def latest_alert(self, mailbox_id: str) -> AlertSeen | None:
        """The newest Warning or Error alert known for a mailbox."""
        return self._latest.get(mailbox_id)

    def profiles(self) -> dict[str, ProfileHealth]:
        """Every profile in the fleet index with its totals."""
        return {
            key: ProfileHealth(key, self.profile_name(key), total, self._failing.get(key, 0))
            for key, total in self._totals.items()
            if key is not None
        }

    def mailboxes(self, health: Health) -> list[tuple[str, str]]:
        """(id, name) of every indexed mailbox in `health`, by name."""
        if self._index is None:
            return []
        found = [(key, e.display) for key, e in self._index.items() if e.health is health]
        return sorted(found, key=lambda item: item[1].lower())

    def describe(self, mailbox_id: str) -> tuple[str, str | None] | None:
        """A mailbox's name and profile id from the fleet index."""
        entry = None if self._index is None else self._index.get(mailbox_id)
        return None if entry is None else (entry.display, entry.profile_id)

    def health_of(self, mailbox_id: str) -> Health | None:
        if self._index is None:
            return None
        entry = self._index.get(mailbox_id)
        return None if entry is None else entry.health

    def profile_of(self, mailbox_id: str) -> str | None:
        if self._index is None:
            return None
        entry = self._index.get(mailbox_id)
        return None if entry is None else entry.profile_id

    # ---- reading -------------------------------------------------------------------------

    async def _rows(self, model: type[R], query: Query, counter: _Counter) -> AsyncIterator[R]:
        page = await self._client.query_page(model, query, page_size=self._config.page_size)
        counter.requests += 1
        while True:
            for row in page.rows:
                yield row
            if page.next_link is None:
                return
            page = await self._client.query_page(
                model, query, next_link=page.next_link, page_size=self._config.page_size
            )
            counter.requests += 1

    async def _collect(self, model: type[R], query: Query, counter: _Counter) -> list[R]:
        return [row async for row in self._rows(model, query, counter)]

    async def _load_marks(self) -> dict[str, Mark]:
        marks: dict[str, Mark] = {}
        for stream in (MAILBOX_STREAM, ALERT_STREAM):
            stored = await self._store.watermarks.get(self.environment, stream)
            mark = None if stored is None else Mark.decode(stored.value)
            if mark is not None:
                marks[stream] = mark
        return marks

    async def _load_profiles(self, counter: _Counter) -> None:
        query = Query(select=("emailserverprofileid", "name"))
        async for profile in self._rows(ServerProfile, query, counter):
            self._profile_names[str(profile.id)] = profile.name or str(profile.id)

    async def _enrich(self, mailbox_ids: list[str], counter: _Counter) -> None:
        """The latest Warning or Error alert of failing mailboxes whose alert is not known
        (e.g. a sweep after a restart); one query per `ENRICH_IDS_PER_QUERY` mailboxes."""
        for start in range(0, len(mailbox_ids), ENRICH_IDS_PER_QUERY):
            chunk = mailbox_ids[start : start + ENRICH_IDS_PER_QUERY]
            query = Query(
                select=ALERT_COLUMNS,
                filter=col("_regardingobjectid_value").in_(uuid.UUID(k) for k in chunk)
                & col("level").ge(WARNING_LEVEL),
                orderby=(asc("modifiedon"),),
            )
            for key in chunk:
                self._latest[key] = None  # looked: none unless found below
            async for row in self._rows(TracedAlert, query, counter):
                self._remember(self._alert(row))

    async def _pending(self, cutoff: datetime, counter: _Counter) -> list[PendingApproval]:
        query = Query(
            select=PENDING_COLUMNS,
            filter=col("emailrouteraccessapproval").eq(int(EmailApproval.PENDING_APPROVAL))
            & col("statecode").eq(0)
            & col("modifiedon").lt(cutoff),
            orderby=(asc("modifiedon"), asc("mailboxid")),
        )
        return [
            PendingApproval(
                str(row.id),
                row.name or row.email_address or str(row.id),
                row.email_address,
                None if row.server_profile_id is None else str(row.server_profile_id),
                _modified(row),
            )
            async for row in self._rows(Mailbox, query, counter)
        ]

    async def _still_pending(self, mailbox_ids: list[str], counter: _Counter) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(mailbox_ids), ENRICH_IDS_PER_QUERY):
            chunk = mailbox_ids[start : start + ENRICH_IDS_PER_QUERY]
            query = Query(
                select=("mailboxid",),
                filter=col("mailboxid").in_(uuid.UUID(k) for k in chunk)
                & col("emailrouteraccessapproval").eq(int(EmailApproval.PENDING_APPROVAL)),
            )
            found.update([str(row.id) async for row in self._rows(Mailbox, query, counter)])
        return found

    # ---- the fleet index -----------------------------------------------------------------

    def _apply_mailboxes(
        self,
        rows: list[Mailbox],
        keys: list[tuple[str, str, datetime]],
        mark: Mark | None,
        sweep: bool,
    ) -> list[MailboxSeen]:
        if sweep:
            self._index = {}
            self._totals.clear()
            self._failing.clear()
        index = self._index
        assert index is not None
        seen_ids = mark.seen if mark is not None and not sweep else {}
        latest: dict[str, tuple[Mailbox, str]] = {}
        for row, (key, version, _) in zip(rows, keys, strict=True):
            if seen_ids.get(key) == version:
                continue
            latest[key] = (row, version)  # rows come oldest first: the last one wins
        out = []
        for key, (row, version) in latest.items():
            health = classify(row)
            profile = None if row.server_profile_id is None else str(row.server_profile_id)
            previous = index.get(key)
            if previous is not None:
                self._count(previous.profile_id, previous.health, -1)
            display = row.name or row.email_address or key
            index[key] = _Entry(profile, health, version, display)
            self._count(profile, health, +1)
            out.append(
                MailboxSeen(
                    id=key,
                    name=row.name or "",
                    email=row.email_address,
                    profile_id=profile,
                    health=health,
                    previous=None if previous is None else previous.health,
                    statuses=(
                        _int(row.incoming_status),
                        _int(row.outgoing_status),
                        _int(row.act_status),
                        _int(row.mailbox_status),
                    ),
                    modified_on=_modified(row),
                )
            )
        return out

    def _count(self, profile: str | None, health: Health, delta: int) -> None:
        if health is Health.INACTIVE:
            return
        self._totals[profile] = self._totals.get(profile, 0) + delta
        if health is Health.FAILING:
            self._failing[profile] = self._failing.get(profile, 0) + delta

    def _apply_alerts(
        self,
        rows: list[TracedAlert],
        keys: list[tuple[str, str, datetime]],
        mark: Mark | None,
        sweep: bool,
    ) -> list[AlertSeen]:
        seen_ids = mark.seen if mark is not None and not sweep else {}
        out: dict[str, AlertSeen] = {}
        for row, (key, version, _) in zip(rows, keys, strict=True):
            if row.regarding_id is None or row.trace_code is None:
                continue
            if seen_ids.get(key) == version:
                continue
            alert = self._alert(row)
            out[alert.id] = alert
            self._remember(alert)
        return list(out.values())

    def _alert(self, row: TracedAlert) -> AlertSeen:
        # regardingobjecttypecode says which table the lookup points to; without it, a
        # known profile id is a profile and anything else a mailbox.
        kind = (row.regarding_type or "").lower()
        if kind == "emailserverprofile" or (
            not kind and str(row.regarding_id) in self._profile_names
        ):
            return _alert(row, SubjectKind.PROFILE)
        return _alert(row, SubjectKind.MAILBOX)

    def _remember(self, alert: AlertSeen) -> None:
        if alert.regarding is not SubjectKind.MAILBOX:
            return
        known = self._latest.get(alert.regarding_id)
        if known is None or alert.modified_on >= known.modified_on:
            self._latest[alert.regarding_id] = alert


@dataclass
class _Counter:
    requests: int = 0


_EPOCH: Final = datetime.fromisoformat("1900-01-01T00:00:00+00:00")


def _modified(row: Mailbox | Alert) -> datetime:
    return row.modified_on if row.modified_on is not None else _EPOCH


def _version(row: Mailbox) -> str:
    if row.version_number is not None:
        return str(row.version_number)
    return _modified(row).isoformat()


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _alert(row: TracedAlert, kind: SubjectKind) -> AlertSeen:
    return AlertSeen(
        id=str(row.id),
        regarding=kind,
        regarding_id=str(row.regarding_id),
        level=int(row.level or 0),
        code=str(row.trace_code),
        text=row.text,
        modified_on=_modified(row),
    )
