"""Every store test runs against SQLite (a temporary file) and PostgreSQL (a fresh schema).

PostgreSQL comes from MAILOPS_TEST_PG_URL; without it those variants skip with the reason.
Each PostgreSQL test gets its own schema `mailops_test_<random>`, dropped afterwards, so
reruns and parallel runs on one server do not meet.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from store import Store
from tests.store.kit import PG_SKIP_REASON, PG_URL, Backend, FakeClock


async def _drop_schema(url: str, schema: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
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
