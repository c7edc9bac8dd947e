"""The help card: the commands the caller may run, each with an example."""

from __future__ import annotations

from collections.abc import Sequence

from cards import verbs
from cards.common import (
    Card,
    Element,
    action_set,
    adaptive_card,
    execute_action,
    fit,
    header,
    md_escape,
    more_line,
    text_block,
)
from cards.i18n import Strings

HelpEntry = tuple[str, str, str]
"""(command, example, help text), already in the caller's language."""


def own_mailbox_only(strings: Strings, text: str) -> str:
    """A command's help text for someone who may run it on their own mailbox only."""
    note = strings.gettext("(Your own mailbox only.)")
    return f"{text} {note}"


def _entry(strings: Strings, command: str, example: str, text: str) -> Element:
    items: list[Element] = [
        text_block(f"**{md_escape(command)}**", spacing="Medium"),
        text_block(md_escape(text), spacing="None"),
    ]
    if example:
        items.append(
            {
                "type": "ColumnSet",
                "spacing": "Small",
                "columns": [
                    {
                        "type": "Column",
                        "width": "stretch",
                        "verticalContentAlignment": "Center",
                        "items": [
                            text_block(
                                strings.gettext("Example: {example}", example=md_escape(example)),
                                subtle=True,
                            )
                        ],
                    },
                    {
                        "type": "Column",
                        "width": "auto",
                        "items": [
                            action_set(
                                [
                                    execute_action(
                                        strings.gettext("Try it"),
                                        verbs.COMMAND_RUN,
                                        {verbs.TEXT: example},
                                        tooltip=example,
                                    )
                                ]
                            )
                        ],
                    },
                ],
            }
        )
    return {"type": "Container", "items": items}


def help_card(
    strings: Strings,
    commands: Sequence[HelpEntry],
    *,
    environment: str | None = None,
) -> Card:
    """What the caller can ask for. ``commands`` is already filtered to what the caller may
    run; each example gets a "Try it" button that sends the example as a command.
    """
    top = header(strings, strings.gettext("What I can do for you"), environment=environment)

    def build(shown: int) -> Card:
        body: list[Element] = [top]
        if not commands:
            body.append(text_block(strings.gettext("There is nothing you may run here yet.")))
        else:
            body.append(
                text_block(
                    strings.gettext(
                        "Ask in your own words. These are the things you may do here."
                    ),
                    subtle=True,
                )
            )
            body.extend(_entry(strings, *entry) for entry in commands[:shown])
            if shown < len(commands):
                body.append(more_line(strings, len(commands) - shown))
        return adaptive_card(strings, body, fallback_text=strings.gettext("What I can do for you"))

    return fit(build, len(commands))
