"""Initial schema: conversations, approvals, audit log, incidents, silences, watermarks, leases.

Revision ID: 0001
Revises:
Create Date: 2025-06-01

Written by hand (types spelled out here, not imported from the ORM, so that later changes
to `store.schema` cannot change what this revision did).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = 64
_NAME = 256
_CONVERSATION = 1024


def _ts(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.JSON(none_as_null=True), nullable=nullable)


def _audit_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


_APPEND_ONLY_POSTGRESQL = (
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
)
_APPEND_ONLY_SQLITE = (
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
)


def upgrade() -> None:
    op.create_table(
        "conversation_refs",
        sa.Column("tenant_id", sa.String(_ID), nullable=False),
        sa.Column("conversation_id", sa.String(_CONVERSATION), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_object_id", sa.String(_ID), nullable=True),
        _json("reference", nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.CheckConstraint(
            "kind IN ('personal', 'groupChat', 'channel')", name="ck_conversation_refs_kind"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "conversation_id", name="pk_conversation_refs"),
    )
    op.create_index("ix_conversation_refs_user_object_id", "conversation_refs", ["user_object_id"])

    op.create_table(
        "conversation_assignments",
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("tenant_id", sa.String(_ID), nullable=False),
        sa.Column("conversation_id", sa.String(_CONVERSATION), nullable=False),
        sa.Column("assigned_by_object_id", sa.String(_ID), nullable=False),
        sa.Column("assigned_by_name", sa.String(_NAME), nullable=False),
        _ts("assigned_at"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversation_refs.tenant_id", "conversation_refs.conversation_id"],
            name="fk_conversation_assignments_tenant_id_conversation_refs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("purpose", name="pk_conversation_assignments"),
    )

    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        _json("parameters", nullable=False),
        sa.Column("target_mailbox_id", sa.String(_ID), nullable=False),
        sa.Column("target_display", sa.String(_NAME), nullable=False),
        sa.Column("requester_object_id", sa.String(_ID), nullable=False),
        sa.Column("requester_name", sa.String(_NAME), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("remind_at", nullable=True),
        _ts("reminder_sent_at", nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("decided_by_object_id", sa.String(_ID), nullable=True),
        sa.Column("decided_by_name", sa.String(_NAME), nullable=True),
        sa.Column("outcome_detail", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected', 'expired', 'failed')",
            name="ck_approval_requests_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approval_requests"),
    )
    op.create_index(
        "ix_approval_requests_state_expires_at", "approval_requests", ["state", "expires_at"]
    )
    op.create_index(
        "ix_approval_requests_requester_object_id",
        "approval_requests",
        ["requester_object_id", "created_at"],
    )

    op.create_table(
        "approval_cards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.String(_ID), nullable=False),
        sa.Column("conversation_id", sa.String(_CONVERSATION), nullable=False),
        sa.Column("activity_id", sa.String(_NAME), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("recipient_object_id", sa.String(_ID), nullable=True),
        _ts("sent_at"),
        sa.CheckConstraint("role IN ('requester', 'approver')", name="ck_approval_cards_role"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["approval_requests.id"],
            name="fk_approval_cards_request_id_approval_requests",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_approval_cards"),
    )
    op.create_index(
        "uq_approval_cards_copy",
        "approval_cards",
        ["request_id", "tenant_id", "conversation_id", "activity_id"],
        unique=True,
    )
    op.create_index(
        "ix_approval_cards_recipient_object_id", "approval_cards", ["recipient_object_id"]
    )

    op.create_table(
        "audit_log",
        sa.Column("id", _audit_id(), autoincrement=True, nullable=False),
        _ts("at"),
        sa.Column("actor_object_id", sa.String(_ID), nullable=False),
        sa.Column("actor_name", sa.String(_NAME), nullable=False),
        sa.Column("on_behalf_of_object_id", sa.String(_ID), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_kind", sa.String(32), nullable=True),
        sa.Column("target_id", sa.String(_NAME), nullable=True),
        sa.Column("target_display", sa.String(_NAME), nullable=True),
        sa.Column("environment", sa.String(64), nullable=True),
        _json("before_values", nullable=True),
        _json("after_values", nullable=True),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.Column("approval_request_id", sa.Uuid(), nullable=True),
        sa.Column("undoes_id", _audit_id(), nullable=True),
        sa.CheckConstraint("result IN ('ok', 'denied', 'failed')", name="ck_audit_log_result"),
        sa.ForeignKeyConstraint(
            ["approval_request_id"],
            ["approval_requests.id"],
            name="fk_audit_log_approval_request_id_approval_requests",
        ),
        sa.ForeignKeyConstraint(
            ["undoes_id"], ["audit_log.id"], name="fk_audit_log_undoes_id_audit_log"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_target_id", "audit_log", ["target_id", "id"])
    op.create_index("ix_audit_log_actor_object_id", "audit_log", ["actor_object_id", "id"])
    op.create_index(
        "ix_audit_log_on_behalf_of_object_id", "audit_log", ["on_behalf_of_object_id", "id"]
    )
    op.create_index(
        "uq_audit_log_undoes_id",
        "audit_log",
        ["undoes_id"],
        unique=True,
        sqlite_where=sa.text("result = 'ok'"),
        postgresql_where=sa.text("result = 'ok'"),
    )
    dialect = op.get_context().dialect.name
    for statement in _APPEND_ONLY_POSTGRESQL if dialect == "postgresql" else _APPEND_ONLY_SQLITE:
        op.execute(statement)

    op.create_table(
        "silences",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("environment", sa.String(64), nullable=True),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_value", sa.String(_NAME), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_object_id", sa.String(_ID), nullable=False),
        sa.Column("created_by_name", sa.String(_NAME), nullable=False),
        _ts("created_at"),
        _ts("expires_at"),
        _ts("lifted_at", nullable=True),
        sa.Column("lifted_by_object_id", sa.String(_ID), nullable=True),
        sa.Column("lifted_by_name", sa.String(_NAME), nullable=True),
        sa.CheckConstraint(
            "scope_kind IN ('mailbox', 'profile', 'error_code')", name="ck_silences_scope_kind"
        ),
        sa.CheckConstraint("length(trim(reason)) > 0", name="ck_silences_reason"),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_scope_kind", "silences", ["scope_kind", "scope_value"])
    op.create_index("ix_silences_expires_at", "silences", ["expires_at"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(_ID), nullable=False),
        sa.Column("subject_display", sa.String(_NAME), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=False),
        sa.Column("error_text", sa.Text(), nullable=True),
        sa.Column("group_key", sa.String(128), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("first_seen"),
        _ts("last_seen"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by_object_id", sa.String(_ID), nullable=True),
        sa.Column("acknowledged_by_name", sa.String(_NAME), nullable=True),
        _ts("acknowledged_at", nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        _ts("last_notified_at", nullable=True),
        sa.Column("card_tenant_id", sa.String(_ID), nullable=True),
        sa.Column("card_conversation_id", sa.String(_CONVERSATION), nullable=True),
        sa.Column("card_activity_id", sa.String(_NAME), nullable=True),
        sa.Column("silenced_by", sa.Uuid(), nullable=True),
        _ts("resolved_at", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "state IN ('firing', 'acknowledged', 'resolved')", name="ck_incidents_state"
        ),
        sa.CheckConstraint(
            "subject_kind IN ('mailbox', 'profile')", name="ck_incidents_subject_kind"
        ),
        sa.ForeignKeyConstraint(
            ["silenced_by"],
            ["silences.id"],
            name="fk_incidents_silenced_by_silences",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incidents"),
    )
    op.create_index(
        "uq_incidents_open_key",
        "incidents",
        ["environment", "subject_kind", "subject_id", "error_code"],
        unique=True,
        sqlite_where=sa.text("state <> 'resolved'"),
        postgresql_where=sa.text("state <> 'resolved'"),
    )
    op.create_index("ix_incidents_group_key", "incidents", ["environment", "group_key"])
    op.create_index("ix_incidents_state", "incidents", ["state"])

    op.create_table(
        "watermarks",
        sa.Column("environment", sa.String(64), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("environment", "stream", name="pk_watermarks"),
    )

    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        _ts("acquired_at"),
        _ts("expires_at"),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    for table in ("leases", "watermarks", "incidents", "silences"):
        op.drop_table(table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    for table in (
        "audit_log",
        "approval_cards",
        "approval_requests",
        "conversation_assignments",
        "conversation_refs",
    ):
        op.drop_table(table)
