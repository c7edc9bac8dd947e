"""The ORM tables. Private to the package: repositories turn rows into `store.models` values.

The migrations in `store/migrations/versions/` are written by hand and must produce exactly
this metadata (a test runs alembic's `compare_metadata` on both databases).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION: Final[dict[str, str]] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Generous bounds: Entra object ids and Dataverse ids are GUIDs, Teams conversation ids of
# channels with a reply thread run to a few hundred characters.
ID_LEN: Final = 64
NAME_LEN: Final = 256
CONVERSATION_LEN: Final = 1024
# A preview's token is what its card carries (dialogs make it from 18 random bytes).
TOKEN_LEN: Final = 64


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases.

    PostgreSQL stores `timestamptz`; SQLite stores naive UTC text, which sorts and compares
    correctly as long as every value goes through this type.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = f"naive datetime {value.isoformat()}: the store only takes aware datetimes"
            raise ValueError(msg)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _json() -> JSON:
    # none_as_null: Python None becomes SQL NULL, not the JSON text 'null'.
    return JSON(none_as_null=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


CONVERSATION_KINDS: Final = ("personal", "groupChat", "channel")
APPROVAL_STATES: Final = ("pending", "approved", "rejected", "expired", "failed")
CARD_ROLES: Final = ("requester", "approver")
AUDIT_RESULTS: Final = ("ok", "denied", "failed")
INCIDENT_STATES: Final = ("firing", "acknowledged", "resolved")
SUBJECT_KINDS: Final = ("mailbox", "profile")
SILENCE_SCOPES: Final = ("mailbox", "profile", "error_code")

AuditId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


class ConversationRow(Base):
    __tablename__ = "conversation_refs"
    __table_args__ = (
        CheckConstraint(_in("kind", CONVERSATION_KINDS), name="kind"),
        Index("ix_conversation_refs_user_object_id", "user_object_id"),
    )

    tenant_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(CONVERSATION_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_object_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    reference: Mapped[dict[str, Any]] = mapped_column(_json())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AssignmentRow(Base):
    """A conversation with a purpose: the on-call channel, the approvers channel."""

    __tablename__ = "conversation_assignments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversation_refs.tenant_id", "conversation_refs.conversation_id"],
            ondelete="CASCADE",
        ),
    )

    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(ID_LEN))
    conversation_id: Mapped[str] = mapped_column(String(CONVERSATION_LEN))
    assigned_by_object_id: Mapped[str] = mapped_column(String(ID_LEN))
    assigned_by_name: Mapped[str] = mapped_column(String(NAME_LEN))
    assigned_at: Mapped[datetime]


class ApprovalRow(Base):
    __tablename__ = "approval_requests"
    __table_args__ = (
        CheckConstraint(_in("state", APPROVAL_STATES), name="state"),
        Index("ix_approval_requests_state_expires_at", "state", "expires_at"),
        Index("ix_approval_requests_requester_object_id", "requester_object_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    environment: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(_json())
    target_mailbox_id: Mapped[str] = mapped_column(String(ID_LEN))
    target_display: Mapped[str] = mapped_column(String(NAME_LEN))
    requester_object_id: Mapped[str] = mapped_column(String(ID_LEN))
    requester_name: Mapped[str] = mapped_column(String(NAME_LEN))
    reason: Mapped[str | None] = mapped_column(Text())
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by_object_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    decided_by_name: Mapped[str | None] = mapped_column(String(NAME_LEN))
    outcome_detail: Mapped[str | None] = mapped_column(Text())
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer())


class ApprovalCardRow(Base):
    __tablename__ = "approval_cards"
    __table_args__ = (
        CheckConstraint(_in("role", CARD_ROLES), name="role"),
        Index(
            "uq_approval_cards_copy",
            "request_id",
            "tenant_id",
            "conversation_id",
            "activity_id",
            unique=True,
        ),
        Index("ix_approval_cards_recipient_object_id", "recipient_object_id"),
    )

    id: Mapped[int] = mapped_column(Integer(), primary_key=True, autoincrement=True)
    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid(), ForeignKey("approval_requests.id", ondelete="CASCADE")
    )
    tenant_id: Mapped[str] = mapped_column(String(ID_LEN))
    conversation_id: Mapped[str] = mapped_column(String(CONVERSATION_LEN))
    activity_id: Mapped[str] = mapped_column(String(NAME_LEN))
    role: Mapped[str] = mapped_column(String(16))
    recipient_object_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    sent_at: Mapped[datetime]


class AuditRow(Base):
    """Append-only: triggers (created by the migration) refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_in("result", AUDIT_RESULTS), name="result"),
        Index("ix_audit_log_target_id", "target_id", "id"),
        Index("ix_audit_log_actor_object_id", "actor_object_id", "id"),
        Index("ix_audit_log_on_behalf_of_object_id", "on_behalf_of_object_id", "id"),
        # At most one successful undo per entry, even with two concurrent undo clicks.
        Index(
            "uq_audit_log_undoes_id",
            "undoes_id",
            unique=True,
            sqlite_where=text("result = 'ok'"),
            postgresql_where=text("result = 'ok'"),
        ),
    )

    id: Mapped[int] = mapped_column(AuditId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor_object_id: Mapped[str] = mapped_column(String(ID_LEN))
    actor_name: Mapped[str] = mapped_column(String(NAME_LEN))
    on_behalf_of_object_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(NAME_LEN))
    target_display: Mapped[str | None] = mapped_column(String(NAME_LEN))
    environment: Mapped[str | None] = mapped_column(String(64))
    before_values: Mapped[dict[str, Any] | None] = mapped_column(_json())
    after_values: Mapped[dict[str, Any] | None] = mapped_column(_json())
    result: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text())
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    approval_request_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid(), ForeignKey("approval_requests.id")
    )
    undoes_id: Mapped[int | None] = mapped_column(AuditId, ForeignKey("audit_log.id"))


class SilenceRow(Base):
    __tablename__ = "silences"
    __table_args__ = (
        CheckConstraint(_in("scope_kind", SILENCE_SCOPES), name="scope_kind"),
        CheckConstraint("length(trim(reason)) > 0", name="reason"),
        Index("ix_silences_scope_kind", "scope_kind", "scope_value"),
        Index("ix_silences_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    environment: Mapped[str | None] = mapped_column(String(64))
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_value: Mapped[str] = mapped_column(String(NAME_LEN))
    reason: Mapped[str] = mapped_column(Text())
    created_by_object_id: Mapped[str] = mapped_column(String(ID_LEN))
    created_by_name: Mapped[str] = mapped_column(String(NAME_LEN))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    lifted_by_object_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    lifted_by_name: Mapped[str | None] = mapped_column(String(NAME_LEN))


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(_in("state", INCIDENT_STATES), name="state"),
        CheckConstraint(_in("subject_kind", SUBJECT_KINDS), name="subject_kind"),
        # The incident key is unique among open incidents; resolved ones stay as history.
        Index(
            "uq_incidents_open_key",
            "environment",
            "subject_kind",
            "subject_id",
            "error_code",
            unique=True,
            sqlite_where=text("state <> 'resolved'"),
            postgresql_where=text("state <> 'resolved'"),
        ),
        Index("ix_incidents_group_key", "environment", "group_key"),
        Index("ix_incidents_state", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True)
    environment: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(ID_LEN))
    subject_display: Mapped[str] = mapped_column(String(NAME_LEN))
    error_code: Mapped[str] = mapped_column(String(64))
    error_text: Mapped[str | None] = mapped_column(Text())
    group_key: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer())
    acknowledged_by_object_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    acknowledged_by_name: Mapped[str | None] = mapped_column(String(NAME_LEN))
    acknowledged_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(Integer())
    last_notified_at: Mapped[datetime | None]
    card_tenant_id: Mapped[str | None] = mapped_column(String(ID_LEN))
    card_conversation_id: Mapped[str | None] = mapped_column(String(CONVERSATION_LEN))
    card_activity_id: Mapped[str | None] = mapped_column(String(NAME_LEN))
    silenced_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid(), ForeignKey("silences.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer())


class WatermarkRow(Base):
    __tablename__ = "watermarks"

    environment: Mapped[str] = mapped_column(String(64), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text())
    updated_at: Mapped[datetime]


class LeaseRow(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(BigInteger())
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class PreviewRow(Base):
    """A bulk-change preview waiting for Confirm or Cancel: single use, short-lived."""

    __tablename__ = "previews"
    __table_args__ = (Index("ix_previews_expires_at", "expires_at"),)

    token: Mapped[str] = mapped_column(String(TOKEN_LEN), primary_key=True)
    record: Mapped[dict[str, Any]] = mapped_column(_json())
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
