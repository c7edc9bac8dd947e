"""The mailbox status card: approval, the three delivery methods with their test results,
the server profile, the last test, the enabled flags, and the latest alerts; with the
buttons the caller may use."""

from __future__ import annotations

from collections.abc import Sequence, Set
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from cards import verbs
from cards.common import (
    Action,
    ButtonStyle,
    Card,
    Element,
    action_set,
    adaptive_card,
    badge,
    ensure_fits,
    execute_action,
    fact_set,
    header,
    heading,
    more_line,
    refresh,
    safe_text,
    text_block,
)
from cards.i18n import Strings
from cards.labels import OptionSet, option_label, option_tone
from dataverse.models import Alert, EmailApproval, Mailbox, ServerProfile

MAX_ALERTS: Final = 5
"""Alerts shown on the status card; the Alerts button lists the rest."""
ALERT_TEXT_CHARS: Final = 300


class MailboxAction(StrEnum):
    """Buttons the mailbox status card can offer."""

    APPROVE = "approve"
    REJECT = "reject"
    TEST_AND_ENABLE = "test-and-enable"
    ALERTS = "alerts"


def _when(alert: Alert) -> datetime:
    return alert.modified_on or alert.created_on or datetime.min.replace(tzinfo=UTC)


def latest_first(alerts: Sequence[Alert]) -> list[Alert]:
    """Alerts newest first (an alert row is updated in place when it repeats, so the
    modification time is what says "latest")."""
    return sorted(alerts, key=_when, reverse=True)


def alert_row(strings: Strings, alert: Alert) -> Element:
    """One alert: its level as a colored label, its text, and when it was last logged."""
    level = option_label(strings, OptionSet.ALERT_LEVEL, alert.level)
    tone = option_tone(OptionSet.ALERT_LEVEL, alert.level)
    texts: list[Element] = [
        text_block(safe_text(alert.text or "", max_chars=ALERT_TEXT_CHARS) or "–")
    ]
    when = alert.modified_on or alert.created_on
    if when is not None:
        texts.append(
            text_block(strings.timestamp(when), size="Small", subtle=True, spacing="None")
        )
    return {
        "type": "ColumnSet",
        "spacing": "Small",
        "columns": [
            {"type": "Column", "width": "auto", "items": [badge(level, tone)]},
            {"type": "Column", "width": "stretch", "items": texts},
        ],
    }


def _channel_table(strings: Strings, mailbox: Mailbox) -> Element:
    def cell(item: Element) -> Element:
        return {"type": "TableCell", "items": [item]}

    def row(
        label: str, options: OptionSet, method: int | None, status: int | None, on: bool | None
    ) -> Element:
        return {
            "type": "TableRow",
            "cells": [
                cell(text_block(label, weight="Bolder")),
                cell(text_block(option_label(strings, options, method))),
                cell(
                    badge(
                        option_label(strings, OptionSet.TEST_STATUS, status),
                        option_tone(OptionSet.TEST_STATUS, status),
                    )
                ),
                cell(text_block(strings.yes_no(on))),
            ],
        }

    return {
        "type": "Table",
        "columns": [{"width": 3}, {"width": 4}, {"width": 2}, {"width": 2}],
        "firstRowAsHeader": True,
        "showGridLines": False,
        "rows": [
            {
                "type": "TableRow",
                "style": "emphasis",
                "cells": [
                    cell(text_block(strings.gettext("Synchronizes"), weight="Bolder")),
                    cell(text_block(strings.gettext("Delivery method"), weight="Bolder")),
                    cell(text_block(strings.gettext("Test"), weight="Bolder")),
                    cell(text_block(strings.gettext("Enabled"), weight="Bolder")),
                ],
            },
            row(
                strings.gettext("Incoming email"),
                OptionSet.INCOMING_DELIVERY,
                mailbox.incoming_delivery,
                mailbox.incoming_status,
                mailbox.enabled_for_incoming,
            ),
            row(
                strings.gettext("Outgoing email"),
                OptionSet.OUTGOING_DELIVERY,
                mailbox.outgoing_delivery,
                mailbox.outgoing_status,
                mailbox.enabled_for_outgoing,
            ),
            row(
                strings.gettext("Appointments, contacts, and tasks"),
                OptionSet.ACT_DELIVERY,
                mailbox.act_delivery,
                mailbox.act_status,
                mailbox.enabled_for_act,
            ),
        ],
    }


def _processing(strings: Strings, mailbox: Mailbox) -> str | None:
    """Whether server-side synchronization processes the mailbox, by the documented signal
    (`Mailbox.stopped_directions`); a host processing it right now is named. ``None`` when
    the row says nothing either way."""
    if mailbox.stopped_directions:
        return strings.gettext("Disabled")
    host = mailbox.processing_host
    if host is not None:
        return strings.gettext("Being synchronized by {host}", host=safe_text(host, max_chars=100))
    switches = (
        mailbox.enabled_for_incoming,
        mailbox.enabled_for_outgoing,
        mailbox.enabled_for_act,
    )
    if all(on is None for on in switches):
        return None
    return strings.gettext("On")


def _buttons(
    strings: Strings, mailbox: Mailbox, allowed: Set[MailboxAction], more_alerts: int
) -> list[Action]:
    data = {verbs.MAILBOX_ID: str(mailbox.id)}
    buttons: list[Action] = []
    # Approving an approved address is a no-op Dataverse may refuse (reference §4.2), so the
    # button goes away once it is approved, whatever the caller may do.
    if MailboxAction.APPROVE in allowed and mailbox.approval != EmailApproval.APPROVED:
        buttons.append(
            execute_action(
                strings.gettext("Approve"), verbs.MAILBOX_APPROVE, data, ButtonStyle.POSITIVE
            )
        )
    if MailboxAction.REJECT in allowed and mailbox.approval != EmailApproval.REJECTED:
        buttons.append(
            execute_action(
                strings.gettext("Reject"), verbs.MAILBOX_REJECT, data, ButtonStyle.DESTRUCTIVE
            )
        )
    if MailboxAction.TEST_AND_ENABLE in allowed:
        buttons.append(
            execute_action(strings.gettext("Test & Enable"), verbs.MAILBOX_TEST_AND_ENABLE, data)
        )
    if MailboxAction.ALERTS in allowed:
        title = (
            strings.ngettext("Alerts ({n} more)", "Alerts ({n} more)", more_alerts)
            if more_alerts
            else strings.gettext("Alerts")
        )
        buttons.append(execute_action(title, verbs.MAILBOX_ALERTS, data))
    return buttons


def mailbox_status(
    strings: Strings,
    mailbox: Mailbox,
    *,
    environment: str,
    profile: ServerProfile | None = None,
    alerts: Sequence[Alert] = (),
    allowed: Set[MailboxAction] = frozenset(),
    refresh_for: Sequence[str] | None = None,
) -> Card:
    """The state of one mailbox.

    Args:
        profile: the mailbox's email server profile, for its name.
        alerts: the mailbox's alerts (any order); the newest :data:`MAX_ALERTS` are shown.
        allowed: the buttons the caller may use; Approve and Reject also disappear when the
            address already has that state.
        refresh_for: Teams user ids (``29:…``) that get their own view through a refresh
            (e.g. the approvers, who see buttons others do not).
    """
    name = safe_text(mailbox.name or mailbox.email_address or str(mailbox.id), max_chars=200)
    subtitle = (
        safe_text(mailbox.email_address, max_chars=200)
        if mailbox.email_address and mailbox.name
        else None
    )
    body: list[Element] = [
        header(
            strings,
            name,
            environment=environment,
            subtitle=subtitle,
            badge_label=option_label(strings, OptionSet.APPROVAL, mailbox.approval),
            badge_tone=option_tone(OptionSet.APPROVAL, mailbox.approval),
        ),
        _channel_table(strings, mailbox),
    ]

    facts: list[tuple[str, str]] = [
        (
            strings.gettext("Server profile"),
            safe_text(profile.name or str(profile.id), max_chars=100)
            if profile is not None
            else (
                strings.gettext("Unknown profile")
                if mailbox.server_profile_id is not None
                else strings.gettext("Not set")
            ),
        ),
        (
            strings.gettext("Mailbox status"),
            option_label(strings, OptionSet.TEST_STATUS, mailbox.mailbox_status),
        ),
    ]
    last_test = mailbox.test_completed_on or mailbox.test_last_attempted_on
    facts.append(
        (
            strings.gettext("Last test"),
            strings.timestamp(last_test) if last_test else strings.gettext("Never"),
        )
    )
    if mailbox.test_scheduled:
        facts.append((strings.gettext("Test & Enable"), strings.gettext("Scheduled")))
    if mailbox.org_marked_primary is not None:
        facts.append(
            (
                strings.gettext("Sync items with Exchange from this org only"),
                strings.yes_no(mailbox.org_marked_primary),
            )
        )
    processing = _processing(strings, mailbox)
    if processing is not None:
        facts.append((strings.gettext("Email processing"), processing))
    if mailbox.is_queue_mailbox:
        facts.append((strings.gettext("Belongs to"), strings.gettext("A queue")))
    body.append(fact_set(facts))

    ordered = latest_first(alerts)
    shown = ordered[:MAX_ALERTS]
    body.append(heading(strings.gettext("Latest alerts")))
    if shown:
        body.extend(alert_row(strings, alert) for alert in shown)
        if len(ordered) > len(shown):
            body.append(more_line(strings, len(ordered) - len(shown)))
    else:
        body.append(text_block(strings.gettext("No alerts."), subtle=True))

    buttons = _buttons(strings, mailbox, allowed, len(ordered) - len(shown))
    if buttons:
        body.append(action_set(buttons, separator=True))

    refresh_block = (
        refresh(verbs.MAILBOX_STATUS, {verbs.MAILBOX_ID: str(mailbox.id)}, refresh_for)
        if refresh_for is not None
        else None
    )
    return ensure_fits(
        adaptive_card(
            strings,
            body,
            full_width=True,
            refresh_block=refresh_block,
            fallback_text=name,
        )
    )
