"""The Microsoft 365 Agents SDK's TurnContext seen as the in-house `dialogs.turn.Turn`.

What the turn reads comes from the activity MailOps read itself (`bot.turn.ActivityTurn`), so
both hosts give the dialogs the same caller, conversation, text and card action; only the
sending is the Agents SDK's.
"""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity as ReadActivity
from microsoft_agents.activity import Activity, ActivityTypes, Attachment, AttachmentLayoutTypes
from microsoft_agents.hosting.core import TurnContext

from bot.turn import ActivityTurn
from dialogs.turn import Card

_ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"


def card_activity(card: Card, *, text: str | None = None, replaces: str | None = None) -> Activity:
    """The message activity carrying `card`, as `bot.messages.card_message` builds it for
    botbuilder: one Adaptive Card attachment, list layout."""
    fields: dict[str, Any] = {
        "type": ActivityTypes.message,
        "attachment_layout": AttachmentLayoutTypes.list,
        "attachments": [Attachment(content_type=_ADAPTIVE_CARD, content=card)],
    }
    if text:
        fields["text"] = text
    if replaces is not None:
        fields["id"] = replaces
    return Activity(**fields)


class AgentsTurn(ActivityTurn):
    """A `Turn` over one Agents SDK TurnContext."""

    def __init__(self, activity: ReadActivity, context: TurnContext) -> None:
        super().__init__(activity)
        self._context = context

    async def reply(self, card: Card, *, text: str | None = None) -> str:
        response = await self._context.send_activity(card_activity(card, text=text))
        return str(response.id) if response is not None and response.id else ""

    async def update(self, activity_id: str, card: Card) -> None:
        await self._context.update_activity(card_activity(card, replaces=activity_id))
