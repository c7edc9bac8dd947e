"""Bot Framework activities as Teams sends them, for the people of the sim's fixture."""

from __future__ import annotations

import itertools
from typing import Any

from tests.simharness import RunningSim

_ids = itertools.count(1)

BOT_ID = "28:mailops-bot"


def connector_url(sim: RunningSim) -> str:
    """The sim's Bot Connector recorder: the service URL the bot replies to."""
    return f"{sim.origin}/_sim/connector/"


def _base(
    sim: RunningSim, person: str, kind: str, *, conversation_id: str | None, locale: str
) -> dict[str, Any]:
    who = sim.person(person)
    return {
        "type": kind,
        "id": f"activity-{next(_ids)}",
        "timestamp": "2026-11-27T10:00:00.000Z",
        "channelId": "msteams",
        "serviceUrl": connector_url(sim),
        "from": {
            "id": f"29:{who.object_id}",
            "name": who.display_name,
            "aadObjectId": who.object_id,
        },
        "recipient": {"id": BOT_ID, "name": "MailOps"},
        "conversation": {
            "id": conversation_id or f"a:personal-{person}",
            "conversationType": "personal",
            "tenantId": sim.tenant_id,
        },
        "channelData": {"tenant": {"id": sim.tenant_id}},
        "locale": locale,
    }


def message(
    sim: RunningSim,
    person: str,
    text: str,
    *,
    conversation_id: str | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """A typed message from `person` in their personal chat with the bot."""
    return {
        **_base(sim, person, "message", conversation_id=conversation_id, locale=locale),
        "text": text,
        "textFormat": "plain",
    }


def execute(
    sim: RunningSim,
    person: str,
    action: dict[str, Any],
    *,
    reply_to_id: str,
    conversation_id: str | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """An Action.Execute click on the card `reply_to_id` (an `adaptiveCard/action` invoke)."""
    return {
        **_base(sim, person, "invoke", conversation_id=conversation_id, locale=locale),
        "name": "adaptiveCard/action",
        "replyToId": reply_to_id,
        "value": {
            "action": {
                "type": "Action.Execute",
                "id": action.get("id", "button"),
                "verb": action["verb"],
                "data": action.get("data", {}),
            },
            "trigger": "manual",
        },
    }


def invoke(sim: RunningSim, person: str, name: str, value: Any = None) -> dict[str, Any]:
    """Any other invoke (message extensions, task modules …)."""
    activity = {**_base(sim, person, "invoke", conversation_id=None, locale="en-US")}
    activity["name"] = name
    if value is not None:
        activity["value"] = value
    return activity


def buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute on a card, in order."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found
