"""botbuilder's TurnContext seen as the in-house `dialogs.turn.Turn`."""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.messages import card_message
from dialogs.turn import Caller, Card, CardAction, Conversation, ConversationKind

_KINDS = {kind.value: kind for kind in ConversationKind}


def _tenant_of(activity: Activity) -> str:
    conversation = activity.conversation
    if conversation is not None and conversation.tenant_id:
        return str(conversation.tenant_id)
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = channel_data.get("tenant") or {}
    return str(tenant.get("id") or "")


class BotTurn:
    """A `Turn` over one botbuilder TurnContext."""

    def __init__(self, context: TurnContext) -> None:
        self._context = context
        activity = context.activity
        sender = activity.from_property
        tenant = _tenant_of(activity)
        self._caller = Caller(
            object_id=str(getattr(sender, "aad_object_id", None) or "").lower(),
            tenant_id=tenant,
            name=str(getattr(sender, "name", None) or ""),
            channel_user_id=str(getattr(sender, "id", None) or ""),
        )
        conversation = activity.conversation
        self._conversation = Conversation(
            id=str(conversation.id if conversation else ""),
            kind=_KINDS.get(
                str(getattr(conversation, "conversation_type", None) or "personal"),
                ConversationKind.PERSONAL,
            ),
            tenant_id=tenant,
        )
        self._action = _action_of(activity)
        self._text = ""
        if activity.type == ActivityTypes.message and activity.text:
            self._text = (TurnContext.remove_recipient_mention(activity) or "").strip()

    @property
    def caller(self) -> Caller:
        return self._caller

    @property
    def conversation(self) -> Conversation:
        return self._conversation

    @property
    def locale(self) -> str:
        return str(self._context.activity.locale or "en-US")

    @property
    def text(self) -> str:
        return self._text

    @property
    def action(self) -> CardAction | None:
        return self._action

    @property
    def correlation_id(self) -> str:
        return str(self._context.activity.id or "")

    async def reply(self, card: Card, *, text: str | None = None) -> str:
        response = await self._context.send_activity(card_message(card, text=text))
        return str(response.id) if response and response.id else ""

    async def update(self, activity_id: str, card: Card) -> None:
        await self._context.update_activity(card_message(card, replaces=activity_id))

    def conversation_reference(self) -> dict[str, Any] | None:
        """The serialized reference of this conversation (`dialogs.turn.Referable`), kept
        by the store so that MailOps can write here later (routed approvals)."""
        activity = self._context.activity
        if activity.conversation is None or not activity.service_url:
            return None
        reference = TurnContext.get_conversation_reference(activity)
        serialized: dict[str, Any] = reference.serialize()
        return serialized


def _action_of(activity: Activity) -> CardAction | None:
    value: Any = activity.value
    if not isinstance(value, dict):
        return None
    if activity.type == ActivityTypes.invoke and activity.name == "adaptiveCard/action":
        action = value.get("action") or {}
        data = action.get("data")
        return CardAction(
            verb=str(action.get("verb") or ""),
            data=data if isinstance(data, dict) else {},
            message_id=activity.reply_to_id,
            is_execute=True,
            automatic=value.get("trigger") == "automatic",
        )
    if activity.type == ActivityTypes.message:
        # Action.Submit (the fallback of every Action.Execute) arrives as a message whose
        # value is the action's data; the verb travels inside it.
        return CardAction(
            verb=str(value.get("verb") or ""),
            data=value,
            message_id=activity.reply_to_id,
            is_execute=False,
        )
    return None
