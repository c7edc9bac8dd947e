"""The bot's real aiohttp app, the real router and the running sim, wired as `mailops serve` does.

Replies leave through botbuilder's connector (msrest over requests) to the sim's Bot Connector
recorder, which serves HTTPS with the sim's own CA: requests honours `REQUESTS_CA_BUNDLE`, so
each test points it at that CA for its duration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.config import HostSdk, Settings
from bot.hosts import create_host
from dialogs.router import Router
from dialogs.turn import Card, Dispatcher, Turn
from tests.simharness import RunningSim

APP_ID = "0b7a1d2e-3f40-4c5d-8e6f-708192a3b4c5"  # a made-up bot app id
APP_PASSWORD = "bot-password-that-must-never-be-logged"


def environment(sim: RunningSim, **extra: str) -> dict[str, str]:
    """What `mailops serve` would read, pointing at the sim."""
    return {
        "DATAVERSE_URL": sim.dataverse_url,
        "MAILOPS_TENANT_ID": sim.tenant_id,
        "MAILOPS_CLIENT_ID": sim.client_id,
        "MAILOPS_CLIENT_SECRET": sim.client_secret,
        "MAILOPS_AUTHORITY_HOST": sim.origin,
        "MAILOPS_GRAPH_URL": sim.graph_base,
        "MAILOPS_CA_BUNDLE": str(sim.ca_path),
        **extra,
    }


@dataclass
class RecordingDispatcher:
    """The real router, plus a record of which activities reached it."""

    inner: Dispatcher
    calls: list[str] = field(default_factory=list)

    async def on_message(self, turn: Turn) -> None:
        self.calls.append("message")
        await self.inner.on_message(turn)

    async def on_execute(self, turn: Turn) -> Card | str:
        self.calls.append("execute")
        return await self.inner.on_execute(turn)

    async def on_installed(self, turn: Turn) -> None:
        self.calls.append("installed")
        await self.inner.on_installed(turn)


@dataclass
class Host:
    """The bot as Teams reaches it, and what its replies did at the sim."""

    client: TestClient[Any, Any]
    sim: RunningSim
    dispatcher: RecordingDispatcher

    async def post(self, body: Any, **kwargs: Any) -> ClientResponse:
        if isinstance(body, (str, bytes)):
            return await self.client.post("/api/messages", data=body, **kwargs)
        return await self.client.post("/api/messages", json=body, **kwargs)

    def activities(self) -> list[dict[str, Any]]:
        """What the sim's Bot Connector recorder received, oldest first."""
        with self.sim.admin() as admin:
            data: list[dict[str, Any]] = admin.get("activities").raise_for_status().json()
            return data

    def cards(self) -> list[Card]:
        """The Adaptive Cards the bot sent (replies and updates), oldest first."""
        return [
            attachment["content"]
            for recorded in self.activities()
            for attachment in (recorded["activity"] or {}).get("attachments") or []
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]


HostFactory = Callable[..., Any]


@pytest.fixture
def trust_sim(sim: RunningSim, monkeypatch: pytest.MonkeyPatch) -> None:
    """botbuilder's outbound calls (requests) trust the sim's CA for this test only."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim.ca_path))


@pytest.fixture(params=[sdk.value for sdk in HostSdk])
def host_sdk(request: pytest.FixtureRequest) -> str:
    """Each test built on `make_host` runs on both hosts (MAILOPS_HOST_SDK)."""
    value: str = request.param
    return value


@pytest.fixture
async def make_host(
    sim: RunningSim, router: Router, trust_sim: None, host_sdk: str
) -> AsyncIterator[Callable[..., Any]]:
    """`await make_host(MicrosoftAppId=…)`: the app over the real router, configured by env,
    on the host `host_sdk` names."""
    clients: list[TestClient[Any, Any]] = []

    async def make(**extra: str) -> Host:
        settings = Settings.from_env(environment(sim, MAILOPS_HOST_SDK=host_sdk, **extra))
        dispatcher = RecordingDispatcher(router)
        client: TestClient[Any, Any] = TestClient(
            TestServer(create_app(create_host(settings), dispatcher))
        )
        await client.start_server()
        clients.append(client)
        return Host(client, sim, dispatcher)

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def host(make_host: Callable[..., Any]) -> Host:
    """Authentication off (no MicrosoftAppId): what `mailops demo` runs."""
    made: Host = await make_host()
    return made


@pytest.fixture
async def secured_host(make_host: Callable[..., Any]) -> Host:
    """Authentication on: MicrosoftAppId and its password are set."""
    made: Host = await make_host(MicrosoftAppId=APP_ID, MicrosoftAppPassword=APP_PASSWORD)
    return made


def settings_for(sim: RunningSim, **extra: str) -> Settings:
    return Settings.from_env(environment(sim, **extra))


def without(mapping: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}
