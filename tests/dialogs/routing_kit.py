"""Driving routed approvals like Teams would: turns that carry a conversation reference (as
`bot.turn.BotTurn` does), a messenger that records what it sent, and the sim's writes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from dialogs import approvals
from dialogs.router import Router
from dialogs.turn import (
    Caller,
    Card,
    CardAction,
    Conversation,
    ConversationGoneError,
    ConversationKind,
    ConversationReference,
)
from store import APPROVERS, ConversationKey, Person, Store
from tests.dialogs.kit import RecordedTurn, find_action
from tests.simharness import RunningSim

BOT = {"id": "28:mailops-bot", "name": "MailOps"}
CHANNEL_ID = "19:approvers@thread.tacv2"
_ids = itertools.count(1)


@dataclass
class ReferencedTurn(RecordedTurn):
    """A recorded turn that can give its conversation reference (`dialogs.turn.Referable`)."""

    service_url: str = ""

    def conversation_reference(self) -> dict[str, Any] | None:
        return {
            "activityId": self.correlation_id,
            "user": {
                "id": self.caller.channel_user_id,
                "name": self.caller.name,
                "aadObjectId": self.caller.object_id,
            },
            "bot": BOT,
            "conversation": {
                "id": self.conversation.id,
                "conversationType": self.conversation.kind.value,
                "tenantId": self.conversation.tenant_id,
            },
            "channelId": "msteams",
            "locale": self.locale,
            "serviceUrl": self.service_url,
        }


def turn_of(
    sim: RunningSim,
    name: str,
    text: str = "",
    *,
    conversation: str | None = None,
    kind: ConversationKind = ConversationKind.PERSONAL,
    locale: str = "en-US",
) -> ReferencedTurn:
    person = sim.person(name)
    caller = Caller(
        object_id=person.object_id,
        tenant_id=sim.tenant_id,
        name=person.display_name,
        channel_user_id=f"29:{person.object_id}",
    )
    chat = Conversation(conversation or f"a:personal-{name}", kind, sim.tenant_id)
    return ReferencedTurn(
        caller=caller,
        conversation=chat,
        text=text,
        locale=locale,
        service_url=f"{sim.origin}/_sim/connector/",
    )


async def say(router: Router, sim: RunningSim, store: Store, name: str, text: str) -> Card:
    """A typed message; the conversation is remembered first, as the host's keeper does."""
    turn = turn_of(sim, name, text)
    await approvals.remember(store, turn)
    await router.on_message(turn)
    assert len(turn.replies) == 1
    return turn.replies[0]


async def press(
    router: Router,
    sim: RunningSim,
    store: Store | None,
    name: str,
    card: Card,
    title: str,
    *,
    message_id: str = "activity-1",
    conversation: str | None = None,
    kind: ConversationKind = ConversationKind.PERSONAL,
    data: dict[str, Any] | None = None,
    **inputs: Any,
) -> Card | str:
    """Click the button titled `title` on `card` (Action.Execute), in the person's chat or
    in `conversation`; `data` replaces the button's data (a forged click)."""
    action = find_action(card, title)
    turn = turn_of(sim, name, conversation=conversation, kind=kind)
    if store is not None:
        await approvals.remember(store, turn)
    payload = dict(data) if data is not None else {**action.get("data", {}), **inputs}
    turn.action = CardAction(
        verb=action["verb"], data=payload, message_id=message_id, is_execute=True
    )
    return await router.on_execute(turn)


async def open_chat(store: Store, sim: RunningSim, name: str) -> None:
    """The personal chat `name` once had with the bot (saved by the host on each message)."""
    await approvals.remember(store, turn_of(sim, name))


async def open_approvers_channel(store: Store, sim: RunningSim, by: str = "gina") -> None:
    """A channel the bot was talked to in, given the "approvers" purpose."""
    turn = turn_of(sim, by, conversation=CHANNEL_ID, kind=ConversationKind.CHANNEL)
    saved = await approvals.remember(store, turn)
    assert saved is not None
    person = sim.person(by)
    await store.conversations.assign(
        APPROVERS, ConversationKey(sim.tenant_id, CHANNEL_ID), by=Person(person.object_id, by)
    )


@dataclass(frozen=True)
class Delivery:
    conversation_id: str
    activity_id: str
    card: Card


@dataclass
class FakeMessenger:
    """`dialogs.turn.Messenger` that records sends and updates; conversations listed in
    `gone` answer as if the app had been removed there."""

    sent: list[Delivery] = field(default_factory=list)
    updated: list[Delivery] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    async def send(self, reference: ConversationReference, card: Card) -> str:
        conversation = str(reference["conversation"]["id"])
        if conversation in self.gone:
            raise ConversationGoneError(conversation)
        activity_id = f"sent-{next(_ids)}"
        self.sent.append(Delivery(conversation, activity_id, card))
        return activity_id

    async def update(self, reference: ConversationReference, activity_id: str, card: Card) -> None:
        conversation = str(reference["conversation"]["id"])
        if conversation in self.gone:
            raise ConversationGoneError(conversation)
        self.updated.append(Delivery(conversation, activity_id, card))

    def sent_to(self, name: str) -> list[Delivery]:
        return [d for d in self.sent if d.conversation_id == f"a:personal-{name}"]

    def updates_of(self, name: str) -> list[Delivery]:
        return [d for d in self.updated if d.conversation_id == f"a:personal-{name}"]


def mailbox_patches(sim: RunningSim, name: str) -> list[dict[str, Any]]:
    """Every request that PATCHed `name`'s mailbox (directly or inside a `$batch`)."""
    mailbox = sim.person(name).mailbox.id
    found = []
    for r in sim.requests():
        if not r["path"].startswith("/api/data/") or r["method"] == "GET":
            continue
        direct = f"mailboxes({mailbox})" in r["path"] and r["method"] == "PATCH"
        batched = r["path"].endswith("$batch") and (
            f"PATCH {sim.origin}/api/data/v9.2/mailboxes({mailbox})" in str(r["body"])
        )
        if direct or batched:
            found.append(r)
    return found


def mailbox_row(sim: RunningSim, name: str) -> dict[str, Any]:
    mailbox_id = sim.person(name).mailbox.id
    return next(m for m in sim.state()["mailboxes"] if m["mailboxid"] == mailbox_id)
