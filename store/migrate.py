"""Alembic driven from code: bring a database to a revision, once, under a lock.

Several bot processes may start at the same moment. On PostgreSQL the migration runs in one
transaction holding an advisory lock; on SQLite in one `BEGIN IMMEDIATE` transaction, which
holds the file's write lock. The second process waits, then finds the database at head and
does nothing. Both databases roll DDL back with the transaction, so a failed migration
leaves nothing half-made.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.engine import writer

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the store's migrations, without an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision that the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        msg = "the store ships no migrations"
        raise RuntimeError(msg)
    return head


def _lock_key(schema: str | None) -> int:
    # One advisory lock per schema, a stable signed 64-bit number.
    digest = hashlib.blake2b(f"mailops.store.migrate:{schema or ''}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


async def _locked(engine: AsyncEngine, schema: str | None, revision: str, up: bool) -> None:
    async with writer(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(schema)}
            )
            if schema is not None:
                # make_engine checked that the name is a plain identifier.
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await connection.run_sync(_run_alembic, revision, up)


def _run_alembic(connection: Connection, revision: str, up: bool) -> None:
    config = alembic_config(connection)
    if up:
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def upgrade(
    engine: AsyncEngine, *, schema: str | None = None, revision: str = "head"
) -> None:
    """Migrate to `revision` (head by default); a no-op when the database is there already.

    Args:
        engine: from `store.engine.make_engine`.
        schema: the PostgreSQL schema the engine was made for (created when missing).
        revision: an Alembic revision id or "head".
    """
    await _locked(engine, schema, revision, up=True)


async def downgrade(engine: AsyncEngine, *, revision: str, schema: str | None = None) -> None:
    """Migrate down to `revision` ("base" drops every table the store made)."""
    await _locked(engine, schema, revision, up=False)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, None when it was never migrated."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)
