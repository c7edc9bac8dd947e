"""Incident cards for the on-call channel: one mailbox or profile, a group of mailboxes failing
the same way, and the resolved variant that replaces them.

The monitor turns its stored incidents into :class:`IncidentView` values; this module only
draws them. Buttons: Acknowledge, Re-test, Silence (1 h / 8 h / 24 h with a reason, behind
a "Silence…" panel) and Open status, each an Action.Execute with an Action.Submit fallback
carrying :data:`cards.verbs.INCIDENT_ID` (and :data:`cards.verbs.HOURS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from cards import verbs
from cards.common import (
    Action,
    ButtonStyle,
    Card,
    Element,
    Mention,
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
from cards.i18n import N_, Strings

ERROR_TEXT_CHARS: Final = 600


class IncidentStatus(StrEnum):
    """Where an incident is in its lifecycle."""

    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Subject(StrEnum):
    """What an incident is about."""

    MAILBOX = "mailbox"
    PROFILE = "profile"


class Cause(StrEnum):
    """Error codes the monitor gives incidents that no Dataverse alert names. Any other
    error code is an alert's `tracecode`."""

    STATUS = "status"
    """A test or sync status is Failure, and no alert says why."""
    PROCESSING_DISABLED = "processing-disabled"
    """Dataverse disabled the mailbox for email processing."""
    PROFILE_FAILING = "mailboxes-failing"
    """Many of the profile's mailboxes fail."""
    APPROVAL_PENDING = "approval-pending"
    """The address has waited for approval longer than the threshold."""


class Notice(StrEnum):
    """Why this copy of the card is being sent."""

    NEW = "new"
    REMINDER = "reminder"
    ESCALATED = "escalated"
    ESCALATED_TO_APPROVERS = "escalated-to-approvers"


@dataclass(frozen=True, slots=True)
class Member:
    """One mailbox of a grouped incident."""

    name: str
    status: IncidentStatus
    count: int
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class SilenceInfo:
    """The silence that holds an incident's notifications back."""

    until: datetime
    reason: str
    by: str


@dataclass(frozen=True, slots=True)
class IncidentView:
    """What an incident card shows. For a group, `members` lists its mailboxes (open and
    recovered) and the counts and times are the group's."""

    incident_id: str
    subject: Subject
    name: str
    error_code: str
    status: IncidentStatus
    first_seen: datetime
    last_seen: datetime
    count: int
    detail: str | None = None
    profile: str | None = None
    error_text: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    silence: SilenceInfo | None = None
    escalation_level: int = 0
    escalated_to: str | None = None
    members: Sequence[Member] = ()
    profile_failing: tuple[int, int] | None = None
    held_back: int = 0
    can_retest: bool = True

    @property
    def grouped(self) -> bool:
        return len(self.members) > 1


_STATUS: Final[dict[IncidentStatus, tuple[str, Tone]]] = {
    IncidentStatus.FIRING: (N_("Firing"), Tone.ATTENTION),
    IncidentStatus.ACKNOWLEDGED: (N_("Acknowledged"), Tone.WARNING),
    IncidentStatus.RESOLVED: (N_("Resolved"), Tone.GOOD),
}

_CAUSE_TEXT: Final[dict[Cause, str]] = {
    Cause.STATUS: N_("A test or synchronization status is Failure, and no alert says why."),
    Cause.PROCESSING_DISABLED: N_("Dataverse has disabled the mailbox for email processing."),
    Cause.PROFILE_FAILING: N_("Many mailboxes that use this server profile are failing."),
    Cause.APPROVAL_PENDING: N_("The email address has been waiting for approval for a long time."),
}


def status_label(strings: Strings, status: IncidentStatus) -> str:
    """The localized name of an incident state."""
    return strings.gettext(_STATUS[status][0])


def _cause(code: str) -> Cause | None:
    try:
        return Cause(code)
    except ValueError:
        return None


def _title(strings: Strings, view: IncidentView) -> str:
    name = safe_text(view.name, max_chars=120)
    cause = _cause(view.error_code)
    if view.grouped:
        n = len(view.members)
        if cause is Cause.APPROVAL_PENDING:
            return strings.ngettext(
                "{n} mailbox waiting for approval", "{n} mailboxes waiting for approval", n
            )
        return strings.ngettext(
            "{n} mailbox failing the same way", "{n} mailboxes failing the same way", n
        )
    if view.subject is Subject.PROFILE:
        if cause is Cause.PROFILE_FAILING:
            return strings.gettext("Server profile failing: {name}", name=name)
        return strings.gettext("Server profile alert: {name}", name=name)
    if cause is Cause.APPROVAL_PENDING:
        return strings.gettext("Waiting for approval: {name}", name=name)
    if cause is Cause.PROCESSING_DISABLED:
        return strings.gettext("Mailbox disabled for processing: {name}", name=name)
    return strings.gettext("Mailbox failing: {name}", name=name)


def _notice(
    strings: Strings, view: IncidentView, notice: Notice | None, mention: Mention | None
) -> Element | None:
    if view.status is IncidentStatus.RESOLVED or notice is None:
        return None
    who = mention.text if mention is not None else None
    if notice is Notice.ESCALATED:
        text = (
            strings.gettext("Not acknowledged in time. {person}, please take over.", person=who)
            if who
            else strings.gettext("Not acknowledged in time.")
        )
        return text_block(text, weight="Bolder", color=Tone.ATTENTION)
    if notice is Notice.ESCALATED_TO_APPROVERS:
        return text_block(
            strings.gettext("Not acknowledged in time by anyone on call; escalated to you."),
            weight="Bolder",
            color=Tone.ATTENTION,
        )
    if notice is Notice.REMINDER:
        text = (
            strings.gettext("Reminder: this is still open. {person} is on call.", person=who)
            if who
            else strings.gettext("Reminder: this is still open.")
        )
        return text_block(text, weight="Bolder", color=Tone.WARNING)
    if who:
        return text_block(strings.gettext("{person} is on call.", person=who))
    return None


def _facts(strings: Strings, view: IncidentView) -> list[tuple[str, str]]:
    facts: list[tuple[str, str]] = []
    cause = _cause(view.error_code)
    if cause is None:
        facts.append((strings.gettext("Error code"), safe_text(view.error_code, max_chars=64)))
    if view.profile and (view.subject is Subject.MAILBOX):
        facts.append((strings.gettext("Server profile"), safe_text(view.profile, max_chars=100)))
    if view.profile_failing is not None:
        failing, total = view.profile_failing
        facts.append(
            (
                strings.gettext("Failing mailboxes"),
                strings.gettext(
                    "{failing} of {total}",
                    failing=strings.number(failing),
                    total=strings.number(total),
                ),
            )
        )
    facts.append((strings.gettext("Since"), strings.timestamp(view.first_seen)))
    facts.append((strings.gettext("Last seen"), strings.timestamp(view.last_seen)))
    facts.append(
        (
            strings.gettext("How often"),
            strings.ngettext("{n} time", "{n} times", view.count),
        )
    )
    facts.append((strings.gettext("State"), status_label(strings, view.status)))
    if view.acknowledged_by is not None:
        who = safe_text(view.acknowledged_by, max_chars=100)
        facts.append(
            (
                strings.gettext("Acknowledged by"),
                strings.gettext(
                    "{person}, {time}", person=who, time=strings.timestamp(view.acknowledged_at)
                )
                if view.acknowledged_at is not None
                else who,
            )
        )
    if view.escalation_level and view.status is IncidentStatus.FIRING:
        target = (
            safe_text(view.escalated_to, max_chars=100)
            if view.escalation_level == 1 and view.escalated_to
            else strings.gettext("the approvers")
        )
        facts.append((strings.gettext("Escalated to"), target))
    if view.silence is not None and view.status is not IncidentStatus.RESOLVED:
        facts.append(
            (
                strings.gettext("Silenced until"),
                strings.gettext(
                    "{time} by {person}: {reason}",
                    time=strings.timestamp(view.silence.until),
                    person=safe_text(view.silence.by, max_chars=100),
                    reason=safe_text(view.silence.reason, max_chars=300),
                ),
            )
        )
    if view.resolved_at is not None and view.status is IncidentStatus.RESOLVED:
        facts.append((strings.gettext("Resolved"), strings.timestamp(view.resolved_at)))
    return facts


def _member_row(strings: Strings, member: Member) -> Element:
    label, tone = _STATUS[member.status]
    who: list[Element] = [text_block(safe_text(member.name, max_chars=120))]
    if member.detail:
        who.append(
            text_block(
                safe_text(member.detail, max_chars=120), size="Small", subtle=True, spacing="None"
            )
        )
    return {
        "type": "ColumnSet",
        "spacing": "Small",
        "columns": [
            {"type": "Column", "width": "stretch", "items": who},
            {
                "type": "Column",
                "width": "auto",
                "verticalContentAlignment": "Center",
                "items": [
                    text_block(
                        strings.gettext(label),
                        color=tone,
                        weight="Bolder",
                        size="Small",
                    )
                ],
            },
        ],
    }


def _silence_panel(strings: Strings, data: dict[str, str]) -> Action:
    buttons = [
        execute_action(
            strings.ngettext("{n} hour", "{n} hours", hours),
            verbs.INCIDENT_SILENCE,
            {**data, verbs.HOURS: str(hours)},
            tooltip=strings.ngettext("Silence for {n} hour", "Silence for {n} hours", hours),
        )
        for hours in verbs.SILENCE_HOURS
    ]
    panel: Card = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "Input.Text",
                "id": verbs.REASON,
                "label": strings.gettext("Why silence it? (required)"),
                "placeholder": strings.gettext("e.g. Exchange maintenance until 18:00"),
                "isRequired": True,
                "errorMessage": strings.gettext("Give a reason for the silence."),
                "maxLength": verbs.REASON_MAX_CHARS,
            },
            action_set(buttons),
        ],
    }
    return {"type": "Action.ShowCard", "title": strings.gettext("Silence…"), "card": panel}


def _buttons(strings: Strings, view: IncidentView) -> list[Action]:
    data = {verbs.INCIDENT_ID: view.incident_id}
    buttons: list[Action] = []
    if view.status is not IncidentStatus.RESOLVED:
        if view.status is IncidentStatus.FIRING:
            buttons.append(
                execute_action(
                    strings.gettext("Acknowledge"), verbs.INCIDENT_ACK, data, ButtonStyle.POSITIVE
                )
            )
        if view.can_retest:
            buttons.append(execute_action(strings.gettext("Re-test"), verbs.INCIDENT_RETEST, data))
        if view.silence is None:
            buttons.append(_silence_panel(strings, data))
    buttons.append(execute_action(strings.gettext("Open status"), verbs.INCIDENT_OPEN, data))
    return buttons


def incident_card(
    strings: Strings,
    view: IncidentView,
    *,
    environment: str,
    notice: Notice | None = None,
    mention: Mention | None = None,
    max_listed: int = 25,
) -> Card:
    """An incident: a mailbox, a server profile, or a group of mailboxes of one profile
    failing with one error code; resolved incidents lose their buttons but Open status.

    Args:
        notice: why this copy is sent (new, reminder, escalation); None for an update.
        mention: the person the notice calls (on call, or the next one on escalation).
        max_listed: a group lists at most this many mailboxes, then "… and N more".
    """
    label, tone = _STATUS[view.status]
    if view.silence is not None and view.status is not IncidentStatus.RESOLVED:
        label, tone = N_("Silenced"), Tone.DEFAULT
    subtitle: str | None = None
    if view.grouped and view.profile:
        subtitle = strings.gettext(
            "Server profile: {name}", name=safe_text(view.profile, max_chars=100)
        )
    elif view.detail:
        subtitle = safe_text(view.detail, max_chars=200)
    top: list[Element] = [
        header(
            strings,
            _title(strings, view),
            environment=environment,
            subtitle=subtitle,
            badge_label=strings.gettext(label),
            badge_tone=tone,
        )
    ]
    banner = _notice(strings, view, notice, mention)
    if banner is not None:
        top.append(banner)
    cause = _cause(view.error_code)
    if view.error_text:
        top.append(text_block(safe_text(view.error_text, max_chars=ERROR_TEXT_CHARS)))
    elif cause is not None:
        top.append(text_block(strings.gettext(_CAUSE_TEXT[cause])))
    if view.grouped and cause is None:
        top.append(
            text_block(
                strings.gettext(
                    "Every mailbox below fails with error code {code}.",
                    code=safe_text(view.error_code, max_chars=64),
                ),
                subtle=True,
            )
        )
    top.append(fact_set(_facts(strings, view)))
    if view.held_back:
        top.append(
            text_block(
                strings.ngettext(
                    "{n} mailbox incident of this profile is held back while it fails.",
                    "{n} mailbox incidents of this profile are held back while it fails.",
                    view.held_back,
                ),
                subtle=True,
            )
        )
    bottom = [action_set(_buttons(strings, view), separator=True)]
    ordered = sorted(
        view.members, key=lambda m: (m.status is IncidentStatus.RESOLVED, m.name.lower())
    )
    mentions = [mention] if banner is not None and mention is not None else []
    fallback = _title(strings, view)

    def build(shown: int) -> Card:
        body = list(top)
        if view.grouped:
            body.append(heading(strings.gettext("Mailboxes")))
            body.extend(_member_row(strings, m) for m in ordered[:shown])
            if shown < len(ordered):
                body.append(more_line(strings, len(ordered) - shown))
        body.extend(bottom)
        return adaptive_card(
            strings, body, mentions=mentions, full_width=True, fallback_text=fallback
        )

    listed = min(len(ordered), max_listed) if view.grouped else 0
    return fit(build, listed)
