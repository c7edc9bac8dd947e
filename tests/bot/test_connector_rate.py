"""Teams' per-conversation send rate: the sim's connector refuses past it, the bot backs off.

Microsoft documents the "per bot per thread limit" for sending to a conversation as 7
operations in 1 s, 8 in 2 s, 60 in 30 s and 1800 in 3600 s, answered 429 past it
(learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit); the sim's readings of
what the page leaves open are in `sim/connector_limits.py`. The sim's clock is a fake one
here and the bot's waits move it, so nothing sleeps for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.core import MessageFactory
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import MicrosoftAppCredentials
from botframework.connector.models import ErrorResponseException

from bot import outbound
from bot.adapter import create_adapter
from bot.agents_host import AgentsHost
from bot.app import create_app
from bot.config import HostSdk
from bot.outbound import send_on_event_loop
from dialogs.router import Router
from sim.connector_limits import THREAD_LIMITS, ThreadLimits, thread_limits
from sim.tls import client_context
from tests.bot.activities import connector_url, message
from tests.bot.conftest import RecordingDispatcher, settings_for
from tests.bot.operated import FakeClock
from tests.bot.test_outbound import Connector, connector  # noqa: F401 - a fixture
from tests.simharness import RunningSim

pytestmark = pytest.mark.usefixtures("trust_sim")


# ---- the sim's limiter -----------------------------------------------------------------------


def test_the_documented_windows() -> None:
    assert THREAD_LIMITS == ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))


def test_seven_a_second_then_eight_in_two() -> None:
    clock = FakeClock()
    limits = ThreadLimits(clock)
    assert [limits.admit("bot", "a:1") for _ in range(7)] == [None] * 7
    assert limits.admit("bot", "a:1") == 1  # the eighth within the second
    assert limits.admit("bot", "a:2") is None, "another conversation has its own windows"
    assert limits.admit("other-bot", "a:1") is None, "another bot has its own windows"

    clock.advance(1.0)
    assert limits.admit("bot", "a:1") is None  # 8 in 2 s
    assert limits.admit("bot", "a:1") == 1  # a ninth waits until the first seven left
    clock.advance(1.0)
    assert limits.admit("bot", "a:1") is None


def test_sixty_in_thirty_seconds() -> None:
    """One write every 0.25 s keeps within 7/1 s and 8/2 s; the 61st meets the 30 s window
    and must wait until the first has left it (30 s after it, 15 s after the 61st try)."""
    clock = FakeClock()
    limits = ThreadLimits(clock)
    for _ in range(60):
        assert limits.admit("bot", "a:1") is None
        clock.advance(0.25)
    assert limits.admit("bot", "a:1") == 15
    clock.advance(15.0)
    assert limits.admit("bot", "a:1") is None


def test_refused_writes_are_not_counted() -> None:
    clock = FakeClock()
    limits = ThreadLimits(clock)
    for _ in range(7):
        limits.admit("bot", "a:1")
    for _ in range(50):
        assert limits.admit("bot", "a:1") == 1
    clock.advance(1.0)
    assert limits.admit("bot", "a:1") is None


# ---- the sim's connector over HTTPS ----------------------------------------------------------


@pytest.fixture
def sim_clock(sim: RunningSim) -> Iterator[FakeClock]:
    """The connector limiter of the running sim on a fake clock (Sim.reset restores it)."""
    clock = FakeClock()

    def use() -> None:
        thread_limits(sim.sim).clock = clock

    sim.thread.call(use)
    yield clock


def test_the_eighth_send_within_a_second_is_refused_with_retry_after(
    sim: RunningSim, sim_clock: FakeClock
) -> None:
    url = f"{connector_url(sim)}v3/conversations"
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        statuses = [
            client.post(f"{url}/a:1/activities", json={"type": "message", "text": str(i)})
            for i in range(8)
        ]
        other = client.post(f"{url}/a:2/activities", json={"type": "message", "text": "x"})
        update = client.put(f"{url}/a:1/activities/1", json={"type": "message", "text": "y"})
    assert [r.status_code for r in statuses] == [201] * 7 + [429]
    assert statuses[-1].headers["Retry-After"] == "1"
    assert statuses[-1].json()["error"]["code"] == "TooManyRequests"
    assert other.status_code == 201
    assert update.status_code == 429, "an update is a write into the same conversation"
    with sim.admin() as admin:
        recorded = admin.get("activities").raise_for_status().json()
    texts = [r["activity"]["text"] for r in recorded if r["conversation_id"] == "a:1"]
    assert texts == [str(i) for i in range(7)], "a refused write is not carried out"


# ---- the bot backs off and loses nothing ---------------------------------------------------


class Waits:
    """The bot's injected sleep: records each wait and moves the sim's clock by it."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.seen: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., ConnectorClient]]:
    made: list[ConnectorClient] = []

    def make(url: str, waits: Waits) -> ConnectorClient:
        client = ConnectorClient(MicrosoftAppCredentials.empty(), base_url=url)
        send_on_event_loop(client, sleep=waits)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.__aexit__(None, None, None)


async def test_a_throttled_post_is_sent_again_after_retry_after(
    connector: Connector,  # noqa: F811 - the fixture
    make_client: Callable[..., ConnectorClient],
) -> None:
    waits = Waits()
    client = make_client(connector.url, waits)
    connector.answers = [(429, {"Retry-After": "3"}), (429, {}), (201, {})]
    sent = await client.conversations.send_to_conversation("a:1", MessageFactory.text("hi"))
    assert sent.id == "new-id"
    assert [m for m, *_ in connector.seen] == ["POST"] * 3
    assert waits.seen[0] == 3.0
    assert 1.0 <= waits.seen[1] < 2.0 * outbound.THROTTLED_BACKOFF_S * 2, "backoff, jittered"


async def test_a_throttled_update_is_sent_again_then_given_up_on(
    connector: Connector,  # noqa: F811 - the fixture
    make_client: Callable[..., ConnectorClient],
) -> None:
    waits = Waits()
    client = make_client(connector.url, waits)
    connector.answers = [(429, {"Retry-After": "1"})] * (outbound.THROTTLED_RETRIES + 1)
    with pytest.raises(ErrorResponseException):
        await client.conversations.update_activity("a:1", "1", MessageFactory.text("v2"))
    assert len(connector.seen) == outbound.THROTTLED_RETRIES + 1
    assert waits.seen == [1.0] * outbound.THROTTLED_RETRIES


async def test_a_burst_of_turns_in_one_conversation_loses_no_reply(
    sim: RunningSim, router: Router, sim_clock: FakeClock, host_sdk: str
) -> None:
    """Nine messages at one instant in one chat: the sim refuses the eighth and ninth
    replies (7 per second, 8 per 2 s); the bot waits as told and every reply arrives once,
    on both hosts (the Agents SDK's connector alone would give up on the 429)."""
    waits = Waits(sim_clock)
    dispatcher = RecordingDispatcher(router)
    settings = settings_for(sim, MAILOPS_HOST_SDK=host_sdk)
    host = (
        AgentsHost(settings, sleep=waits)
        if settings.host_sdk is HostSdk.AGENTS
        else create_adapter(settings, sleep=waits)
    )
    app = create_app(host, dispatcher)
    async with TestClient(TestServer(app)) as client:
        for i in range(9):
            activity: dict[str, Any] = message(sim, "eddie", "help")
            activity["id"] = f"burst-{i}"
            response = await client.post("/api/messages", json=activity)
            assert response.status == 201
    assert waits.seen == [1.0, 1.0]
    with sim.admin() as admin:
        recorded = admin.get("activities").raise_for_status().json()
    replies = [r for r in recorded if r["conversation_id"] == "a:personal-eddie"]
    assert [r["activity"]["replyToId"] for r in replies] == [f"burst-{i}" for i in range(9)]
