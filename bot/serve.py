"""`mailops serve`: the bot with its services, until it is stopped."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from bot.adapter import create_adapter
from bot.app import create_app
from bot.config import ConfigError, Settings
from dataverse import DataverseClient, EntraApp, GraphClient
from dialogs.app import build_router
from dialogs.context import EnvironmentServices, Services
from dialogs.facts import LiveFacts
from dialogs.signing import CardSigner
from permissions import FactsCache

log = logging.getLogger("mailops.serve")


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """The long-lived clients, opened once and closed on the way out."""
    entra = EntraApp(
        authority=f"{settings.authority_host.rstrip('/')}/{settings.tenant_id}",
        client_id=settings.client_id,
        client_credential=settings.client_secret.get_secret_value(),
        ca_path=settings.ca_bundle,
    )
    try:
        async with (
            DataverseClient(
                settings.dataverse_url,
                auth=entra.dataverse_auth(settings.dataverse_url),
                ca_path=settings.ca_bundle,
            ) as dataverse,
            GraphClient(
                base_url=settings.graph_url, auth=entra.graph_auth(), ca_path=settings.ca_bundle
            ) as graph,
        ):
            facts = FactsCache(
                LiveFacts(dataverse, graph, settings.deployment), ttl_seconds=settings.facts_ttl_s
            )
            environment = EnvironmentServices(
                settings.environment_name, settings.deployment, dataverse, facts, is_default=True
            )
            yield Services(
                {settings.environment_name: environment}, act_as_caller=settings.act_as_caller
            )
    finally:
        entra.close()


def card_signer(settings: Settings) -> CardSigner:
    if settings.card_secret is not None:
        return CardSigner(settings.card_secret.get_secret_value().encode())
    # Without a configured secret, cards sent before a restart stop being accepted.
    return CardSigner(secrets.token_bytes(32))


async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (or SIGINT / SIGTERM)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    async with open_services(settings) as services:
        router = build_router(services, card_signer(settings))
        app = create_app(create_adapter(settings), router)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info(
            "bot listening on http://%s:%s/api/messages (authentication %s)",
            settings.host,
            settings.port,
            "on" if settings.authentication_enabled else "off: loopback only",
        )
        try:
            await stop.wait()
        finally:
            await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailops serve", description=__doc__)
    parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"mailops serve: {exc}", flush=True)  # noqa: T201 - the CLI's own answer
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(run(settings))
    return 0
