"""Fixtures for the dialogs that keep state (routed approvals, the audit log): a store on
SQLite (a temporary file) and on PostgreSQL (a fresh schema, from MAILOPS_TEST_PG_URL; the
variant skips with the reason when it is not set), a recording messenger, and the router
over both and the running sim."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import pytest

from dataverse import GraphClient
from dialogs.app import build_router
from dialogs.context import EnvironmentServices, Services
from dialogs.router import Router
from dialogs.signing import CardSigner
from store import Store
from tests.dialogs.routing_kit import FakeMessenger
from tests.store.kit import FakeClock

CARD_SECRET: Final = b"test-signing-secret-0123456789"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def messenger() -> FakeMessenger:
    return FakeMessenger()


def routed_services(
    services: Services, graph: GraphClient, store: Store, messenger: FakeMessenger
) -> Services:
    """The test services with Graph, a store and a messenger: what `mailops serve` builds."""
    env = services.default
    with_graph = EnvironmentServices(
        env.name, env.deployment, env.dataverse, env.facts, is_default=True, graph=graph
    )
    return Services({env.name: with_graph}, store=store, messenger=messenger)


@pytest.fixture
def stateful(
    services: Services, graph: GraphClient, store: Store, messenger: FakeMessenger
) -> Services:
    return routed_services(services, graph, store, messenger)


@pytest.fixture
def routed(stateful: Services) -> Router:
    return build_router(stateful, CardSigner(CARD_SECRET))
