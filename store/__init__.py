"""Persistence through SQLAlchemy (async): an SQLite file by default, PostgreSQL for replicas.

`await Store.open(url)` migrates the database to head and returns the repositories:
conversation references, approval requests, the audit log, bulk-change previews waiting
for Confirm, and for the monitor incidents, silences, watermarks and leader leases. Callers
get frozen dataclasses (`store.models`), never ORM rows. This package imports nothing else
of the project.

Two things here are not persisted but shared by the monitor and the dialogs (which may not
import the monitor): the on-call schedule (`store.oncall`), and the errors of the incident
card's buttons (`UnknownIncident`, `InvalidSilence`).
"""

from __future__ import annotations

from store.approvals import ApprovalRepository
from store.audit import AuditRepository
from store.conversations import APPROVERS, ON_CALL, ConversationRepository
from store.engine import (
    BUSY_TIMEOUT_S,
    DEFAULT_URL,
    Clock,
    make_engine,
    make_sessionmaker,
    normalize_url,
    system_clock,
)
from store.errors import (
    AlreadyUndone,
    IllegalTransition,
    InvalidInput,
    InvalidSilence,
    NotFound,
    StaleVersion,
    StoreError,
    UnknownIncident,
    UnsupportedDatabase,
)
from store.incidents import IncidentCache, IncidentRepository, SilenceRepository
from store.leases import LeaseRepository
from store.migrate import current_revision, head_revision, upgrade
from store.models import (
    APPROVAL_TRANSITIONS,
    INCIDENT_TRANSITIONS,
    ApprovalCard,
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    AuditResult,
    CardLocation,
    CardRole,
    ConversationKey,
    ConversationKind,
    ConversationRef,
    Decision,
    Incident,
    IncidentChange,
    IncidentState,
    Lease,
    Observation,
    Person,
    Sighting,
    Silence,
    SilenceScope,
    SubjectKind,
    Target,
    Watermark,
    approval_transition,
    incident_transition,
)
from store.oncall import (
    FixedList,
    Handover,
    OnCallSchedule,
    Responder,
    Rotation,
    escalation_order,
    who_is_on_call,
)
from store.previews import PreviewRepository
from store.store import Store
from store.watermarks import WatermarkRepository

__all__ = [
    "APPROVAL_TRANSITIONS",
    "APPROVERS",
    "BUSY_TIMEOUT_S",
    "DEFAULT_URL",
    "INCIDENT_TRANSITIONS",
    "ON_CALL",
    "AlreadyUndone",
    "ApprovalCard",
    "ApprovalRepository",
    "ApprovalRequest",
    "ApprovalState",
    "AuditEntry",
    "AuditRepository",
    "AuditResult",
    "CardLocation",
    "CardRole",
    "Clock",
    "ConversationKey",
    "ConversationKind",
    "ConversationRef",
    "ConversationRepository",
    "Decision",
    "FixedList",
    "Handover",
    "IllegalTransition",
    "Incident",
    "IncidentCache",
    "IncidentChange",
    "IncidentRepository",
    "IncidentState",
    "InvalidInput",
    "InvalidSilence",
    "Lease",
    "LeaseRepository",
    "NotFound",
    "Observation",
    "OnCallSchedule",
    "Person",
    "PreviewRepository",
    "Responder",
    "Rotation",
    "Sighting",
    "Silence",
    "SilenceRepository",
    "SilenceScope",
    "StaleVersion",
    "Store",
    "StoreError",
    "SubjectKind",
    "Target",
    "UnknownIncident",
    "UnsupportedDatabase",
    "Watermark",
    "WatermarkRepository",
    "approval_transition",
    "current_revision",
    "escalation_order",
    "head_revision",
    "incident_transition",
    "make_engine",
    "make_sessionmaker",
    "normalize_url",
    "system_clock",
    "upgrade",
    "who_is_on_call",
]
