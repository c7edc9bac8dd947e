"""Changes to several mailboxes: a preview first, the change only after Confirm.

A preview lists what will change (current → new for each mailbox) and is kept under a
single-use token for a short time. Confirm re-reads the mailboxes: any whose row changed
since the preview is left alone and reported as such, the rest run through the bulk
operation with per-item results. The caller's permission is checked again at confirm time,
per mailbox, from live facts.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cards import verbs
from cards.common import Card
from cards.labels import Field, Operation
from cards.previews import Change, MailboxChange, bulk_preview, preview_closed
from cards.results import ItemResult as CardItem
from cards.results import Outcome as CardOutcome
from cards.results import Reason, operation_result
from dataverse import ops
from dataverse.concurrent import both
from dataverse.models import Mailbox
from dataverse.ops import DEFAULT_OPTIONS, load_mailboxes
from dataverse.ops.results import BulkResult
from dialogs import access, audit, resolve
from dialogs.context import Ctx
from dialogs.errors import StaleCardError
from dialogs.outcomes import card_item, reason_for
from dialogs.resolve import Resolved
from permissions import Action, Actor, Environment, MailboxTarget, decide

PREVIEW_TTL_S: Final = 15 * 60
_MAX_PREVIEWS: Final = 10_000

# What a planned change looks like for one row: the changes, or None when already there.
Planner = Callable[[Mailbox], Sequence[Change] | None]
# Runs the change on the rows that still match the preview; one result per row, in order.
Runner = Callable[[Ctx, Sequence[Mailbox]], Awaitable[BulkResult]]


@dataclass
class Preview:
    operation: Operation
    action: Action
    caller: str
    conversation: str
    environment: str
    labels: dict[uuid.UUID, str]
    versions: dict[uuid.UUID, int | None]
    runner: Runner
    created: float = field(default_factory=time.monotonic)


class PreviewBook:
    """Open previews by token; each token can be confirmed or cancelled once."""

    def __init__(self, ttl_s: float = PREVIEW_TTL_S) -> None:
        self._ttl = ttl_s
        self._open: dict[str, Preview] = {}

    def add(self, preview: Preview) -> str:
        self._expire()
        while len(self._open) >= _MAX_PREVIEWS:
            self._open.pop(next(iter(self._open)))
        token = secrets.token_urlsafe(18)
        self._open[token] = preview
        return token

    def take(self, token: str) -> Preview | None:
        """The preview, removed: a second confirm of the same card finds nothing."""
        self._expire()
        return self._open.pop(token, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._open.items() if now - p.created > self._ttl]:
            del self._open[token]


BOOK = PreviewBook()


async def preview(
    ctx: Ctx,
    names: Sequence[str],
    *,
    operation: Operation,
    action: Action,
    planner: Planner,
    runner: Runner,
) -> Card:
    """Resolve the names, check the caller may touch each, and show what would change."""
    found = await resolve.mailboxes(ctx, names, command_text=ctx.turn.text)
    unique = list({r.mailbox.id: r for r in found}.values())
    for item in unique:
        target = await access.mailbox_target(ctx, item.mailbox)
        async with audit.denials(ctx, target=audit.mailbox_target(item.mailbox, item.label)):
            await access.check(
                ctx, action, target, target_label=item.label, target_id=item.mailbox.id
            )
    planned: list[tuple[Resolved, Sequence[Change]]] = []
    for item in unique:
        changes = planner(item.mailbox)
        if changes:
            planned.append((item, changes))
    token = BOOK.add(
        Preview(
            operation=operation,
            action=action,
            caller=ctx.caller_id,
            conversation=ctx.turn.conversation.id,
            environment=ctx.env.name,
            labels={r.mailbox.id: r.label for r, _ in planned},
            versions={r.mailbox.id: r.mailbox.version_number for r, _ in planned},
            runner=runner,
        )
    )
    return bulk_preview(
        ctx.strings,
        operation,
        [MailboxChange(r.label, changes) for r, changes in planned],
        environment=ctx.env.name,
        token=token,
        unchanged=len(unique) - len(planned),
        expires_at=datetime.now(UTC) + timedelta(seconds=PREVIEW_TTL_S),
    )


async def confirm(ctx: Ctx, data: dict[str, Any]) -> Card:
    """Run a previewed change once, on the mailboxes that still match the preview."""
    plan = _take(ctx, data)
    ctx = ctx.with_environment(plan.environment)
    # The caller's facts are read once, now, and every mailbox is decided against them.
    (actor, environment), loaded = await both(
        ctx.facts(), load_mailboxes(ctx.env.dataverse, list(plan.versions), DEFAULT_OPTIONS)
    )
    still: list[Mailbox] = []
    refused: list[tuple[str, Mailbox]] = []
    results: dict[uuid.UUID, CardItem] = {}
    for mailbox_id, version in plan.versions.items():
        label = plan.labels[mailbox_id]
        row = loaded.get(mailbox_id)
        if not isinstance(row, Mailbox):
            # Gone, or unreadable right now (throttled, unavailable): say which.
            reason = reason_for(row) if row is not None else Reason.NOT_FOUND
            results[mailbox_id] = CardItem(label, CardOutcome.FAILED, reason)
        elif row.version_number != version:
            results[mailbox_id] = CardItem(label, CardOutcome.SKIPPED, Reason.CHANGED)
        elif decide(
            plan.action, actor, environment, await access.mailbox_target(ctx, row)
        ).allowed:
            still.append(row)
        else:
            results[mailbox_id] = CardItem(label, CardOutcome.FAILED, Reason.DENIED)
            refused.append((label, row))
    if still:
        outcome = await plan.runner(ctx, still)
        for row, item in zip(still, outcome, strict=True):
            results[row.id] = card_item(plan.labels[row.id], item)
        # ---- audit (issue 5): one entry per mailbox changed, failed or refused ----
        labelled = [(plan.labels[row.id], row) for row in still]
        await audit.mailbox_results(ctx, plan.action, labelled, outcome.items)
    await audit.denied_rows(ctx, plan.action, refused)
    return operation_result(
        ctx.strings,
        plan.operation,
        [results[m] for m in plan.versions],
        environment=ctx.env.name,
    )


async def cancel(ctx: Ctx, data: dict[str, Any]) -> Card:
    plan = _take(ctx, data)
    return preview_closed(
        ctx.strings, plan.operation, environment=plan.environment, cancelled=True
    )


def _may(plan: Preview, actor: Actor, environment: Environment, target: MailboxTarget) -> bool:
    return decide(plan.action, actor, environment, target).allowed


def _take(ctx: Ctx, data: dict[str, Any]) -> Preview:
    token = data.get(verbs.PREVIEW_TOKEN)
    plan = BOOK.take(token) if isinstance(token, str) else None
    # Only the person who asked, in the conversation they asked in, can confirm.
    if (
        plan is None
        or plan.caller != ctx.caller_id
        or plan.conversation != ctx.turn.conversation.id
    ):
        raise StaleCardError
    return plan


# ---- the bulk forms of the mailbox commands -------------------------------------------


async def preview_approval(ctx: Ctx, names: Sequence[str], action: Action) -> Card:
    value = 1 if action is Action.APPROVE_EMAIL else 3

    def planner(row: Mailbox) -> Sequence[Change] | None:
        current = int(row.approval) if row.approval is not None else None
        return None if current == value else [Change(Field.APPROVAL, current, value)]

    async def runner(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        operate = ops.approve_many if action is Action.APPROVE_EMAIL else ops.reject_many
        return await operate(ctx.env.dataverse, list(rows), acting_for=ctx.acting_for)

    return await preview(
        ctx,
        names,
        operation=Operation(action.value),
        action=action,
        planner=planner,
        runner=runner,
    )


async def preview_test(ctx: Ctx, names: Sequence[str]) -> Card:
    def planner(row: Mailbox) -> Sequence[Change] | None:
        return None if row.test_scheduled else [Change(Field.TEST_SCHEDULED, False, True)]

    async def runner(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        return await ops.test_and_enable_many(
            ctx.env.dataverse, list(rows), acting_for=ctx.acting_for
        )

    return await preview(
        ctx,
        names,
        operation=Operation.TEST_AND_ENABLE,
        action=Action.TEST_AND_ENABLE,
        planner=planner,
        runner=runner,
    )
