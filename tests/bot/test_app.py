"""Hosting through the real aiohttp app, the real router and the running sim.

Every reply leaves through botbuilder's connector to the sim's Bot Connector recorder, so these
tests see what Teams would receive.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.adapter import create_adapter
from bot.app import MailOpsBot, create_app
from dialogs.turn import Card, Turn
from tests.bot.activities import buttons, execute, message
from tests.bot.conftest import Host, settings_for
from tests.simharness import RunningSim

CARD = "application/vnd.microsoft.card.adaptive"


def _mailbox(sim: RunningSim, name: str) -> dict[str, Any]:
    mailbox_id = sim.person(name).mailbox.id
    return next(m for m in sim.state()["mailboxes"] if m["mailboxid"] == mailbox_id)


async def test_healthz(host: Host) -> None:
    response = await host.client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_a_message_is_answered_with_a_card_at_the_connector(host: Host) -> None:
    activity = message(host.sim, "eddie", "status of alice")
    response = await host.post(activity)
    assert response.status == 201
    assert await response.read() == b""

    [recorded] = host.activities()
    assert recorded["op"] == "reply"
    assert recorded["conversation_id"] == activity["conversation"]["id"]
    sent = recorded["activity"]
    assert sent["replyToId"] == activity["id"]
    assert sent["recipient"]["aadObjectId"] == host.sim.person("eddie").object_id
    [attachment] = sent["attachments"]
    assert attachment["contentType"] == CARD
    assert attachment["content"]["version"] == "1.5"
    assert "Alice Anders" in str(attachment["content"])
    assert host.dispatcher.calls == ["message"]


async def test_an_execute_click_answers_200_with_the_replacement_card(host: Host) -> None:
    sim = host.sim
    assert (await host.post(message(sim, "eddie", "status of alice"))).status == 201
    [recorded] = host.activities()
    [approve] = [b for b in buttons(host.cards()[0]) if b["title"] == "Approve"]

    click = execute(sim, "eddie", approve, reply_to_id=recorded["activity_id"])
    response = await host.post(click)

    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    assert body["statusCode"] == 200
    assert body["type"] == CARD
    assert body["value"]["type"] == "AdaptiveCard"
    assert "Done" in str(body["value"])
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 1
    # the replacement travels in the invoke response: nothing more went to the connector
    assert len(host.activities()) == 1
    assert host.dispatcher.calls == ["message", "execute"]


async def test_an_execute_answered_with_a_message_is_typed_as_one(sim: RunningSim) -> None:
    class Says:
        async def on_message(self, turn: Turn) -> None:
            raise AssertionError

        async def on_execute(self, turn: Turn) -> Card | str:
            return "Already done."

        async def on_installed(self, turn: Turn) -> None:
            raise AssertionError

    app = create_app(create_adapter(settings_for(sim)), Says())
    click = execute(sim, "eddie", {"verb": "x"}, reply_to_id="1")
    async with TestClient(TestServer(app)) as client:
        response = await client.post("/api/messages", json=click)
        assert response.status == 200
        assert await response.json() == {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": "Already done.",
        }


class _CardOnClick:
    """A dispatcher that answers every click with the same small card."""

    card: Card = {"type": "AdaptiveCard", "version": "1.5", "body": []}

    async def on_message(self, turn: Turn) -> None:
        raise AssertionError

    async def on_execute(self, turn: Turn) -> Card | str:
        return self.card

    async def on_installed(self, turn: Turn) -> None:
        raise AssertionError


async def test_stock_process_would_answer_500_where_we_answer_200(sim: RunningSim) -> None:
    """reference/teams.md §2.4: `CloudAdapter.process` serializes the invoke body twice.

    The same bot behind the stock handler fails; behind ours it answers the card. If a
    botbuilder release fixes the stock path, this test says the workaround may go.
    """
    settings = settings_for(sim)
    click = execute(sim, "eddie", {"verb": "x"}, reply_to_id="1")

    adapter = create_adapter(settings)
    stock_bot = MailOpsBot(_CardOnClick())

    async def stock(request: web.Request) -> web.Response:
        return await adapter.process(request, stock_bot)  # type: ignore[no-any-return]

    stock_app = web.Application()
    stock_app.router.add_post("/api/messages", stock)
    async with TestClient(TestServer(stock_app)) as client:
        assert (await client.post("/api/messages", json=click)).status == 500

    ours = create_app(create_adapter(settings), _CardOnClick())
    async with TestClient(TestServer(ours)) as client:
        response = await client.post("/api/messages", json=click)
        assert response.status == 200
        assert await response.json() == {
            "statusCode": 200,
            "type": CARD,
            "value": _CardOnClick.card,
        }


async def test_installing_the_app_greets_with_a_card(host: Host) -> None:
    activity = message(host.sim, "eddie", "")
    activity.update(
        type="conversationUpdate",
        membersAdded=[{"id": activity["recipient"]["id"]}],
    )
    del activity["text"]
    assert (await host.post(activity)).status == 201
    assert host.dispatcher.calls == ["installed"]
    assert len(host.cards()) == 1


async def test_someone_else_joining_is_not_greeted(host: Host) -> None:
    activity = message(host.sim, "eddie", "")
    activity.update(type="conversationUpdate", membersAdded=[{"id": "29:someone-else"}])
    assert (await host.post(activity)).status == 201
    assert host.dispatcher.calls == []
    assert host.activities() == []


async def test_an_indonesian_request_is_answered_in_indonesian(host: Host) -> None:
    activity = message(host.sim, "eddie", "status kotak pesan alice", locale="id-ID")
    assert (await host.post(activity)).status == 201
    [card] = host.cards()
    assert card["lang"] == "id"
