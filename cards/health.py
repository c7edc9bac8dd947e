"""The health summary: how many mailboxes are in each state, as numbers and as a Teams chart.

Charts (``Chart.Donut``, ``Chart.VerticalBar``) are Teams-only elements, outside the
official Adaptive Card schema. Each chart carries a ``fallback``: a plain text bar chart made
of schema 1.5 elements, which hosts without charts render instead. The counts are also in
a FactSet above the chart, so the numbers never depend on the chart being drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Final

from cards import verbs
from cards.common import (
    Card,
    Element,
    Tone,
    action_set,
    adaptive_card,
    ensure_fits,
    execute_action,
    fact_set,
    header,
    text_block,
)
from cards.i18n import N_, Strings


class HealthState(StrEnum):
    """The state a mailbox is counted in (each mailbox in exactly one)."""

    HEALTHY = "healthy"
    FAILING = "failing"
    PENDING_APPROVAL = "pending-approval"
    NOT_TESTED = "not-tested"
    DISABLED = "disabled"


class ChartKind(StrEnum):
    """Which Teams chart to draw, or none."""

    DONUT = "Chart.Donut"
    VERTICAL_BAR = "Chart.VerticalBar"
    NONE = "none"


CHART_TYPES: Final = frozenset({ChartKind.DONUT.value, ChartKind.VERTICAL_BAR.value})

_STATES: Final[dict[HealthState, tuple[str, Tone, str]]] = {
    # label, text color, Teams chart color token
    HealthState.HEALTHY: (N_("Healthy"), Tone.GOOD, "good"),
    HealthState.FAILING: (N_("Failing"), Tone.ATTENTION, "attention"),
    HealthState.PENDING_APPROVAL: (N_("Pending approval"), Tone.WARNING, "warning"),
    HealthState.NOT_TESTED: (N_("Not tested"), Tone.DEFAULT, "neutral"),
    HealthState.DISABLED: (N_("Processing disabled"), Tone.DEFAULT, "categoricalPurple"),
}
_BAR_WIDTH: Final = 20


def state_label(strings: Strings, state: HealthState) -> str:
    """The localized name of a health state."""
    return strings.gettext(_STATES[state][0])


def _text_bars(strings: Strings, counts: Mapping[HealthState, int]) -> Element:
    # What hosts without Teams charts draw: one line per state with a bar of block characters.
    largest = max(counts.values(), default=0) or 1
    rows: list[Element] = []
    for state, count in counts.items():
        label, tone, _color = _STATES[state]
        bar = "█" * max(1 if count else 0, round(_BAR_WIDTH * count / largest))
        rows.append(
            {
                "type": "ColumnSet",
                "spacing": "Small",
                "columns": [
                    {
                        "type": "Column",
                        "width": 2,
                        "items": [text_block(strings.gettext(label), size="Small")],
                    },
                    {
                        "type": "Column",
                        "width": 3,
                        "items": [
                            {
                                **text_block(
                                    f"{bar} {strings.number(count)}".lstrip(),
                                    size="Small",
                                    color=tone,
                                ),
                                "fontType": "Monospace",
                            }
                        ],
                    },
                ],
            }
        )
    return {"type": "Container", "items": rows}


def chart(strings: Strings, kind: ChartKind, counts: Mapping[HealthState, int]) -> Element:
    """A Teams chart of ``counts`` with a text-bar ``fallback`` for other hosts."""
    title = strings.gettext("Mailboxes by state")
    data: list[dict[str, object]]
    if kind is ChartKind.DONUT:
        data = [
            {"legend": strings.gettext(_STATES[s][0]), "value": n, "color": _STATES[s][2]}
            for s, n in counts.items()
            if n
        ]
    else:
        data = [
            {"x": strings.gettext(_STATES[s][0]), "y": n, "color": _STATES[s][2]}
            for s, n in counts.items()
        ]
    return {
        "type": kind.value,
        "title": title,
        "data": data,
        "fallback": _text_bars(strings, counts),
    }


def health_summary(
    strings: Strings,
    counts: Mapping[HealthState, int],
    *,
    environment: str,
    chart_kind: ChartKind = ChartKind.DONUT,
    as_of: datetime | None = None,
) -> Card:
    """How the environment's mailboxes are doing: counts by state, a chart, and buttons to
    list the failing mailboxes and the pending approvals when there are any.

    Args:
        counts: mailboxes per state; missing states count as zero.
        chart_kind: the Teams chart to draw (donut by default), or :attr:`ChartKind.NONE`.
        as_of: when the counts were taken.
    """
    ordered = {state: max(0, int(counts.get(state, 0))) for state in HealthState}
    total = sum(ordered.values())
    failing = ordered[HealthState.FAILING]
    pending = ordered[HealthState.PENDING_APPROVAL]
    if failing:
        badge_label, tone = strings.gettext("Needs attention"), Tone.ATTENTION
    elif pending:
        badge_label, tone = strings.gettext("Waiting for approvals"), Tone.WARNING
    else:
        badge_label, tone = strings.gettext("All good"), Tone.GOOD
    body: list[Element] = [
        header(
            strings,
            strings.gettext("Mailbox health"),
            environment=environment,
            subtitle=(
                strings.gettext("As of {time}", time=strings.timestamp(as_of))
                if as_of is not None
                else None
            ),
            badge_label=badge_label,
            badge_tone=tone,
        ),
        fact_set(
            [(state_label(strings, s), strings.number(n)) for s, n in ordered.items()]
            + [(strings.gettext("Total"), strings.number(total))]
        ),
    ]
    if total and chart_kind is not ChartKind.NONE:
        body.append(chart(strings, chart_kind, ordered))
    buttons = []
    if failing:
        buttons.append(
            execute_action(strings.gettext("Show failing mailboxes"), verbs.LIST_FAILING, {})
        )
    if pending:
        buttons.append(
            execute_action(
                strings.gettext("Show pending approvals"), verbs.LIST_PENDING_APPROVALS, {}
            )
        )
    if buttons:
        body.append(action_set(buttons, separator=True))
    return ensure_fits(
        adaptive_card(strings, body, fallback_text=strings.gettext("Mailbox health"))
    )
