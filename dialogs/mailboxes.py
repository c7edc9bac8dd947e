"""Mailbox commands: approve, reject, Test & Enable, status and alerts.

Each handler reads top to bottom: resolve the name → the caller's live permission
decision → the operation (as the caller, through CallerObjectId) → the card. A request
naming several mailboxes becomes a preview that runs only after it is confirmed.
"""

from __future__ import annotations

from typing import Any

from cards import verbs
from cards.common import Card
from cards.labels import Operation
from cards.lists import alert_list
from cards.mailboxes import MailboxAction, mailbox_status
from cards.results import operation_result
from dataverse import ops
from dataverse.concurrent import both
from dataverse.models import Mailbox
from dataverse.ops.testing import Polling
from dialogs import access, audit, bulk, resolve
from dialogs.commands import Alerts, Approve, CommandKind, Reject, Status, TestAndEnable
from dialogs.context import Ctx
from dialogs.errors import StaleCardError
from dialogs.outcomes import card_items
from dialogs.resolve import Resolved
from dialogs.router import Router
from permissions import Action, decide

# A chat answer waits this long for Test & Enable; the platform may take minutes (§5.1),
# and then the card says the test is still running.
TEST_WAIT = Polling(first=0.3, factor=1.5, cap=2.0, deadline=20.0)
_ALERTS_SHOWN = 5  # on the status card
_ALERTS_LISTED = 50  # "alerts for X"


async def approve_mailbox(ctx: Ctx, found: Resolved, action: Action) -> Card:
    """Approve or reject one address after checking the caller may, right now."""
    target = await access.mailbox_target(ctx, found.mailbox)
    async with audit.denials(ctx, target=audit.mailbox_target(found.mailbox, found.label)):
        await access.check(
            ctx, action, target, target_label=found.label, target_id=found.mailbox.id
        )
    operate = ops.approve if action is Action.APPROVE_EMAIL else ops.reject
    result = await operate(ctx.env.dataverse, found.mailbox, acting_for=ctx.acting_for)
    await audit.mailbox_results(ctx, action, [(found.label, found.mailbox)], [result])
    return operation_result(
        ctx.strings,
        Operation(action.value),
        card_items([found.label], [result]),
        environment=ctx.env.name,
    )


async def test_mailbox(ctx: Ctx, found: Resolved) -> Card:
    """Test & Enable one mailbox and wait briefly for its result and alerts."""
    target = await access.mailbox_target(ctx, found.mailbox)
    async with audit.denials(ctx, target=audit.mailbox_target(found.mailbox, found.label)):
        await access.check(
            ctx,
            Action.TEST_AND_ENABLE,
            target,
            target_label=found.label,
            target_id=found.mailbox.id,
        )
    result = await ops.test_and_enable(
        ctx.env.dataverse, found.mailbox, wait=True, polling=TEST_WAIT, acting_for=ctx.acting_for
    )
    await audit.mailbox_results(
        ctx, Action.TEST_AND_ENABLE, [(found.label, found.mailbox)], [result]
    )
    if result.mailbox is None:
        return operation_result(
            ctx.strings,
            Operation.TEST_AND_ENABLE,
            card_items([found.label], [result]),
            environment=ctx.env.name,
        )
    alerts = result.test.alerts if result.test else ()
    return await _status_card(ctx, result.mailbox, alerts=alerts)


async def _status_card(
    ctx: Ctx, row: Mailbox, *, alerts: Any = None, checked: frozenset[Action] = frozenset()
) -> Card:
    """The status card; `checked` names actions already allowed in this turn."""
    target = await access.mailbox_target(ctx, row)
    (actor, environment), profiles = await both(ctx.facts(), ctx.env.profiles())
    if alerts is None:
        # `row` was read in this turn: its alerts alone are asked, without the existence
        # read that `ops.list_alerts` adds for an id from elsewhere.
        alerts = await ctx.env.dataverse.alerts(row.id, limit=_ALERTS_SHOWN)
    allowed = {
        button
        for button, action in (
            (MailboxAction.APPROVE, Action.APPROVE_EMAIL),
            (MailboxAction.REJECT, Action.REJECT_EMAIL),
            (MailboxAction.TEST_AND_ENABLE, Action.TEST_AND_ENABLE),
            (MailboxAction.ALERTS, Action.VIEW),
        )
        if action in checked or decide(action, actor, environment, target).allowed
    }
    return mailbox_status(
        ctx.strings,
        row,
        environment=ctx.env.name,
        profile=profiles.get(row.server_profile_id) if row.server_profile_id else None,
        alerts=list(alerts),
        allowed=allowed,
    )


async def show_status(ctx: Ctx, found: Resolved) -> Card:
    target = await access.mailbox_target(ctx, found.mailbox)
    await access.check(
        ctx, Action.VIEW, target, target_label=found.label, target_id=found.mailbox.id
    )
    return await _status_card(
        ctx, found.mailbox, alerts=found.alerts, checked=frozenset({Action.VIEW})
    )


async def show_alerts(ctx: Ctx, found: Resolved) -> Card:
    target = await access.mailbox_target(ctx, found.mailbox)
    await access.check(
        ctx, Action.VIEW, target, target_label=found.label, target_id=found.mailbox.id
    )
    alerts = found.alerts
    if alerts is None:
        alerts = tuple(await ctx.env.dataverse.alerts(found.mailbox.id, limit=_ALERTS_LISTED))
    return alert_list(ctx.strings, alerts, environment=ctx.env.name, subject=found.label)


def register(router: Router) -> None:
    """The mailbox commands and their buttons."""

    @router.command(CommandKind.APPROVE)
    async def approve(ctx: Ctx, command: Approve) -> Card:
        """Approve the email address of a person's or a queue's mailbox."""
        if len(command.targets) > 1:
            return await bulk.preview_approval(ctx, command.targets, Action.APPROVE_EMAIL)
        found = await resolve.mailbox(ctx, command.targets[0], command_text=ctx.turn.text)
        return await approve_mailbox(ctx, found, Action.APPROVE_EMAIL)

    @router.command(CommandKind.REJECT)
    async def reject(ctx: Ctx, command: Reject) -> Card:
        """Reject the email address of a mailbox."""
        if len(command.targets) > 1:
            return await bulk.preview_approval(ctx, command.targets, Action.REJECT_EMAIL)
        found = await resolve.mailbox(ctx, command.targets[0], command_text=ctx.turn.text)
        return await approve_mailbox(ctx, found, Action.REJECT_EMAIL)

    @router.command(CommandKind.TEST_AND_ENABLE)
    async def test(ctx: Ctx, command: TestAndEnable) -> Card:
        """Test & Enable a mailbox and show the result with its alerts."""
        if len(command.targets) > 1:
            return await bulk.preview_test(ctx, command.targets)
        found = await resolve.mailbox(ctx, command.targets[0], command_text=ctx.turn.text)
        return await test_mailbox(ctx, found)

    @router.command(CommandKind.STATUS)
    async def status(ctx: Ctx, command: Status) -> Card:
        """The state of one mailbox: approval, delivery methods, test results, alerts."""
        found = await resolve.mailbox(
            ctx, command.target, command_text=ctx.turn.text, alerts=_ALERTS_SHOWN
        )
        return await show_status(ctx, found)

    @router.command(CommandKind.ALERTS)
    async def alerts(ctx: Ctx, command: Alerts) -> Card:
        """The alerts of one mailbox, newest first."""
        found = await resolve.mailbox(
            ctx, command.target, command_text=ctx.turn.text, alerts=_ALERTS_LISTED
        )
        return await show_alerts(ctx, found)

    async def _clicked(ctx: Ctx, data: dict[str, Any]) -> Resolved:
        mailbox_id = data.get(verbs.MAILBOX_ID)
        if not isinstance(mailbox_id, str):
            raise StaleCardError
        return await resolve.mailbox(ctx, mailbox_id, command_text=mailbox_id)

    @router.action(verbs.MAILBOX_APPROVE)
    async def approve_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await approve_mailbox(ctx, await _clicked(ctx, data), Action.APPROVE_EMAIL)

    @router.action(verbs.MAILBOX_REJECT)
    async def reject_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await approve_mailbox(ctx, await _clicked(ctx, data), Action.REJECT_EMAIL)

    @router.action(verbs.MAILBOX_TEST_AND_ENABLE)
    async def test_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await test_mailbox(ctx, await _clicked(ctx, data))

    @router.action(verbs.MAILBOX_STATUS)
    async def status_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await show_status(ctx, await _clicked(ctx, data))

    @router.action(verbs.MAILBOX_ALERTS)
    async def alerts_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await show_alerts(ctx, await _clicked(ctx, data))
