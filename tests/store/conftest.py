"""Every store test runs against SQLite (a temporary file) and PostgreSQL (a fresh schema).

PostgreSQL comes from MAILOPS_TEST_PG_URL; without it those variants skip with the reason.
Each PostgreSQL test gets its own schema `mailops_test_<random>`, dropped afterwards, so
reruns and parallel runs on one server do not meet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store import Store
from tests.store.kit import Backend, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


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
