"""Proactive messages, and the conversation references they need.

`ProactiveMessenger` implements `dialogs.turn.Messenger` with CloudAdapter: a stored
reference (botbuilder's `ConversationReference.serialize()`) is restored and
`continue_conversation(reference, callback, bot_app_id)` runs a turn in which the card is
sent or updated (reference/teams.md §2.5: with CloudAdapter the reference comes first and the
app id third). Teams answers 403 `BotNotInConversationRoster` where the app is no longer
installed (and 404 for a conversation that no longer exists): that becomes
`ConversationGoneError`, and the dialogs drop the reference and fall back to the approvers
channel.

`ConversationKeeper` wraps the dispatcher and saves the reference of every conversation an
activity comes from (messages, card clicks, installs) in the store: personal chats under the
person's Entra object id, which is how an approver's chat is found later. The approvers
channel is named by configuration (`MAILOPS_APPROVERS_CONVERSATION_ID`); when an activity
from that conversation arrives (or at start, if it is stored already) it gets the store's
"approvers" purpose.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, TypeVar

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ConversationReference

from bot.messages import card_message
from dialogs.approvals import remember
from dialogs.turn import (
    Card,
    ConversationGoneError,
    Dispatcher,
    Turn,
    channel_of,
    reference_of,
)
from dialogs.turn import (
    ConversationReference as StoredReference,
)
from store import APPROVERS, ConversationKey, NotFound, Person, Store

log = logging.getLogger("mailops.proactive")

T = TypeVar("T")

GONE_CODES: Final = frozenset({"BotNotInConversationRoster", "ConversationNotFound"})
REFRESH_AFTER_S: Final = 600.0
"""An unchanged reference is written again at most this often (its time says which of a
person's chats is the latest)."""
_REMEMBERED_MAX: Final = 10_000


def restore(stored: StoredReference) -> ConversationReference:
    """The botbuilder reference for a proactive message: a new post, not a reply.

    A channel's reference names the thread the bot was last spoken to in; without
    `;messageid=` the message starts a new post in the channel.
    """
    reference: ConversationReference = ConversationReference.deserialize(dict(stored))
    conversation = reference.conversation
    if conversation is not None and isinstance(conversation.id, str):
        conversation.id = channel_of(conversation.id)
    reference.activity_id = None
    return reference


def _status_and_code(error: BaseException) -> tuple[int | None, str | None]:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    body = getattr(getattr(error, "error", None), "error", None)
    code = getattr(body, "code", None)
    return (status if isinstance(status, int) else None), (code if isinstance(code, str) else None)


def is_gone(error: BaseException) -> bool:
    """Whether Teams said the bot can no longer post in the conversation."""
    status, code = _status_and_code(error)
    return code in GONE_CODES or status == 404


def _gone_reason(error: BaseException) -> str | None:
    return str(_status_and_code(error)) if is_gone(error) else None


class _ProactiveContext(Protocol):
    """What a proactive turn needs of either SDK's TurnContext."""

    @property
    def activity(self) -> Any: ...


Context = TypeVar("Context", bound=_ProactiveContext)


async def run_proactive_turn(
    start: Callable[[Callable[[Context], Awaitable[None]]], Awaitable[None]],
    work: Callable[[Context], Awaitable[T]],
    gone_reason: Callable[[BaseException], str | None],
) -> T:
    """Run `work` in the proactive turn that `start` opens with its callback (either host's
    `continue_conversation`), and hand back its result or its error.

    An error Teams gives for a conversation the bot may no longer post in (`gone_reason`
    names it) becomes `ConversationGoneError`.
    """
    results: list[T] = []
    errors: list[BaseException] = []

    async def callback(context: Context) -> None:
        # A proactive turn's own activity id would make every message a reply to it.
        context.activity.id = None
        try:
            results.append(await work(context))
        except Exception as exc:  # handed back below: the adapter's on_turn_error
            errors.append(exc)  # would log it and swallow it

    await start(callback)
    if errors:
        error = errors[0]
        reason = gone_reason(error)
        if reason is not None:
            raise ConversationGoneError(reason) from error
        raise error
    if not results:
        msg = "the proactive turn did not run"
        raise RuntimeError(msg)
    return results[0]


class ProactiveMessenger:
    """`dialogs.turn.Messenger` over botbuilder's CloudAdapter."""

    def __init__(self, adapter: CloudAdapter, bot_app_id: str) -> None:
        self._adapter = adapter
        self._app_id = bot_app_id

    async def _run(
        self, stored: StoredReference, work: Callable[[TurnContext], Awaitable[T]]
    ) -> T:
        async def start(callback: Callable[[TurnContext], Awaitable[None]]) -> None:
            await self._adapter.continue_conversation(restore(stored), callback, self._app_id)

        return await run_proactive_turn(start, work, _gone_reason)

    async def send(self, reference: StoredReference, card: Card) -> str:
        async def post(context: TurnContext) -> str:
            response = await context.send_activity(card_message(card))
            return str(response.id) if response is not None and response.id else ""

        return await self._run(reference, post)

    async def update(self, reference: StoredReference, activity_id: str, card: Card) -> None:
        async def replace(context: TurnContext) -> None:
            await context.update_activity(card_message(card, replaces=activity_id))

        await self._run(reference, replace)


class ConversationKeeper:
    """A `Dispatcher` that saves each activity's conversation reference, then passes the
    activity on. Saving never fails a turn: a store error is logged."""

    def __init__(
        self,
        inner: Dispatcher,
        store: Store,
        *,
        approvers_conversation: str | None = None,
    ) -> None:
        self._inner = inner
        self._store = store
        self._approvers = channel_of(approvers_conversation or "") or None
        self._approvers_assigned = False
        self._seen: OrderedDict[tuple[str, str, str], tuple[str, float]] = OrderedDict()

    async def on_message(self, turn: Turn) -> None:
        await self._remember(turn)
        await self._inner.on_message(turn)

    async def on_execute(self, turn: Turn) -> Card | str:
        await self._remember(turn)
        return await self._inner.on_execute(turn)

    async def on_installed(self, turn: Turn) -> None:
        await self._remember(turn, force=True)
        await self._inner.on_installed(turn)

    async def assign_approvers(self, tenant_id: str) -> bool:
        """Give the configured conversation the "approvers" purpose if it is stored already
        (at start; otherwise its first activity does it)."""
        if self._approvers is None or self._approvers_assigned:
            return self._approvers_assigned
        key = ConversationKey(tenant_id, self._approvers)
        try:
            await self._store.conversations.assign(
                APPROVERS, key, by=Person("mailops", "MailOps configuration")
            )
        except NotFound:
            return False
        self._approvers_assigned = True
        return True

    def _fresh(self, turn: Turn) -> bool:
        """Whether this conversation's reference was saved lately, unchanged."""
        data = reference_of(turn)
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        key = (turn.conversation.tenant_id, turn.conversation.id, turn.caller.object_id)
        now = time.monotonic()
        seen = self._seen.get(key)
        self._seen[key] = (digest, now if seen is None or seen[0] != digest else seen[1])
        self._seen.move_to_end(key)
        while len(self._seen) > _REMEMBERED_MAX:
            self._seen.popitem(last=False)
        return seen is not None and seen[0] == digest and now - seen[1] < REFRESH_AFTER_S

    async def _remember(self, turn: Turn, *, force: bool = False) -> None:
        if not force and self._fresh(turn):
            return
        try:
            saved = await remember(self._store, turn)
            if (
                saved is not None
                and self._approvers is not None
                and channel_of(turn.conversation.id) == self._approvers
            ):
                person = Person(turn.caller.object_id or "mailops", turn.caller.name or "MailOps")
                await self._store.conversations.assign(APPROVERS, saved.key, by=person)
                self._approvers_assigned = True
        except Exception:  # the turn matters more than the note of where it came from
            log.exception("could not save the conversation reference of %s", turn.correlation_id)
            self._seen.pop(
                (turn.conversation.tenant_id, turn.conversation.id, turn.caller.object_id), None
            )
