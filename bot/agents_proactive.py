"""Proactive messages on the Agents SDK host: `dialogs.turn.Messenger` over its CloudAdapter.

The stored references are the ones `bot.proactive` keeps (botbuilder's serialization, the same
camelCase JSON the Agents SDK's `ConversationReference` reads), restored the same way (a new
post, not a reply: `bot.proactive.restore`), so a change of host keeps every stored chat.
Teams' 403 `BotNotInConversationRoster` and 404 become `ConversationGoneError` here too; the
Agents SDK's connector raises them as aiohttp `ClientResponseError`s carrying Teams' body.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import ClientResponseError
from microsoft_agents.activity import ConversationReference
from microsoft_agents.hosting.core import TurnContext

from bot.agents_host import AgentsHost
from bot.agents_turn import card_activity
from bot.proactive import GONE_CODES, restore, run_proactive_turn
from dialogs.turn import Card
from dialogs.turn import ConversationReference as StoredReference

T = TypeVar("T")


def _code_of(error: ClientResponseError) -> str | None:
    try:
        body = json.loads(error.message)
    except ValueError:
        return None
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def is_gone(error: BaseException) -> bool:
    """Whether Teams said the bot can no longer post in the conversation."""
    if not isinstance(error, ClientResponseError):
        return False
    return error.status == 404 or _code_of(error) in GONE_CODES


def _gone_reason(error: BaseException) -> str | None:
    return str(getattr(error, "status", "")) if is_gone(error) else None


class AgentsMessenger:
    """`dialogs.turn.Messenger` over the Agents SDK's CloudAdapter."""

    def __init__(self, host: AgentsHost, bot_app_id: str) -> None:
        self._host = host
        self._app_id = bot_app_id

    async def _run(
        self, stored: StoredReference, work: Callable[[TurnContext], Awaitable[T]]
    ) -> T:
        reference = ConversationReference.model_validate(restore(stored).serialize())

        async def start(callback: Callable[[TurnContext], Awaitable[None]]) -> None:
            await self._host.adapter.continue_conversation(
                self._app_id, reference.get_continuation_activity(), callback
            )

        return await run_proactive_turn(start, work, _gone_reason)

    async def send(self, reference: StoredReference, card: Card) -> str:
        async def post(context: TurnContext) -> str:
            response = await context.send_activity(card_activity(card))
            return str(response.id) if response is not None and response.id else ""

        return await self._run(reference, post)

    async def update(self, reference: StoredReference, activity_id: str, card: Card) -> None:
        async def replace(context: TurnContext) -> None:
            await context.update_activity(card_activity(card, replaces=activity_id))

        await self._run(reference, replace)
