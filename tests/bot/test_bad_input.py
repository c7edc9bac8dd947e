"""Bad input at the door: a clear answer or a clear status, nothing changed, never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.bot.activities import BOT_ID, buttons, execute, invoke, message
from tests.bot.conftest import Host, without
from tests.simharness import RunningSim


@dataclass(frozen=True)
class Case:
    """One request: the body (built from the sim), its content type, what must come back."""

    body: Callable[[RunningSim], Any]
    status: int
    content_type: str | None = "application/json"
    reaches_dialogs: bool = False


def _raw(text: str) -> Callable[[RunningSim], Any]:
    return lambda sim: text


def _msg(text: str, **changes: Any) -> Callable[[RunningSim], Any]:
    return lambda sim: {**message(sim, "eddie", text), **changes}


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {}
    for _ in range(depth):
        node = {"a": node}
    return node


def _mention(*, name: str | None = "MailOps", text: str | None = "<at>MailOps</at>") -> Any:
    """A mention of the bot as Teams sends it, with `name` or `text` left out when None."""
    mentioned = {"id": BOT_ID, **({"name": name} if name is not None else {})}
    return {"type": "mention", "mentioned": mentioned, **({"text": text} if text else {})}


CASES: dict[str, Case] = {
    "not JSON": Case(_raw("{this is not json"), 400),
    "not UTF-8": Case(lambda sim: b"\xff\xfe\x00", 400),
    "wrong content type": Case(
        lambda sim: json.dumps(message(sim, "eddie", "help")), 415, "text/plain"
    ),
    "no content type": Case(lambda sim: json.dumps(message(sim, "eddie", "help")), 415, None),
    "JSON array": Case(_raw("[]"), 400),
    "JSON null": Case(_raw("null"), 400),
    "JSON string": Case(_raw('"message"'), 400),
    "object without a type": Case(_raw('{"text": "approve alice"}'), 400),
    "type is not a string": Case(lambda sim: {**message(sim, "eddie", "help"), "type": 7}, 400),
    "from is not an object": Case(_msg("help", **{"from": "eddie"}), 400),
    "no serviceUrl": Case(lambda sim: without(message(sim, "eddie", "help"), "serviceUrl"), 400),
    "serviceUrl not a URL": Case(_msg("help", serviceUrl="not a url"), 400),
    "serviceUrl not http": Case(_msg("help", serviceUrl="file:///etc/passwd"), 400),
    "no conversation": Case(
        lambda sim: without(message(sim, "eddie", "help"), "conversation"), 400
    ),
    "10,000 characters": Case(_msg("approve " + "a" * 9_992), 201, reaches_dialogs=True),
    "empty text": Case(_msg(""), 201, reaches_dialogs=True),
    "whitespace only": Case(_msg(" \n\t "), 201, reaches_dialogs=True),
    "no text at all": Case(
        lambda sim: without(message(sim, "eddie", ""), "text"), 201, reaches_dialogs=True
    ),
    "unknown command": Case(_msg("launch the rockets"), 201, reaches_dialogs=True),
    "OData injection in a name": Case(
        _msg("approve mailbox for alice' or 1 eq 1"), 201, reaches_dialogs=True
    ),
    "control characters": Case(_msg("status of \x00\x07alice\u202e"), 201, reaches_dialogs=True),
    "unknown invoke name": Case(
        lambda sim: invoke(sim, "eddie", "composeExtension/query", {}), 501
    ),
    "Action.Execute without value": Case(
        lambda sim: invoke(sim, "eddie", "adaptiveCard/action"), 400
    ),
    "Action.Execute with a string value": Case(
        lambda sim: invoke(sim, "eddie", "adaptiveCard/action", "x"), 400
    ),
    "unsigned Action.Execute": Case(
        lambda sim: execute(
            sim,
            "eddie",
            {"verb": "mailbox.approve", "data": {"mailboxId": sim.person("alice").mailbox.id}},
            reply_to_id="1",
        ),
        200,
        reaches_dialogs=True,
    ),
    "unknown activity type": Case(_msg("help", type="somethingNew"), 201),
    "typing indicator": Case(_msg("", type="typing"), 201),
    # issue 12 point 6: each of these was a 500, a 501 or a crashed turn
    "2 KB of nested arrays": Case(_raw('{"type": "message", "value": ' + "[" * 2_000 + "]}"), 400),
    "2 KB of nested objects": Case(
        _raw('{"type": "message", "a": ' + '{"a":' * 400 + "1" + "}" * 401), 400
    ),
    "nested deeper than an activity ever is": Case(
        _msg("help", channelData={"x": _nested(100)}), 400
    ),
    "Action.Execute with a string action": Case(
        lambda sim: invoke(sim, "eddie", "adaptiveCard/action", {"action": "mailbox.approve"}),
        400,
    ),
    "Action.Execute with a list action": Case(
        lambda sim: invoke(sim, "eddie", "adaptiveCard/action", {"action": ["x"]}), 400
    ),
    "Action.Execute with a numeric verb": Case(
        lambda sim: invoke(
            sim, "eddie", "adaptiveCard/action", {"action": {"type": "Action.Execute", "verb": 7}}
        ),
        200,
        reaches_dialogs=True,
    ),
    "no recipient": Case(lambda sim: without(message(sim, "eddie", "help"), "recipient"), 400),
    "recipient without an id": Case(_msg("help", recipient={"name": "MailOps"}), 400),
    "recipient is a string": Case(_msg("help", recipient="MailOps"), 400),
    "no from": Case(lambda sim: without(message(sim, "eddie", "help"), "from"), 400),
    "from without an id": Case(_msg("help", **{"from": {"name": "Eddie"}}), 400),
    "conversation is a string": Case(_msg("help", conversation="a:personal-eddie"), 400),
    "conversation id is a number": Case(_msg("help", conversation={"id": 7}), 400),
    "entities is not a list": Case(_msg("help", entities={"type": "mention"}), 400),
    "an entity is not an object": Case(_msg("help", entities=["mention"]), 400),
    "text is a number": Case(lambda sim: {**message(sim, "eddie", ""), "text": 42}, 400),
    "channelData is a string": Case(_msg("help", channelData="tenant"), 400),
    "a mention without mentioned.name": Case(
        _msg("<at>MailOps</at> help", entities=[_mention(name=None, text=None)]),
        201,
        reaches_dialogs=True,
    ),
    "a mention without mentioned": Case(
        _msg("<at>MailOps</at> help", entities=[{"type": "mention", "text": "<at>x</at>"}]),
        201,
        reaches_dialogs=True,
    ),
    "a mention whose text is a regex": Case(
        _msg("<at>Mail(Ops</at> help", entities=[_mention(text="<at>Mail(Ops</at>")]),
        201,
        reaches_dialogs=True,
    ),
    "an entity without a type": Case(
        _msg("help", entities=[{"mentioned": {"id": BOT_ID}}]), 201, reaches_dialogs=True
    ),
}


async def _send(host: Host, case: Case) -> tuple[int, bytes]:
    body = case.body(host.sim)
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    response = await host.client.post(
        "/api/messages", data=data, headers=headers, skip_auto_headers={"Content-Type"}
    )
    return response.status, await response.read()


def _writes(sim: RunningSim) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["method"] in {"POST", "PATCH", "PUT", "DELETE"}]


@pytest.mark.parametrize("name", list(CASES))
async def test_bad_input_gets_a_clear_answer(host: Host, name: str) -> None:
    case = CASES[name]
    before = host.sim.state()["mailboxes"]

    status, body = await _send(host, case)

    assert status == case.status, body
    assert (host.dispatcher.calls != []) == case.reaches_dialogs
    assert host.sim.state()["mailboxes"] == before, "bad input changed the sim"
    assert _writes(host.sim) == []
    if case.status >= 400 and body:
        assert "Traceback" not in body.decode(errors="replace")
    if case.reaches_dialogs and status == 201:
        [card] = host.cards()  # exactly one answer, and it is a card
        assert card["type"] == "AdaptiveCard"


async def test_no_bad_input_ever_gets_a_500(host: Host, caplog: pytest.LogCaptureFixture) -> None:
    """All the cases against one bot, one after the other: no server error, nothing changed,
    no traceback in the log (issue 12 point 6: the nested body was a 500 logged each time).

    501 is not one: it is the protocol's answer to an invoke the bot does not serve.
    """
    caplog.set_level(logging.DEBUG)
    before = host.sim.state()["mailboxes"]
    statuses = {name: (await _send(host, case))[0] for name, case in CASES.items()}
    assert {name: s for name, s in statuses.items() if s >= 500 and s != 501} == {}
    assert statuses == {name: case.status for name, case in CASES.items()}
    assert host.sim.state()["mailboxes"] == before
    assert _writes(host.sim) == []
    assert [
        r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR
    ] == []
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "name", [name for name, case in CASES.items() if case.status >= 400 and case.status != 501]
)
async def test_a_refusal_is_a_problem_body(host: Host, name: str) -> None:
    """RFC 9457: application/problem+json with type, title, status and detail; the detail
    says what is wrong without echoing the body."""
    case = CASES[name]
    body = case.body(host.sim)
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    response = await host.client.post(
        "/api/messages",
        data=body if isinstance(body, (str, bytes)) else json.dumps(body),
        headers=headers,
        skip_auto_headers={"Content-Type"},
    )
    if response.content_type != "application/problem+json":
        # an invoke the bot answers itself: the Universal Actions error body, HTTP 200-class
        assert name.startswith("Action.Execute"), name
        invoke_body = await response.json()
        assert invoke_body["type"] == "application/vnd.microsoft.error"
        return
    problem = await response.json()
    assert problem["type"] == "about:blank"
    assert problem["status"] == response.status == case.status
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and 0 < len(problem["detail"]) < 200


async def test_the_bot_mentioned_without_a_name_still_gets_an_answer(host: Host) -> None:
    """The mention is taken out of the text by its `<at>` text, never used as a pattern."""
    text = "<at>MailOps</at> status of alice"
    activity = {**message(host.sim, "eddie", text), "entities": [_mention(name=None)]}
    assert (await host.post(activity)).status == 201
    [card] = host.cards()
    assert "I didn't understand that" not in json.dumps(card)


async def test_a_10000_character_message_gets_a_short_clear_card(host: Host) -> None:
    """The grammar refuses more than 2,000 characters before parsing; the card says so briefly."""
    text = "approve " + "a" * 9_992
    assert (await host.post(message(host.sim, "eddie", text))).status == 201
    [card] = host.cards()
    shown = json.dumps(card)
    assert "I didn't understand that" in shown
    assert len(shown) < 8_000, "the card echoes the whole message"
    assert host.sim.requests() == [], "nothing should reach Dataverse or Graph"


async def test_empty_text_gets_a_clear_card(host: Host) -> None:
    assert (await host.post(message(host.sim, "eddie", ""))).status == 201
    [card] = host.cards()
    assert "I didn't understand that" in json.dumps(card)
    assert host.sim.requests() == []


async def test_a_tampered_button_is_refused_and_changes_nothing(host: Host) -> None:
    """A signed Approve button for alice, replayed with bob's mailbox id."""
    sim = host.sim
    assert (await host.post(message(sim, "eddie", "status of alice"))).status == 201
    [recorded] = host.activities()
    [approve] = [b for b in buttons(host.cards()[0]) if b["title"] == "Approve"]
    tampered = {**approve, "data": {**approve["data"], "mailboxId": sim.person("bob").mailbox.id}}
    before = sim.state()["mailboxes"]

    response = await host.post(
        execute(sim, "eddie", tampered, reply_to_id=recorded["activity_id"])
    )

    assert response.status == 200
    body = await response.json()
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Done" not in json.dumps(body["value"])
    assert sim.state()["mailboxes"] == before
    assert _writes(sim) == []


async def test_a_body_over_the_size_limit_is_refused(host: Host) -> None:
    activity = message(host.sim, "eddie", "x" * 300_000)
    response = await host.post(activity)
    assert response.status == 413
    assert response.content_type == "application/problem+json"
    assert (await response.json())["status"] == 413
    assert host.dispatcher.calls == []


async def test_only_post_is_served_on_the_messages_route(host: Host) -> None:
    assert (await host.client.get("/api/messages")).status == 405
    assert (await host.client.post("/healthz")).status == 405
