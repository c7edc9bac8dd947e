"""Leader leases: one holder per name (e.g. "monitor:prod") until the lease expires.

Each operation is one atomic statement on both databases. `try_acquire` is
`INSERT … ON CONFLICT (name) DO UPDATE … WHERE leases.expires_at <= :now OR
leases.holder = :holder RETURNING …`: a row comes back only to the holder that now has the
lease. The time is the injected clock if there is one, else PostgreSQL's `now()` (replicas
on several machines then agree on time) or the machine's clock for SQLite (one machine).

A holder renews well within the TTL (a third of it is usual); when it dies, another takes
over once the TTL has passed. `token` grows at every change of holder, so work done under
an older token can be recognised as stale.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, or_, select, update

from store.engine import FRESH, NO_SYNC, Database
from store.errors import InvalidInput
from store.models import Lease
from store.schema import LeaseRow


def _lease(row: LeaseRow) -> Lease:
    return Lease(row.name, row.holder, row.token, row.acquired_at, row.expires_at)


def _check_ttl(ttl: timedelta) -> None:
    if ttl <= timedelta(0):
        msg = f"a lease needs a positive TTL, not {ttl}"
        raise InvalidInput(msg)


class LeaseRepository:
    """Leases; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def try_acquire(self, name: str, holder: str, ttl: timedelta) -> Lease | None:
        """Take the lease if it is free or expired (or extend it if `holder` has it).

        Returns the lease when `holder` has it now, None when someone else does.
        """
        _check_ttl(ttl)
        async with self._db.write() as session:
            now = await self._db.shared_now(session)
            insert = self._db.insert(LeaseRow).values(
                name=name, holder=holder, token=1, acquired_at=now, expires_at=now + ttl
            )
            same_holder = LeaseRow.holder == insert.excluded.holder
            upsert = insert.on_conflict_do_update(
                index_elements=["name"],
                set_={
                    "holder": insert.excluded.holder,
                    "expires_at": insert.excluded.expires_at,
                    "token": case((same_holder, LeaseRow.token), else_=LeaseRow.token + 1),
                    "acquired_at": case(
                        (same_holder, LeaseRow.acquired_at), else_=insert.excluded.acquired_at
                    ),
                },
                where=or_(LeaseRow.expires_at <= now, same_holder),
            ).returning(LeaseRow)
            row = (await session.scalars(upsert, execution_options=FRESH)).one_or_none()
            return None if row is None else _lease(row)

    async def renew(self, name: str, holder: str, ttl: timedelta) -> Lease | None:
        """Extend an unexpired lease that `holder` has; None when it has lost it."""
        _check_ttl(ttl)
        async with self._db.write() as session:
            now = await self._db.shared_now(session)
            statement = (
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.holder == holder, LeaseRow.expires_at > now)
                .values(expires_at=now + ttl)
                .returning(LeaseRow)
            )
            rows = await session.scalars(statement, execution_options={**NO_SYNC, **FRESH})
            row = rows.one_or_none()
            return None if row is None else _lease(row)

    async def release(self, name: str, holder: str) -> bool:
        """Give the lease up now (on shutdown), so that another can take it at once."""
        async with self._db.write() as session:
            now = await self._db.shared_now(session)
            statement = (
                update(LeaseRow)
                .where(LeaseRow.name == name, LeaseRow.holder == holder, LeaseRow.expires_at > now)
                .values(expires_at=now)
                .returning(LeaseRow.name)
            )
            result = await session.execute(statement, execution_options=NO_SYNC)
            return result.first() is not None

    async def current(self, name: str) -> Lease | None:
        """The unexpired lease on `name`, if any."""
        async with self._db.read() as session:
            now = await self._db.shared_now(session)
            query = select(LeaseRow).where(LeaseRow.name == name, LeaseRow.expires_at > now)
            row = (await session.scalars(query)).one_or_none()
            return None if row is None else _lease(row)
