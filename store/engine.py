"""Engines, sessions and the transaction discipline for SQLite and PostgreSQL.

SQLite is the default (one file, possibly shared by several bot processes on one machine):
WAL so that readers never wait for the writer, foreign keys on, a busy timeout, and
`BEGIN IMMEDIATE` for every write transaction so that two writers queue on the file lock
instead of failing on a read-to-write lock upgrade. PostgreSQL serves several replicas.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, CursorResult, Result, Table, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.errors import InvalidInput, UnsupportedDatabase
from store.schema import Base, UtcDateTime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""

DEFAULT_URL: Final = "sqlite+aiosqlite:///var/mailops.db"
BUSY_TIMEOUT_S: Final = 30.0

_BEGIN_OPTION: Final = "mailops_sqlite_begin"
_BEGIN_MODES: Final = frozenset({"DEFERRED", "IMMEDIATE"})
_SCHEMA_NAME: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_SQLITE_DRIVERS: Final = frozenset({"sqlite", "sqlite+aiosqlite"})
_POSTGRES_DRIVERS: Final = frozenset({"postgresql", "postgres", "postgresql+asyncpg"})


def system_clock() -> datetime:
    """The machine's clock, in UTC."""
    return datetime.now(UTC)


def normalize_url(url: str | URL) -> URL:
    """The async form of a database URL: `sqlite:` → aiosqlite, `postgresql:` → asyncpg.

    Raises:
        UnsupportedDatabase: any other database or driver, or a URL that does not parse.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabase(str(url)) from exc
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed.set(drivername="sqlite+aiosqlite")
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+asyncpg")
    raise UnsupportedDatabase(parsed.render_as_string(hide_password=True))


def _sqlite_in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def make_engine(
    url: str | URL = DEFAULT_URL,
    *,
    schema: str | None = None,
    busy_timeout_s: float = BUSY_TIMEOUT_S,
    echo: bool = False,
) -> AsyncEngine:
    """An async engine for `url`, set up for its database.

    Args:
        url: `sqlite+aiosqlite:///PATH` (the parent folder is created) or
            `postgresql+asyncpg://USER@HOST:PORT/DB`; the sync spellings are accepted.
        schema: PostgreSQL only: the schema that holds the tables (it becomes the
            connection's `search_path`); `Store.open` creates it when it is missing.
        busy_timeout_s: SQLite only: how long a writer waits for another process's lock.
        echo: log every statement (debugging).

    Raises:
        UnsupportedDatabase: the URL is neither SQLite nor PostgreSQL.
        InvalidInput: a schema for SQLite, or a schema name that is not a plain identifier.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            msg = "a schema is a PostgreSQL setting; SQLite keeps one file per database"
            raise InvalidInput(msg)
        return _sqlite_engine(parsed, busy_timeout_s=busy_timeout_s, echo=echo)
    server_settings = {"application_name": "mailops"}
    if schema is not None:
        if not _SCHEMA_NAME.fullmatch(schema):
            msg = f"schema name {schema!r} must be a lower-case identifier"
            raise InvalidInput(msg)
        server_settings["search_path"] = schema
    return create_async_engine(
        parsed,
        echo=echo,
        pool_pre_ping=True,
        connect_args={"server_settings": server_settings},
    )


def _use_wal(cursor: Any, busy_timeout_s: float) -> None:
    """Switch the file to WAL (it stays so). Switching needs the file to itself, and SQLite
    answers "database is locked" at once, without the busy timeout, while another
    connection holds it: several processes opening a new database together meet exactly
    that. Asked again until the file is in WAL (someone else may have switched it)."""
    deadline = time.monotonic() + busy_timeout_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        # Only a connection's first moments on a new file; a short blocking wait.
        time.sleep(0.02)


def _sqlite_engine(url: URL, *, busy_timeout_s: float, echo: bool) -> AsyncEngine:
    in_memory = _sqlite_in_memory(url)
    if not in_memory and url.database and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": busy_timeout_s})
    busy_ms = int(busy_timeout_s * 1000)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling would skip BEGIN for SELECT and DDL;
        # on_begin below emits BEGIN itself (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                _use_wal(cursor, busy_timeout_s)
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        if mode not in _BEGIN_MODES:
            msg = f"unknown SQLite BEGIN mode {mode!r}"
            raise InvalidInput(msg)
        connection.exec_driver_sql(f"BEGIN {mode}")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)
    return engine


def writer(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) whose transactions take the write lock up front on SQLite."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


UpsertInsert = postgresql.Insert | sqlite.Insert

# Bulk UPDATE and DELETE need not keep a session's objects in step: sessions are short.
NO_SYNC: Final[dict[str, Any]] = {"synchronize_session": False}
# An upsert's RETURNING must replace, not reuse, an object the session already holds.
FRESH: Final[dict[str, Any]] = {"populate_existing": True}


def rowcount(result: Result[Any]) -> int:
    """The number of rows an UPDATE or DELETE matched."""
    if not isinstance(result, CursorResult):  # pragma: no cover - DML always has a cursor
        msg = f"{type(result).__name__} has no row count"
        raise TypeError(msg)
    return result.rowcount


class Database:
    """An engine, the clock, and the two kinds of transaction every repository uses."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.dialect: Final[str] = engine.dialect.name
        self._clock = clock
        self._readers = make_sessionmaker(engine)
        self._writers = make_sessionmaker(writer(engine))

    def now(self) -> datetime:
        """The injected clock, else the machine's clock; always aware UTC."""
        value = (self._clock or system_clock)()
        if value.tzinfo is None:
            msg = "the clock returned a naive datetime"
            raise InvalidInput(msg)
        return value.astimezone(UTC)

    async def shared_now(self, session: AsyncSession) -> datetime:
        """The time that all replicas agree on: the injected clock, else the database's.

        SQLite replicas share one machine, so its clock is the machine's clock; PostgreSQL
        replicas may run on several machines, so the server's `now()` decides.
        """
        if self._clock is None and self.dialect == "postgresql":
            value = (await session.execute(select(func.now(type_=UtcDateTime())))).scalar_one()
            if not isinstance(value, datetime):  # pragma: no cover - the driver's contract
                msg = f"now() returned {value!r}"
                raise TypeError(msg)
            return value
        return self.now()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read transaction (on SQLite: deferred, so it never waits for a writer)."""
        async with self._readers() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, committed on leaving the block, rolled back on an error."""
        async with self._writers() as session, session.begin():
            yield session

    def insert(self, entity: type[Base] | Table) -> UpsertInsert:
        """An INSERT that knows this database's ON CONFLICT clause (a mapped class goes
        through the ORM; a table is plain Core, without the ORM's bookkeeping per row)."""
        if self.dialect == "postgresql":
            return postgresql.insert(entity)
        return sqlite.insert(entity)
