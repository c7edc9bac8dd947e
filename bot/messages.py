"""An Adaptive Card as the activity botbuilder sends, handed over rather than copied."""

from __future__ import annotations

from typing import Any

from botbuilder.core import CardFactory
from botbuilder.schema import Activity, ActivityTypes, AttachmentLayoutTypes

from dialogs.turn import Card


class HandedOverCard(dict[str, Any]):
    """An Adaptive Card's JSON, given to botbuilder for one send or update.

    `TurnContext.send_activities` and `update_activity` deep-copy every outgoing activity so
    that a sender may go on changing its own; for a status card (a few hundred nodes) that
    copy was a tenth of the bot's own time per turn. The cards here are built for the message
    and never changed once handed over, so the "copy" is the card itself. botbuilder changes
    the activity around it (ids, conversation reference), never its content.

    Its content is plain JSON (dicts with string keys, lists, strings, numbers, booleans,
    None): `cards/` builds nothing else, and its tests validate every card against the
    Adaptive Card schema, which a tuple, a date or a model fails. The reply's serializer
    relies on that instead of walking the card again (`bot.adapter`).
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> HandedOverCard:
        return self


class HandedOverActivity(Activity):  # type: ignore[misc]
    """The activity around a handed-over card, built for one send or update.

    botbuilder deep-copies it for the same reason as the card (about a hundred copy calls
    for an activity's attributes); nothing here touches it after handing it over, so the
    copy is the activity itself and botbuilder fills in the conversation on it.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> HandedOverActivity:
        return self


def card_message(card: Card, *, text: str | None = None, replaces: str | None = None) -> Activity:
    """The message activity carrying `card`; `replaces` is the id of the message it updates.

    What `MessageFactory.attachment(CardFactory.adaptive_card(card), text=text)` builds.
    """
    message = HandedOverActivity(
        type=ActivityTypes.message,
        attachment_layout=AttachmentLayoutTypes.list,
        attachments=[CardFactory.adaptive_card(HandedOverCard(card))],
    )
    if text:
        message.text = text
    if replaces is not None:
        message.id = replaces
    return message
