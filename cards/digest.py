"""The daily digest for the on-call channel: pending approvals and how long they have waited,
failing and disabled mailboxes, failing server profiles, and the trend since yesterday."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cards import verbs
from cards.common import (
    Card,
    Element,
    Tone,
    action_set,
    adaptive_card,
    execute_action,
    fact_set,
    fit,
    header,
    heading,
    more_line,
    safe_text,
    text_block,
)
from cards.i18n import Strings

MAX_LINES: Final = 10
"""Lines per list before "… and N more"; the size guard may show fewer."""


@dataclass(frozen=True, slots=True)
class DigestCounts:
    """The numbers the trend compares from one day to the next."""

    failing: int
    disabled: int
    pending: int
    failing_profiles: int
    open_incidents: int


@dataclass(frozen=True, slots=True)
class PendingLine:
    """An address waiting for approval since `since` (its row's last change)."""

    name: str
    since: datetime
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class MailboxLine:
    """A failing or disabled mailbox, with what is known of why."""

    name: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileLine:
    """A server profile with many failing mailboxes."""

    name: str
    failing: int
    total: int


@dataclass(frozen=True, slots=True)
class DigestView:
    """What the digest shows; `yesterday` is None on the first day."""

    as_of: datetime
    today: DigestCounts
    yesterday: DigestCounts | None = None
    pending: Sequence[PendingLine] = ()
    failing: Sequence[MailboxLine] = ()
    disabled: Sequence[MailboxLine] = ()
    profiles: Sequence[ProfileLine] = ()


def age(strings: Strings, since: datetime, now: datetime) -> str:
    """How long ago `since` was, in whole days, hours or minutes."""
    elapsed = max(now - since, timedelta(0))
    if elapsed >= timedelta(days=1):
        return strings.ngettext("{n} day", "{n} days", elapsed.days)
    if elapsed >= timedelta(hours=1):
        return strings.ngettext("{n} hour", "{n} hours", elapsed.seconds // 3600)
    return strings.ngettext("{n} minute", "{n} minutes", elapsed.seconds // 60)


def _trend(strings: Strings, today: int, yesterday: int | None) -> str:
    value = strings.number(today)
    if yesterday is None:
        return value
    delta = today - yesterday
    if delta == 0:
        change = strings.gettext("no change since yesterday")
    elif delta > 0:
        change = strings.gettext("+{n} since yesterday", n=strings.number(delta))
    else:
        change = strings.gettext("−{n} since yesterday", n=strings.number(-delta))
    return strings.gettext("{value} ({change})", value=value, change=change)


def _before(counts: DigestCounts | None, key: str) -> int | None:
    return None if counts is None else int(getattr(counts, key))


def _line(title: str, detail: str | None) -> Element:
    columns: list[Element] = [
        {"type": "Column", "width": "stretch", "items": [text_block(title)]},
    ]
    if detail:
        columns.append(
            {
                "type": "Column",
                "width": "auto",
                "items": [text_block(detail, subtle=True, size="Small")],
            }
        )
    return {"type": "ColumnSet", "spacing": "Small", "columns": columns}


def daily_digest(strings: Strings, digest: DigestView, *, environment: str) -> Card:
    """The morning summary of one environment."""
    today, before = digest.today, digest.yesterday
    if today.failing or today.failing_profiles:
        badge, tone = strings.gettext("Needs attention"), Tone.ATTENTION
    elif today.pending or today.disabled:
        badge, tone = strings.gettext("Waiting for approvals"), Tone.WARNING
    else:
        badge, tone = strings.gettext("All good"), Tone.GOOD
    top: list[Element] = [
        header(
            strings,
            strings.gettext("Daily mailbox digest"),
            environment=environment,
            subtitle=strings.gettext("As of {time}", time=strings.timestamp(digest.as_of)),
            badge_label=badge,
            badge_tone=tone,
        ),
        fact_set(
            [
                (title, _trend(strings, getattr(today, key), _before(before, key)))
                for title, key in (
                    (strings.gettext("Failing mailboxes"), "failing"),
                    (strings.gettext("Disabled for processing"), "disabled"),
                    (strings.gettext("Pending approvals"), "pending"),
                    (strings.gettext("Failing server profiles"), "failing_profiles"),
                    (strings.gettext("Open incidents"), "open_incidents"),
                )
            ]
        ),
    ]
    if before is None:
        top.append(text_block(strings.gettext("No figures from yesterday yet."), subtle=True))
    pending = sorted(digest.pending, key=lambda p: p.since)
    sections: list[tuple[str, list[Element], int]] = [
        (
            strings.gettext("Waiting longest for approval"),
            [
                _line(
                    safe_text(p.name, max_chars=120),
                    strings.gettext("waiting {age}", age=age(strings, p.since, digest.as_of)),
                )
                for p in pending
            ],
            today.pending,
        ),
        (
            strings.gettext("Failing server profiles"),
            [
                _line(
                    safe_text(p.name, max_chars=120),
                    strings.gettext(
                        "{failing} of {total}",
                        failing=strings.number(p.failing),
                        total=strings.number(p.total),
                    ),
                )
                for p in digest.profiles
            ],
            len(digest.profiles),
        ),
        (
            strings.gettext("Failing mailboxes"),
            [
                _line(
                    safe_text(m.name, max_chars=120),
                    safe_text(m.detail, max_chars=80) if m.detail else None,
                )
                for m in digest.failing
            ],
            today.failing,
        ),
        (
            strings.gettext("Disabled for processing"),
            [
                _line(
                    safe_text(m.name, max_chars=120),
                    safe_text(m.detail, max_chars=80) if m.detail else None,
                )
                for m in digest.disabled
            ],
            today.disabled,
        ),
    ]
    buttons = []
    if today.failing:
        buttons.append(
            execute_action(strings.gettext("Show failing mailboxes"), verbs.LIST_FAILING, {})
        )
    if today.pending:
        buttons.append(
            execute_action(
                strings.gettext("Show pending approvals"), verbs.LIST_PENDING_APPROVALS, {}
            )
        )

    def build(shown: int) -> Card:
        body = list(top)
        for title, lines, total in sections:
            if not lines:
                continue
            body.append(heading(title))
            body.extend(lines[:shown])
            hidden = max(total, len(lines)) - min(shown, len(lines))
            if hidden > 0:
                body.append(more_line(strings, hidden))
        if buttons:
            body.append(action_set(buttons, separator=True))
        return adaptive_card(
            strings,
            body,
            full_width=True,
            fallback_text=strings.gettext("Daily mailbox digest"),
        )

    longest = max((len(lines) for _, lines, _ in sections), default=0)
    return fit(build, min(longest, MAX_LINES))
