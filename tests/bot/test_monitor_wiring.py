"""The monitor wired into the bot as `mailops serve` wires it, end to end over the real app:
`set on-call channel here` in a group chat, a mailbox fails in the sim, one monitor cycle
posts exactly one incident card through the real CloudAdapter to the sim's Bot Connector
recorder, the Acknowledge button (an `adaptiveCard/action` invoke) answers with who
acknowledged, Silence without a reason is refused, `who is on call` answers from
MAILOPS_ONCALL, and a restart on the same store file sends nothing twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.integration.aiohttp import CloudAdapter

from bot.adapter import CachingBotFrameworkAuthentication, create_adapter
from bot.app import create_app
from bot.config import ConfigError, Settings
from bot.notifier import Monitors, on_call_schedule
from bot.proactive import ConversationKeeper, ProactiveMessenger
from devtools.demo import adopt_on_call_chat
from dialogs.app import build_router
from dialogs.approvals import remember
from dialogs.context import Services
from dialogs.signing import CardSigner
from dialogs.turn import Card
from monitor import Monitor
from store import Store
from tests.bot.activities import buttons, execute, message
from tests.bot.conftest import environment
from tests.dialogs.routing_kit import turn_of
from tests.monitor.kit import BOB, fail
from tests.simharness import RunningSim

SECRET: Final = b"monitor-wiring-secret-0123456789"
ON_CALL_CHAT: Final = "19:oncall-wiring@thread.v2"
HOLDER: Final = "replica-test"


def _in_chat(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity as Teams sends it from the on-call group chat."""
    activity["conversation"] = {
        **activity["conversation"],
        "id": ON_CALL_CHAT,
        "conversationType": "groupChat",
    }
    return activity


def _recorded(sim: RunningSim) -> list[dict[str, Any]]:
    with sim.admin() as admin:
        data: list[dict[str, Any]] = admin.get("activities").raise_for_status().json()
        return data


def _sends_to_chat(sim: RunningSim) -> list[dict[str, Any]]:
    return [
        r for r in _recorded(sim) if r["op"] == "send" and r["conversation_id"] == ON_CALL_CHAT
    ]


def _card(recorded: dict[str, Any]) -> Card:
    content: Card = recorded["activity"]["attachments"][0]["content"]
    return content


@dataclass
class Bot:
    """One bot process: the app over the real router, and its monitor (not looping: the
    tests drive `run_cycle`)."""

    client: TestClient[Any, Any]
    monitor: Monitor
    monitors: Monitors
    services: Services

    async def say(self, sim: RunningSim, person: str, text: str) -> None:
        response = await self.client.post(
            "/api/messages", json=_in_chat(message(sim, person, text))
        )
        assert response.status == 201

    async def click(
        self, sim: RunningSim, person: str, button: dict[str, Any], reply_to_id: str
    ) -> str:
        activity = _in_chat(execute(sim, person, button, reply_to_id=reply_to_id))
        response = await self.client.post("/api/messages", json=activity)
        assert response.status == 200
        return str((await response.json())["value"])


@pytest.fixture
def settings(sim: RunningSim, trust_sim: None) -> Settings:
    return Settings.from_env(
        environment(
            sim,
            MAILOPS_ONCALL="dana@contoso.com,eddie@contoso.com",
            MAILOPS_MONITOR_INTERVAL_S="1",
        )
    )


@pytest.fixture
async def bots(
    sim: RunningSim, settings: Settings, services: Services, tmp_path: Path
) -> AsyncIterator[Any]:
    """`await start()`: a bot process over the store file `tmp_path/mailops.db`."""
    opened: list[tuple[Store, TestClient[Any, Any], CloudAdapter]] = []

    async def start() -> Bot:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'mailops.db'}")
        adapter = create_adapter(settings)
        stateful = Services(
            dict(services.environments),
            store=store,
            messenger=ProactiveMessenger(adapter, settings.app_id),
        )
        router = build_router(stateful, CardSigner(SECRET))
        monitors = Monitors.build(settings, stateful, router.signer)
        (monitor,) = monitors.monitors.values()
        monitor.holder = HOLDER
        client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(adapter, ConversationKeeper(router, store)))
        )
        await client.start_server()
        opened.append((store, client, adapter))
        return Bot(client, monitor, monitors, stateful)

    yield start
    for store, client, adapter in opened:
        await client.close()
        auth = adapter.bot_framework_authentication
        if isinstance(auth, CachingBotFrameworkAuthentication):
            await auth.close()
        await store.close()


async def test_a_failing_mailbox_reaches_the_on_call_chat_once(
    sim: RunningSim, services: Services, bots: Any
) -> None:
    bot: Bot = await bots()
    await bot.say(sim, "sam", "set on-call channel here")
    assert "This is the on-call channel now" in str(_card(_recorded(sim)[-1]))

    await bot.monitor.run_cycle()  # the first sweep: whatever the fixture fails already
    before = len(_sends_to_chat(sim))
    await fail(sim, services.default.dataverse, [BOB])
    report = await bot.monitor.run_cycle()
    assert report.leader
    new = _sends_to_chat(sim)[before:]
    assert len(new) == 1, [str(_card(r))[:200] for r in new]
    posted = new[0]
    assert "Bob Brown" in str(_card(posted))

    await bot.monitor.run_cycle()  # the same failure again: no new message
    assert len(_sends_to_chat(sim)) == before + 1

    ack = next(b for b in buttons(_card(posted)) if b["title"] == "Acknowledge")
    answer = await bot.click(sim, "dana", ack, posted["activity_id"])
    assert "Acknowledged by" in answer
    assert "Dana Delegate" in answer
    updated = [
        r
        for r in _recorded(sim)
        if r["op"] == "update" and r["activity_id"] == posted["activity_id"]
    ]
    assert updated
    assert "Dana Delegate" in str(_card(updated[-1]))

    silence = next(b for b in buttons(_card(posted)) if b["title"] == "1 hour")
    refused = await bot.click(sim, "dana", silence, posted["activity_id"])
    assert "A silence needs a reason" in refused

    # A restart: a new app and monitor on the same store file; nothing is announced again.
    assert bot.services.store is not None
    await bot.services.store.leases.release(bot.monitor.lease_name, HOLDER)
    again: Bot = await bots()
    report = await again.monitor.run_cycle()
    assert report.leader
    assert report.sweep
    assert len(_sends_to_chat(sim)) == before + 1


async def test_who_is_on_call_answers_from_mailops_oncall(sim: RunningSim, bots: Any) -> None:
    bot: Bot = await bots()
    await bot.say(sim, "gary", "who is on call")
    text = str(_card(_recorded(sim)[-1]))
    assert "On call now" in text
    assert text.index("dana@contoso.com") < text.index("eddie@contoso.com")


async def test_the_monitor_loop_runs_and_releases_its_lease(sim: RunningSim, bots: Any) -> None:
    bot: Bot = await bots()
    seen: list[bool] = []
    loop = Monitors({"x": bot.monitor}, on_cycle=lambda report: seen.append(report.leader))
    loop.start()
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.05)
    await loop.close()
    assert seen
    assert seen[0]
    store = bot.services.store
    assert store is not None
    assert await store.leases.current(bot.monitor.lease_name) is None


def test_monitor_off_builds_nothing(sim: RunningSim, services: Services) -> None:
    settings = Settings.from_env(environment(sim, MAILOPS_MONITOR="off"))
    stateful = Services(dict(services.environments))
    monitors = Monitors.build(settings, stateful, CardSigner(SECRET))
    assert monitors.monitors == {}
    assert stateful.incidents == {}
    assert on_call_schedule(["  ", ""]) is None


async def test_the_demo_adopts_the_first_persons_chat_as_on_call(
    sim: RunningSim, tmp_path: Path
) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    try:
        gina = sim.person("gina").object_id
        assert not await adopt_on_call_chat(store, gina)  # gina has not talked to the bot
        await remember(store, turn_of(sim, "gina", "help"))
        assert await adopt_on_call_chat(store, gina)
        found = await store.conversations.find_on_call()
        assert found is not None
        assert found.key.conversation_id == "a:personal-gina"
        # A channel someone chose is kept.
        await remember(store, turn_of(sim, "dana", "help"))
        assert await adopt_on_call_chat(store, sim.person("dana").object_id)
        found = await store.conversations.find_on_call()
        assert found is not None
        assert found.key.conversation_id == "a:personal-gina"
    finally:
        await store.close()


def test_monitor_settings(sim: RunningSim) -> None:
    defaults = Settings.from_env(environment(sim))
    assert (defaults.monitor_enabled, defaults.monitor_interval_s) == (True, 60.0)
    assert (defaults.on_call, defaults.on_call_conversation_id) == ((), None)
    chosen = Settings.from_env(
        environment(
            sim,
            MAILOPS_MONITOR="off",
            MAILOPS_MONITOR_INTERVAL_S="2.5",
            MAILOPS_ONCALL=" dana@contoso.com , aa000000-0000-4000-8000-000000000002,,",
            MAILOPS_ONCALL_CONVERSATION_ID="19:oncall@thread.tacv2",
        )
    )
    assert not chosen.monitor_enabled
    assert chosen.monitor_interval_s == 2.5
    assert chosen.on_call == ("dana@contoso.com", "aa000000-0000-4000-8000-000000000002")
    with pytest.raises(ConfigError, match="MAILOPS_MONITOR_INTERVAL_S"):
        Settings.from_env(environment(sim, MAILOPS_MONITOR_INTERVAL_S="0"))


async def test_the_lease_ttl_comes_from_mailops_monitor_lease_ttl_s(
    sim: RunningSim, services: Services, tmp_path: Path
) -> None:
    """The leader lease bounds how long a dead leader's environment goes unwatched (issue 6:
    "the other continues within the lease time"), so operators set it; unset it is three
    intervals, and it must outlast one interval or the leader loses it between two polls."""
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ttl.db'}")
    try:

        def ttl_of(**extra: str) -> timedelta:
            settings = Settings.from_env(environment(sim, **extra))
            stateful = Services(
                dict(services.environments),
                store=store,
                messenger=ProactiveMessenger(create_adapter(settings), settings.app_id),
            )
            monitors = Monitors.build(settings, stateful, CardSigner(SECRET))
            (monitor,) = monitors.monitors.values()
            return monitor.config.ttl

        assert ttl_of(MAILOPS_MONITOR_INTERVAL_S="2") == timedelta(seconds=6)
        chosen = ttl_of(MAILOPS_MONITOR_INTERVAL_S="2", MAILOPS_MONITOR_LEASE_TTL_S="2.5")
        assert chosen == timedelta(seconds=2.5)
    finally:
        await store.close()
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ConfigError, match="MAILOPS_MONITOR_LEASE_TTL_S"):
            Settings.from_env(environment(sim, MAILOPS_MONITOR_LEASE_TTL_S=bad))
    with pytest.raises(ConfigError, match=r"MAILOPS_MONITOR_LEASE_TTL_S: must be longer than"):
        Settings.from_env(
            environment(sim, MAILOPS_MONITOR_INTERVAL_S="5", MAILOPS_MONITOR_LEASE_TTL_S="5")
        )
