"""Proactive messages through the real CloudAdapter to the sim's Bot Connector recorder, the
keeper of conversation references, and a routed approval end to end over the real app:
sam asks, dana's card arrives at the connector, dana approves, sam's card is updated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapter import CachingBotFrameworkAuthentication
from bot.agents_host import AgentsHost
from bot.app import create_app
from bot.config import Settings
from bot.hosts import Host, create_host, messenger_for
from bot.proactive import ConversationKeeper, restore
from dataverse import GraphClient
from dialogs.app import build_router
from dialogs.context import EnvironmentServices, Services
from dialogs.signing import CardSigner
from dialogs.turn import Card, ConversationGoneError, ConversationKind, Turn, channel_of
from store import APPROVERS, ConversationKey, Store
from tests.bot.activities import buttons, connector_url, execute, message
from tests.bot.conftest import environment
from tests.dialogs.routing_kit import turn_of
from tests.simharness import RunningSim

SECRET = b"proactive-test-secret-0123456789"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'mailops.db'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def settings(sim: RunningSim, trust_sim: None, host_sdk: str) -> Settings:
    return Settings.from_env(environment(sim, MAILOPS_HOST_SDK=host_sdk))


@pytest.fixture
async def adapter(settings: Settings) -> AsyncIterator[Host]:
    """The bot's host (either SDK); its kept connector clients are closed afterwards, as the
    app's cleanup does."""
    made = create_host(settings)
    try:
        yield made
    finally:
        if isinstance(made, AgentsHost):
            await made.close()
        elif isinstance(made.bot_framework_authentication, CachingBotFrameworkAuthentication):
            await made.bot_framework_authentication.close()


def _reference(sim: RunningSim, conversation: str, **extra: Any) -> dict[str, Any]:
    return {
        "activityId": "activity-9",
        "user": {"id": "29:someone", "aadObjectId": "aa000000-0000-4000-8000-000000000003"},
        "bot": {"id": "28:mailops-bot", "name": "MailOps"},
        "conversation": {"id": conversation, "conversationType": "personal"},
        "channelId": "msteams",
        "serviceUrl": connector_url(sim),
        **extra,
    }


def _recorded(sim: RunningSim) -> list[dict[str, Any]]:
    with sim.admin() as admin:
        data: list[dict[str, Any]] = admin.get("activities").raise_for_status().json()
        return data


def _card(recorded: dict[str, Any]) -> Card:
    content: Card = recorded["activity"]["attachments"][0]["content"]
    return content


CARD: Card = {
    "type": "AdaptiveCard",
    "version": "1.5",
    "body": [{"type": "TextBlock", "text": "hi"}],
}


async def test_send_then_update_reach_the_connector(
    sim: RunningSim, settings: Settings, adapter: Host
) -> None:
    messenger = messenger_for(adapter, settings.app_id)
    activity_id = await messenger.send(_reference(sim, "a:personal-dana"), CARD)
    assert activity_id

    changed = {**CARD, "body": [{"type": "TextBlock", "text": "changed"}]}
    await messenger.update(_reference(sim, "a:personal-dana"), activity_id, changed)

    sent, updated = _recorded(sim)[-2:]
    # A new message, not a reply to the reference's activity.
    assert (sent["op"], sent["conversation_id"]) == ("send", "a:personal-dana")
    # No `"id": null`: the Agents Playground refuses a post carrying one (an optional string).
    assert "id" not in sent["activity"]
    assert _card(sent) == CARD
    assert (updated["op"], updated["activity_id"]) == ("update", activity_id)
    assert _card(updated)["body"][0]["text"] == "changed"


async def test_a_channel_reference_starts_a_new_post(
    sim: RunningSim, settings: Settings, adapter: Host
) -> None:
    thread = "19:approvers@thread.tacv2;messageid=1700000000000"
    reference = _reference(sim, thread)
    reference["conversation"]["conversationType"] = "channel"
    assert restore(reference).conversation.id == "19:approvers@thread.tacv2"
    assert restore(reference).activity_id is None
    messenger = messenger_for(adapter, settings.app_id)
    await messenger.send(reference, CARD)
    assert _recorded(sim)[-1]["conversation_id"] == channel_of(thread)


@pytest.fixture
async def refusing_connector() -> AsyncIterator[str]:
    """A service URL whose conversations answer as Teams does where the app was removed
    (403 BotNotInConversationRoster), or fail (500)."""

    async def handle(request: web.Request) -> web.Response:
        if "broken" in request.path:
            return web.json_response({"error": {"code": "InternalError"}}, status=500)
        body = {"error": {"code": "BotNotInConversationRoster", "message": "not in roster"}}
        return web.json_response(body, status=403)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("/"))
    finally:
        await server.close()


async def test_bot_not_in_roster_is_a_gone_conversation(
    sim: RunningSim, settings: Settings, adapter: Host, refusing_connector: str
) -> None:
    messenger = messenger_for(adapter, settings.app_id)
    reference = _reference(sim, "a:personal-dana", serviceUrl=refusing_connector)
    with pytest.raises(ConversationGoneError):
        await messenger.send(reference, CARD)
    with pytest.raises(ConversationGoneError):
        await messenger.update(reference, "1", CARD)
    broken = _reference(sim, "a:broken", serviceUrl=refusing_connector)
    with pytest.raises(Exception) as raised:
        await messenger.send(broken, CARD)
    assert not isinstance(raised.value, ConversationGoneError)


class _Recorder:
    def __init__(self) -> None:
        self.turns: list[str] = []

    async def on_message(self, turn: Turn) -> None:
        self.turns.append("message")

    async def on_execute(self, turn: Turn) -> Card | str:
        self.turns.append("execute")
        return "ok"

    async def on_installed(self, turn: Turn) -> None:
        self.turns.append("installed")


async def test_the_keeper_saves_references_and_the_approvers_channel(
    sim: RunningSim, store: Store
) -> None:
    inner = _Recorder()
    channel = "19:approvers@thread.tacv2"
    keeper = ConversationKeeper(inner, store, approvers_conversation=channel)
    assert not await keeper.assign_approvers(sim.tenant_id)  # not stored yet

    await keeper.on_message(turn_of(sim, "dana", "help"))
    saved = await store.conversations.find_personal(sim.person("dana").object_id)
    assert saved is not None
    assert saved.reference["serviceUrl"] == connector_url(sim)
    assert saved.reference["user"]["id"] == f"29:{sim.person('dana').object_id}"

    in_thread = f"{channel};messageid=42"
    await keeper.on_execute(
        turn_of(sim, "gina", conversation=in_thread, kind=ConversationKind.CHANNEL)
    )
    assigned = await store.conversations.find_assigned(APPROVERS)
    assert assigned is not None
    assert assigned.key == ConversationKey(sim.tenant_id, in_thread)
    assert inner.turns == ["message", "execute"]


async def test_the_keeper_never_fails_a_turn(sim: RunningSim, store: Store) -> None:
    inner = _Recorder()
    keeper = ConversationKeeper(inner, store)
    await store.close()  # every save now fails
    await keeper.on_message(turn_of(sim, "dana", "help"))
    assert inner.turns == ["message"]


async def test_a_routed_approval_over_the_real_app(
    sim: RunningSim,
    settings: Settings,
    adapter: Host,
    services: Services,
    graph: GraphClient,
    store: Store,
) -> None:
    """What the Playground e2e will show, short of the browser: the cards travel through
    the real adapter to the connector, and every copy ends up saying who decided."""
    env = services.default
    stateful = Services(
        {
            env.name: EnvironmentServices(
                env.name, env.deployment, env.dataverse, env.facts, is_default=True, graph=graph
            )
        },
        store=store,
        messenger=messenger_for(adapter, settings.app_id),
    )
    router = build_router(stateful, CardSigner(SECRET))
    client: TestClient[Any, Any] = TestClient(
        TestServer(create_app(adapter, ConversationKeeper(router, store)))
    )
    await client.start_server()
    try:
        assert (
            await client.post("/api/messages", json=message(sim, "dana", "help"))
        ).status == 201
        sam_message = message(sim, "sam", "approve mailbox for alice")
        assert (await client.post("/api/messages", json=sam_message)).status == 201
        denial = _recorded(sim)[-1]
        assert denial["conversation_id"] == "a:personal-sam"
        request = next(b for b in buttons(_card(denial)) if b["title"] == "Request approval")
        request["data"] = {**request["data"], "reason": "new hire"}

        click = execute(sim, "sam", request, reply_to_id=denial["activity_id"])
        answer = await (await client.post("/api/messages", json=click)).json()
        assert "Request sent to 1 approver" in str(answer["value"])

        to_dana = _recorded(sim)[-1]
        assert (to_dana["op"], to_dana["conversation_id"]) == ("send", "a:personal-dana")
        approve = next(b for b in buttons(_card(to_dana)) if b["title"] == "Approve")
        click = execute(sim, "dana", approve, reply_to_id=to_dana["activity_id"])
        answer = await (await client.post("/api/messages", json=click)).json()
        assert "Approved by Dana Delegate" in str(answer["value"])

        after = _recorded(sim)
        sam_update = next(r for r in after if r["op"] == "update")
        assert sam_update["conversation_id"] == "a:personal-sam"
        assert sam_update["activity_id"] == denial["activity_id"]
        assert "Approved by Dana Delegate" in str(_card(sam_update))
        assert "Your request was approved by Dana Delegate" in str(_card(after[-1]))
        patches = [
            r
            for r in sim.requests()
            if r["path"].endswith("$batch")
            and f"mailboxes({sim.person('alice').mailbox.id})" in str(r["body"])
            and "PATCH" in str(r["body"])
        ]
        assert [p["caller_object_id"] for p in patches] == [sim.person("dana").object_id]
    finally:
        await client.close()
