"""Routed approval requests: the state machine, the at-most-once decision, the card copies.

Every move out of `pending` is one compare-and-set statement
(`UPDATE … SET state = :new … WHERE id = :id AND state = 'pending'`), so that of two
approvers clicking at the same moment, in one process or two, exactly one wins; the other
is told who did. Approve and reject also require the request to be unexpired at that
instant; a click on a request whose time is up expires it instead.

`failed` is for a request that cannot be carried out when it is decided (the mailbox is
gone, the requester left); the result of the Dataverse write made after an approval goes
to `record_outcome` and to the audit log, since `approved` is final.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.engine import FRESH, NO_SYNC, Database
from store.errors import InvalidInput, NotFound, StaleVersion
from store.models import (
    ApprovalCard,
    ApprovalRequest,
    ApprovalState,
    CardRole,
    ConversationKey,
    Decision,
    Person,
    approval_transition,
)
from store.schema import ApprovalCardRow, ApprovalRow

_PENDING = ApprovalState.PENDING.value
# Decisions that people make; they must come before the request expires.
_HUMAN = frozenset({ApprovalState.APPROVED, ApprovalState.REJECTED})


def _person(object_id: str | None, name: str | None) -> Person | None:
    return None if object_id is None or name is None else Person(object_id, name)


def _request(row: ApprovalRow) -> ApprovalRequest:
    return ApprovalRequest(
        id=row.id,
        environment=row.environment,
        action=row.action,
        parameters=dict(row.parameters),
        target_mailbox_id=row.target_mailbox_id,
        target_display=row.target_display,
        requester=Person(row.requester_object_id, row.requester_name),
        reason=row.reason,
        state=ApprovalState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        remind_at=row.remind_at,
        reminder_sent_at=row.reminder_sent_at,
        decided_at=row.decided_at,
        decided_by=_person(row.decided_by_object_id, row.decided_by_name),
        outcome_detail=row.outcome_detail,
        correlation_id=row.correlation_id,
        version=row.version,
    )


def _card(row: ApprovalCardRow) -> ApprovalCard:
    return ApprovalCard(
        request_id=row.request_id,
        conversation=ConversationKey(row.tenant_id, row.conversation_id),
        activity_id=row.activity_id,
        role=CardRole(row.role),
        recipient_object_id=row.recipient_object_id,
        sent_at=row.sent_at,
    )


class ApprovalRepository:
    """Approval requests and the copies of their cards; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        environment: str,
        action: str,
        target_mailbox_id: str,
        target_display: str,
        requester: Person,
        expires_in: timedelta,
        remind_after: timedelta | None = None,
        reason: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        correlation_id: str | None = None,
    ) -> ApprovalRequest:
        """Store a new pending request.

        Args:
            action: what the approver allows, e.g. "approve_mailbox".
            parameters: what the bot needs to carry the action out after a restart.
            expires_in: from now; the request expires then.
            remind_after: from now; approvers are reminded then (before expiry).

        Raises:
            InvalidInput: a non-positive lifetime, or a reminder not before expiry.
        """
        if expires_in <= timedelta(0):
            msg = f"expires_in must be positive, not {expires_in}"
            raise InvalidInput(msg)
        if remind_after is not None and not timedelta(0) < remind_after < expires_in:
            msg = f"remind_after ({remind_after}) must fall before expiry ({expires_in})"
            raise InvalidInput(msg)
        now = self._db.now()
        row = ApprovalRow(
            id=uuid.uuid4(),
            environment=environment,
            action=action,
            parameters=dict(parameters or {}),
            target_mailbox_id=target_mailbox_id,
            target_display=target_display,
            requester_object_id=requester.object_id,
            requester_name=requester.name,
            reason=reason,
            state=_PENDING,
            created_at=now,
            expires_at=now + expires_in,
            remind_at=None if remind_after is None else now + remind_after,
            reminder_sent_at=None,
            decided_at=None,
            decided_by_object_id=None,
            decided_by_name=None,
            outcome_detail=None,
            correlation_id=correlation_id,
            version=1,
        )
        async with self._db.write() as session:
            session.add(row)
        return _request(row)

    async def get(self, request_id: uuid.UUID) -> ApprovalRequest | None:
        async with self._db.read() as session:
            row = await session.get(ApprovalRow, request_id)
            return None if row is None else _request(row)

    async def decide(
        self,
        request_id: uuid.UUID,
        state: ApprovalState,
        *,
        by: Person | None,
        detail: str | None = None,
    ) -> Decision:
        """Move a pending request to `state`, at most once: the caller that wins is told so.

        Approve and reject need `by` and an unexpired request; expired and failed are the
        system's to set (`by=None`) whenever the caller judges so.

        Raises:
            IllegalTransition: `state` is pending (nothing moves to pending).
            InvalidInput: approve or reject without the person who decided.
            NotFound: no such request.
        """
        approval_transition(ApprovalState.PENDING, state)
        if state in _HUMAN and by is None:
            msg = f"{state.value} needs the person who decided"
            raise InvalidInput(msg)
        async with self._db.write() as session:
            now = self._db.now()
            conditions = [ApprovalRow.id == request_id, ApprovalRow.state == _PENDING]
            if state in _HUMAN:
                conditions.append(ApprovalRow.expires_at > now)
            won = await self._move(
                session,
                conditions,
                state=state.value,
                decided_at=now,
                decided_by_object_id=None if by is None else by.object_id,
                decided_by_name=None if by is None else by.name,
                outcome_detail=detail,
            )
            if won:
                return Decision(won=True, request=won[0])
            if state in _HUMAN:
                expired = await self._expire(session, [ApprovalRow.id == request_id], now)
                if expired:
                    return Decision(won=False, request=expired[0])
            row = await session.get(ApprovalRow, request_id)
            if row is None:
                raise NotFound("approval request", request_id)
            return Decision(won=False, request=_request(row))

    async def record_outcome(
        self, request_id: uuid.UUID, detail: str, *, expected_version: int | None = None
    ) -> ApprovalRequest:
        """Note what came of a decision (e.g. the Dataverse write after an approval).

        Raises:
            NotFound: no such request.
            StaleVersion: `expected_version` is given and the row moved on since.
        """
        conditions = [ApprovalRow.id == request_id]
        if expected_version is not None:
            conditions.append(ApprovalRow.version == expected_version)
        async with self._db.write() as session:
            moved = await self._move(session, conditions, outcome_detail=detail)
            if moved:
                return moved[0]
            row = await session.get(ApprovalRow, request_id)
            if row is None:
                raise NotFound("approval request", request_id)
            raise StaleVersion("approval request", request_id, expected_version or 0, row.version)

    async def add_card(
        self,
        request_id: uuid.UUID,
        conversation: ConversationKey,
        activity_id: str,
        role: CardRole,
        *,
        recipient_object_id: str | None = None,
    ) -> ApprovalCard:
        """Remember a copy of the request's card, so that every copy can be updated.

        Recording the same copy twice keeps the first record.

        Raises:
            NotFound: no such request.
        """
        role = CardRole(role)
        insert = self._db.insert(ApprovalCardRow).values(
            request_id=request_id,
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.conversation_id,
            activity_id=activity_id,
            role=role.value,
            recipient_object_id=recipient_object_id,
            sent_at=self._db.now(),
        )
        copy = insert.on_conflict_do_nothing(
            index_elements=["request_id", "tenant_id", "conversation_id", "activity_id"]
        )
        async with self._db.write() as session:
            if await session.get(ApprovalRow, request_id) is None:
                raise NotFound("approval request", request_id)
            await session.execute(copy)
            row = (
                await session.scalars(
                    select(ApprovalCardRow).where(
                        ApprovalCardRow.request_id == request_id,
                        ApprovalCardRow.tenant_id == conversation.tenant_id,
                        ApprovalCardRow.conversation_id == conversation.conversation_id,
                        ApprovalCardRow.activity_id == activity_id,
                    )
                )
            ).one()
            return _card(row)

    async def cards(self, request_id: uuid.UUID) -> list[ApprovalCard]:
        """Every copy of the request's card, the requester's and each approver's."""
        query = (
            select(ApprovalCardRow)
            .where(ApprovalCardRow.request_id == request_id)
            .order_by(ApprovalCardRow.id)
        )
        async with self._db.read() as session:
            return [_card(row) for row in await session.scalars(query)]

    async def pending(self, *, environment: str | None = None) -> list[ApprovalRequest]:
        """Every pending request, oldest first (the caller filters by live eligibility)."""
        query = select(ApprovalRow).where(ApprovalRow.state == _PENDING)
        if environment is not None:
            query = query.where(ApprovalRow.environment == environment)
        return await self._list(query.order_by(ApprovalRow.created_at, ApprovalRow.id))

    async def pending_for_approver(self, object_id: str) -> list[ApprovalRequest]:
        """Pending requests whose card was sent to this approver, oldest first."""
        sent = select(ApprovalCardRow.request_id).where(
            ApprovalCardRow.recipient_object_id == object_id,
            ApprovalCardRow.role == CardRole.APPROVER.value,
        )
        query = select(ApprovalRow).where(ApprovalRow.state == _PENDING, ApprovalRow.id.in_(sent))
        return await self._list(query.order_by(ApprovalRow.created_at, ApprovalRow.id))

    async def by_requester(self, object_id: str, *, limit: int = 20) -> list[ApprovalRequest]:
        """`my requests`: the requester's requests in any state, newest first."""
        query = (
            select(ApprovalRow)
            .where(ApprovalRow.requester_object_id == object_id)
            .order_by(ApprovalRow.created_at.desc(), ApprovalRow.id)
            .limit(limit)
        )
        return await self._list(query)

    async def due_for_reminder(self) -> list[ApprovalRequest]:
        """Pending, unexpired requests whose reminder time has come and not been sent."""
        now = self._db.now()
        query = select(ApprovalRow).where(
            ApprovalRow.state == _PENDING,
            ApprovalRow.remind_at <= now,
            ApprovalRow.reminder_sent_at.is_(None),
            ApprovalRow.expires_at > now,
        )
        return await self._list(query.order_by(ApprovalRow.remind_at, ApprovalRow.id))

    async def mark_reminded(self, request_id: uuid.UUID) -> bool:
        """Claim the reminder of a request: true for exactly one caller, who sends it."""
        async with self._db.write() as session:
            moved = await self._move(
                session,
                [
                    ApprovalRow.id == request_id,
                    ApprovalRow.state == _PENDING,
                    ApprovalRow.reminder_sent_at.is_(None),
                ],
                reminder_sent_at=self._db.now(),
            )
            return bool(moved)

    async def due_for_expiry(self) -> list[ApprovalRequest]:
        """Requests still pending after their expiry time."""
        query = select(ApprovalRow).where(
            ApprovalRow.state == _PENDING, ApprovalRow.expires_at <= self._db.now()
        )
        return await self._list(query.order_by(ApprovalRow.expires_at, ApprovalRow.id))

    async def expire_due(self) -> list[ApprovalRequest]:
        """Expire every request whose time is up; each comes back to exactly one caller."""
        async with self._db.write() as session:
            return await self._expire(session, [], self._db.now())

    async def _list(self, query: Select[ApprovalRow]) -> list[ApprovalRequest]:
        async with self._db.read() as session:
            return [_request(row) for row in await session.scalars(query)]

    async def _expire(
        self, session: AsyncSession, conditions: list[ColumnElement[bool]], now: datetime
    ) -> list[ApprovalRequest]:
        return await self._move(
            session,
            [*conditions, ApprovalRow.state == _PENDING, ApprovalRow.expires_at <= now],
            state=ApprovalState.EXPIRED.value,
            decided_at=now,
        )

    @staticmethod
    async def _move(
        session: AsyncSession, conditions: list[ColumnElement[bool]], **values: Any
    ) -> list[ApprovalRequest]:
        # The compare-and-set: every change bumps the version; RETURNING says who matched.
        statement = (
            update(ApprovalRow)
            .where(*conditions)
            .values(version=ApprovalRow.version + 1, **values)
            .returning(ApprovalRow)
        )
        rows = await session.scalars(statement, execution_options={**NO_SYNC, **FRESH})
        return [_request(row) for row in rows]
