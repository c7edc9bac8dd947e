"""The values the store hands to its callers: frozen dataclasses and string enums.

Callers never see ORM rows. Timestamps are timezone-aware UTC. The two state machines
(approval requests and incidents) live here as data plus one pure function each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from store.errors import IllegalTransition

JSONObject = dict[str, Any]


class ConversationKind(StrEnum):
    """`conversation.conversationType` as Teams sends it."""

    PERSONAL = "personal"
    GROUP_CHAT = "groupChat"
    CHANNEL = "channel"


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    FAILED = "failed"


class CardRole(StrEnum):
    """Whom a copy of an approval card was sent to."""

    REQUESTER = "requester"
    APPROVER = "approver"


class AuditResult(StrEnum):
    OK = "ok"
    DENIED = "denied"
    FAILED = "failed"


class IncidentState(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class SubjectKind(StrEnum):
    """What an incident is about."""

    MAILBOX = "mailbox"
    PROFILE = "profile"


class SilenceScope(StrEnum):
    MAILBOX = "mailbox"
    PROFILE = "profile"
    ERROR_CODE = "error_code"


APPROVAL_TRANSITIONS: Final[Mapping[ApprovalState, frozenset[ApprovalState]]] = {
    ApprovalState.PENDING: frozenset(
        {
            ApprovalState.APPROVED,
            ApprovalState.REJECTED,
            ApprovalState.EXPIRED,
            ApprovalState.FAILED,
        }
    ),
    ApprovalState.APPROVED: frozenset(),
    ApprovalState.REJECTED: frozenset(),
    ApprovalState.EXPIRED: frozenset(),
    ApprovalState.FAILED: frozenset(),
}

INCIDENT_TRANSITIONS: Final[Mapping[IncidentState, frozenset[IncidentState]]] = {
    IncidentState.FIRING: frozenset({IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED}),
    IncidentState.ACKNOWLEDGED: frozenset({IncidentState.RESOLVED}),
    IncidentState.RESOLVED: frozenset(),
}


def approval_transition(current: ApprovalState, target: ApprovalState) -> ApprovalState:
    """Return `target` if an approval request may move there from `current`.

    Raises:
        IllegalTransition: anything but pending → approved | rejected | expired | failed.
    """
    if target not in APPROVAL_TRANSITIONS[current]:
        raise IllegalTransition("approval request", current, target)
    return target


def incident_transition(current: IncidentState, target: IncidentState) -> IncidentState:
    """Return `target` if an incident may move there from `current`.

    Raises:
        IllegalTransition: anything but firing → acknowledged → resolved, firing → resolved.
    """
    if target not in INCIDENT_TRANSITIONS[current]:
        raise IllegalTransition("incident", current, target)
    return target


@dataclass(frozen=True, slots=True)
class Person:
    """An Entra user: object id and display name."""

    object_id: str
    name: str


@dataclass(frozen=True, slots=True)
class Target:
    """What an audited action was about (`kind` is e.g. "mailbox", "profile", "user")."""

    kind: str
    id: str
    display: str


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """A Teams conversation: tenant id and `conversation.id`."""

    tenant_id: str
    conversation_id: str


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """A stored conversation reference; `reference` is botbuilder's `ref.serialize()`."""

    key: ConversationKey
    kind: ConversationKind
    reference: JSONObject
    user_object_id: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """A routed approval request. `version` grows with every change to the row."""

    id: UUID
    environment: str
    action: str
    parameters: JSONObject
    target_mailbox_id: str
    target_display: str
    requester: Person
    reason: str | None
    state: ApprovalState
    created_at: datetime
    expires_at: datetime
    remind_at: datetime | None
    reminder_sent_at: datetime | None
    decided_at: datetime | None
    decided_by: Person | None
    outcome_detail: str | None
    correlation_id: str | None
    version: int


@dataclass(frozen=True, slots=True)
class ApprovalCard:
    """One copy of an approval card: where it was sent, so that it can be updated."""

    request_id: UUID
    conversation: ConversationKey
    activity_id: str
    role: CardRole
    recipient_object_id: str | None
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to a decision attempt: `won` is true for the one caller that decided.

    A loser gets the request as it is now (decided by someone else, or expired).
    """

    won: bool
    request: ApprovalRequest


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: Person
    on_behalf_of: str | None
    action: str
    target: Target | None
    environment: str | None
    before: JSONObject | None
    after: JSONObject | None
    result: AuditResult
    detail: str | None
    correlation_id: str | None
    approval_request_id: UUID | None
    undoes: int | None


@dataclass(frozen=True, slots=True)
class CardLocation:
    """Where a card was posted: the conversation and the activity id to update."""

    conversation: ConversationKey
    activity_id: str


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident, keyed by environment + subject + error code while it is open."""

    id: UUID
    environment: str
    subject_kind: SubjectKind
    subject_id: str
    subject_display: str
    error_code: str
    error_text: str | None
    group_key: str | None
    state: IncidentState
    first_seen: datetime
    last_seen: datetime
    count: int
    acknowledged_by: Person | None
    acknowledged_at: datetime | None
    escalation_level: int
    last_notified_at: datetime | None
    card: CardLocation | None
    silenced_by: UUID | None
    resolved_at: datetime | None
    version: int


@dataclass(frozen=True, slots=True)
class Sighting:
    """One failure to report with `IncidentRepository.observe_many`."""

    subject_kind: SubjectKind
    subject_id: str
    subject_display: str
    error_code: str
    error_text: str | None = None
    group_key: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """The result of reporting a failure: the incident, and whether this report opened it."""

    incident: Incident
    opened: bool


@dataclass(frozen=True, slots=True)
class IncidentChange:
    """The result of an incident move: `applied` is false when someone else got there first."""

    applied: bool
    incident: Incident


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence; `environment` None means every environment."""

    id: UUID
    environment: str | None
    scope: SilenceScope
    value: str
    reason: str
    created_by: Person
    created_at: datetime
    expires_at: datetime
    lifted_at: datetime | None
    lifted_by: Person | None


@dataclass(frozen=True, slots=True)
class Watermark:
    environment: str
    stream: str
    value: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Lease:
    """A held lease. `token` grows each time the holder changes (a fencing token)."""

    name: str
    holder: str
    token: int
    acquired_at: datetime
    expires_at: datetime
