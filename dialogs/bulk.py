"""Changes to several mailboxes: a preview first, the change only after Confirm.

A preview lists what will change (current → new for each mailbox) and is kept under a
single-use token for a short time. Confirm re-reads the mailboxes: any whose row changed
since the preview is left alone and reported as such, the rest run through the bulk
operation with per-item results. The caller's permission is checked again at confirm time,
per mailbox, from live facts.

Nothing of a preview lives only in memory when the bot has a store: the preview is kept as
JSON in `store.previews` (what to run is data, `dialogs.runs`), so a Confirm that reaches
another replica, or comes after a restart, finds it. Without a store, `BOOK` keeps previews
in this process, with the same lifetime and the same single use.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from cards import verbs
from cards.common import Card
from cards.labels import Field, Operation
from cards.previews import Change, MailboxChange, bulk_preview, preview_closed
from cards.results import ItemResult as CardItem
from cards.results import Outcome as CardOutcome
from cards.results import Reason, operation_result
from dataverse.concurrent import both
from dataverse.models import Mailbox
from dataverse.ops import DEFAULT_OPTIONS, load_mailboxes
from dialogs import access, audit, resolve, runs
from dialogs.context import Ctx
from dialogs.errors import StaleCardError
from dialogs.outcomes import card_item, reason_for
from dialogs.resolve import Resolved
from dialogs.runs import Run, Runner
from permissions import Action, decide

log = logging.getLogger(__name__)

PREVIEW_TTL_S: Final = 15 * 60
_MAX_PREVIEWS: Final = 10_000
_TOKEN_BYTES: Final = 18
_RECORD_FORMAT: Final = 1
_EXPIRES_AT: Final = "expires_at"

# What a planned change looks like for one row: the changes, or None when already there.
Planner = Callable[[Mailbox], Sequence[Change] | None]


@dataclass(frozen=True)
class Preview:
    """What a preview card offers; `record` is what the book keeps (JSON)."""

    operation: Operation
    action: Action
    caller: str
    conversation: str
    environment: str
    labels: dict[uuid.UUID, str]
    versions: dict[uuid.UUID, int | None]
    run: Run

    def record(self) -> dict[str, Any]:
        return {
            "format": _RECORD_FORMAT,
            "operation": self.operation.value,
            "action": self.action.value,
            "caller": self.caller,
            "conversation": self.conversation,
            "environment": self.environment,
            # A list, not an object: the result card keeps the preview's order.
            "mailboxes": [
                [str(mailbox_id), self.labels[mailbox_id], version]
                for mailbox_id, version in self.versions.items()
            ],
            "run": self.run.record(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Preview:
        """The preview a kept record describes.

        Raises:
            ValueError: the record is not one this code wrote (`runs.MalformedRun` for
                its run).
        """
        if record.get("format") != _RECORD_FORMAT:
            msg = f"unknown preview record format {record.get('format')!r}"
            raise ValueError(msg)
        labels: dict[uuid.UUID, str] = {}
        versions: dict[uuid.UUID, int | None] = {}
        mailboxes = record.get("mailboxes")
        if not isinstance(mailboxes, list):
            msg = "a preview record without its mailboxes"
            raise ValueError(msg)
        for item in mailboxes:
            match item:
                case [str(key), str(label), int() | None as version] if not isinstance(
                    version, bool
                ):
                    mailbox_id = uuid.UUID(key)
                    labels[mailbox_id] = label
                    versions[mailbox_id] = version
                case _:
                    msg = f"not a previewed mailbox: {item!r}"
                    raise ValueError(msg)
        return cls(
            operation=Operation(_text(record, "operation")),
            action=Action(_text(record, "action")),
            caller=_text(record, "caller"),
            conversation=_text(record, "conversation"),
            environment=_text(record, "environment"),
            labels=labels,
            versions=versions,
            run=Run.from_record(record.get("run")),
        )


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        msg = f"{key} is {value!r}, not text"
        raise ValueError(msg)
    return value


class PreviewBook(Protocol):
    """Where previews wait for Confirm or Cancel: `store.previews` when the bot has a store
    (every replica sees them, a restart keeps them), else a `MemoryBook`."""

    def now(self) -> datetime:
        """The clock that decides expiry (aware UTC)."""
        ...

    async def add(self, token: str, record: Mapping[str, Any], expires_at: datetime) -> None:
        """Keep `record` under a new `token` until `expires_at`."""
        ...

    async def take(self, token: str) -> dict[str, Any] | None:
        """The record, removed: a second take of the same token, or a late one, finds none."""
        ...


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MemoryBook:
    """Open previews in this process only: for a bot without a store."""

    def __init__(
        self, clock: Callable[[], datetime] = _utc_now, *, limit: int = _MAX_PREVIEWS
    ) -> None:
        self._clock = clock
        self._limit = limit
        self._open: dict[str, tuple[datetime, dict[str, Any]]] = {}

    def now(self) -> datetime:
        return self._clock()

    async def add(self, token: str, record: Mapping[str, Any], expires_at: datetime) -> None:
        self._expire()
        while len(self._open) >= self._limit:
            self._open.pop(next(iter(self._open)))
        self._open[token] = (expires_at, dict(record))

    async def take(self, token: str) -> dict[str, Any] | None:
        self._expire()
        kept = self._open.pop(token, None)
        return None if kept is None else kept[1]

    def _expire(self) -> None:
        now = self.now()
        for token in [t for t, (expires_at, _) in self._open.items() if expires_at <= now]:
            del self._open[token]


BOOK = MemoryBook()


def _book(ctx: Ctx) -> PreviewBook:
    store = ctx.services.store
    return BOOK if store is None else store.previews


async def keep(ctx: Ctx, plan: Preview) -> tuple[str, datetime]:
    """Put a preview in the book: the token its card carries, and when it expires."""
    book = _book(ctx)
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    expires_at = book.now() + timedelta(seconds=PREVIEW_TTL_S)
    await book.add(token, {**plan.record(), _EXPIRES_AT: expires_at.isoformat()}, expires_at)
    return token, expires_at


async def preview(
    ctx: Ctx,
    names: Sequence[str],
    *,
    operation: Operation,
    action: Action,
    planner: Planner,
    run: Run,
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
    token, expires_at = await keep(
        ctx,
        Preview(
            operation=operation,
            action=action,
            caller=ctx.caller_id,
            conversation=ctx.turn.conversation.id,
            environment=ctx.env.name,
            labels={r.mailbox.id: r.label for r, _ in planned},
            versions={r.mailbox.id: r.mailbox.version_number for r, _ in planned},
            run=run,
        ),
    )
    return bulk_preview(
        ctx.strings,
        operation,
        [MailboxChange(r.label, changes) for r, changes in planned],
        environment=ctx.env.name,
        token=token,
        unchanged=len(unique) - len(planned),
        expires_at=expires_at,
    )


async def confirm(ctx: Ctx, data: dict[str, Any]) -> Card:
    """Run a previewed change once, on the mailboxes that still match the preview."""
    plan, runner = await _take(ctx, data)
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
        outcome = await runner(ctx, still)
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
    plan, _ = await _take(ctx, data)
    return preview_closed(
        ctx.strings, plan.operation, environment=plan.environment, cancelled=True
    )


async def _take(ctx: Ctx, data: dict[str, Any]) -> tuple[Preview, Runner]:
    token = data.get(verbs.PREVIEW_TOKEN)
    record = await _book(ctx).take(token) if isinstance(token, str) and token else None
    if record is None:
        raise StaleCardError
    try:
        plan = Preview.from_record(record)
        runner = runs.runner(plan.run)
    except ValueError as exc:
        # Written by another version of the bot, or damaged: nothing is run.
        log.warning("a kept preview could not be read back: %s", exc)
        raise StaleCardError from exc
    # Only the person who asked, in the conversation they asked in, can confirm.
    if plan.caller != ctx.caller_id or plan.conversation != ctx.turn.conversation.id:
        # Someone else's click (a group chat) leaves the preview to the person who asked.
        assert isinstance(token, str)  # a record was found under it
        await _put_back(ctx, token, record)
        raise StaleCardError
    return plan, runner


async def _put_back(ctx: Ctx, token: str, record: dict[str, Any]) -> None:
    try:
        expires_at = datetime.fromisoformat(record[_EXPIRES_AT])
        await _book(ctx).add(token, record, expires_at)
    except (KeyError, TypeError, ValueError):  # the store's InvalidInput too
        return  # unreadable, or its time is up meanwhile: it stays taken


# ---- the bulk forms of the mailbox commands -------------------------------------------


async def preview_approval(ctx: Ctx, names: Sequence[str], action: Action) -> Card:
    value = 1 if action is Action.APPROVE_EMAIL else 3

    def planner(row: Mailbox) -> Sequence[Change] | None:
        current = int(row.approval) if row.approval is not None else None
        return None if current == value else [Change(Field.APPROVAL, current, value)]

    return await preview(
        ctx,
        names,
        operation=Operation(action.value),
        action=action,
        planner=planner,
        run=runs.APPROVE_EMAIL if action is Action.APPROVE_EMAIL else runs.REJECT_EMAIL,
    )


async def preview_test(ctx: Ctx, names: Sequence[str]) -> Card:
    def planner(row: Mailbox) -> Sequence[Change] | None:
        return None if row.test_scheduled else [Change(Field.TEST_SCHEDULED, False, True)]

    return await preview(
        ctx,
        names,
        operation=Operation.TEST_AND_ENABLE,
        action=Action.TEST_AND_ENABLE,
        planner=planner,
        run=runs.TEST_AND_ENABLE,
    )
