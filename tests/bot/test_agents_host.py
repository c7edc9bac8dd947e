"""What only the Agents SDK host does: its per-turn defaults changed through its public API.

The Agents SDK 1.9.0's stock factory builds a connector client (a new aiohttp session) and a
user-token client for every turn, and that user-token client logs a warning on every turn
without an app id (issue 17, measured in BENCHMARKS.md). The host keeps both between turns.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.agents_host import AgentsHost
from bot.app import ADAPTER
from tests.bot.activities import message
from tests.bot.conftest import Host

_WARNING = "App ID is not provided"


@pytest.mark.parametrize("host_sdk", ["agents"])
async def test_turns_share_one_connector_and_warn_at_most_once(
    host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    app = host.client.app
    assert app is not None
    agents = app[ADAPTER]
    assert isinstance(agents, AgentsHost)
    sessions: list[Any] = []
    for text in ("status of alice", "help", "status of bob"):
        assert (await host.post(message(host.sim, "eddie", text))).status == 201
        [client] = agents.clients._connectors.values()
        sessions.append(client.client)
        assert not client.client.closed, "the adapter's end of turn closed the kept session"
    assert len(host.activities()) == 3
    assert sessions[0] is sessions[1] is sessions[2]
    assert sum(_WARNING in r.getMessage() for r in caplog.records) <= 1


@pytest.mark.parametrize("host_sdk", ["agents"])
async def test_closing_the_app_closes_the_kept_sessions(host: Host) -> None:
    app = host.client.app
    assert app is not None
    agents = app[ADAPTER]
    assert isinstance(agents, AgentsHost)
    assert (await host.post(message(host.sim, "eddie", "help"))).status == 201
    [client] = agents.clients._connectors.values()
    await host.client.close()
    assert client.client.closed
