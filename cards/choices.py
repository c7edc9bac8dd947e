"""Cards that ask the person to pick: one of several matches, or a "did you mean" suggestion
when nothing matched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cards import verbs
from cards.common import (
    Card,
    Element,
    action_set,
    adaptive_card,
    ensure_fits,
    execute_action,
    header,
    more_line,
    plain_text,
    safe_text,
    text_block,
)
from cards.i18n import Strings

MAX_CANDIDATES: Final = 10
"""More matches than this are better narrowed down by typing than by scrolling."""
MAX_SUGGESTIONS: Final = 5
MAX_SUGGESTION_CHARS: Final = 200
"""Longer "suggestions" are not commands anyone would type; they are left out."""


@dataclass(frozen=True)
class Candidate:
    """One match: its record id, its name, and a line that tells it apart (email, type)."""

    id: str
    title: str
    subtitle: str | None = None


def _candidate(
    strings: Strings, candidate: Candidate, verb: str, data: Mapping[str, Any]
) -> Element:
    title = safe_text(candidate.title, max_chars=120)
    texts: list[Element] = [text_block(f"**{title}**")]
    if candidate.subtitle:
        texts.append(
            text_block(safe_text(candidate.subtitle, max_chars=160), subtle=True, spacing="None")
        )
    button = execute_action(
        strings.gettext("Choose"),
        verb,
        {**data, verbs.CANDIDATE_ID: candidate.id},
        tooltip=strings.gettext("Choose {name}", name=plain_text(candidate.title, max_chars=120)),
    )
    return {
        "type": "ColumnSet",
        "separator": True,
        "columns": [
            {
                "type": "Column",
                "width": "stretch",
                "verticalContentAlignment": "Center",
                "items": texts,
            },
            {"type": "Column", "width": "auto", "items": [action_set([button])]},
        ],
    }


def choice(
    strings: Strings,
    query: str,
    candidates: Sequence[Candidate],
    *,
    environment: str,
    data: Mapping[str, Any] | None = None,
    verb: str = verbs.CHOICE_PICK,
) -> Card:
    """Several records match ``query``: one "Choose" button per candidate.

    Args:
        query: what the person typed, shown back to them.
        data: what the asking dialog needs to resume (e.g. the pending command); each button
            carries it plus the candidate's id under :data:`cards.verbs.CANDIDATE_ID`.
        verb: the verb of the buttons.
    """
    shown = candidates[:MAX_CANDIDATES]
    body: list[Element] = [
        header(strings, strings.gettext("Which one did you mean?"), environment=environment),
        text_block(
            strings.ngettext(
                "{n} match for “{query}”.",
                "{n} matches for “{query}”.",
                len(candidates),
                query=safe_text(query, max_chars=100),
            ),
            subtle=True,
        ),
    ]
    body.extend(_candidate(strings, c, verb, data or {}) for c in shown)
    if len(candidates) > len(shown):
        body.append(more_line(strings, len(candidates) - len(shown)))
        body.append(text_block(strings.gettext("Type more of the name to narrow it down.")))
    return ensure_fits(
        adaptive_card(strings, body, fallback_text=strings.gettext("Which one did you mean?"))
    )


def did_you_mean(
    strings: Strings,
    text: str,
    suggestions: Sequence[str],
    *,
    environment: str | None = None,
    help_command: str = "help",
) -> Card:
    """Nothing matched ``text``: up to five suggested commands as buttons (already filtered
    to what the caller may run), and a button for the help card.

    Args:
        suggestions: full commands in the caller's language; a click sends one as typed text.
        help_command: the command that shows help in the caller's language.
    """
    body: list[Element] = [
        header(strings, strings.gettext("I didn't understand that"), environment=environment),
        text_block(
            strings.gettext("You wrote: “{text}”", text=safe_text(text, max_chars=100)),
            subtle=True,
        ),
    ]
    buttons = [
        execute_action(
            plain_text(suggestion, max_chars=60),
            verbs.COMMAND_RUN,
            {verbs.TEXT: suggestion},
        )
        for suggestion in [s for s in suggestions if len(s) <= MAX_SUGGESTION_CHARS][
            :MAX_SUGGESTIONS
        ]
    ]
    if buttons:
        body.append(text_block(strings.gettext("Did you mean:"), weight="Bolder"))
        body.append(action_set(buttons))
    else:
        body.append(text_block(strings.gettext("Nothing close to it is something you can run.")))
    body.append(
        action_set(
            [
                execute_action(
                    strings.gettext("Show help"), verbs.COMMAND_RUN, {verbs.TEXT: help_command}
                )
            ],
            separator=True,
        )
    )
    return ensure_fits(
        adaptive_card(strings, body, fallback_text=strings.gettext("I didn't understand that"))
    )
