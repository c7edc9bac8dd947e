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
from datetime import timedelta
from typing import Final

from aiohttp import web

from bot.app import METRICS, create_app
from bot.config import ConfigError, Settings
from bot.guards import Guards
from bot.hosts import create_host, messenger_for
from bot.logs import secrets_of, setup_logging
from bot.notifier import Monitors
from bot.proactive import ConversationKeeper
from dataverse import DataverseClient, EntraApp, GraphClient
from dialogs.app import build_router
from dialogs.approvals import Approvals, approvals_of
from dialogs.context import ApprovalTimes, EnvironmentServices, Services
from dialogs.facts import LiveFacts
from dialogs.signing import CardSigner
from dialogs.turn import Dispatcher
from permissions import FactsCache
from store import Store

log = logging.getLogger("mailops.serve")

SWEEP_EVERY_S: Final = 60.0
"""How often approval requests are expired and reminders sent."""


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """The long-lived clients, opened once and closed on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        environments = await open_environments(settings, stack)
        store = await Store.open(settings.db_url)
        stack.push_async_callback(store.close)
        yield Services(
            environments,
            act_as_caller=settings.act_as_caller,
            store=store,
            approval_times=_approval_times(settings),
        )


async def open_environments(
    settings: Settings, stack: contextlib.AsyncExitStack
) -> dict[str, EnvironmentServices]:
    """One EnvironmentServices per configured environment (MAILOPS_ENVIRONMENTS, or the one
    DATAVERSE_URL), each with its own DataverseClient; environments with the same identity
    (authority, tenant, application) share one Entra application, and one Graph client per
    Graph URL. Everything opened is closed by `stack`."""
    entras: dict[tuple[object, ...], EntraApp] = {}
    graphs: dict[tuple[object, ...], GraphClient] = {}
    environments: dict[str, EnvironmentServices] = {}
    for env in settings.resolved_environments():
        entra = entras.get(env.identity)
        if entra is None:
            entra = EntraApp(
                authority=f"{env.authority_host.rstrip('/')}/{env.tenant_id}",
                client_id=env.client_id,
                client_credential=env.client_secret.get_secret_value(),
                ca_path=env.ca_bundle,
            )
            stack.callback(entra.close)
            entras[env.identity] = entra
        graph_key = (*env.identity, env.graph_url)
        graph = graphs.get(graph_key)
        if graph is None:
            graph = await stack.enter_async_context(
                GraphClient(base_url=env.graph_url, auth=entra.graph_auth(), ca_path=env.ca_bundle)
            )
            graphs[graph_key] = graph
        dataverse = await stack.enter_async_context(
            DataverseClient(env.url, auth=entra.dataverse_auth(env.url), ca_path=env.ca_bundle)
        )
        facts = FactsCache(
            LiveFacts(dataverse, graph, env.deployment), ttl_seconds=settings.facts_ttl_s
        )
        environments[env.name] = EnvironmentServices(
            env.name, env.deployment, dataverse, facts, is_default=env.is_default, graph=graph
        )
    return environments


def _approval_times(settings: Settings) -> ApprovalTimes:
    remind = settings.approval_remind_before_h
    return ApprovalTimes(
        expires_after=timedelta(hours=settings.approval_expiry_h),
        remind_before=timedelta(hours=remind) if remind > 0 else None,
    )


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
    if settings.card_secret is None:
        log.warning(
            "MAILOPS_CARD_SECRET is not set: cards sent before a restart (approval requests "
            "among them) will be refused after it; set it in production"
        )
    async with open_services(settings) as services:
        router = build_router(services, card_signer(settings))
        adapter = create_host(settings)
        dispatcher: Dispatcher = router
        sweeper: asyncio.Task[None] | None = None
        if services.store is not None:
            services.messenger = messenger_for(adapter, settings.app_id)
            keeper = ConversationKeeper(
                router, services.store, approvers_conversation=settings.approvers_conversation_id
            )
            await keeper.assign_approvers(settings.tenant_id)
            dispatcher = keeper
            sweeper = asyncio.create_task(_sweep(approvals_of(router)), name="approvals-sweep")
        # The mailbox monitor (issue 6): one per environment, next to the approvals sweeper.
        monitors = Monitors.build(settings, services, router.signer)
        app = create_app(adapter, dispatcher, guards=Guards.from_settings(settings))
        app[METRICS].count_calls()  # the monitors' Dataverse calls count in /metrics too
        monitors.start()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info(
            "bot listening on http://%s:%s/api/messages (host %s, authentication %s)",
            settings.host,
            settings.port,
            settings.host_sdk.value,
            "on" if settings.authentication_enabled else "off: loopback only",
        )
        try:
            await stop.wait()
        finally:
            await monitors.close()  # the loops end and release their leases
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await runner.cleanup()


async def _sweep(approvals: Approvals, every_s: float = SWEEP_EVERY_S) -> None:
    """Expire approval requests whose time is up and send due reminders, every minute."""
    while True:
        try:
            expired, reminded = await approvals.sweep()
            if expired or reminded:
                log.info("approvals: %d expired, %d reminded", expired, reminded)
        except Exception:  # a bad minute (database away) must not end the loop
            log.exception("the approval sweep failed; trying again in %.0f s", every_s)
        await asyncio.sleep(every_s)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mailops serve", description=__doc__)
    parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as exc:
        print(f"mailops serve: {exc}", flush=True)  # noqa: T201 - the CLI's own answer
        return 2
    setup_logging(settings.log_level, secrets=secrets_of(settings))
    asyncio.run(run(settings))
    return 0
