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

import os
import typing
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from operator import attrgetter
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    Table,
    and_,
    cast,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from store.engine import NO_SYNC, Database
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

_TABLE: Final = typing.cast(Table, IncidentRow.__table__)
_C: Final = _TABLE.c
# The id as the database's own text (32 hex digits on SQLite, the dashed form on
# PostgreSQL): comparing text is much cheaper than building a UUID for every row scanned.
_TOKEN: Final = cast(_C.id, String).label("token")
_KINDS: Final = {kind.value: kind for kind in SubjectKind}
_STATES: Final = {state.value: state for state in IncidentState}
# Ids per `IN (…)` list: well below SQLite's and asyncpg's bound-parameter limits.
_IDS_PER_QUERY: Final = 500


def _incident(row: Row[Any]) -> Incident:
    """A row of the incidents table as an `Incident`."""
    m = row._mapping
    card = None
    tenant, conversation, activity = (
        m["card_tenant_id"],
        m["card_conversation_id"],
        m["card_activity_id"],
    )
    if tenant is not None and conversation is not None and activity is not None:
        card = CardLocation(ConversationKey(tenant, conversation), activity)
    acknowledged_by = None
    by_id, by_name = m["acknowledged_by_object_id"], m["acknowledged_by_name"]
    if by_id is not None and by_name is not None:
        acknowledged_by = Person(by_id, by_name)
    return Incident(
        id=m["id"],
        environment=m["environment"],
        subject_kind=_KINDS[m["subject_kind"]],
        subject_id=m["subject_id"],
        subject_display=m["subject_display"],
        error_code=m["error_code"],
        error_text=m["error_text"],
        group_key=m["group_key"],
        state=_STATES[m["state"]],
        first_seen=m["first_seen"],
        last_seen=m["last_seen"],
        count=m["count"],
        acknowledged_by=acknowledged_by,
        acknowledged_at=m["acknowledged_at"],
        escalation_level=m["escalation_level"],
        last_notified_at=m["last_notified_at"],
        card=card,
        silenced_by=m["silenced_by"],
        resolved_at=m["resolved_at"],
        version=m["version"],
    )


@dataclass
class IncidentCache:
    """The rows one query matched at its last read, by the database's id text, for
    `IncidentRepository.open_cached` and `on_card_cached`: a later read fetches only the
    rows whose version moved (every change of an incident raises its version). One cache
    per query; it is never trusted, only used to skip rows that did not change."""

    rows: dict[str, Incident] = field(default_factory=dict)


def _new_ids(count: int) -> list[uuid.UUID]:
    """`count` random (version 4) UUIDs, as `uuid.uuid4()` makes them, from one read of the
    system's random source: `uuid4()` reads it once per id, and every read lets other
    threads take the interpreter lock (a thousand reads per monitor cycle)."""
    data = os.urandom(16 * count)
    return [uuid.UUID(bytes=data[at : at + 16], version=4) for at in range(0, 16 * count, 16)]


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
        sighting = Sighting(
            subject_kind, subject_id, subject_display, error_code, error_text, group_key
        )
        (observed,) = await self.observe_many(environment, [sighting])
        return observed

    async def observe_many(
        self, environment: str, sightings: Sequence[Sighting], *, chunk: int = 500
    ) -> list[Observation]:
        """`observe` for many failures at once (a monitor cycle may see a thousand): one
        transaction per `chunk` of them, each one executemany of a cached upsert statement
        (SQLAlchemy sends it as multi-row statements). Sightings of one key count once; the
        result follows the order of the first sighting of each key."""
        unique: dict[tuple[str, str, str], Sighting] = {}
        for sighting in sightings:
            kind = sighting.subject_kind
            key = (
                kind.value if isinstance(kind, SubjectKind) else SubjectKind(kind).value,
                sighting.subject_id,
                sighting.error_code,
            )
            unique.setdefault(key, sighting)
        found: dict[tuple[str, str, str], Observation] = {}
        keys = list(unique)
        now = self._db.now()
        upsert = self._upsert()
        for start in range(0, len(keys), max(1, chunk)):
            part = keys[start : start + chunk]
            ids = _new_ids(len(part))
            values = [
                {
                    "id": incident_id,
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
                for key, incident_id in zip(part, ids, strict=True)
            ]
            async with self._db.write() as session:
                for row in await session.execute(upsert, values):
                    incident = _incident(row)
                    key = (incident.subject_kind.value, incident.subject_id, incident.error_code)
                    # An update always leaves count >= 2, so 1 means this statement inserted.
                    found[key] = Observation(incident=incident, opened=incident.count == 1)
        return [found[key] for key in keys]

    def _upsert(self) -> Any:
        insert = self._db.insert(_TABLE)
        return insert.on_conflict_do_update(
            index_elements=["environment", "subject_kind", "subject_id", "error_code"],
            index_where=text(_OPEN_PREDICATE),
            set_={
                "last_seen": insert.excluded.last_seen,
                "count": _C.count + 1,
                "subject_display": insert.excluded.subject_display,
                "error_text": insert.excluded.error_text,
                "group_key": insert.excluded.group_key,
                "version": _C.version + 1,
            },
        ).returning(*_C)

    async def get(self, incident_id: uuid.UUID) -> Incident | None:
        found = await self._list([_C.id == incident_id])
        return found[0] if found else None

    async def find_open(
        self, environment: str, subject_kind: SubjectKind, subject_id: str, error_code: str
    ) -> Incident | None:
        found = await self._list(
            [
                _C.environment == environment,
                _C.subject_kind == SubjectKind(subject_kind).value,
                _C.subject_id == subject_id,
                _C.error_code == error_code,
                _C.state != _RESOLVED,
            ]
        )
        return found[0] if found else None

    async def open(
        self, *, environment: str | None = None, group_key: str | None = None
    ) -> list[Incident]:
        """Open (firing or acknowledged) incidents, oldest first."""
        return await self._list(_open(environment, group_key))

    async def open_cached(self, environment: str, cache: IncidentCache) -> list[Incident]:
        """`open(environment=…)`, reading in full only the rows that are not in `cache` at
        their current version (a monitor cycle reads the open incidents twice; thousands
        may be open and few change)."""
        return await self._cached(_open(environment, None), cache)

    async def on_card(
        self, environment: str, group_key: str, card: CardLocation
    ) -> list[Incident]:
        """Every incident of the group whose card is at `card`, open or resolved, oldest
        first: what a grouped card lists (the group key keeps the lookup on its index)."""
        return await self._list(_on_card(environment, group_key, card))

    async def on_card_cached(
        self,
        environment: str,
        group_key: str,
        card: CardLocation,
        cache: IncidentCache,
        *,
        shared: IncidentCache | None = None,
    ) -> list[Incident]:
        """`on_card`, reading in full only the rows not in `cache` (nor in `shared`, e.g.
        the open incidents' cache) at their current version."""
        return await self._cached(_on_card(environment, group_key, card), cache, shared)

    def remember(self, cache: IncidentCache, incidents: Iterable[Incident]) -> None:
        """Put incidents the caller already has (from a write's result) into `cache`, so that
        the next cached read need not fetch them again while their version stands."""
        token: Any = str if self._db.dialect == "postgresql" else attrgetter("hex")
        for incident in incidents:
            cache.rows[token(incident.id)] = incident

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

    async def resolve_many(self, incident_ids: Sequence[uuid.UUID]) -> list[Incident]:
        """`resolve` for many incidents (one statement per few hundred): returns those this
        call resolved; one already resolved, or resolved meanwhile by another replica, is
        not among them."""
        conditions = [_C.state.in_(_sources(IncidentState.RESOLVED))]
        moved: list[Incident] = []
        ids = list(dict.fromkeys(incident_ids))
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[start : start + _IDS_PER_QUERY]
            async with self._db.write() as session:
                moved += await _move(
                    session,
                    [_C.id.in_(part), *conditions],
                    state=_RESOLVED,
                    resolved_at=self._db.now(),
                )
        return moved

    async def resolve_subject(
        self, environment: str, subject_kind: SubjectKind, subject_id: str
    ) -> list[Incident]:
        """The subject works again: resolve its open incidents (every error code).

        Returns the incidents this call resolved, for the card updates; another replica
        that runs the same call at the same time gets none of them.
        """
        conditions = [
            _C.environment == environment,
            _C.subject_kind == SubjectKind(subject_kind).value,
            _C.subject_id == subject_id,
            _C.state.in_(_sources(IncidentState.RESOLVED)),
        ]
        async with self._db.write() as session:
            return await _move(session, conditions, state=_RESOLVED, resolved_at=self._db.now())

    async def escalate(self, incident_id: uuid.UUID, *, from_level: int) -> IncidentChange:
        """Raise the escalation level of a firing incident from `from_level`, once."""
        conditions = [
            _C.id == incident_id,
            _C.state == IncidentState.FIRING.value,
            _C.escalation_level == from_level,
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
        return (await self._change(incident_id, [_C.id == incident_id], **values)).incident

    async def record_notifications(
        self,
        incident_ids: Sequence[uuid.UUID],
        *,
        card: CardLocation | None = None,
        cache: IncidentCache | None = None,
    ) -> int:
        """`record_notification` for many incidents in one statement (a grouped card);
        returns how many rows it updated. With `cache`, the updated rows go into it
        (`remember`)."""
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
            moved = await _move(session, [_C.id.in_(list(incident_ids))], **values)
        if cache is not None:
            self.remember(cache, moved)
        return len(moved)

    async def set_silenced_by(
        self, incident_id: uuid.UUID, silence_id: uuid.UUID | None
    ) -> Incident:
        """Link the silence that mutes the incident (None to unlink).

        Raises:
            NotFound: no such incident.
        """
        change = await self._change(incident_id, [_C.id == incident_id], silenced_by=silence_id)
        return change.incident

    async def _transition(
        self, incident_id: uuid.UUID, target: IncidentState, **values: Any
    ) -> IncidentChange:
        conditions = [_C.id == incident_id, _C.state.in_(_sources(target))]
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
            row = (await session.execute(select(*_C).where(_C.id == incident_id))).first()
            if row is None:
                raise NotFound("incident", incident_id)
            return IncidentChange(applied=False, incident=_incident(row))

    async def _list(self, conditions: list[ColumnElement[bool]]) -> list[Incident]:
        query = select(*_C).where(*conditions).order_by(_C.first_seen, _C.id)
        async with self._db.read() as session:
            return [_incident(row) for row in (await session.execute(query)).all()]

    async def _cached(
        self,
        conditions: list[ColumnElement[bool]],
        cache: IncidentCache,
        shared: IncidentCache | None = None,
    ) -> list[Incident]:
        """What `_list(conditions)` returns, in its order: first the id and version of every
        matching row, then in full the rows `cache` (or `shared`) lacks at that version. In
        one read transaction: one snapshot on SQLite; on PostgreSQL (read committed) a row
        fetched in full may be newer than the scan, and one that stopped matching meanwhile
        is left out."""
        scan = select(_TOKEN, _C.version).where(*conditions).order_by(_C.first_seen, _C.id)
        known = cache.rows
        also = {} if shared is None else shared.rows
        rows: dict[str, Incident] = {}
        order: list[str] = []
        async with self._db.read() as session:
            stale: list[str] = []
            for token, version in await session.execute(scan):
                order.append(token)
                incident = known.get(token) or also.get(token)
                if incident is not None and incident.version == version:
                    rows[token] = incident
                else:
                    stale.append(token)
            for start in range(0, len(stale), _IDS_PER_QUERY):
                ids = [uuid.UUID(token) for token in stale[start : start + _IDS_PER_QUERY]]
                fetch = select(_TOKEN, *_C).where(_C.id.in_(ids), *conditions)
                for row in (await session.execute(fetch)).all():
                    rows[row._mapping["token"]] = _incident(row)
        # Replaced whole, not updated in place: a read running at the same time on the same
        # cache then leaves one consistent result or the other, each checked next time.
        cache.rows = rows
        return [found for token in order if (found := rows.get(token)) is not None]


def _open(environment: str | None, group_key: str | None) -> list[ColumnElement[bool]]:
    conditions = [_C.state != _RESOLVED]
    if environment is not None:
        conditions.append(_C.environment == environment)
    if group_key is not None:
        conditions.append(_C.group_key == group_key)
    return conditions


def _on_card(environment: str, group_key: str, card: CardLocation) -> list[ColumnElement[bool]]:
    return [
        _C.environment == environment,
        _C.group_key == group_key,
        _C.card_tenant_id == card.conversation.tenant_id,
        _C.card_conversation_id == card.conversation.conversation_id,
        _C.card_activity_id == card.activity_id,
    ]


async def _move(
    session: AsyncSession, conditions: list[ColumnElement[bool]], **values: Any
) -> list[Incident]:
    statement = (
        update(_TABLE).where(*conditions).values(version=_C.version + 1, **values).returning(*_C)
    )
    return [_incident(row) for row in await session.execute(statement)]


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
