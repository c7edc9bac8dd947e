"""The connector's replies: msrest's serializer fast path and the event-loop sender."""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import certifi
import pytest
from aiohttp import web
from botbuilder.core import CardFactory, MessageFactory
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    CardAction,
    ChannelAccount,
    ConversationAccount,
    Entity,
    InputHints,
    Mention,
    RoleTypes,
    SuggestedActions,
    TextFormatTypes,
)
from botbuilder.schema.teams import TenantInfo
from botframework.connector import models
from botframework.connector.aio import ConnectorClient
from botframework.connector.aio.operations_async import ConversationsOperations
from botframework.connector.auth import MicrosoftAppCredentials
from botframework.connector.models import ErrorResponseException
from msrest import Serializer
from msrest.exceptions import ClientRequestError, HttpOperationError

from bot import outbound
from bot.adapter import _LruCache, _serialize_cards_fast
from bot.messages import HandedOverCard, card_message
from bot.outbound import AioHttpSender, EventLoopConversations, send_on_event_loop
from bot.proactive import is_gone
from bot.serializer import ReplySerializer
from sim.tls import ensure_tls
from tests.bot.activities import message
from tests.bot.conftest import Host
from tests.bot.serving import free_port
from tests.silent_tls import SilentTlsServer, cancel_once_sent, resource_warnings

GOLDEN = sorted((Path(__file__).parents[1] / "cards" / "golden").glob("*.json"))
MODELS = {k: v for k, v in models.__dict__.items() if isinstance(v, type)}


def _stock(activity: Activity) -> Any:
    return Serializer(MODELS).body(activity, "Activity")  # type: ignore[no-untyped-call]


def _fast(activity: Activity) -> Any:
    return ReplySerializer(MODELS).body(activity, "Activity")


def _written(activity: Activity) -> dict[str, Any] | None:
    """What the direct writer made of it (None: it left the activity to msrest)."""
    return ReplySerializer(MODELS).activity_json(activity)


def _activity(content: Any) -> Activity:
    activity = MessageFactory.attachment(CardFactory.adaptive_card(content), text="hello")
    activity.conversation = ConversationAccount(id="a:1", conversation_type="personal")
    activity.recipient = ChannelAccount(id="29:x", name="X", aad_object_id="oid")
    return activity


# ---- the serializer --------------------------------------------------------------------


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_the_fast_serializer_writes_what_msrest_writes(path: Path) -> None:
    card = json.loads(path.read_text())
    activity = _activity(card)
    assert _written(activity) == _stock(activity)
    assert _fast(activity) == _stock(activity)
    assert activity.attachments[0].content is card, "the activity must be left as it was"


def _everything() -> Activity:
    """A reply with every kind of slot the bot fills: reference, entities, dates, enums."""
    activity = _activity({"type": "AdaptiveCard", "version": "1.5", "body": []})
    activity.type = ActivityTypes.message  # a str enum: msrest writes its value
    activity.id = "1:abc"
    activity.reply_to_id = "1:parent"
    activity.service_url = "https://smba.trafficmanager.net/emea/"
    activity.channel_id = "msteams"
    activity.from_property = ChannelAccount(id="28:bot", name="MailOps", role=RoleTypes.bot)
    activity.conversation = ConversationAccount(
        id="a:1", conversation_type="personal", tenant_id="t", is_group=False
    )
    activity.timestamp = datetime.datetime(2026, 11, 27, 10, 1, 2, 345000, tzinfo=datetime.UTC)
    activity.local_timestamp = datetime.datetime(
        2026, 11, 27, 17, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=7))
    )
    activity.locale = "id-ID"
    activity.text_format = TextFormatTypes.markdown
    activity.input_hint = InputHints.accepting_input
    activity.channel_data = {"notification": {"alert": True}, "tenant": {"id": "t"}}
    activity.summary = "ringkasan"
    activity.entities = [
        Mention(mentioned=ChannelAccount(id="29:a", name="Alice"), text="<at>Alice</at>"),
        Entity(type="clientInfo"),
    ]
    activity.suggested_actions = SuggestedActions(
        to=["29:a"], actions=[CardAction(type="imBack", title="Help", value="help")]
    )
    activity.listen_for = ["yes", "ya"]
    activity.members_added = [ChannelAccount(id="29:b"), None]  # msrest writes None as null
    return activity


def test_every_slot_the_bot_fills_is_written_as_msrest_writes_it() -> None:
    activity = _everything()
    written = _written(activity)
    assert written is not None, "the direct path must take a reply of this shape"
    assert written == _stock(activity)
    assert written["type"] == "message" and written["from"]["role"] == "bot"
    assert written["timestamp"] == "2026-11-27T10:01:02.345Z"


@pytest.mark.parametrize(
    "change",
    [
        # a dict where a model belongs: msrest builds the model first
        lambda a: setattr(a, "recipient", {"id": "29:x", "name": "X"}),
        # a model inside `channel_data` (typed `object`)
        lambda a: setattr(a, "channel_data", {"tenant": TenantInfo(id="t")}),
        # card content that is not plain JSON
        lambda a: setattr(a.attachments[0], "content", _Tagged(type="AdaptiveCard")),
        # a model with validation rules (msrest checks them)
        lambda a: a.entities.append(_Checked(type="x")),
    ],
    ids=["dict-for-model", "model-in-object", "tagged-content", "validated-model"],
)
def test_shapes_msrest_would_rework_are_left_to_msrest(change: Callable[[Activity], Any]) -> None:
    activity = _everything()
    change(activity)
    assert _written(activity) is None
    assert _fast(activity) == _stock(activity)


class _Tagged(dict[str, Any]):
    pass


class _Checked(Entity):  # type: ignore[misc]
    _validation = {"type": {"required": True}}


@pytest.mark.parametrize("text", [None, "hello"])
def test_card_message_is_what_message_factory_builds(text: str | None) -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    built = card_message(card, text=text)
    stock = MessageFactory.attachment(CardFactory.adaptive_card(card), text=text)
    assert _fast(built) == _stock(stock)  # (msrest alone would str() a dict subclass)
    assert copy.deepcopy(built) is built, "botbuilder's copy of a handed-over activity"
    assert copy.deepcopy(stock) is not stock


def test_a_handed_over_card_left_to_msrest_is_still_written_as_json() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]}
    built = card_message(card)
    built.channel_data = {"tenant": TenantInfo(id="t")}  # msrest must do this activity
    assert ReplySerializer(MODELS).activity_json(built) is None
    written = _fast(built)
    assert written["attachments"][0]["content"] == card
    assert written["channelData"] == {"tenant": {"id": "t"}}
    assert type(built.attachments[0].content) is HandedOverCard, "left as it was"


def test_activities_without_attachments_are_serialized_alike() -> None:
    activity = MessageFactory.text("hi")
    activity.conversation = ConversationAccount(id="a:1")
    assert _fast(activity) == _stock(activity)


# ---- a local connector -----------------------------------------------------------------


class Connector:
    """A loopback Bot Connector that records requests and answers from a script."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((request.method, request.raw_path, dict(request.headers), body))
        status, headers = self.answers.pop(0) if self.answers else (201, {})
        if status >= 400:
            return web.json_response(
                {"error": {"code": "x", "message": "y"}}, status=status, headers=headers
            )
        return web.json_response({"id": "new-id"}, status=status, headers=headers)


@pytest.fixture
async def connector() -> AsyncIterator[Connector]:
    recorder = Connector()
    app = web.Application()
    app.router.add_route("*", "/v3/conversations/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    recorder.url = f"http://127.0.0.1:{port}/"
    yield recorder
    await runner.cleanup()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., ConnectorClient]]:
    made: list[ConnectorClient] = []

    def make(url: str, credentials: Any = None) -> ConnectorClient:
        client = ConnectorClient(credentials or MicrosoftAppCredentials.empty(), base_url=url)
        _serialize_cards_fast(client)
        send_on_event_loop(client)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.__aexit__(None, None, None)


async def test_a_reply_goes_out_on_the_event_loop(
    connector: Connector, make_client: Callable[..., ConnectorClient]
) -> None:
    client = make_client(connector.url)
    assert isinstance(client.config.pipeline._sender, AioHttpSender)
    card = json.loads(GOLDEN[0].read_text())
    sent = await client.conversations.reply_to_activity(
        "19:abc@thread.tacv2;messageid=1", "activity-1", _activity(card)
    )
    assert sent.id == "new-id"
    [(method, path, headers, body)] = connector.seen
    assert method == "POST"
    # msrest quoted the conversation id; the sender keeps it byte for byte
    assert (
        path == "/v3/conversations/19%3Aabc%40thread.tacv2%3Bmessageid%3D1/activities/activity-1"
    )
    assert headers["Content-Type"].startswith("application/json")
    assert "Authorization" not in headers  # no app id: no token, as in the stock path
    assert json.loads(body)["attachments"][0]["content"] == card


async def test_the_bots_token_is_sent(
    connector: Connector,
    make_client: Callable[..., ConnectorClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credentials = MicrosoftAppCredentials("0b7a1d2e-3f40-4c5d-8e6f-708192a3b4c5", "secret")
    monkeypatch.setattr(credentials, "get_access_token", lambda force_refresh=False: "tok-123")
    client = make_client(connector.url, credentials)
    await client.conversations.send_to_conversation("a:1", MessageFactory.text("hi"))
    assert connector.seen[0][2]["Authorization"] == "Bearer tok-123"


async def test_a_failed_update_is_retried_and_a_failed_post_is_not(
    connector: Connector,
    make_client: Callable[..., ConnectorClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """msrest 0.7.1 over urllib3 2.x: 5xx retried for idempotent methods only."""
    monkeypatch.setattr(outbound, "backoff_s", lambda retry: 0.0)
    client = make_client(connector.url)
    connector.answers = [(503, {"Retry-After": "0"}), (502, {}), (200, {})]
    await client.conversations.update_activity("a:1", "activity-1", MessageFactory.text("v2"))
    assert [m for m, *_ in connector.seen] == ["PUT", "PUT", "PUT"]

    connector.seen.clear()
    connector.answers = [(502, {})]
    with pytest.raises(HttpOperationError):
        await client.conversations.send_to_conversation("a:1", MessageFactory.text("hi"))
    assert [m for m, *_ in connector.seen] == ["POST"]


_CALLS: dict[str, Callable[[Any, Activity], Any]] = {
    "reply": lambda ops, a: ops.reply_to_activity("19:abc@thread.tacv2;messageid=1", "1:x", a),
    "send": lambda ops, a: ops.send_to_conversation("a:1", a),
    "update": lambda ops, a: ops.update_activity("a:1", "1:x", a),
}
_GENERATED: dict[str, Callable[[Any, Activity], Any]] = {
    "reply": lambda ops, a: ConversationsOperations.reply_to_activity(
        ops, "19:abc@thread.tacv2;messageid=1", "1:x", a
    ),
    "send": lambda ops, a: ConversationsOperations.send_to_conversation(ops, "a:1", a),
    "update": lambda ops, a: ConversationsOperations.update_activity(ops, "a:1", "1:x", a),
}


@pytest.mark.parametrize("call", list(_CALLS))
async def test_the_direct_calls_send_what_the_generated_operations_send(
    call: str,
    connector: Connector,
    make_client: Callable[..., ConnectorClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same request on the wire (method, path, every header, the body) and the same
    answer, whether a call takes `EventLoopConversations`' direct path or botframework's
    generated operation through msrest's pipeline."""
    credentials = MicrosoftAppCredentials("0b7a1d2e-3f40-4c5d-8e6f-708192a3b4c5", "secret")
    monkeypatch.setattr(credentials, "get_access_token", lambda force_refresh=False: "tok-123")
    client = make_client(connector.url, credentials)
    assert isinstance(client.conversations, EventLoopConversations)
    activity = _activity(json.loads(GOLDEN[0].read_text()))
    direct = await _CALLS[call](client.conversations, copy.deepcopy(activity))
    generated = await _GENERATED[call](client.conversations, copy.deepcopy(activity))
    assert direct.id == generated.id == "new-id"
    (method, path, headers, body), stock = connector.seen
    assert (method, path) == stock[:2]
    assert headers == stock[2]
    assert headers["Authorization"] == "Bearer tok-123"
    assert json.loads(body) == json.loads(stock[3])


@pytest.mark.parametrize("call", list(_CALLS))
async def test_a_refused_direct_call_raises_as_the_generated_one_does(
    call: str, connector: Connector, make_client: Callable[..., ConnectorClient]
) -> None:
    client = make_client(connector.url)
    connector.answers = [(403, {}), (403, {})]
    raised = []
    for way in (_CALLS, _GENERATED):
        with pytest.raises(ErrorResponseException) as info:
            await way[call](client.conversations, MessageFactory.text("hi"))
        raised.append(info.value)
    direct, generated = raised
    # what `bot.proactive.is_gone` reads: the status and Teams' error code
    assert direct.response.status_code == generated.response.status_code == 403
    assert direct.error.error.code == generated.error.error.code == "x"
    assert str(direct) == str(generated)


async def test_a_conversation_that_is_gone_is_recognised_by_its_status(
    connector: Connector, make_client: Callable[..., ConnectorClient]
) -> None:
    """A 404 from the connector (the conversation is gone): the monitor stops posting
    there. The error keeps the answer's status, as it does over requests."""
    client = make_client(connector.url)
    connector.answers = [(404, {})]
    with pytest.raises(ErrorResponseException) as info:
        await client.conversations.send_to_conversation("a:1", MessageFactory.text("hi"))
    assert is_gone(info.value)
    assert info.value.response.text == '{"error": {"code": "x", "message": "y"}}'


async def test_a_call_with_custom_headers_takes_the_generated_path(
    connector: Connector, make_client: Callable[..., ConnectorClient]
) -> None:
    client = make_client(connector.url)
    sent = await client.conversations.reply_to_activity(
        "a:1", "1:x", MessageFactory.text("hi"), custom_headers={"x-trace": "t-1"}
    )
    assert sent.id == "new-id"
    [(method, path, headers, _)] = connector.seen
    assert (method, path, headers["x-trace"]) == (
        "POST",
        "/v3/conversations/a%3A1/activities/1%3Ax",
        "t-1",
    )


async def test_an_unreachable_connector_is_retried_then_reported(
    make_client: Callable[..., ConnectorClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[int] = []

    def no_wait(retry: int) -> float:
        waits.append(retry)
        return 0.0

    monkeypatch.setattr(outbound, "backoff_s", no_wait)
    client = make_client(f"http://127.0.0.1:{free_port()}/")
    with pytest.raises(ClientRequestError):
        await client.conversations.send_to_conversation("a:1", MessageFactory.text("hi"))
    assert waits == [1, 2, 3]


async def test_a_call_still_under_way_when_the_sender_closes_leaves_no_session_open(
    connector: Connector,
    make_client: Callable[..., ConnectorClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The adapter closes an evicted connector client while a turn may still hold it: that
    turn's reply still goes out, on a session of its own that is closed after it (a shared
    one reopened after the close would never be closed)."""
    client = make_client(connector.url)
    sender = client.config.pipeline._sender
    await client.conversations.send_to_conversation("a:1", MessageFactory.text("first"))
    await client.__aexit__(None, None, None)
    opened: list[aiohttp.ClientSession] = []
    open_session = sender._open

    def recorded() -> aiohttp.ClientSession:
        opened.append(open_session())
        return opened[-1]

    monkeypatch.setattr(sender, "_open", recorded)
    await client.conversations.send_to_conversation("a:1", MessageFactory.text("late"))
    assert [json.loads(body)["text"] for *_, body in connector.seen] == ["first", "late"]
    assert len(opened) == 1 and opened[0].closed
    assert sender._session is None


@pytest.mark.parametrize("how", ["timed-out", "cancelled"])
def test_a_reply_given_up_on_leaves_no_socket_open_when_the_loop_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """As tests/dataverse/test_resilience.py checks for the Dataverse transport: a TLS
    connection given up on is aborted when the sender closes, not left waiting for a
    close_notify that this server never sends."""
    tls = ensure_tls(tmp_path)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_cert))
    server = SilentTlsServer(tls.server_context())

    async def give_up() -> None:
        client = ConnectorClient(
            MicrosoftAppCredentials.empty(), base_url=f"https://127.0.0.1:{server.port}/"
        )
        client.config.connection.timeout = 0.2 if how == "timed-out" else 30.0
        send_on_event_loop(client)
        try:
            call = asyncio.ensure_future(
                client.conversations.send_to_conversation("a:1", MessageFactory.text("hi"))
            )
            if how == "timed-out":
                with pytest.raises(ClientRequestError):
                    await call
                return
            await cancel_once_sent(call, server)
        finally:
            await client.__aexit__(None, None, None)

    assert resource_warnings(server, give_up) == []


def test_backoff_and_retry_after() -> None:
    assert [outbound.backoff_s(n) for n in (1, 2, 3, 20)] == [0.0, 1.6, 3.2, 90.0]
    assert outbound.retry_after_s("7") == 7.0
    assert outbound.retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert outbound.retry_after_s("soon") is None
    assert outbound.retry_after_s(None) is None


def test_trust_follows_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert outbound.ca_file(True) == certifi.where()
    monkeypatch.setenv("CURL_CA_BUNDLE", "/curl.pem")
    assert outbound.ca_file(True) == "/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/requests.pem")
    assert outbound.ca_file(True) == "/requests.pem"
    assert outbound.ca_file("/explicit.pem") == "/explicit.pem"


async def test_replies_to_the_sim_need_its_ca(
    make_host: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the sim's CA trusted the reply lands; with public roots only, TLS refuses it."""
    trusting: Host = await make_host()
    assert (await trusting.post(message(trusting.sim, "eddie", "status of alice"))).status == 201
    assert len(trusting.activities()) == 1

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    doubting: Host = await make_host()
    assert (await doubting.post(message(doubting.sim, "eddie", "status of alice"))).status == 201
    assert doubting.dispatcher.calls == ["message"]
    assert len(doubting.activities()) == 1, "a reply reached a server the bot must not trust"


def test_the_cache_hands_back_what_it_evicts() -> None:
    cache = _LruCache(1)
    assert cache.put(("a",), 1) == []
    assert cache.put(("b",), 2) == [1]
    assert cache.drain() == [2]


async def test_a_read_answer_can_still_be_streamed() -> None:
    from msrest.universal_http import ClientRequest

    response = outbound._Response(ClientRequest("GET", "http://x/"), 200, {}, "OK")
    response._read(b"abcdefghij")
    seen: list[bytes] = []
    chunks = [c async for c in response.stream_download(4, lambda c, r: seen.append(c))]
    assert chunks == [b"abcd", b"efgh", b"ij"] == seen
    assert response.text() == "abcdefghij"
