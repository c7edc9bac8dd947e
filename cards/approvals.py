"""Routed approval cards: the request an approver sees (Approve / Reject), what the requester
sees once it is sent, the outcome every copy shows after a decision ("Approved by Dana
Delegate"), the note the requester gets, and the lists ("my requests", the requests waiting
for an approver).

``cards/`` does not import the store, so a request arrives as :class:`RequestView`, plain
values the dialog fills in. Buttons carry only the request id and the environment: what the
approver allows is read back from the store when they click, never from the card.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from cards import verbs
from cards.common import (
    ButtonStyle,
    Card,
    Element,
    Mention,
    Tone,
    action_set,
    adaptive_card,
    ensure_fits,
    execute_action,
    fact_set,
    fit,
    header,
    heading,
    more_line,
    refresh,
    safe_text,
    text_block,
)
from cards.i18n import N_, Strings
from cards.labels import Operation, operation_label
from cards.results import Outcome, Reason, reason_text

MAX_LISTED: Final = 20
"""Requests shown in a list before "… and N more"."""
MAX_NAMED: Final = 10
"""Approvers named on a card; the count says how many there are in all."""


class RequestState(StrEnum):
    """Where a routed request stands (the store's state machine)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


_STATES: Final[dict[RequestState, tuple[str, Tone]]] = {
    RequestState.PENDING: (N_("Waiting for approval"), Tone.WARNING),
    RequestState.APPROVED: (N_("Approved"), Tone.GOOD),
    RequestState.REJECTED: (N_("Rejected"), Tone.ATTENTION),
    RequestState.EXPIRED: (N_("Expired"), Tone.DEFAULT),
    RequestState.FAILED: (N_("Could not be carried out"), Tone.ATTENTION),
}


@dataclass(frozen=True)
class RequestView:
    """One routed request as the cards show it.

    Attributes:
        id: the request id (what the buttons carry).
        operation: what was asked (approve or reject an email address).
        target: the mailbox's name, as people call it.
        email: the mailbox's address, if known.
        requester: the requester's display name.
        reason: the requester's reason, if they gave one.
        environment: the environment the request is about.
        state: where the request stands.
        created_at: when it was asked.
        expires_at: when it expires unless decided.
        decided_by: who decided (approved or rejected), if anyone has.
        decided_at: when it was decided or expired.
        outcome: for an approved request, how the Dataverse write went.
        outcome_reason: why the write failed or was skipped.
        outcome_code: the Dataverse error code of a failed write.
    """

    id: str
    operation: Operation
    target: str
    email: str | None
    requester: str
    reason: str | None
    environment: str
    state: RequestState
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    outcome: Outcome | None = None
    outcome_reason: Reason | None = None
    outcome_code: str | None = None


def _data(view: RequestView) -> dict[str, str]:
    return {verbs.REQUEST_ID: view.id, verbs.ENVIRONMENT: view.environment}


def _what(strings: Strings, view: RequestView) -> str:
    return strings.gettext(
        "{operation}: {target}",
        operation=operation_label(strings, view.operation),
        target=safe_text(view.target, max_chars=200),
    )


def _facts(strings: Strings, view: RequestView, *, expiry: bool = True) -> Element:
    facts = [(strings.gettext("Requested by"), safe_text(view.requester, max_chars=120))]
    mailbox = safe_text(view.target, max_chars=200)
    if view.email and view.email != view.target:
        mailbox = f"{mailbox} ({safe_text(view.email, max_chars=200)})"
    facts.append((strings.gettext("Mailbox"), mailbox))
    if view.reason:
        facts.append((strings.gettext("Reason"), safe_text(view.reason, max_chars=500)))
    facts.append((strings.gettext("Requested"), strings.timestamp(view.created_at)))
    if expiry and view.state is RequestState.PENDING:
        facts.append((strings.gettext("Expires"), strings.timestamp(view.expires_at)))
    return fact_set(facts)


def _state_header(strings: Strings, view: RequestView, title: str) -> Element:
    label, tone = _STATES[view.state]
    return header(
        strings,
        title,
        environment=view.environment,
        subtitle=_what(strings, view),
        badge_label=strings.gettext(label),
        badge_tone=tone,
    )


def decision_buttons(strings: Strings, view: RequestView) -> Element:
    """Approve and Reject for one request (Action.Execute, checked again when clicked)."""
    target = safe_text(view.target, max_chars=80)
    return action_set(
        [
            execute_action(
                strings.gettext("Approve"),
                verbs.APPROVAL_APPROVE,
                _data(view),
                ButtonStyle.POSITIVE,
                tooltip=strings.gettext("Approve the request for {target}", target=target),
            ),
            execute_action(
                strings.gettext("Reject"),
                verbs.APPROVAL_REJECT,
                _data(view),
                ButtonStyle.DESTRUCTIVE,
                tooltip=strings.gettext("Reject the request for {target}", target=target),
            ),
        ]
    )


def approval_request(
    strings: Strings,
    view: RequestView,
    *,
    buttons: bool = True,
    approvers: Sequence[Mention] = (),
    refresh_user_ids: Sequence[str] = (),
    reminder: bool = False,
) -> Card:
    """The card an approver gets: who asks for what and why, with Approve and Reject.

    Args:
        buttons: show Approve / Reject (off for people who only look on).
        approvers: people to @mention (a card posted in the approvers channel names them).
        refresh_user_ids: Teams ids (``29:…``) whose client refreshes the card on sight, so
            each of them sees the request as it stands for them (a personal view).
        reminder: the card is the reminder sent before the request expires.
    """
    title = (
        strings.gettext("Reminder: approval requested")
        if reminder
        else strings.gettext("Approval requested")
    )
    body: list[Element] = [_state_header(strings, view, title), _facts(strings, view)]
    shown = list(approvers[:MAX_NAMED])
    if shown:
        body.append(
            text_block(
                strings.gettext(
                    "Who can decide: {people}", people=", ".join(m.text for m in shown)
                )
            )
        )
    if view.state is RequestState.PENDING and buttons:
        body.append(
            text_block(
                strings.gettext(
                    "MailOps checks again, when you click, that you may do this; the change "
                    "is made in your name."
                ),
                subtle=True,
                size="Small",
            )
        )
        body.append(decision_buttons(strings, view))
    refresh_block = (
        refresh(verbs.APPROVAL_VIEW, _data(view), refresh_user_ids) if refresh_user_ids else None
    )
    return ensure_fits(
        adaptive_card(
            strings,
            body,
            refresh_block=refresh_block,
            mentions=shown,
            fallback_text=title,
        )
    )


def request_sent(
    strings: Strings,
    view: RequestView,
    *,
    approvers: Sequence[str],
    channel: bool = False,
    already: bool = False,
) -> Card:
    """What replaces the requester's "Request approval" card: sent to whom, until when.

    Args:
        approvers: the names of the people who got the request in a personal chat.
        channel: the request was also posted in the approvers channel.
        already: the requester had asked before and the request is still open.
    """
    if already:
        title = strings.gettext("You have already asked for this")
    elif channel and not approvers:
        title = strings.gettext("Request posted in the approvers channel")
    else:
        title = strings.ngettext(
            "Request sent to {n} approver", "Request sent to {n} approvers", len(approvers)
        )
    body: list[Element] = [_state_header(strings, view, title), _facts(strings, view)]
    if approvers:
        names = ", ".join(safe_text(n, max_chars=80) for n in approvers[:MAX_NAMED])
        if len(approvers) > MAX_NAMED:
            names += " " + strings.ngettext(
                "… and {n} more", "… and {n} more", len(approvers) - MAX_NAMED
            )
        body.append(text_block(strings.gettext("Sent to: {names}", names=names)))
    if channel and approvers:
        body.append(text_block(strings.gettext("Also posted in the approvers channel.")))
    body.append(
        text_block(
            strings.gettext("You will be told here when someone decides."),
            subtle=True,
        )
    )
    return ensure_fits(adaptive_card(strings, body, fallback_text=title))


def _outcome_lines(strings: Strings, view: RequestView) -> list[Element]:
    who = safe_text(view.decided_by, max_chars=120) if view.decided_by else None
    lines: list[Element] = []
    if view.state is RequestState.APPROVED:
        lines.append(
            text_block(
                strings.gettext("Approved by {name}", name=who or "?"),
                weight="Bolder",
                color=Tone.GOOD,
            )
        )
        if view.outcome is Outcome.OK:
            lines.append(text_block(strings.gettext("The change was made in their name.")))
        elif view.outcome is Outcome.SKIPPED:
            reason = reason_text(strings, view.outcome_reason or Reason.ALREADY_SET)
            lines.append(text_block(strings.gettext("Nothing to change: {reason}", reason=reason)))
        elif view.outcome is Outcome.FAILED:
            reason = reason_text(strings, view.outcome_reason or Reason.REFUSED)
            text = strings.gettext("The change failed: {reason}", reason=reason)
            if view.outcome_code:
                text += f" ({safe_text(view.outcome_code, max_chars=80)})"
            lines.append(text_block(text, color=Tone.ATTENTION))
    elif view.state is RequestState.REJECTED:
        lines.append(
            text_block(
                strings.gettext("Rejected by {name}", name=who or "?"),
                weight="Bolder",
                color=Tone.ATTENTION,
            )
        )
        lines.append(text_block(strings.gettext("Nothing was changed.")))
    elif view.state is RequestState.EXPIRED:
        lines.append(
            text_block(
                strings.gettext("Nobody decided in time; nothing was changed."),
                weight="Bolder",
            )
        )
    elif view.state is RequestState.FAILED:
        lines.append(
            text_block(
                strings.gettext(
                    "The request could not be carried out; nothing was changed. The mailbox "
                    "may no longer exist, or no approver could be reached."
                ),
                weight="Bolder",
            )
        )
    if view.decided_at is not None and view.state is not RequestState.PENDING:
        lines.append(text_block(strings.timestamp(view.decided_at), size="Small", subtle=True))
    return lines


def request_outcome(strings: Strings, view: RequestView) -> Card:
    """What every copy of a request's card shows once it is decided, expired or failed."""
    label = strings.gettext(_STATES[view.state][0])
    body: list[Element] = [
        _state_header(strings, view, strings.gettext("Approval request")),
        _facts(strings, view, expiry=False),
        *_outcome_lines(strings, view),
    ]
    if view.state is RequestState.PENDING:
        body.append(text_block(strings.gettext("Nobody has decided yet."), subtle=True))
    return ensure_fits(adaptive_card(strings, body, fallback_text=label))


def requester_notice(strings: Strings, view: RequestView) -> Card:
    """The message the requester gets when their request is decided or expires."""
    if view.state is RequestState.APPROVED:
        title = strings.gettext(
            "Your request was approved by {name}",
            name=safe_text(view.decided_by or "?", max_chars=120),
        )
    elif view.state is RequestState.REJECTED:
        title = strings.gettext(
            "Your request was rejected by {name}",
            name=safe_text(view.decided_by or "?", max_chars=120),
        )
    elif view.state is RequestState.EXPIRED:
        title = strings.gettext("Your request expired")
    else:
        title = strings.gettext("Your request could not be carried out")
    label, tone = _STATES[view.state]
    body: list[Element] = [
        header(
            strings,
            title,
            environment=view.environment,
            subtitle=_what(strings, view),
            badge_label=strings.gettext(label),
            badge_tone=tone,
        ),
        *_outcome_lines(strings, view),
    ]
    return ensure_fits(adaptive_card(strings, body, fallback_text=title))


def nobody_to_ask(
    strings: Strings,
    operation: Operation,
    target: str,
    *,
    environment: str,
    eligible: Sequence[Mention] = (),
) -> Card:
    """Nobody could be sent the request: nobody may do it now, or nobody can be reached
    (``eligible`` names those who may, to ask them directly). Nothing was stored."""
    title = strings.gettext("Nobody could be asked")
    body: list[Element] = [
        header(
            strings,
            title,
            environment=environment,
            subtitle=strings.gettext(
                "{operation}: {target}",
                operation=operation_label(strings, operation),
                target=safe_text(target, max_chars=200),
            ),
            badge_label=strings.gettext("Not sent"),
            badge_tone=Tone.WARNING,
        )
    ]
    shown = list(eligible[:MAX_NAMED])
    if shown:
        body.append(
            text_block(
                strings.gettext(
                    "These people may do it, but MailOps cannot message them yet (they have "
                    "not talked to the bot, and no approvers channel is set up). Ask them "
                    "directly: {people}",
                    people=", ".join(m.text for m in shown),
                )
            )
        )
    else:
        body.append(
            text_block(
                strings.gettext(
                    "Nobody in this environment may do this right now. A Global or Exchange "
                    "administrator can give someone the Delegated Mailbox Approver role."
                )
            )
        )
    return ensure_fits(adaptive_card(strings, body, mentions=shown, fallback_text=title))


def may_do_it_yourself(
    strings: Strings, operation: Operation, target: str, mailbox_id: str, *, environment: str
) -> Card:
    """The requester may now do it themselves (their roles changed): nothing was sent."""
    title = strings.gettext("You can do this yourself now")
    verb = verbs.MAILBOX_APPROVE if operation is Operation.APPROVE_EMAIL else verbs.MAILBOX_REJECT
    body: list[Element] = [
        header(
            strings,
            title,
            environment=environment,
            subtitle=strings.gettext(
                "{operation}: {target}",
                operation=operation_label(strings, operation),
                target=safe_text(target, max_chars=200),
            ),
            badge_label=strings.gettext("Allowed"),
            badge_tone=Tone.GOOD,
        ),
        text_block(
            strings.gettext("Your roles allow it now, so no request was sent to the approvers.")
        ),
        action_set(
            [
                execute_action(
                    operation_label(strings, operation),
                    verb,
                    {verbs.MAILBOX_ID: mailbox_id},
                    ButtonStyle.POSITIVE,
                )
            ]
        ),
    ]
    return ensure_fits(adaptive_card(strings, body, fallback_text=title))


def own_request(strings: Strings, view: RequestView) -> Card:
    """The requester clicked Approve or Reject on their own request."""
    title = strings.gettext("Someone else must decide your request")
    body: list[Element] = [
        _state_header(strings, view, title),
        text_block(
            strings.gettext(
                "You asked for this yourself, so an approver decides it. If your roles now "
                "allow it, run the command again."
            )
        ),
    ]
    return ensure_fits(adaptive_card(strings, body, fallback_text=title))


def approvals_unavailable(strings: Strings, *, environment: str) -> Card:
    """Routed approvals need the bot's database, which this deployment does not have."""
    title = strings.gettext("Approval requests are not set up")
    body: list[Element] = [
        header(
            strings,
            title,
            environment=environment,
            badge_label=strings.gettext("Not available"),
            badge_tone=Tone.WARNING,
        ),
        text_block(
            strings.gettext(
                "This MailOps has no database for approval requests. Ask an approver directly."
            )
        ),
    ]
    return ensure_fits(adaptive_card(strings, body, fallback_text=title))


# ---- lists --------------------------------------------------------------------------------


def _list_row(strings: Strings, view: RequestView, *, buttons: bool) -> list[Element]:
    label, tone = _STATES[view.state]
    line = strings.gettext(
        "{what} · asked by {requester}",
        what=_what(strings, view),
        requester=safe_text(view.requester, max_chars=80),
    )
    items: list[Element] = [
        {
            "type": "ColumnSet",
            "spacing": "Medium",
            "separator": True,
            "columns": [
                {"type": "Column", "width": "stretch", "items": [text_block(line)]},
                {
                    "type": "Column",
                    "width": "auto",
                    "items": [
                        text_block(f"● {strings.gettext(label)}", weight="Bolder", color=tone)
                    ],
                },
            ],
        }
    ]
    details = [strings.timestamp(view.created_at)]
    if view.reason:
        details.append(safe_text(view.reason, max_chars=200))
    if view.state is RequestState.PENDING:
        details.append(strings.gettext("expires {when}", when=strings.timestamp(view.expires_at)))
    elif view.decided_by:
        details.append(
            strings.gettext("decided by {name}", name=safe_text(view.decided_by, max_chars=80))
        )
    items.append(text_block(" · ".join(details), size="Small", subtle=True, spacing="None"))
    if buttons and view.state is RequestState.PENDING:
        items.append(decision_buttons(strings, view))
    return items


def open_requests_section(strings: Strings, views: Sequence[RequestView]) -> list[Element]:
    """The routed requests a person may decide, with Approve / Reject on each: a section to
    add to another card (the "pending approvals" list)."""
    section: list[Element] = [
        heading(
            strings.ngettext(
                "{n} approval request waiting for you",
                "{n} approval requests waiting for you",
                len(views),
            )
        )
    ]
    if not views:
        section.append(text_block(strings.gettext("No approval request is waiting for you.")))
        return section
    for view in views[:MAX_LISTED]:
        section.extend(_list_row(strings, view, buttons=True))
    if len(views) > MAX_LISTED:
        section.append(more_line(strings, len(views) - MAX_LISTED))
    return section


def my_requests(strings: Strings, views: Sequence[RequestView], *, environment: str) -> Card:
    """`my requests`: the person's routed requests, newest first, in every state."""
    title = strings.gettext("My approval requests")
    top = header(
        strings,
        title,
        environment=environment,
        subtitle=strings.ngettext("{n} request", "{n} requests", len(views)),
    )

    def build(shown: int) -> Card:
        body: list[Element] = [top]
        if not views:
            body.append(
                text_block(
                    strings.gettext(
                        "You have not asked for any approval. When a request of yours is "
                        "denied, the card offers Request approval."
                    )
                )
            )
        for view in views[:shown]:
            body.extend(_list_row(strings, view, buttons=False))
        if shown < len(views):
            body.append(more_line(strings, len(views) - shown))
        return adaptive_card(strings, body, fallback_text=title)

    return fit(build, min(len(views), MAX_LISTED))
