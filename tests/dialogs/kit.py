"""Driving the dialogs like Teams would: a recorded turn, real services over the sim."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from dialogs.router import Router
from dialogs.turn import Caller, Card, CardAction, Conversation, ConversationKind
from tests.simharness import RunningSim

# The contoso fixture's server profiles (sim/fixtures/contoso.yaml).
EXO: Final = "e5000000-0000-4000-8000-000000000001"  # Microsoft Exchange Online (default)
ONPREM: Final = "e5000000-0000-4000-8000-000000000002"  # Contoso Exchange (on-premises)
CHINA_EWS: Final = "https://partner.outlook.cn/EWS/Exchange.asmx"  # Exchange in China


@dataclass
class RecordedTurn:
    """A `Turn` from a person in a personal chat that keeps what the bot answered."""

    caller: Caller
    conversation: Conversation
    text: str = ""
    locale: str = "en-US"
    action: CardAction | None = None
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    replies: list[Card] = field(default_factory=list)
    updates: list[tuple[str, Card]] = field(default_factory=list)

    async def reply(self, card: Card, *, text: str | None = None) -> str:
        self.replies.append(card)
        return f"activity-{len(self.replies)}"

    async def update(self, activity_id: str, card: Card) -> None:
        self.updates.append((activity_id, card))


def turn_for(sim: RunningSim, name: str, text: str = "", *, locale: str = "en-US") -> RecordedTurn:
    person = sim.person(name)
    caller = Caller(
        object_id=person.object_id,
        tenant_id=sim.tenant_id,
        name=person.display_name,
        channel_user_id=f"29:{person.object_id}",
    )
    chat = Conversation(f"a:personal-{name}", ConversationKind.PERSONAL, sim.tenant_id)
    return RecordedTurn(caller=caller, conversation=chat, text=text, locale=locale)


async def say(router: Router, sim: RunningSim, name: str, text: str, **kw: Any) -> Card:
    """One typed message from `name`; the card the bot answered with."""
    turn = turn_for(sim, name, text, **kw)
    await router.on_message(turn)
    assert len(turn.replies) == 1
    return turn.replies[0]


async def click(
    router: Router, sim: RunningSim, name: str, card: Card, title: str, **inputs: Any
) -> Card | str:
    """Click the button titled `title` on `card` as `name` (Action.Execute)."""
    action = find_action(card, title)
    turn = turn_for(sim, name)
    data = {**action.get("data", {}), **inputs}
    turn.action = CardAction(
        verb=action["verb"], data=data, message_id="activity-1", is_execute=True
    )
    return await router.on_execute(turn)


def find_action(card: Card, title: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("title") == title:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    assert found, f"no button {title!r} on the card"
    return found[0]


def text_of(card: Card | str) -> str:
    """Every string on the card, for asserting on what a person reads."""
    return json.dumps(card, ensure_ascii=False)
