"""Bulk-change previews: kept in the database, so that any replica can confirm them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Written by hand (types spelled out here, not imported from the ORM, so that later changes
to `store.schema` cannot change what this revision did).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "previews",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("record", sa.JSON(none_as_null=True), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("token", name="pk_previews"),
    )
    op.create_index("ix_previews_expires_at", "previews", ["expires_at"])


def downgrade() -> None:
    op.drop_table("previews")
