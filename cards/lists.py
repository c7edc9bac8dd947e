"""List cards: mailboxes waiting for approval, failing mailboxes, any list of mailboxes, and
alerts. Long lists are trimmed to fit, ending in "… and N more"."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Final

from cards import verbs
from cards.common import (
    Card,
    Element,
    action_set,
    adaptive_card,
    execute_action,
    fit,
    header,
    more_line,
    plain_text,
    safe_text,
    text_block,
)
from cards.i18n import N_, Strings
from cards.labels import OptionSet, option_label, option_tone
from cards.mailboxes import latest_first
from dataverse.models import Alert, Mailbox

MAX_ROWS: Final = 50
"""Rows shown before "… and N more"; the size guard may show fewer."""


class ListKind(StrEnum):
    """Which list a mailbox list card shows; it sets the title and the empty-list text."""

    PENDING_APPROVALS = "pending-approvals"
    FAILING = "failing"
    MAILBOXES = "mailboxes"


_KINDS: Final[dict[ListKind, tuple[str, str]]] = {
    ListKind.PENDING_APPROVALS: (
        N_("Pending approvals"),
        N_("No mailbox is waiting for approval."),
    ),
    ListKind.FAILING: (N_("Failing mailboxes"), N_("No mailbox is failing.")),
    ListKind.MAILBOXES: (N_("Mailboxes"), N_("No mailbox matches.")),
}


def _cell(items: list[Element]) -> Element:
    return {"type": "TableCell", "verticalContentAlignment": "Center", "items": items}


def _header_cell(text: str) -> Element:
    return _cell([text_block(text, weight="Bolder")])


def _status_text(strings: Strings, options: OptionSet, value: int | None) -> Element:
    return text_block(
        option_label(strings, options, value), color=option_tone(options, value), weight="Bolder"
    )


def _mailbox_row(strings: Strings, mailbox: Mailbox, open_button: bool) -> Element:
    name = safe_text(mailbox.name or mailbox.email_address or str(mailbox.id), max_chars=120)
    who: list[Element] = [text_block(name)]
    if mailbox.email_address and mailbox.name:
        who.append(
            text_block(
                safe_text(mailbox.email_address, max_chars=120),
                size="Small",
                subtle=True,
                spacing="None",
            )
        )
    cells = [
        _cell(who),
        _cell([_status_text(strings, OptionSet.APPROVAL, mailbox.approval)]),
        _cell([_status_text(strings, OptionSet.TEST_STATUS, mailbox.mailbox_status)]),
    ]
    if open_button:
        cells.append(
            _cell(
                [
                    action_set(
                        [
                            execute_action(
                                strings.gettext("Open"),
                                verbs.MAILBOX_STATUS,
                                {verbs.MAILBOX_ID: str(mailbox.id)},
                                tooltip=plain_text(
                                    mailbox.name or mailbox.email_address or "", max_chars=120
                                )
                                or None,
                            )
                        ]
                    )
                ]
            )
        )
    return {"type": "TableRow", "cells": cells}


def mailbox_list(
    strings: Strings,
    kind: ListKind,
    mailboxes: Sequence[Mailbox],
    *,
    environment: str,
    open_buttons: bool = True,
) -> Card:
    """A list of mailboxes with their approval and status, each with an "Open" button that
    shows its status card (leave ``open_buttons`` off for very long lists to fit more rows).
    """
    title, empty = _KINDS[kind]
    top = header(
        strings,
        strings.gettext(title),
        environment=environment,
        subtitle=strings.ngettext("{n} mailbox", "{n} mailboxes", len(mailboxes)),
    )
    columns: list[Element] = [{"width": 4}, {"width": 3}, {"width": 2}]
    heads = [
        _header_cell(strings.gettext("Mailbox")),
        _header_cell(strings.gettext("Approval")),
        _header_cell(strings.gettext("Status")),
    ]
    if open_buttons:
        columns.append({"width": 2})
        heads.append(_header_cell(""))

    def build(shown: int) -> Card:
        body: list[Element] = [top]
        if not mailboxes:
            body.append(text_block(strings.gettext(empty)))
        else:
            rows = [_mailbox_row(strings, m, open_buttons) for m in mailboxes[:shown]]
            body.append(
                {
                    "type": "Table",
                    "columns": columns,
                    "firstRowAsHeader": True,
                    "showGridLines": False,
                    "rows": [{"type": "TableRow", "style": "emphasis", "cells": heads}, *rows],
                }
            )
            if shown < len(mailboxes):
                body.append(more_line(strings, len(mailboxes) - shown))
        return adaptive_card(strings, body, full_width=True, fallback_text=strings.gettext(title))

    return fit(build, min(len(mailboxes), MAX_ROWS))


def alert_list(
    strings: Strings,
    alerts: Sequence[Alert],
    *,
    environment: str,
    subject: str | None = None,
    regarding_names: Mapping[uuid.UUID, str] | None = None,
) -> Card:
    """Alerts, newest first: level, time and text.

    Args:
        subject: what the alerts are about (a mailbox or profile name), for the title.
        regarding_names: names of the mailboxes or profiles the alerts are about, for a list
            that spans several; adds a column.
    """
    ordered = latest_first(alerts)
    title = (
        strings.gettext("Alerts for {name}", name=safe_text(subject, max_chars=100))
        if subject
        else strings.gettext("Alerts")
    )
    top = header(
        strings,
        title,
        environment=environment,
        subtitle=strings.ngettext("{n} alert", "{n} alerts", len(ordered)),
    )
    with_names = regarding_names is not None
    columns: list[Element] = [{"width": 2}, {"width": 3}, {"width": 7}]
    heads = [
        _header_cell(strings.gettext("Level")),
        _header_cell(strings.gettext("When")),
        _header_cell(strings.gettext("Alert")),
    ]
    if with_names:
        columns.insert(0, {"width": 3})
        heads.insert(0, _header_cell(strings.gettext("About")))

    def row(alert: Alert) -> Element:
        when = alert.modified_on or alert.created_on
        cells = [
            _cell([_status_text(strings, OptionSet.ALERT_LEVEL, alert.level)]),
            _cell([text_block(strings.timestamp(when) if when else "–", size="Small")]),
            _cell([text_block(safe_text(alert.text or "", max_chars=300) or "–")]),
        ]
        if regarding_names is not None:
            about = regarding_names.get(alert.regarding_id) if alert.regarding_id else None
            cells.insert(0, _cell([text_block(safe_text(about or "–", max_chars=100))]))
        return {"type": "TableRow", "cells": cells}

    def build(shown: int) -> Card:
        body: list[Element] = [top]
        if not ordered:
            body.append(text_block(strings.gettext("No alerts.")))
        else:
            body.append(
                {
                    "type": "Table",
                    "columns": columns,
                    "firstRowAsHeader": True,
                    "showGridLines": False,
                    "rows": [
                        {"type": "TableRow", "style": "emphasis", "cells": heads},
                        *(row(a) for a in ordered[:shown]),
                    ],
                }
            )
            if shown < len(ordered):
                body.append(more_line(strings, len(ordered) - shown))
        return adaptive_card(strings, body, full_width=True, fallback_text=title)

    return fit(build, min(len(ordered), MAX_ROWS))
