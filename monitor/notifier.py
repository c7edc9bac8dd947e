"""The seam between the monitor and Teams: `Notifier`.

The bot implements it with proactive messages: the stored conversation reference of the
audience's conversation (`store.conversations.find_assigned(audience)`), then
`adapter.continue_conversation(reference, callback, bot_app_id)` whose callback sends the
card as an attachment (post) or `update_activity` with the stored activity id (update).
The monitor never imports botbuilder.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from monitor.errors import NoConversation
from store import APPROVERS, ON_CALL, CardLocation, Responder

__all__ = ["Audience", "NoConversation", "Notifier"]


class Audience(StrEnum):
    """Where a card goes: the purposes of `store.conversations`."""

    ON_CALL = ON_CALL
    APPROVERS = APPROVERS


class Notifier(Protocol):
    """Posts and updates cards in Teams on the monitor's behalf."""

    async def post(
        self,
        card: dict[str, Any],
        *,
        audience: Audience,
        mentions: Sequence[Responder] = (),
    ) -> CardLocation:
        """Send `card` as a new message to the audience's conversation.

        `mentions` are the people the card @mentions (the card already carries their
        `<at>` text and entities); a bot may also use them for the activity's text.

        Returns:
            Where the message is: the conversation and the activity id, for later updates.

        Raises:
            NoConversation: the audience has no conversation; the monitor retries next cycle.
        """
        ...

    async def update(self, location: CardLocation, card: dict[str, Any]) -> None:
        """Replace the card of an earlier message (its buttons, its state)."""
        ...
