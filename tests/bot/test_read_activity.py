"""Incoming activities: `read_activity` reads what msrest's `Activity().deserialize` reads."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import DeserializationError
from botbuilder.schema import Activity

from bot.serializer import read_activity

_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

# The shapes Teams sends to this bot (reference/teams.md): a message with a mention, an
# Action.Execute invoke, the bot added to a team, an app installation; with timestamps,
# channel data and entities, and a key msrest does not know (kept out of the model alike).
ACTIVITIES: dict[str, dict[str, Any]] = {
    "message": {
        "type": "message",
        "id": "1700000000000",
        "timestamp": "2026-11-27T10:00:00.1234567Z",
        "localTimestamp": "2026-11-27T17:00:00.123+07:00",
        "localTimezone": "Asia/Jakarta",
        "serviceUrl": "https://smba.trafficmanager.net/apac/",
        "channelId": "msteams",
        "from": {"id": "29:abc", "name": "Alice", "aadObjectId": "aa00-1"},
        "conversation": {
            "id": "a:1x",
            "conversationType": "personal",
            "tenantId": _TENANT,
        },
        "recipient": {"id": "28:bot", "name": "MailOps"},
        "textFormat": "plain",
        "locale": "id-ID",
        "text": "<at>MailOps</at> setujui kotak pesan alice",
        "entities": [
            {
                "type": "mention",
                "mentioned": {"id": "28:bot", "name": "MailOps"},
                "text": "<at>MailOps</at>",
            },
            {"type": "clientInfo", "locale": "id-ID", "country": "ID", "platform": "Web"},
        ],
        "channelData": {"tenant": {"id": _TENANT}, "source": {"name": "message"}},
        "unknownKey": {"kept": False},
    },
    "execute": {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "id": "f:1",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "channelId": "msteams",
        "from": {"id": "29:def", "aadObjectId": "bb00-2"},
        "conversation": {"id": "19:chan@thread.tacv2;messageid=17", "isGroup": True},
        "recipient": {"id": "28:bot"},
        "replyToId": "1700000000001",
        "value": {
            "action": {"type": "Action.Execute", "verb": "approve", "data": {"id": 1}},
            "trigger": "manual",
        },
    },
    "added": {
        "type": "conversationUpdate",
        "serviceUrl": "https://smba.trafficmanager.net/amer/",
        "channelId": "msteams",
        "from": {"id": "29:ghi"},
        "conversation": {"id": "19:team@thread.tacv2", "conversationType": "channel"},
        "recipient": {"id": "28:bot"},
        "membersAdded": [{"id": "28:bot"}, {"id": "29:jkl", "name": "Dana"}],
        "channelData": {"eventType": "teamMemberAdded", "team": {"id": "19:team"}},
    },
    "installed": {
        "type": "installationUpdate",
        "action": "add",
        "serviceUrl": "https://smba.trafficmanager.net/amer/",
        "channelId": "msteams",
        "from": {"id": "29:mno"},
        "conversation": {"id": "a:2y"},
        "recipient": {"id": "28:bot"},
    },
}


@pytest.mark.parametrize("name", sorted(ACTIVITIES))
def test_reads_what_msrest_reads(name: str) -> None:
    body = ACTIVITIES[name]
    stock = Activity().deserialize(body)
    read = read_activity(body)
    assert type(read) is Activity
    assert read.serialize() == stock.serialize()
    assert read.as_dict() == stock.as_dict()


def test_dates_are_read_as_dates() -> None:
    read = read_activity(ACTIVITIES["message"])
    assert read.timestamp is not None and read.timestamp.tzinfo is not None
    assert read.local_timestamp is not None and read.local_timestamp.utcoffset() is not None


def test_a_malformed_activity_fails_as_msrest_fails() -> None:
    body = {**ACTIVITIES["message"], "timestamp": "not a date"}
    with pytest.raises(DeserializationError):
        Activity().deserialize(body)
    with pytest.raises(DeserializationError):
        read_activity(body)
