"""Shared fixtures: a clean environment and a running sim per session (reset per test)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from dataverse import DataverseClient, EntraApp, GraphClient
from dialogs.app import build_router
from dialogs.context import EnvironmentServices, Services
from dialogs.facts import LiveFacts
from dialogs.router import Router
from dialogs.signing import CardSigner
from permissions import Deployment, FactsCache
from sim.server import SimThread
from store import Store
from tests.simharness import CONTOSO, FAST_RETRY, RunningSim
from tests.store.kit import PG_SKIP_REASON, PG_URL, Backend, FakeClock
from tests.waits import RecordedWaits

_OUR_VARIABLES = ("Microsoft", "DATAVERSE_", "MAILOPS_")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a developer exported may change what a test sees."""
    for key in list(os.environ):
        if key.startswith(_OUR_VARIABLES):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def sim_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimThread]:
    state_dir: Path = tmp_path_factory.mktemp("sim-state")
    thread = SimThread(CONTOSO, state_dir).start()
    yield thread
    thread.stop()


@pytest.fixture
def sim(sim_thread: SimThread) -> RunningSim:
    running = RunningSim(sim_thread)
    running.reset()
    return running


@pytest.fixture
def entra(sim: RunningSim) -> Iterator[EntraApp]:
    app = EntraApp(
        authority=sim.authority,
        client_id=sim.client_id,
        client_credential=sim.client_secret,
        ca_path=sim.ca_path,
    )
    yield app
    app.close()


@pytest.fixture
def waits() -> RecordedWaits:
    """The retry waits of the `dv` and `graph` clients: recorded, never spent."""
    return RecordedWaits()


@pytest.fixture
async def dv(
    sim: RunningSim, entra: EntraApp, waits: RecordedWaits
) -> AsyncIterator[DataverseClient]:
    async with DataverseClient(
        sim.dataverse_url,
        auth=entra.dataverse_auth(sim.dataverse_url),
        ca_path=sim.ca_path,
        retry=FAST_RETRY,
        timeout=10.0,
        sleep=waits,
    ) as client:
        yield client


@pytest.fixture
async def graph(
    sim: RunningSim, entra: EntraApp, waits: RecordedWaits
) -> AsyncIterator[GraphClient]:
    async with GraphClient(
        base_url=sim.graph_base,
        auth=entra.graph_auth(),
        ca_path=sim.ca_path,
        retry=FAST_RETRY,
        sleep=waits,
    ) as client:
        yield client


@pytest.fixture
async def services(sim: RunningSim, dv: DataverseClient, graph: GraphClient) -> Services:
    """The bot's services for the demo environment, over the running sim."""
    facts = FactsCache(LiveFacts(dv, graph, Deployment.ONLINE), ttl_seconds=0)
    env = EnvironmentServices("prod", Deployment.ONLINE, dv, facts, is_default=True)
    return Services({"prod": env})


@pytest.fixture
async def router(services: Services) -> Router:
    return build_router(services, CardSigner(b"test-signing-secret-0123456789"))


async def _drop_schema(url: str, schema: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A database for the store: SQLite in a temporary file, and PostgreSQL in a fresh schema
    (from MAILOPS_TEST_PG_URL; without it that variant skips and says why)."""
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'mailops.db'}")
        return
    if PG_URL is None:
        pytest.skip(PG_SKIP_REASON)
    schema = f"mailops_test_{secrets.token_hex(6)}"
    try:
        yield Backend("postgresql", PG_URL, schema)
    finally:
        await _drop_schema(PG_URL, schema)


# `clock` comes from the test's own directory (tests/store, tests/dialogs): each starts its
# fake time where its tests need it.


@pytest.fixture
async def store(backend: Backend, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await backend.open(clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def other_store(backend: Backend, clock: FakeClock, store: Store) -> AsyncIterator[Store]:
    """A second Store on the same database, with its own engine: another bot process."""
    opened = await backend.open(clock)
    try:
        yield opened
    finally:
        await opened.close()
