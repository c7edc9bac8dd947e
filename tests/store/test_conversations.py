"""Conversation references: saved on install and each message, found, forgotten."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from store import (
    ConversationKey,
    ConversationKind,
    InvalidInput,
    NotFound,
    Store,
)
from tests.store.kit import DANA, SAM, FakeClock

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DANA_CHAT = ConversationKey(TENANT, "a:1dana-personal")
ONCALL_CHANNEL = ConversationKey(TENANT, "19:oncall@thread.tacv2")
OPS_CHANNEL = ConversationKey(TENANT, "19:ops@thread.tacv2")


def reference(conversation_id: str, **extra: Any) -> dict[str, Any]:
    """The shape of botbuilder's `ConversationReference.serialize()`."""
    return {
        "activityId": "1",
        "user": {"id": "29:1user", "aadObjectId": DANA.object_id},
        "bot": {"id": "28:bot", "name": "MailOps"},
        "conversation": {"id": conversation_id, "tenantId": TENANT, **extra},
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
    }


async def test_save_and_get(store: Store, clock: FakeClock) -> None:
    saved = await store.conversations.save(
        DANA_CHAT,
        ConversationKind.PERSONAL,
        reference(DANA_CHAT.conversation_id),
        user_object_id=DANA.object_id,
    )
    assert saved.key == DANA_CHAT
    assert saved.kind is ConversationKind.PERSONAL
    assert saved.created_at == saved.updated_at == clock.current
    assert await store.conversations.get(DANA_CHAT) == saved
    assert await store.conversations.get(ConversationKey(TENANT, "nope")) is None


async def test_each_message_refreshes_the_reference(store: Store, clock: FakeClock) -> None:
    first = await store.conversations.save(
        ONCALL_CHANNEL, ConversationKind.CHANNEL, reference(ONCALL_CHANNEL.conversation_id)
    )
    clock.advance(timedelta(minutes=5))
    moved = reference(ONCALL_CHANNEL.conversation_id)
    moved["serviceUrl"] = "https://smba.trafficmanager.net/amer/"
    second = await store.conversations.save(ONCALL_CHANNEL, ConversationKind.CHANNEL, moved)
    assert second.reference["serviceUrl"] == "https://smba.trafficmanager.net/amer/"
    assert second.created_at == first.created_at
    assert second.updated_at == clock.current


async def test_find_the_personal_chat_of_a_user(store: Store, clock: FakeClock) -> None:
    assert await store.conversations.find_personal(DANA.object_id) is None
    await store.conversations.save(
        DANA_CHAT,
        ConversationKind.PERSONAL,
        reference(DANA_CHAT.conversation_id),
        user_object_id=DANA.object_id,
    )
    found = await store.conversations.find_personal(DANA.object_id)
    assert found is not None
    assert found.key == DANA_CHAT
    assert await store.conversations.find_personal(DANA.object_id, tenant_id="other") is None
    assert await store.conversations.find_personal(SAM.object_id) is None


async def test_a_new_personal_chat_replaces_the_old_one(store: Store, clock: FakeClock) -> None:
    await store.conversations.save(
        DANA_CHAT, ConversationKind.PERSONAL, {"v": 1}, user_object_id=DANA.object_id
    )
    clock.advance(timedelta(days=1))
    reinstalled = ConversationKey(TENANT, "a:1dana-reinstalled")
    await store.conversations.save(
        reinstalled, ConversationKind.PERSONAL, {"v": 2}, user_object_id=DANA.object_id
    )
    found = await store.conversations.find_personal(DANA.object_id)
    assert found is not None
    assert found.key == reinstalled
    assert await store.conversations.get(DANA_CHAT) is None


async def test_only_personal_chats_name_a_user(store: Store) -> None:
    with pytest.raises(InvalidInput):
        await store.conversations.save(
            ONCALL_CHANNEL, ConversationKind.CHANNEL, {}, user_object_id=DANA.object_id
        )


async def test_delete_on_uninstall(store: Store) -> None:
    await store.conversations.save(
        DANA_CHAT, ConversationKind.PERSONAL, {}, user_object_id=DANA.object_id
    )
    assert await store.conversations.delete(DANA_CHAT) is True
    assert await store.conversations.delete(DANA_CHAT) is False
    assert await store.conversations.find_personal(DANA.object_id) is None


async def test_the_on_call_channel(store: Store) -> None:
    assert await store.conversations.find_on_call() is None
    for key in (ONCALL_CHANNEL, OPS_CHANNEL):
        await store.conversations.save(key, ConversationKind.CHANNEL, {"id": key.conversation_id})
    await store.conversations.set_on_call(ONCALL_CHANNEL, by=DANA)
    found = await store.conversations.find_on_call()
    assert found is not None
    assert found.key == ONCALL_CHANNEL

    await store.conversations.set_on_call(OPS_CHANNEL, by=DANA)
    found = await store.conversations.find_on_call()
    assert found is not None
    assert found.key == OPS_CHANNEL


async def test_assigning_an_unknown_conversation_is_refused(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.conversations.set_on_call(ONCALL_CHANNEL, by=DANA)


async def test_removing_the_bot_from_the_channel_drops_its_purpose(store: Store) -> None:
    await store.conversations.save(ONCALL_CHANNEL, ConversationKind.CHANNEL, {})
    await store.conversations.assign("approvers", ONCALL_CHANNEL, by=DANA)
    await store.conversations.set_on_call(ONCALL_CHANNEL, by=DANA)
    # 403 BotNotInConversationRoster: the bot forgets the conversation.
    await store.conversations.delete(ONCALL_CHANNEL)
    assert await store.conversations.find_on_call() is None
    assert await store.conversations.find_assigned("approvers") is None


async def test_unassign(store: Store) -> None:
    await store.conversations.save(ONCALL_CHANNEL, ConversationKind.CHANNEL, {})
    await store.conversations.assign("approvers", ONCALL_CHANNEL, by=DANA)
    assert await store.conversations.unassign("approvers") is True
    assert await store.conversations.unassign("approvers") is False
    assert await store.conversations.get(ONCALL_CHANNEL) is not None
