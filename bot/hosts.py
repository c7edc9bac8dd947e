"""The host MAILOPS_HOST_SDK names: botbuilder's CloudAdapter or the Agents SDK's."""

from __future__ import annotations

from typing import TypeAlias

from botbuilder.integration.aiohttp import CloudAdapter

from bot.adapter import create_adapter
from bot.agents_host import AgentsHost
from bot.agents_proactive import AgentsMessenger
from bot.config import HostSdk, Settings
from bot.proactive import ProactiveMessenger
from dialogs.turn import Messenger

Host: TypeAlias = CloudAdapter | AgentsHost


def create_host(settings: Settings) -> Host:
    if settings.host_sdk is HostSdk.AGENTS:
        return AgentsHost(settings)
    adapter: CloudAdapter = create_adapter(settings)
    return adapter


def messenger_for(host: Host, bot_app_id: str) -> Messenger:
    """How the dialogs and the monitor write first (`dialogs.turn.Messenger`) on `host`."""
    if isinstance(host, AgentsHost):
        return AgentsMessenger(host, bot_app_id)
    return ProactiveMessenger(host, bot_app_id)
