"""The daily digest: once a day, after `config.digest_at` (UTC), the leader posts a summary
of the environment to the on-call channel, with the trend since the day before.

Yesterday's figures are kept in `store.watermarks` (stream `digest.counts`), and the day of
the last digest in `digest.sent`, so that a restart or a new leader sends one digest a day.
Failing and disabled mailboxes and profiles come from the watcher's fleet index; pending
approvals from one query (their age is counted from the row's last change, the closest the
Web API offers to "pending since").
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Final

from cards.digest import (
    DigestCounts,
    DigestView,
    MailboxLine,
    PendingLine,
    ProfileLine,
    daily_digest,
)
from cards.i18n import translator
from dataverse import DataverseClient
from dataverse.models import EmailApproval, Mailbox
from dataverse.odata import Query, asc, col
from monitor.config import MonitorConfig
from monitor.errors import NoConversation
from monitor.notifier import Audience, Notifier
from monitor.watcher import Health, Watcher
from store import Store

Guard = Callable[[], Awaitable[None]]

SENT_STREAM: Final = "digest.sent"
COUNTS_STREAM: Final = "digest.counts"
MAX_LISTED: Final = 50


async def _no_guard() -> None:
    return None


class DigestSender:
    """Builds and sends one environment's daily digest."""

    def __init__(
        self,
        environment: str,
        client: DataverseClient,
        store: Store,
        notifier: Notifier,
        config: MonitorConfig,
        watcher: Watcher,
    ) -> None:
        self.environment = environment
        self._client = client
        self._store = store
        self._notifier = notifier
        self._config = config
        self._watcher = watcher
        self.last_requests = 0

    async def due(self, now: datetime) -> bool:
        """Whether today's digest is due and not sent yet."""
        at = self._config.digest_at
        if at is None or now.time() < at or not self._watcher.indexed:
            return False
        sent = await self._store.watermarks.get(self.environment, SENT_STREAM)
        return sent is None or sent.value != now.date().isoformat()

    async def send_if_due(self, *, guard: Guard = _no_guard) -> bool:
        """Send today's digest if it is due; True when it was sent."""
        now = self._store.now()
        if not await self.due(now):
            return False
        view = await self.build(now)
        await guard()
        card = daily_digest(translator(self._config.locale), view, environment=self.environment)
        try:
            await self._notifier.post(card, audience=Audience.ON_CALL)
        except NoConversation:
            return False  # no on-call channel yet: try again next cycle
        await self._store.watermarks.set(self.environment, SENT_STREAM, now.date().isoformat())
        await self._store.watermarks.set(
            self.environment, COUNTS_STREAM, _encode(now.date(), view.today)
        )
        return True

    async def build(self, now: datetime) -> DigestView:
        """The digest as of `now` (one query for the pending approvals)."""
        pending = await self._pending()
        watcher = self._watcher
        failing = watcher.mailboxes(Health.FAILING)
        disabled = watcher.mailboxes(Health.DISABLED)
        threshold = self._config.profile_threshold
        profiles = sorted(
            (p for p in watcher.profiles().values() if threshold.failing(p.failing, p.total)),
            key=lambda p: (-p.failing, p.name.lower()),
        )
        open_incidents = await self._store.incidents.open(environment=self.environment)
        today = DigestCounts(
            failing=len(failing),
            disabled=len(disabled),
            pending=len(pending),
            failing_profiles=len(profiles),
            open_incidents=len(open_incidents),
        )
        stored = await self._store.watermarks.get(self.environment, COUNTS_STREAM)
        yesterday = _decode(stored.value, now.date() - timedelta(days=1)) if stored else None

        def line(key: str, name: str) -> MailboxLine:
            alert = watcher.latest_alert(key)
            return MailboxLine(name, None if alert is None else alert.code)

        return DigestView(
            as_of=now,
            today=today,
            yesterday=yesterday,
            pending=pending[:MAX_LISTED],
            failing=[line(k, n) for k, n in failing[:MAX_LISTED]],
            disabled=[line(k, n) for k, n in disabled[:MAX_LISTED]],
            profiles=[ProfileLine(p.name, p.failing, p.total) for p in profiles],
        )

    async def _pending(self) -> list[PendingLine]:
        query = Query(
            select=("mailboxid", "name", "emailaddress", "modifiedon"),
            filter=col("emailrouteraccessapproval").eq(int(EmailApproval.PENDING_APPROVAL))
            & col("statecode").eq(0),
            orderby=(asc("modifiedon"), asc("mailboxid")),
        )
        self.last_requests = 0
        out: list[PendingLine] = []
        page = await self._client.query_page(Mailbox, query, page_size=self._config.page_size)
        while True:
            self.last_requests += 1
            out.extend(
                PendingLine(
                    row.name or row.email_address or str(row.id),
                    row.modified_on or self._store.now(),
                    row.email_address,
                )
                for row in page.rows
            )
            if page.next_link is None:
                return out
            page = await self._client.query_page(
                Mailbox, query, next_link=page.next_link, page_size=self._config.page_size
            )


def _encode(day: date, counts: DigestCounts) -> str:
    return json.dumps(
        {
            "date": day.isoformat(),
            "failing": counts.failing,
            "disabled": counts.disabled,
            "pending": counts.pending,
            "failing_profiles": counts.failing_profiles,
            "open_incidents": counts.open_incidents,
        }
    )


def _decode(text: str, day: date) -> DigestCounts | None:
    try:
        data = json.loads(text)
        if data.get("date") != day.isoformat():
            return None
        return DigestCounts(
            failing=int(data["failing"]),
            disabled=int(data["disabled"]),
            pending=int(data["pending"]),
            failing_profiles=int(data["failing_profiles"]),
            open_incidents=int(data["open_incidents"]),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
