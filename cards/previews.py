"""Preview and confirmation of a change to many mailboxes: what will change, on how many,
current → new values per mailbox, and Confirm / Cancel buttons carrying the preview token."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cards import verbs
from cards.common import (
    ButtonStyle,
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
from cards.labels import Field, FieldValue, Operation, field_label, field_value, operation_label

MAX_ROWS: Final = 50
"""Mailboxes listed before "… and N more"; the size guard may list fewer."""


@dataclass(frozen=True)
class Change:
    """One column of one mailbox: its value now and after the change."""

    field: Field
    current: FieldValue
    new: FieldValue


@dataclass(frozen=True)
class MailboxChange:
    """The changes planned for one mailbox."""

    mailbox: str
    changes: Sequence[Change]


def _cell(text: str, *, subtle: bool = False, bold: bool = False) -> Element:
    block = text_block(text, subtle=subtle, weight="Bolder" if bold else None)
    return {"type": "TableCell", "items": [block]}


def _rows(strings: Strings, item: MailboxChange) -> list[Element]:
    rows: list[Element] = []
    for index, change in enumerate(item.changes):
        name = safe_text(item.mailbox, max_chars=120) if index == 0 else ""
        rows.append(
            {
                "type": "TableRow",
                "cells": [
                    _cell(name),
                    _cell(field_label(strings, change.field)),
                    _cell(field_value(strings, change.field, change.current), subtle=True),
                    _cell(field_value(strings, change.field, change.new), bold=True),
                ],
            }
        )
    return rows


def _summary(strings: Strings, items: Sequence[MailboxChange]) -> list[tuple[str, str]]:
    # One line per distinct "column → new value", with how many mailboxes get it.
    counted = Counter((change.field, change.new) for item in items for change in item.changes)
    return [
        (
            field_label(strings, field),
            strings.ngettext(
                "→ {value} ({n} mailbox)",
                "→ {value} ({n} mailboxes)",
                count,
                value=field_value(strings, field, new),
            ),
        )
        for (field, new), count in counted.most_common()
    ]


def bulk_preview(
    strings: Strings,
    operation: Operation,
    items: Sequence[MailboxChange],
    *,
    environment: str,
    token: str,
    unchanged: int = 0,
    expires_at: datetime | None = None,
) -> Card:
    """What a bulk change will do, before it runs.

    Args:
        items: the mailboxes that will change, with current → new values.
        token: the preview token that Confirm and Cancel carry, so the confirmed run can
            check that the preview still holds.
        unchanged: mailboxes the command matched that already have the new values.
        expires_at: when the preview stops being accepted.
    """
    count = len(items)
    top = header(
        strings,
        operation_label(strings, operation),
        environment=environment,
        subtitle=strings.gettext("Preview: nothing has changed yet"),
        badge_label=strings.gettext("Needs confirmation"),
        badge_tone=Tone.WARNING,
    )
    lead = [
        text_block(
            strings.ngettext("{n} mailbox will change.", "{n} mailboxes will change.", count),
            weight="Bolder",
            size="Medium",
        )
    ]
    if unchanged:
        lead.append(
            text_block(
                strings.ngettext(
                    "{n} more already has these values and will be left alone.",
                    "{n} more already have these values and will be left alone.",
                    unchanged,
                ),
                subtle=True,
                spacing="None",
            )
        )
    summary = _summary(strings, items)
    payload = {verbs.PREVIEW_TOKEN: token}
    buttons = action_set(
        [
            execute_action(
                strings.gettext("Confirm"), verbs.PREVIEW_CONFIRM, payload, ButtonStyle.POSITIVE
            ),
            execute_action(strings.gettext("Cancel"), verbs.PREVIEW_CANCEL, payload),
        ],
        separator=True,
    )
    closing: list[Element] = []
    if expires_at is not None:
        closing.append(
            text_block(
                strings.gettext(
                    "Confirm before {time}; after that, ask again.",
                    time=strings.timestamp(expires_at),
                ),
                size="Small",
                subtle=True,
            )
        )
    closing.append(buttons)
    header_row: Element = {
        "type": "TableRow",
        "style": "emphasis",
        "cells": [
            _cell(strings.gettext("Mailbox"), bold=True),
            _cell(strings.gettext("Column"), bold=True),
            _cell(strings.gettext("Now"), bold=True),
            _cell(strings.gettext("New"), bold=True),
        ],
    }

    def build(shown: int) -> Card:
        body: list[Element] = [top, *lead]
        if summary:
            body.append(heading(strings.gettext("What will change")))
            body.append(fact_set(summary))
        if items:
            rows = [row for item in items[:shown] for row in _rows(strings, item)]
            body.append(heading(strings.gettext("Per mailbox")))
            body.append(
                {
                    "type": "Table",
                    "columns": [{"width": 3}, {"width": 3}, {"width": 3}, {"width": 3}],
                    "firstRowAsHeader": True,
                    "showGridLines": False,
                    "rows": [header_row, *rows],
                }
            )
            if shown < count:
                body.append(more_line(strings, count - shown))
        body.extend(closing)
        return adaptive_card(
            strings,
            body,
            full_width=True,
            fallback_text=operation_label(strings, operation),
        )

    return fit(build, min(count, MAX_ROWS))


def preview_closed(
    strings: Strings,
    operation: Operation,
    *,
    environment: str,
    cancelled: bool,
) -> Card:
    """What replaces a preview card once it is cancelled or has expired: nothing changed."""
    label = strings.gettext("Cancelled") if cancelled else strings.gettext("Expired")
    body = [
        header(
            strings,
            operation_label(strings, operation),
            environment=environment,
            badge_label=label,
            badge_tone=Tone.DEFAULT,
        ),
        text_block(strings.gettext("Nothing was changed.")),
    ]
    if not cancelled:
        body.append(text_block(strings.gettext("Ask again for a fresh preview."), subtle=True))
    return adaptive_card(strings, body, fallback_text=label)
