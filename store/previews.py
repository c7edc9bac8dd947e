"""Bulk-change previews waiting for Confirm or Cancel: single use, short-lived, and seen by
every replica (a Confirm may reach another process than the one that showed the preview).

The record is JSON that the dialogs write and read back; the store does not look inside.
`take` is one statement on both databases, `DELETE … WHERE token = :token RETURNING …`: of
two replicas taking the same token at the same moment, exactly one gets the row back (on
PostgreSQL the second waits for the first's row lock and then finds the row gone; SQLite
runs one writer at a time). A preview whose time is up is deleted by `take` all the same,
and never returned. Expired previews that nobody takes are removed by `add`, a bounded
number per call, oldest first, so that no call pays for a long backlog.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select

from store.engine import NO_SYNC, Database
from store.errors import InvalidInput
from store.models import JSONObject
from store.schema import TOKEN_LEN, PreviewRow

PURGE_BATCH: Final = 100
"""How many expired previews one `add` removes at most."""


class PreviewRepository:
    """Open previews by token; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def now(self) -> datetime:
        """The store's clock, which decides expiry (aware UTC)."""
        return self._db.now()

    async def add(self, token: str, record: Mapping[str, Any], expires_at: datetime) -> None:
        """Keep `record` under a new `token` until `expires_at`.

        Raises:
            InvalidInput: an empty or over-long token, a naive or past expiry time.
        """
        if not token or len(token) > TOKEN_LEN:
            msg = f"a preview token must have 1 to {TOKEN_LEN} characters"
            raise InvalidInput(msg)
        if expires_at.tzinfo is None:
            msg = "a preview's expiry time must be timezone-aware"
            raise InvalidInput(msg)
        now = self._db.now()
        if expires_at <= now:
            msg = f"a preview must expire after now ({now.isoformat()})"
            raise InvalidInput(msg)
        expired = (
            select(PreviewRow.token)
            .where(PreviewRow.expires_at <= now)
            .order_by(PreviewRow.expires_at)
            .limit(PURGE_BATCH)
            # PostgreSQL: rows another replica is purging right now are left to it.
            .with_for_update(skip_locked=True)
        )
        async with self._db.write() as session:
            await session.execute(
                delete(PreviewRow).where(PreviewRow.token.in_(expired)),
                execution_options=NO_SYNC,
            )
            session.add(
                PreviewRow(token=token, record=dict(record), created_at=now, expires_at=expires_at)
            )

    async def take(self, token: str) -> JSONObject | None:
        """The record kept under `token`, removed; None when there is none, it was taken
        already, or its time is up."""
        statement = (
            delete(PreviewRow)
            .where(PreviewRow.token == token)
            .returning(PreviewRow.record, PreviewRow.expires_at)
        )
        async with self._db.write() as session:
            now = self._db.now()
            row = (await session.execute(statement, execution_options=NO_SYNC)).one_or_none()
        if row is None or row.expires_at <= now:
            return None
        return dict(row.record)
