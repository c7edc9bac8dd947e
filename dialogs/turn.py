"""What a dialog sees of one incoming activity: the `Turn` seam between hosting and dialogs.

`bot/` implements it on top of botbuilder's TurnContext; nothing under `dialogs/` imports
botbuilder, so a move to the Microsoft 365 Agents SDK stays inside `bot/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class ConversationKind(StrEnum):
    PERSONAL = "personal"
    GROUP_CHAT = "groupChat"
    CHANNEL = "channel"


@dataclass(frozen=True)
class Caller:
    """The person behind an activity, as Teams identifies them."""

    object_id: str  # Entra object id (aadObjectId): the key to Graph and Dataverse
    tenant_id: str
    name: str
    channel_user_id: str  # the Teams "29:…" id, needed for mentions and card refresh


@dataclass(frozen=True)
class Conversation:
    id: str
    kind: ConversationKind
    tenant_id: str


Card = dict[str, Any]

THREAD_MARK = ";messageid="
"""What follows a channel's id in the id of one of its threads."""


def channel_of(conversation_id: str) -> str:
    """A channel thread's channel (`19:…;messageid=…` → `19:…`); other ids as they are."""
    return conversation_id.split(THREAD_MARK, 1)[0]


class Turn(Protocol):
    """One incoming activity and the ways to answer it."""

    @property
    def caller(self) -> Caller: ...

    @property
    def conversation(self) -> Conversation: ...

    @property
    def locale(self) -> str:
        """BCP 47 locale of the activity, e.g. "id-ID"; replies follow it."""
        ...

    @property
    def text(self) -> str:
        """The message text with the bot's @mention removed ("" for card actions)."""
        ...

    @property
    def action(self) -> CardAction | None:
        """The card button that was clicked (Action.Execute or Action.Submit), if any."""
        ...

    @property
    def correlation_id(self) -> str:
        """The activity id: shown on error cards and written to logs and the audit trail."""
        ...

    async def reply(self, card: Card, *, text: str | None = None) -> str:
        """Send a card to the conversation; returns the new activity id."""
        ...

    async def update(self, activity_id: str, card: Card) -> None:
        """Replace a card the bot sent earlier."""
        ...


@dataclass(frozen=True)
class CardAction:
    """A click on a card: the verb and the data the card carried (inputs merged in)."""

    verb: str
    data: dict[str, Any]
    message_id: str | None  # the activity id of the card that was clicked
    is_execute: bool  # Action.Execute (invoke) rather than Action.Submit (message)
    automatic: bool = False  # a refresh triggered by Teams rather than a click


class Dispatcher(Protocol):
    """What the host calls for each kind of activity; implemented by `dialogs`."""

    async def on_message(self, turn: Turn) -> None:
        """A typed message, or an Action.Submit click (then `turn.action` is set)."""
        ...

    async def on_execute(self, turn: Turn) -> Card | str:
        """An Action.Execute click: the card that replaces the clicked one, or a message."""
        ...

    async def on_installed(self, turn: Turn) -> None:
        """The app was added to a chat, team or personal scope."""
        ...


# ---- proactive messages (routed approvals, issue 5) ------------------------------------------

ConversationReference = Mapping[str, Any]
"""A stored conversation reference: the host's serialized form (botbuilder's
`ConversationReference.serialize()`), opaque to the dialogs."""


@runtime_checkable
class Referable(Protocol):
    """A `Turn` that can say how to reach its conversation later (for proactive messages)."""

    def conversation_reference(self) -> dict[str, Any] | None:
        """The serialized reference of the turn's conversation, or None if there is none."""
        ...


def reference_of(turn: Turn) -> dict[str, Any] | None:
    """The turn's conversation reference, when the host provides one."""
    return turn.conversation_reference() if isinstance(turn, Referable) else None


class ConversationGoneError(Exception):
    """The bot may no longer post in a stored conversation: Teams answered 403
    BotNotInConversationRoster (the app was removed there) or 404 for the conversation."""


class Messenger(Protocol):
    """Cards sent to, and updated in, conversations outside the current turn; implemented by
    the host (`bot.proactive`). Both raise `ConversationGoneError` for a conversation the bot
    can no longer reach."""

    async def send(self, reference: ConversationReference, card: Card) -> str:
        """Post a card in the referenced conversation; returns the new activity id."""
        ...

    async def update(self, reference: ConversationReference, activity_id: str, card: Card) -> None:
        """Replace a card the bot posted earlier in the referenced conversation."""
        ...
