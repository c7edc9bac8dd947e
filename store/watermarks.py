"""Watermarks: how far the monitor has read each stream of each environment.

A stream is e.g. "mailboxes.modifiedon", "tracelogs.modifiedon" or a change-tracking delta
token; the value is opaque text to the store.
"""

from __future__ import annotations

from sqlalchemy import select

from store.engine import FRESH, Database
from store.models import Watermark
from store.schema import WatermarkRow


def _watermark(row: WatermarkRow) -> Watermark:
    return Watermark(row.environment, row.stream, row.value, row.updated_at)


class WatermarkRepository:
    """One value per environment and stream."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, environment: str, stream: str) -> Watermark | None:
        async with self._db.read() as session:
            row = await session.get(WatermarkRow, (environment, stream))
            return None if row is None else _watermark(row)

    async def set(self, environment: str, stream: str, value: str) -> Watermark:
        """Store the new value (insert or replace)."""
        insert = self._db.insert(WatermarkRow).values(
            environment=environment, stream=stream, value=value, updated_at=self._db.now()
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["environment", "stream"],
            set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
        ).returning(WatermarkRow)
        async with self._db.write() as session:
            return _watermark((await session.scalars(upsert, execution_options=FRESH)).one())

    async def all(self, environment: str) -> list[Watermark]:
        query = (
            select(WatermarkRow)
            .where(WatermarkRow.environment == environment)
            .order_by(WatermarkRow.stream)
        )
        async with self._db.read() as session:
            return [_watermark(row) for row in await session.scalars(query)]
