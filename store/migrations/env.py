"""Alembic's environment: runs on the connection that `store.migrate` passes in.

`store.migrate.upgrade` holds the migration lock (an advisory lock on PostgreSQL, the write
lock of `BEGIN IMMEDIATE` on SQLite) and an open transaction on that connection; the
revisions run inside it, so a migration is all or nothing on both databases.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from store.schema import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(_connection, Connection):
    msg = "run the store's migrations through store.migrate (Store.open), with a connection"
    raise RuntimeError(msg)
_run(_connection)
