"""`Store`: one object that opens the database, migrates it, and holds the repositories."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from store.approvals import ApprovalRepository
from store.audit import AuditRepository
from store.conversations import ConversationRepository
from store.engine import BUSY_TIMEOUT_S, DEFAULT_URL, Clock, Database, make_engine
from store.errors import StoreError
from store.incidents import IncidentRepository, SilenceRepository
from store.leases import LeaseRepository
from store.migrate import current_revision, head_revision, upgrade
from store.previews import PreviewRepository
from store.watermarks import WatermarkRepository


class Store:
    """The persistence layer: typed repositories over one engine.

    Open it once per process with `await Store.open(url)` and close it on shutdown
    (`await store.close()`, or `async with await Store.open(url) as store:`).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self.conversations = ConversationRepository(db)
        self.approvals = ApprovalRepository(db)
        self.audit = AuditRepository(db)
        self.incidents = IncidentRepository(db)
        self.silences = SilenceRepository(db)
        self.watermarks = WatermarkRepository(db)
        self.leases = LeaseRepository(db)
        self.previews = PreviewRepository(db)

    @classmethod
    async def open(
        cls,
        url: str | URL = DEFAULT_URL,
        *,
        schema: str | None = None,
        clock: Clock | None = None,
        migrate: bool = True,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        echo: bool = False,
    ) -> Self:
        """Connect, bring the schema to head (safe when several processes start at once).

        Args:
            url: SQLite (default `sqlite+aiosqlite:///var/mailops.db`) or PostgreSQL
                (`postgresql+asyncpg://…`); the caller reads `MAILOPS_DB_URL`, not the store.
            schema: PostgreSQL only: the schema for the tables (created when missing).
            clock: the time source for every timestamp (tests); by default the machine's
                clock, and for leases on PostgreSQL the server's.
            migrate: False only checks that the database is at head already.
            busy_timeout_s: SQLite only: how long a writer waits for another process.
            echo: log every statement.

        Raises:
            UnsupportedDatabase: the URL is neither SQLite nor PostgreSQL.
            StoreError: `migrate=False` and the database is not at head.
        """
        engine = make_engine(url, schema=schema, busy_timeout_s=busy_timeout_s, echo=echo)
        try:
            if migrate:
                await upgrade(engine, schema=schema)
            else:
                found, head = await current_revision(engine), head_revision()
                if found != head:
                    msg = f"the database is at revision {found}, this code needs {head}"
                    raise StoreError(msg)
        except BaseException:
            await engine.dispose()
            raise
        return cls(Database(engine, clock))

    @property
    def engine(self) -> AsyncEngine:
        return self._db.engine

    @property
    def dialect(self) -> str:
        """The database: "sqlite" or "postgresql"."""
        return self._db.dialect

    def now(self) -> datetime:
        """The store's clock (aware UTC)."""
        return self._db.now()

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._db.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
