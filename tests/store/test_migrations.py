"""Migrations: from empty on both databases, idempotent, concurrent, matching the ORM."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from store import Store, StoreError, current_revision, head_revision, make_engine
from store.engine import Database
from store.migrate import downgrade, upgrade
from store.schema import Base
from tests.store.kit import Backend

TABLES = {
    "alembic_version",
    "approval_cards",
    "approval_requests",
    "audit_log",
    "conversation_assignments",
    "conversation_refs",
    "incidents",
    "leases",
    "previews",
    "silences",
    "watermarks",
}


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_from_empty_to_head(backend: Backend) -> None:
    engine = make_engine(backend.url, schema=backend.schema)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine, schema=backend.schema)
        assert await current_revision(engine) == head_revision()
        assert await _tables(engine) == TABLES
    finally:
        await engine.dispose()


async def test_migrating_twice_is_a_no_op(backend: Backend) -> None:
    async with await backend.open() as store:
        await store.watermarks.set("prod", "mailboxes", "2025-06-01T00:00:00Z")
    async with await backend.open() as store:
        assert await current_revision(store.engine) == head_revision()
        assert await _tables(store.engine) == TABLES
        watermark = await store.watermarks.get("prod", "mailboxes")
    assert watermark is not None
    assert watermark.value == "2025-06-01T00:00:00Z"


async def test_migrations_match_the_orm_metadata(backend: Backend) -> None:
    async with await backend.open() as store, store.engine.connect() as connection:
        assert await connection.run_sync(_diff) == []


async def test_down_to_base_and_up_again(backend: Backend) -> None:
    engine = make_engine(backend.url, schema=backend.schema)
    try:
        await upgrade(engine, schema=backend.schema)
        await downgrade(engine, revision="base", schema=backend.schema)
        assert await _tables(engine) == {"alembic_version"}
        await upgrade(engine, schema=backend.schema)
        assert await _tables(engine) == TABLES
    finally:
        await engine.dispose()


async def test_upgrade_from_the_first_revision_adds_previews(backend: Backend) -> None:
    engine = make_engine(backend.url, schema=backend.schema)
    try:
        await upgrade(engine, schema=backend.schema, revision="0001")
        assert await _tables(engine) == TABLES - {"previews"}
        async with Store(Database(engine)) as store:
            await store.watermarks.set("prod", "mailboxes", "kept")
        engine = make_engine(backend.url, schema=backend.schema)
        await upgrade(engine, schema=backend.schema)
        assert await current_revision(engine) == head_revision()
        assert await _tables(engine) == TABLES
        await downgrade(engine, revision="0001", schema=backend.schema)
        assert await _tables(engine) == TABLES - {"previews"}
        async with engine.connect() as connection:
            value = (await connection.execute(text("SELECT value FROM watermarks"))).scalar_one()
        assert value == "kept"
    finally:
        await engine.dispose()


async def test_concurrent_opens_migrate_once(backend: Backend) -> None:
    stores = await asyncio.gather(*(backend.open() for _ in range(4)))
    try:
        for store in stores:
            assert await current_revision(store.engine) == head_revision()
        async with stores[0].engine.connect() as connection:
            versions = (await connection.execute(text("SELECT * FROM alembic_version"))).all()
        assert len(versions) == 1
    finally:
        for store in stores:
            await store.close()


async def test_processes_starting_together_migrate_once(backend: Backend) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from store import Store

        async def main(url: str, schema: str | None) -> None:
            store = await Store.open(url, schema=schema)
            await store.close()

        asyncio.run(main(sys.argv[1], sys.argv[2] or None))
        """
    )
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, backend.url, backend.schema or ""
        )
        for _ in range(3)
    ]
    codes = await asyncio.gather(*(process.wait() for process in processes))
    assert codes == [0, 0, 0]
    async with await backend.open() as store:
        assert await current_revision(store.engine) == head_revision()


async def test_open_without_migrating_needs_head(backend: Backend) -> None:
    with pytest.raises(StoreError, match="revision None"):
        await backend.open(migrate=False)
    async with await backend.open():
        pass
    async with await backend.open(migrate=False) as store:
        assert store.dialect == backend.name
