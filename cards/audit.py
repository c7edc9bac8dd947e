"""Audit log cards: the entries (`audit for alice`, `audit last 20`), who may read them, and
the answers of `undo last change to …`.

An entry arrives as :class:`AuditLine`, plain values the dialog fills in from the store;
changed columns are (field, before, after) triples shown with the Dataverse forms' labels.
What an entry was about is named plainly for a mailbox (most entries are) and with its kind
otherwise ("Organization: Contoso", "User: Sam Sysadmin"), so a name is never mistaken for
a mailbox's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from cards.common import (
    Card,
    Element,
    Tone,
    adaptive_card,
    ensure_fits,
    fact_set,
    fit,
    header,
    more_line,
    safe_text,
    text_block,
)
from cards.i18n import N_, Strings
from cards.labels import Field, FieldValue, Operation, field_label, field_value, operation_label

MAX_ROWS: Final = 50
"""Entries shown before "… and N more"; the size guard may show fewer."""


class AuditResultKind(StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


class AuditAction(StrEnum):
    """Audited actions that are not operations of the permission model."""

    APPROVAL_REQUESTED = "approval-request"
    APPROVAL_REJECTED = "approval-reject"
    APPROVAL_CLICK = "approval-click"
    UNDO = "undo"


class TargetKind(StrEnum):
    """What an audited action was about (the store keeps the value as the target's kind)."""

    MAILBOX = "mailbox"
    ORGANIZATION = "organization"
    PROFILE = "profile"
    USER = "user"
    TEAM = "team"


_TARGET_KINDS: Final[dict[str, str]] = {  # a mailbox goes by its name alone
    TargetKind.ORGANIZATION: N_("Organization"),
    TargetKind.PROFILE: N_("Email server profile"),
    TargetKind.USER: N_("User"),
    TargetKind.TEAM: N_("Team"),
}

_ACTIONS: Final[dict[AuditAction, str]] = {
    AuditAction.APPROVAL_REQUESTED: N_("Approval requested"),
    AuditAction.APPROVAL_REJECTED: N_("Approval request rejected"),
    AuditAction.APPROVAL_CLICK: N_("Approval card clicked"),
    AuditAction.UNDO: N_("Undo"),
}
_RESULTS: Final[dict[AuditResultKind, tuple[str, Tone]]] = {
    AuditResultKind.OK: (N_("OK"), Tone.GOOD),
    AuditResultKind.DENIED: (N_("Denied"), Tone.ATTENTION),
    AuditResultKind.FAILED: (N_("Failed"), Tone.WARNING),
}


@dataclass(frozen=True)
class FieldChange:
    """One column an audited action changed (or would have changed)."""

    field: Field
    before: FieldValue
    after: FieldValue


@dataclass(frozen=True)
class AuditLine:
    """One audit entry as the card shows it.

    Attributes:
        id: the entry's number.
        at: when.
        actor: who acted (display name).
        action: a ``permissions.Action`` value or an :class:`AuditAction` value.
        result: ok, denied or failed.
        target: what it was about (a mailbox name), if anything.
        target_kind: the kind of `target` (see :class:`TargetKind`; unknown kinds are
            shown like a mailbox, by name alone).
        on_behalf_of: the person the actor acted for (an approval's requester).
        changes: the columns that changed, before → after.
        detail: a short note (why it was denied or failed).
        correlation_id: the turn's activity id (what logs are searched by).
        request_id: the approval request the action came from.
        undoes: the number of the entry this one reverses.
    """

    id: int
    at: datetime
    actor: str
    action: str
    result: AuditResultKind
    target: str | None = None
    target_kind: str = TargetKind.MAILBOX
    on_behalf_of: str | None = None
    changes: Sequence[FieldChange] = field(default=())
    detail: str | None = None
    correlation_id: str | None = None
    request_id: str | None = None
    undoes: int | None = None


def action_text(strings: Strings, action: str) -> str:
    """The audited action in the person's language (unknown ones as stored)."""
    if action in Operation.__members__.values():
        return operation_label(strings, Operation(action))
    if action in AuditAction.__members__.values():
        return strings.gettext(_ACTIONS[AuditAction(action)])
    return safe_text(action, max_chars=64)


def target_kind_label(strings: Strings, kind: str) -> str | None:
    """The kind of an audit target in the person's language; None for a mailbox (and for
    kinds it does not know), which goes by its name alone."""
    label = _TARGET_KINDS.get(kind)
    return strings.gettext(label) if label else None


def _named(strings: Strings, kind: str, name: str, *, max_chars: int) -> str:
    shown = safe_text(name, max_chars=max_chars)
    label = target_kind_label(strings, kind)
    return f"{label}: {shown}" if label else shown


def target_text(strings: Strings, line: AuditLine) -> str | None:
    """What the entry was about: a mailbox by name, anything else with its kind first."""
    if not line.target:
        return None
    return _named(strings, line.target_kind, line.target, max_chars=120)


def change_text(strings: Strings, change: FieldChange) -> str:
    return strings.gettext(
        "{field}: {before} → {after}",
        field=field_label(strings, change.field),
        before=field_value(strings, change.field, change.before),
        after=field_value(strings, change.field, change.after),
    )


def _entry(strings: Strings, line: AuditLine) -> list[Element]:
    label, tone = _RESULTS[line.result]
    title = strings.gettext(
        "#{id} · {action}", id=strings.number(line.id), action=action_text(strings, line.action)
    )
    target = target_text(strings, line)
    if target:
        title += f" · {target}"
    items: list[Element] = [
        {
            "type": "ColumnSet",
            "spacing": "Medium",
            "separator": True,
            "columns": [
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [text_block(title, weight="Bolder")],
                },
                {
                    "type": "Column",
                    "width": "auto",
                    "items": [text_block(f"● {strings.gettext(label)}", color=tone)],
                },
            ],
        }
    ]
    who = strings.gettext(
        "{when} by {actor}",
        when=strings.timestamp(line.at),
        actor=safe_text(line.actor, max_chars=120),
    )
    if line.on_behalf_of:
        who += " " + strings.gettext(
            "for {name}", name=safe_text(line.on_behalf_of, max_chars=120)
        )
    items.append(text_block(who, size="Small", subtle=True, spacing="None"))
    items.extend(
        text_block(f"- {change_text(strings, c)}", spacing="None") for c in line.changes[:10]
    )
    notes = []
    if line.detail:
        notes.append(safe_text(line.detail, max_chars=300))
    if line.undoes is not None:
        notes.append(strings.gettext("undoes #{id}", id=strings.number(line.undoes)))
    if line.request_id:
        notes.append(strings.gettext("request {id}", id=safe_text(line.request_id, max_chars=64)))
    if line.correlation_id:
        notes.append(
            strings.gettext("reference {id}", id=safe_text(line.correlation_id, max_chars=128))
        )
    if notes:
        items.append(text_block(" · ".join(notes), size="Small", subtle=True, spacing="None"))
    return items


def audit_log(
    strings: Strings,
    lines: Sequence[AuditLine],
    *,
    environment: str,
    subject: str | None = None,
    subject_kind: str = TargetKind.MAILBOX,
) -> Card:
    """Audit entries, newest first: who did what, for whom, with which result and changes.

    Args:
        subject: what the entries were searched for (`audit for …`), named like the
            entries' targets: a mailbox or person by name, anything else with its kind
            (`subject_kind`) first.
    """
    title = strings.gettext("Audit log")
    top = header(
        strings,
        title,
        environment=environment,
        subtitle=_named(strings, subject_kind, subject, max_chars=200) if subject else None,
    )

    def build(shown: int) -> Card:
        body: list[Element] = [top]
        if not lines:
            body.append(text_block(strings.gettext("No audit entries.")))
        for line in lines[:shown]:
            body.extend(_entry(strings, line))
        if shown < len(lines):
            body.append(more_line(strings, len(lines) - shown))
        return adaptive_card(strings, body, full_width=True, fallback_text=title)

    return fit(build, min(len(lines), MAX_ROWS))


def audit_not_allowed(strings: Strings, *, environment: str) -> Card:
    """Who may read the audit log, for someone who may not."""
    title = strings.gettext("You can't read the audit log")
    body: list[Element] = [
        header(
            strings,
            title,
            environment=environment,
            badge_label=strings.gettext("Denied"),
            badge_tone=Tone.ATTENTION,
        ),
        text_block(
            strings.gettext(
                "The audit log shows changes to everyone's mailboxes. It is open to System "
                "Administrators and to people who may read every mailbox of the organization "
                "(Read Mailbox at organization depth)."
            )
        ),
    ]
    return ensure_fits(adaptive_card(strings, body, fallback_text=title))


class UndoOutcome(StrEnum):
    """How an undo ended."""

    DONE = "done"
    NOTHING = "nothing"
    CHANGED_SINCE = "changed-since"
    ALREADY_UNDONE = "already-undone"
    NOT_RESTORABLE = "not-restorable"


_UNDO: Final[dict[UndoOutcome, tuple[str, str, Tone]]] = {
    UndoOutcome.DONE: (
        N_("Undone"),
        N_("The values from before the change are back."),
        Tone.GOOD,
    ),
    UndoOutcome.NOTHING: (
        N_("Nothing to undo"),
        N_("MailOps has no change to this mailbox that can be undone."),
        Tone.DEFAULT,
    ),
    UndoOutcome.CHANGED_SINCE: (
        N_("Not undone"),
        N_(
            "The mailbox changed after that change was made, so restoring the old values "
            "would overwrite someone's later work. Nothing was changed."
        ),
        Tone.WARNING,
    ),
    UndoOutcome.ALREADY_UNDONE: (
        N_("Already undone"),
        N_("Someone undid this change already. Nothing was changed."),
        Tone.DEFAULT,
    ),
    UndoOutcome.NOT_RESTORABLE: (
        N_("Not undone"),
        N_("These values cannot be restored by MailOps. Nothing was changed."),
        Tone.WARNING,
    ),
}


def undo_result(
    strings: Strings,
    outcome: UndoOutcome,
    *,
    target: str,
    environment: str,
    changes: Sequence[FieldChange] = (),
    entry_id: int | None = None,
) -> Card:
    """The answer to `undo last change to …`.

    Args:
        changes: for DONE, what was restored (the undone change's after → before); for
            CHANGED_SINCE, the values expected (the change's result) → the values now.
        entry_id: the audit entry that was (or would have been) undone.
    """
    label, explanation, tone = _UNDO[outcome]
    body: list[Element] = [
        header(
            strings,
            strings.gettext("Undo last change"),
            environment=environment,
            subtitle=safe_text(target, max_chars=200),
            badge_label=strings.gettext(label),
            badge_tone=tone,
        ),
        text_block(strings.gettext(explanation)),
    ]
    if entry_id is not None:
        body.append(fact_set([(strings.gettext("Audit entry"), f"#{strings.number(entry_id)}")]))
    body.extend(text_block(f"- {change_text(strings, c)}", spacing="Small") for c in changes)
    return ensure_fits(adaptive_card(strings, body, fallback_text=strings.gettext(label)))
