"""botbuilder's TurnContext seen as the in-house `dialogs.turn.Turn`.

`ActivityTurn` is what both hosts share: everything a turn reads, taken from the activity as
`bot.serializer.read_activity` gave it; each host adds how a reply and an update are sent
(`BotTurn` here, `bot.agents_turn.AgentsTurn` on the Microsoft 365 Agents SDK)."""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.guards import tenant_of
from bot.messages import card_message
from dialogs.turn import Caller, Card, CardAction, Conversation, ConversationKind

_KINDS = {kind.value: kind for kind in ConversationKind}


class ActivityTurn:
    """What a `Turn` reads, from one activity; replies and updates are the host's."""

    def __init__(self, activity: Activity) -> None:
        self._activity = activity
        sender = activity.from_property
        tenant = tenant_of(activity)  # the guards refused an activity naming two
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
        if activity.type == ActivityTypes.message and isinstance(activity.text, str):
            self._text = _without_bot_mention(activity).strip()

    @property
    def caller(self) -> Caller:
        return self._caller

    @property
    def conversation(self) -> Conversation:
        return self._conversation

    @property
    def locale(self) -> str:
        return str(self._activity.locale or "en-US")

    @property
    def text(self) -> str:
        return self._text

    @property
    def action(self) -> CardAction | None:
        return self._action

    @property
    def correlation_id(self) -> str:
        return str(self._activity.id or "")

    def conversation_reference(self) -> dict[str, Any] | None:
        """The serialized reference of this conversation (`dialogs.turn.Referable`), kept
        by the store so that MailOps can write here later (routed approvals). Both hosts
        store botbuilder's serialization, so a reference outlives a change of host."""
        activity = self._activity
        if activity.conversation is None or not activity.service_url:
            return None
        reference = TurnContext.get_conversation_reference(activity)
        serialized: dict[str, Any] = reference.serialize()
        return serialized


class BotTurn(ActivityTurn):
    """A `Turn` over one botbuilder TurnContext."""

    def __init__(self, context: TurnContext) -> None:
        super().__init__(context.activity)
        self._context = context

    async def reply(self, card: Card, *, text: str | None = None) -> str:
        response = await self._context.send_activity(card_message(card, text=text))
        return str(response.id) if response and response.id else ""

    async def update(self, activity_id: str, card: Card) -> None:
        await self._context.update_activity(card_message(card, replaces=activity_id))


def _action_of(activity: Activity) -> CardAction | None:
    value: Any = activity.value
    if not isinstance(value, dict):
        return None
    if activity.type == ActivityTypes.invoke and activity.name == "adaptiveCard/action":
        action = value.get("action")
        if not isinstance(action, dict):
            return None  # answered 400, as botbuilder answers an invoke without an action
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


def _without_bot_mention(activity: Activity) -> str:
    """The text with every mention of the bot taken out.

    What `TurnContext.remove_recipient_mention` does, without its failures on what Teams
    may leave out: it raises on a mention without `mentioned.name` and no `text`, an entity
    without a `type`, or no `recipient`, and it uses the mention's text as a regular
    expression. A mention is the literal `<at>…</at>` text Teams puts in the message
    (reference/teams.md §2.7).
    """
    text = str(activity.text)
    bot_id = getattr(activity.recipient, "id", None)
    for entity in activity.entities or ():
        if not isinstance(getattr(entity, "type", None), str) or entity.type.lower() != "mention":
            continue
        extra = getattr(entity, "additional_properties", None) or {}
        mentioned = extra.get("mentioned")
        if not isinstance(mentioned, dict) or not bot_id or mentioned.get("id") != bot_id:
            continue
        shown = extra.get("text")
        if not isinstance(shown, str) or not shown:
            name = mentioned.get("name")
            shown = f"<at>{name}</at>" if isinstance(name, str) and name else ""
        if shown:
            text = text.replace(shown, "")
    return text
