"""The audit log: append-only (the database refuses UPDATE and DELETE), and the undo lookup.

An undo is itself an entry whose `undoes` names the entry it reverses; a unique index lets
at most one successful undo name any entry, so two people clicking Undo at once cannot both
restore the before-values.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from store.engine import Database
from store.errors import AlreadyUndone, InvalidInput, NotFound
from store.models import AuditEntry, AuditResult, Person, Target
from store.schema import ApprovalRow, AuditRow


def _entry(row: AuditRow) -> AuditEntry:
    target = None
    if row.target_kind is not None and row.target_id is not None:
        target = Target(row.target_kind, row.target_id, row.target_display or row.target_id)
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=Person(row.actor_object_id, row.actor_name),
        on_behalf_of=row.on_behalf_of_object_id,
        action=row.action,
        target=target,
        environment=row.environment,
        before=None if row.before_values is None else dict(row.before_values),
        after=None if row.after_values is None else dict(row.after_values),
        result=AuditResult(row.result),
        detail=row.detail,
        correlation_id=row.correlation_id,
        approval_request_id=row.approval_request_id,
        undoes=row.undoes_id,
    )


def _undo_of(entry_id: int) -> Select[int]:
    return select(AuditRow.id).where(
        AuditRow.undoes_id == entry_id, AuditRow.result == AuditResult.OK.value
    )


class AuditRepository:
    """Who did what, to what, on whose behalf, with which result; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(
        self,
        *,
        actor: Person,
        action: str,
        result: AuditResult,
        target: Target | None = None,
        environment: str | None = None,
        on_behalf_of: str | None = None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        detail: str | None = None,
        correlation_id: str | None = None,
        approval_request_id: uuid.UUID | None = None,
        undoes: int | None = None,
    ) -> AuditEntry:
        """Append one entry.

        Args:
            on_behalf_of: the object id of the person the actor acted for (an approval's
                requester, for instance).
            before: the values the action changed, as they were; what undo restores.
            undoes: the id of the entry this one reverses.

        Raises:
            NotFound: `approval_request_id` or `undoes` names no row.
            InvalidInput: a successful undo of an entry that cannot be undone.
            AlreadyUndone: a successful undo of `undoes` exists already.
        """
        result = AuditResult(result)
        row = AuditRow(
            at=self._db.now(),
            actor_object_id=actor.object_id,
            actor_name=actor.name,
            on_behalf_of_object_id=on_behalf_of,
            action=action,
            target_kind=None if target is None else target.kind,
            target_id=None if target is None else target.id,
            target_display=None if target is None else target.display,
            environment=environment,
            before_values=None if before is None else dict(before),
            after_values=None if after is None else dict(after),
            result=result.value,
            detail=detail,
            correlation_id=correlation_id,
            approval_request_id=approval_request_id,
            undoes_id=undoes,
        )
        try:
            async with self._db.write() as session:
                if approval_request_id is not None and (
                    await session.get(ApprovalRow, approval_request_id) is None
                ):
                    raise NotFound("approval request", approval_request_id)
                if undoes is not None:
                    undone = await session.get(AuditRow, undoes)
                    if undone is None:
                        raise NotFound("audit entry", undoes)
                    if result is AuditResult.OK:
                        _check_undoable(undone)
                        earlier = (await session.scalars(_undo_of(undoes))).first()
                        if earlier is not None:
                            raise AlreadyUndone(undoes, earlier)
                session.add(row)
                await session.flush()
                return _entry(row)
        except IntegrityError as exc:
            # Two undos raced past the check above (PostgreSQL); the unique index decided.
            if undoes is None or result is not AuditResult.OK:
                raise
            async with self._db.read() as session:
                earlier = (await session.scalars(_undo_of(undoes))).first()
            if earlier is None:
                raise
            raise AlreadyUndone(undoes, earlier) from exc

    async def get(self, entry_id: int) -> AuditEntry | None:
        async with self._db.read() as session:
            row = await session.get(AuditRow, entry_id)
            return None if row is None else _entry(row)

    async def latest(self, limit: int = 20, *, environment: str | None = None) -> list[AuditEntry]:
        """`audit last N`: newest first."""
        query = select(AuditRow)
        if environment is not None:
            query = query.where(AuditRow.environment == environment)
        return await self._list(query, limit)

    async def by_target(self, target_id: str, *, limit: int = 20) -> list[AuditEntry]:
        """Entries about one target (a mailbox id), newest first."""
        return await self._list(select(AuditRow).where(AuditRow.target_id == target_id), limit)

    async def about(
        self,
        targets: Collection[tuple[str, str]],
        *,
        limit: int = 20,
        environment: str | None = None,
    ) -> list[AuditEntry]:
        """Entries about any of `targets`, each named by its (kind, id), newest first.

        One thing may be kept under several keys: a person's mailbox and the person (role
        changes), or a server profile under its id and, before it existed, its name.
        """
        if not targets:
            return []
        condition = or_(
            *(
                and_(AuditRow.target_kind == kind, AuditRow.target_id == key)
                for kind, key in targets
            )
        )
        query = select(AuditRow).where(condition)
        if environment is not None:
            query = query.where(AuditRow.environment == environment)
        return await self._list(query, limit)

    async def by_actor(
        self, object_id: str, *, limit: int = 20, include_on_behalf: bool = True
    ) -> list[AuditEntry]:
        """`audit for alice`: what alice did, and (by default) what others did for her."""
        condition = AuditRow.actor_object_id == object_id
        if include_on_behalf:
            condition = or_(condition, AuditRow.on_behalf_of_object_id == object_id)
        return await self._list(select(AuditRow).where(condition), limit)

    async def last_undoable(self, target_id: str, *, kind: str | None = None) -> AuditEntry | None:
        """The newest successful change to the target that has before-values, is not an undo
        itself, and has not been undone; with `kind`, only a change to a target of that kind
        (the kinds the caller knows how to undo)."""
        undo = aliased(AuditRow)
        query = select(AuditRow).where(
            AuditRow.target_id == target_id,
            AuditRow.result == AuditResult.OK.value,
            AuditRow.before_values.is_not(None),
            AuditRow.undoes_id.is_(None),
            ~exists().where(undo.undoes_id == AuditRow.id, undo.result == AuditResult.OK.value),
        )
        if kind is not None:
            query = query.where(AuditRow.target_kind == kind)
        entries = await self._list(query, 1)
        return entries[0] if entries else None

    async def _list(self, query: Select[AuditRow], limit: int) -> list[AuditEntry]:
        async with self._db.read() as session:
            rows = await session.scalars(query.order_by(AuditRow.id.desc()).limit(limit))
            return [_entry(row) for row in rows]


def _check_undoable(row: AuditRow) -> None:
    if row.result != AuditResult.OK.value or row.before_values is None or row.undoes_id:
        msg = f"audit entry {row.id} is not an undoable change"
        raise InvalidInput(msg)
