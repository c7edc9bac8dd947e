"""Incidents and silences for the monitor.

An open incident is unique per environment + subject (mailbox or profile) + error code; a
resolved one stays as history, and the same failure later opens a new incident. Reporting a
failure is one upsert, so two replicas that see it together still make one incident, and
exactly one of them is told that it opened it. State moves are compare-and-set statements
whose allowed source states come from `INCIDENT_TRANSITIONS`.

The policy (grouping, inhibition, escalation timing, which silence wins) is the monitor's;
this module stores and answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.engine import FRESH, NO_SYNC, Database
from store.errors import IllegalTransition, InvalidInput, NotFound
from store.models import (
    INCIDENT_TRANSITIONS,
    CardLocation,
    ConversationKey,
    Incident,
    IncidentChange,
    IncidentState,
    Observation,
    Person,
    Sighting,
    Silence,
    SilenceScope,
    SubjectKind,
)
from store.schema import IncidentRow, SilenceRow

_RESOLVED = IncidentState.RESOLVED.value
# Must read exactly like the partial unique index's predicate for ON CONFLICT to use it.
_OPEN_PREDICATE = "state <> 'resolved'"


def _incident(row: IncidentRow) -> Incident:
    card = None
    if (
        row.card_tenant_id is not None
        and row.card_conversation_id is not None
        and row.card_activity_id is not None
    ):
        card = CardLocation(
            ConversationKey(row.card_tenant_id, row.card_conversation_id), row.card_activity_id
        )
    acknowledged_by = None
    if row.acknowledged_by_object_id is not None and row.acknowledged_by_name is not None:
        acknowledged_by = Person(row.acknowledged_by_object_id, row.acknowledged_by_name)
    return Incident(
        id=row.id,
        environment=row.environment,
        subject_kind=SubjectKind(row.subject_kind),
        subject_id=row.subject_id,
        subject_display=row.subject_display,
        error_code=row.error_code,
        error_text=row.error_text,
        group_key=row.group_key,
        state=IncidentState(row.state),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        count=row.count,
        acknowledged_by=acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        escalation_level=row.escalation_level,
        last_notified_at=row.last_notified_at,
        card=card,
        silenced_by=row.silenced_by,
        resolved_at=row.resolved_at,
        version=row.version,
    )


def _sources(target: IncidentState) -> list[str]:
    sources = [state.value for state, targets in INCIDENT_TRANSITIONS.items() if target in targets]
    if not sources:
        raise IllegalTransition("incident", None, target)
    return sources


class IncidentRepository:
    """Incidents; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def observe(
        self,
        *,
        environment: str,
        subject_kind: SubjectKind,
        subject_id: str,
        subject_display: str,
        error_code: str,
        error_text: str | None = None,
        group_key: str | None = None,
    ) -> Observation:
        """Report a failure: open an incident, or count one more sighting of the open one."""
        now = self._db.now()
        insert = self._db.insert(IncidentRow).values(
            id=uuid.uuid4(),
            environment=environment,
            subject_kind=SubjectKind(subject_kind).value,
            subject_id=subject_id,
            subject_display=subject_display,
            error_code=error_code,
            error_text=error_text,
            group_key=group_key,
            state=IncidentState.FIRING.value,
            first_seen=now,
            last_seen=now,
            count=1,
            escalation_level=0,
            version=1,
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["environment", "subject_kind", "subject_id", "error_code"],
            index_where=text(_OPEN_PREDICATE),
            set_={
                "last_seen": insert.excluded.last_seen,
                "count": IncidentRow.count + 1,
                "subject_display": insert.excluded.subject_display,
                "error_text": insert.excluded.error_text,
                "group_key": insert.excluded.group_key,
                "version": IncidentRow.version + 1,
            },
        ).returning(IncidentRow)
        async with self._db.write() as session:
            row = (await session.scalars(upsert, execution_options=FRESH)).one()
            # An update always leaves count >= 2, so 1 means this statement inserted.
            return Observation(incident=_incident(row), opened=row.count == 1)

    async def observe_many(
        self, environment: str, sightings: Sequence[Sighting], *, chunk: int = 500
    ) -> list[Observation]:
        """`observe` for many failures at once: one upsert statement per `chunk` of them
        (a monitor cycle may see a thousand). Sightings of one key count once; the result
        follows the order of the first sighting of each key."""
        unique: dict[tuple[str, str, str], Sighting] = {}
        for sighting in sightings:
            key = (
                SubjectKind(sighting.subject_kind).value,
                sighting.subject_id,
                sighting.error_code,
            )
            unique.setdefault(key, sighting)
        found: dict[tuple[str, str, str], Observation] = {}
        keys = list(unique)
        now = self._db.now()
        for start in range(0, len(keys), max(1, chunk)):
            part = keys[start : start + chunk]
            insert = self._db.insert(IncidentRow).values(
                [
                    {
                        "id": uuid.uuid4(),
                        "environment": environment,
                        "subject_kind": key[0],
                        "subject_id": key[1],
                        "subject_display": unique[key].subject_display,
                        "error_code": key[2],
                        "error_text": unique[key].error_text,
                        "group_key": unique[key].group_key,
                        "state": IncidentState.FIRING.value,
                        "first_seen": now,
                        "last_seen": now,
                        "count": 1,
                        "escalation_level": 0,
                        "version": 1,
                    }
                    for key in part
                ]
            )
            upsert = insert.on_conflict_do_update(
                index_elements=["environment", "subject_kind", "subject_id", "error_code"],
                index_where=text(_OPEN_PREDICATE),
                set_={
                    "last_seen": insert.excluded.last_seen,
                    "count": IncidentRow.count + 1,
                    "subject_display": insert.excluded.subject_display,
                    "error_text": insert.excluded.error_text,
                    "group_key": insert.excluded.group_key,
                    "version": IncidentRow.version + 1,
                },
            ).returning(IncidentRow)
            async with self._db.write() as session:
                for row in await session.scalars(upsert, execution_options=FRESH):
                    key = (row.subject_kind, row.subject_id, row.error_code)
                    found[key] = Observation(incident=_incident(row), opened=row.count == 1)
        return [found[key] for key in keys]

    async def get(self, incident_id: uuid.UUID) -> Incident | None:
        async with self._db.read() as session:
            row = await session.get(IncidentRow, incident_id)
            return None if row is None else _incident(row)

    async def find_open(
        self, environment: str, subject_kind: SubjectKind, subject_id: str, error_code: str
    ) -> Incident | None:
        query = select(IncidentRow).where(
            IncidentRow.environment == environment,
            IncidentRow.subject_kind == SubjectKind(subject_kind).value,
            IncidentRow.subject_id == subject_id,
            IncidentRow.error_code == error_code,
            IncidentRow.state != _RESOLVED,
        )
        found = await self._list(query)
        return found[0] if found else None

    async def open(
        self, *, environment: str | None = None, group_key: str | None = None
    ) -> list[Incident]:
        """Open (firing or acknowledged) incidents, oldest first."""
        query = select(IncidentRow).where(IncidentRow.state != _RESOLVED)
        if environment is not None:
            query = query.where(IncidentRow.environment == environment)
        if group_key is not None:
            query = query.where(IncidentRow.group_key == group_key)
        return await self._list(query)

    async def on_card(
        self, environment: str, group_key: str, card: CardLocation
    ) -> list[Incident]:
        """Every incident of the group whose card is at `card`, open or resolved, oldest
        first: what a grouped card lists (the group key keeps the lookup on its index)."""
        query = select(IncidentRow).where(
            IncidentRow.environment == environment,
            IncidentRow.group_key == group_key,
            IncidentRow.card_tenant_id == card.conversation.tenant_id,
            IncidentRow.card_conversation_id == card.conversation.conversation_id,
            IncidentRow.card_activity_id == card.activity_id,
        )
        return await self._list(query)

    async def acknowledge(self, incident_id: uuid.UUID, *, by: Person) -> IncidentChange:
        """firing → acknowledged, once; a late or second click gets `applied=False`."""
        return await self._transition(
            incident_id,
            IncidentState.ACKNOWLEDGED,
            acknowledged_by_object_id=by.object_id,
            acknowledged_by_name=by.name,
            acknowledged_at=self._db.now(),
        )

    async def resolve(self, incident_id: uuid.UUID) -> IncidentChange:
        """firing | acknowledged → resolved, once."""
        return await self._transition(
            incident_id, IncidentState.RESOLVED, resolved_at=self._db.now()
        )

    async def resolve_subject(
        self, environment: str, subject_kind: SubjectKind, subject_id: str
    ) -> list[Incident]:
        """The subject works again: resolve its open incidents (every error code).

        Returns the incidents this call resolved, for the card updates; another replica
        that runs the same call at the same time gets none of them.
        """
        conditions = [
            IncidentRow.environment == environment,
            IncidentRow.subject_kind == SubjectKind(subject_kind).value,
            IncidentRow.subject_id == subject_id,
            IncidentRow.state.in_(_sources(IncidentState.RESOLVED)),
        ]
        async with self._db.write() as session:
            return await _move(session, conditions, state=_RESOLVED, resolved_at=self._db.now())

    async def escalate(self, incident_id: uuid.UUID, *, from_level: int) -> IncidentChange:
        """Raise the escalation level of a firing incident from `from_level`, once."""
        conditions = [
            IncidentRow.id == incident_id,
            IncidentRow.state == IncidentState.FIRING.value,
            IncidentRow.escalation_level == from_level,
        ]
        return await self._change(
            incident_id,
            conditions,
            escalation_level=from_level + 1,
            last_notified_at=self._db.now(),
        )

    async def record_notification(
        self, incident_id: uuid.UUID, *, card: CardLocation | None = None
    ) -> Incident:
        """Note that the on-call channel was told now (and where the card is, if new).

        Raises:
            NotFound: no such incident.
        """
        values: dict[str, Any] = {"last_notified_at": self._db.now()}
        if card is not None:
            values.update(
                card_tenant_id=card.conversation.tenant_id,
                card_conversation_id=card.conversation.conversation_id,
                card_activity_id=card.activity_id,
            )
        return (
            await self._change(incident_id, [IncidentRow.id == incident_id], **values)
        ).incident

    async def record_notifications(
        self, incident_ids: Sequence[uuid.UUID], *, card: CardLocation | None = None
    ) -> int:
        """`record_notification` for many incidents in one statement (a grouped card);
        returns how many rows it updated."""
        if not incident_ids:
            return 0
        values: dict[str, Any] = {"last_notified_at": self._db.now()}
        if card is not None:
            values.update(
                card_tenant_id=card.conversation.tenant_id,
                card_conversation_id=card.conversation.conversation_id,
                card_activity_id=card.activity_id,
            )
        async with self._db.write() as session:
            moved = await _move(session, [IncidentRow.id.in_(list(incident_ids))], **values)
        return len(moved)

    async def set_silenced_by(
        self, incident_id: uuid.UUID, silence_id: uuid.UUID | None
    ) -> Incident:
        """Link the silence that mutes the incident (None to unlink).

        Raises:
            NotFound: no such incident.
        """
        change = await self._change(
            incident_id, [IncidentRow.id == incident_id], silenced_by=silence_id
        )
        return change.incident

    async def _transition(
        self, incident_id: uuid.UUID, target: IncidentState, **values: Any
    ) -> IncidentChange:
        conditions = [IncidentRow.id == incident_id, IncidentRow.state.in_(_sources(target))]
        return await self._change(incident_id, conditions, state=target.value, **values)

    async def _change(
        self,
        incident_id: uuid.UUID,
        conditions: list[ColumnElement[bool]],
        **values: Any,
    ) -> IncidentChange:
        async with self._db.write() as session:
            moved = await _move(session, conditions, **values)
            if moved:
                return IncidentChange(applied=True, incident=moved[0])
            row = await session.get(IncidentRow, incident_id)
            if row is None:
                raise NotFound("incident", incident_id)
            return IncidentChange(applied=False, incident=_incident(row))

    async def _list(self, query: Select[IncidentRow]) -> list[Incident]:
        async with self._db.read() as session:
            rows = await session.scalars(query.order_by(IncidentRow.first_seen, IncidentRow.id))
            return [_incident(row) for row in rows]


async def _move(
    session: AsyncSession, conditions: list[ColumnElement[bool]], **values: Any
) -> list[Incident]:
    statement = (
        update(IncidentRow)
        .where(*conditions)
        .values(version=IncidentRow.version + 1, **values)
        .returning(IncidentRow)
    )
    rows = await session.scalars(statement, execution_options={**NO_SYNC, **FRESH})
    return [_incident(row) for row in rows]


def _silence(row: SilenceRow) -> Silence:
    lifted_by = None
    if row.lifted_by_object_id is not None and row.lifted_by_name is not None:
        lifted_by = Person(row.lifted_by_object_id, row.lifted_by_name)
    return Silence(
        id=row.id,
        environment=row.environment,
        scope=SilenceScope(row.scope_kind),
        value=row.scope_value,
        reason=row.reason,
        created_by=Person(row.created_by_object_id, row.created_by_name),
        created_at=row.created_at,
        expires_at=row.expires_at,
        lifted_at=row.lifted_at,
        lifted_by=lifted_by,
    )


class SilenceRepository:
    """Silences: a scope (mailbox, profile or error code), a mandatory reason, an expiry."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        scope: SilenceScope,
        value: str,
        reason: str,
        created_by: Person,
        expires_in: timedelta,
        environment: str | None = None,
    ) -> Silence:
        """Silence a mailbox, a profile or an error code from now for `expires_in`.

        Args:
            environment: None silences the scope in every environment.

        Raises:
            InvalidInput: an empty reason or value, or a non-positive duration.
        """
        if not reason.strip():
            msg = "a silence needs a reason"
            raise InvalidInput(msg)
        if not value.strip():
            msg = "a silence needs the mailbox, profile or error code it covers"
            raise InvalidInput(msg)
        if expires_in <= timedelta(0):
            msg = f"expires_in must be positive, not {expires_in}"
            raise InvalidInput(msg)
        now = self._db.now()
        row = SilenceRow(
            id=uuid.uuid4(),
            environment=environment,
            scope_kind=SilenceScope(scope).value,
            scope_value=value,
            reason=reason.strip(),
            created_by_object_id=created_by.object_id,
            created_by_name=created_by.name,
            created_at=now,
            expires_at=now + expires_in,
            lifted_at=None,
            lifted_by_object_id=None,
            lifted_by_name=None,
        )
        async with self._db.write() as session:
            session.add(row)
        return _silence(row)

    async def get(self, silence_id: uuid.UUID) -> Silence | None:
        async with self._db.read() as session:
            row = await session.get(SilenceRow, silence_id)
            return None if row is None else _silence(row)

    async def lift(self, silence_id: uuid.UUID, *, by: Person) -> bool:
        """End an active silence early; false when it was not active."""
        now = self._db.now()
        statement = (
            update(SilenceRow)
            .where(
                SilenceRow.id == silence_id,
                SilenceRow.lifted_at.is_(None),
                SilenceRow.expires_at > now,
            )
            .values(lifted_at=now, lifted_by_object_id=by.object_id, lifted_by_name=by.name)
            .returning(SilenceRow.id)
        )
        async with self._db.write() as session:
            return (
                await session.execute(statement, execution_options=NO_SYNC)
            ).first() is not None

    async def active(self, *, environment: str | None = None) -> list[Silence]:
        """Silences in force now (for `environment`: its own and the global ones)."""
        return await self._list(self._active(environment))

    async def matching(
        self,
        environment: str,
        *,
        mailbox_id: str | None = None,
        profile_id: str | None = None,
        error_code: str | None = None,
    ) -> list[Silence]:
        """Silences in force now that cover any of the given mailbox, profile or error code."""
        scopes = [
            and_(SilenceRow.scope_kind == scope.value, SilenceRow.scope_value == value)
            for scope, value in (
                (SilenceScope.MAILBOX, mailbox_id),
                (SilenceScope.PROFILE, profile_id),
                (SilenceScope.ERROR_CODE, error_code),
            )
            if value is not None
        ]
        if not scopes:
            return []
        return await self._list(self._active(environment).where(or_(*scopes)))

    def _active(self, environment: str | None) -> Select[SilenceRow]:
        query = select(SilenceRow).where(
            SilenceRow.lifted_at.is_(None), SilenceRow.expires_at > self._db.now()
        )
        if environment is not None:
            query = query.where(
                or_(SilenceRow.environment.is_(None), SilenceRow.environment == environment)
            )
        return query

    async def _list(self, query: Select[SilenceRow]) -> list[Silence]:
        async with self._db.read() as session:
            rows = await session.scalars(query.order_by(SilenceRow.created_at, SilenceRow.id))
            return [_silence(row) for row in rows]
