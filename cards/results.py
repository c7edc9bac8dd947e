"""The result of an operation on one or many items: per item ok / failed / skipped with the
reason, and the totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from cards.common import (
    Card,
    Element,
    Tone,
    adaptive_card,
    badge,
    ensure_fits,
    fact_set,
    fit,
    header,
    heading,
    more_line,
    safe_text,
    text_block,
)
from cards.i18n import N_, Strings
from cards.labels import Operation, operation_label


class Outcome(StrEnum):
    """How one item of an operation ended."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class Reason(StrEnum):
    """Why an item failed or was skipped, in words the card can translate."""

    ALREADY_APPROVED = "already-approved"
    ALREADY_REJECTED = "already-rejected"
    ALREADY_SET = "already-set"
    NOT_FOUND = "not-found"
    DENIED = "denied"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    CHANGED = "changed"
    TEST_FAILED = "test-failed"
    NOT_APPLIED = "not-applied"
    REFUSED = "refused"
    CANCELLED = "cancelled"


_REASONS: Final[dict[Reason, str]] = {
    Reason.ALREADY_APPROVED: N_("The email address is already approved."),
    Reason.ALREADY_REJECTED: N_("The email address is already rejected."),
    Reason.ALREADY_SET: N_("It already has this value."),
    Reason.NOT_FOUND: N_("Not found in this environment."),
    Reason.DENIED: N_("You are not allowed to change this one."),
    Reason.THROTTLED: N_("Dataverse was busy; it was not tried again."),
    Reason.UNAVAILABLE: N_("Dataverse did not answer."),
    Reason.TIMEOUT: N_("No result in time; check it again later."),
    Reason.CHANGED: N_("It changed since the preview, so it was left alone."),
    Reason.TEST_FAILED: N_("The test failed; see the mailbox alerts."),
    Reason.NOT_APPLIED: N_("Dataverse accepted the change but did not apply it."),
    Reason.REFUSED: N_("Dataverse refused the change."),
    Reason.CANCELLED: N_("Cancelled before it ran."),
}

_OUTCOME_LABELS: Final[dict[Outcome, tuple[str, Tone]]] = {
    Outcome.OK: (N_("Done"), Tone.GOOD),
    Outcome.FAILED: (N_("Failed"), Tone.ATTENTION),
    Outcome.SKIPPED: (N_("Skipped"), Tone.WARNING),
}

# Failures first: they are what the reader has to act on when the list is long.
_ORDER: Final = {Outcome.FAILED: 0, Outcome.SKIPPED: 1, Outcome.OK: 2}
MAX_ROWS: Final = 100
"""Rows shown before "… and N more", for reading's sake; the size guard may show fewer."""


@dataclass(frozen=True)
class ItemResult:
    """One item of an operation.

    Attributes:
        name: what the item is called (a mailbox name or address).
        outcome: ok, failed or skipped.
        reason: why it failed or was skipped.
        code: the Dataverse error code or name, if there was one (shown as is, escaped).
    """

    name: str
    outcome: Outcome
    reason: Reason | None = None
    code: str | None = None


def reason_text(strings: Strings, reason: Reason) -> str:
    """The localized sentence for a :class:`Reason`."""
    return strings.gettext(_REASONS[reason])


def _outcome_cell(strings: Strings, outcome: Outcome) -> Element:
    label, tone = _OUTCOME_LABELS[outcome]
    return badge(strings.gettext(label), tone)


def _why(strings: Strings, item: ItemResult) -> str:
    parts = []
    if item.reason is not None:
        parts.append(reason_text(strings, item.reason))
    if item.code:
        parts.append(f"({safe_text(item.code, max_chars=80)})")
    return " ".join(parts)


def _cell(items: list[Element]) -> Element:
    return {"type": "TableCell", "items": items}


def _table(strings: Strings, items: Sequence[ItemResult]) -> Element:
    header_row = {
        "type": "TableRow",
        "style": "emphasis",
        "cells": [
            _cell([text_block(strings.gettext("Item"), weight="Bolder")]),
            _cell([text_block(strings.gettext("Result"), weight="Bolder")]),
            _cell([text_block(strings.gettext("Reason"), weight="Bolder")]),
        ],
    }
    rows = [
        {
            "type": "TableRow",
            "cells": [
                _cell([text_block(safe_text(item.name, max_chars=120))]),
                _cell([_outcome_cell(strings, item.outcome)]),
                _cell([text_block(_why(strings, item) or "–", subtle=item.reason is None)]),
            ],
        }
        for item in items
    ]
    return {
        "type": "Table",
        "columns": [{"width": 3}, {"width": 2}, {"width": 4}],
        "firstRowAsHeader": True,
        "showGridLines": False,
        "rows": [header_row, *rows],
    }


def operation_result(
    strings: Strings,
    operation: Operation,
    items: Sequence[ItemResult],
    *,
    environment: str,
    max_rows: int = MAX_ROWS,
) -> Card:
    """The outcome of ``operation``: a badge for the whole, totals, and one row per item
    (failures first). A single item is shown as facts rather than a table. Long lists end in
    "… and N more"; the totals always count every item.
    """
    ordered = sorted(items, key=lambda i: _ORDER[i.outcome])
    counts = {outcome: sum(1 for i in items if i.outcome is outcome) for outcome in Outcome}
    if counts[Outcome.FAILED] and counts[Outcome.OK]:
        summary, tone = strings.gettext("Finished with failures"), Tone.ATTENTION
    elif counts[Outcome.FAILED]:
        summary, tone = strings.gettext("Failed"), Tone.ATTENTION
    elif counts[Outcome.OK]:
        summary, tone = strings.gettext("Done"), Tone.GOOD
    else:
        summary, tone = strings.gettext("Nothing changed"), Tone.WARNING
    top = header(
        strings,
        operation_label(strings, operation),
        environment=environment,
        badge_label=summary,
        badge_tone=tone,
    )

    if len(items) == 1:
        item = items[0]
        facts = [
            (strings.gettext("Item"), safe_text(item.name, max_chars=200)),
            (strings.gettext("Result"), strings.gettext(_OUTCOME_LABELS[item.outcome][0])),
        ]
        why = _why(strings, item)
        if why:
            facts.append((strings.gettext("Reason"), why))
        return ensure_fits(adaptive_card(strings, [top, fact_set(facts)], fallback_text=summary))

    totals = fact_set(
        [
            (strings.gettext("Succeeded"), strings.number(counts[Outcome.OK])),
            (strings.gettext("Failed"), strings.number(counts[Outcome.FAILED])),
            (strings.gettext("Skipped"), strings.number(counts[Outcome.SKIPPED])),
            (strings.gettext("Total"), strings.number(len(items))),
        ]
    )

    def build(shown: int) -> Card:
        body: list[Element] = [top, totals]
        if ordered:
            body.append(heading(strings.gettext("Items")))
            body.append(_table(strings, ordered[:shown]))
            if shown < len(ordered):
                body.append(more_line(strings, len(ordered) - shown))
        return adaptive_card(strings, body, full_width=True, fallback_text=summary)

    return fit(build, min(len(ordered), max_rows))
