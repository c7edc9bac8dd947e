"""Persistence through SQLAlchemy (async): an SQLite file by default, PostgreSQL for replicas.

`await Store.open(url)` migrates the database to head and returns the repositories:
conversation references, approval requests, the audit log, and for the monitor incidents,
silences, watermarks and leader leases. Callers get frozen dataclasses (`store.models`),
never ORM rows. This package imports nothing else of the project.
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
    NotFound,
    StaleVersion,
    StoreError,
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
    "IllegalTransition",
    "Incident",
    "IncidentCache",
    "IncidentChange",
    "IncidentRepository",
    "IncidentState",
    "InvalidInput",
    "Lease",
    "LeaseRepository",
    "NotFound",
    "Observation",
    "Person",
    "Sighting",
    "Silence",
    "SilenceRepository",
    "SilenceScope",
    "StaleVersion",
    "Store",
    "StoreError",
    "SubjectKind",
    "Target",
    "UnsupportedDatabase",
    "Watermark",
    "WatermarkRepository",
    "approval_transition",
    "current_revision",
    "head_revision",
    "incident_transition",
    "make_engine",
    "make_sessionmaker",
    "normalize_url",
    "system_clock",
    "upgrade",
]
