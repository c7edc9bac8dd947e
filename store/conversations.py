"""Conversation references, for proactive messages, and the conversations with a purpose.

A reference is saved on install and refreshed on every message (botbuilder's
`ref.serialize()` dict, restored with `ConversationReference().deserialize(d)`). Personal
chats also carry the user's Entra object id, so that "the personal chat with dana" is one
lookup. A purpose ("on-call", "approvers") points at one stored conversation; deleting the
conversation (uninstall, 403 BotNotInConversationRoster) drops its purposes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from sqlalchemy import delete, select

from store.engine import FRESH, NO_SYNC, Database, rowcount
from store.errors import InvalidInput, NotFound
from store.models import ConversationKey, ConversationKind, ConversationRef, Person
from store.schema import AssignmentRow, ConversationRow

ON_CALL: Final = "on-call"
APPROVERS: Final = "approvers"


def _ref(row: ConversationRow) -> ConversationRef:
    return ConversationRef(
        key=ConversationKey(row.tenant_id, row.conversation_id),
        kind=ConversationKind(row.kind),
        reference=dict(row.reference),
        user_object_id=row.user_object_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ConversationRepository:
    """Stored conversation references; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self,
        key: ConversationKey,
        kind: ConversationKind,
        reference: Mapping[str, Any],
        *,
        user_object_id: str | None = None,
    ) -> ConversationRef:
        """Insert or refresh a reference (on install and on each message).

        A personal chat replaces any older personal chat of the same user in the tenant.

        Raises:
            InvalidInput: a user object id for a conversation that is not personal.
        """
        kind = ConversationKind(kind)
        if user_object_id is not None and kind is not ConversationKind.PERSONAL:
            msg = f"only personal chats name a user; this one is {kind.value}"
            raise InvalidInput(msg)
        now = self._db.now()
        insert = self._db.insert(ConversationRow).values(
            tenant_id=key.tenant_id,
            conversation_id=key.conversation_id,
            kind=kind.value,
            user_object_id=user_object_id,
            reference=dict(reference),
            created_at=now,
            updated_at=now,
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["tenant_id", "conversation_id"],
            set_={
                "kind": insert.excluded.kind,
                "user_object_id": insert.excluded.user_object_id,
                "reference": insert.excluded.reference,
                "updated_at": insert.excluded.updated_at,
            },
        ).returning(ConversationRow)
        async with self._db.write() as session:
            if user_object_id is not None:
                await session.execute(
                    delete(ConversationRow).where(
                        ConversationRow.tenant_id == key.tenant_id,
                        ConversationRow.user_object_id == user_object_id,
                        ConversationRow.conversation_id != key.conversation_id,
                    ),
                    execution_options=NO_SYNC,
                )
            row = (await session.scalars(upsert, execution_options=FRESH)).one()
            return _ref(row)

    async def get(self, key: ConversationKey) -> ConversationRef | None:
        async with self._db.read() as session:
            row = await session.get(ConversationRow, (key.tenant_id, key.conversation_id))
            return None if row is None else _ref(row)

    async def find_personal(
        self, user_object_id: str, *, tenant_id: str | None = None
    ) -> ConversationRef | None:
        """The personal chat with the user (the most recently refreshed one)."""
        query = select(ConversationRow).where(
            ConversationRow.user_object_id == user_object_id,
            ConversationRow.kind == ConversationKind.PERSONAL.value,
        )
        if tenant_id is not None:
            query = query.where(ConversationRow.tenant_id == tenant_id)
        query = query.order_by(ConversationRow.updated_at.desc()).limit(1)
        async with self._db.read() as session:
            row = (await session.scalars(query)).one_or_none()
            return None if row is None else _ref(row)

    async def delete(self, key: ConversationKey) -> bool:
        """Forget a conversation (uninstall, or 403 BotNotInConversationRoster)."""
        statement = delete(ConversationRow).where(
            ConversationRow.tenant_id == key.tenant_id,
            ConversationRow.conversation_id == key.conversation_id,
        )
        async with self._db.write() as session:
            return rowcount(await session.execute(statement, execution_options=NO_SYNC)) > 0

    async def assign(self, purpose: str, key: ConversationKey, *, by: Person) -> None:
        """Give a stored conversation a purpose ("on-call", "approvers"), replacing the old one.

        Raises:
            NotFound: the conversation is not stored (the bot never saw a message from it).
        """
        now = self._db.now()
        insert = self._db.insert(AssignmentRow).values(
            purpose=purpose,
            tenant_id=key.tenant_id,
            conversation_id=key.conversation_id,
            assigned_by_object_id=by.object_id,
            assigned_by_name=by.name,
            assigned_at=now,
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["purpose"],
            set_={
                column: getattr(insert.excluded, column)
                for column in (
                    "tenant_id",
                    "conversation_id",
                    "assigned_by_object_id",
                    "assigned_by_name",
                    "assigned_at",
                )
            },
        )
        async with self._db.write() as session:
            if await session.get(ConversationRow, (key.tenant_id, key.conversation_id)) is None:
                raise NotFound("conversation", key)
            await session.execute(upsert)

    async def unassign(self, purpose: str) -> bool:
        async with self._db.write() as session:
            statement = delete(AssignmentRow).where(AssignmentRow.purpose == purpose)
            return rowcount(await session.execute(statement, execution_options=NO_SYNC)) > 0

    async def find_assigned(self, purpose: str) -> ConversationRef | None:
        """The conversation that has `purpose`, if it is still stored."""
        query = (
            select(ConversationRow)
            .join(
                AssignmentRow,
                (AssignmentRow.tenant_id == ConversationRow.tenant_id)
                & (AssignmentRow.conversation_id == ConversationRow.conversation_id),
            )
            .where(AssignmentRow.purpose == purpose)
        )
        async with self._db.read() as session:
            row = (await session.scalars(query)).one_or_none()
            return None if row is None else _ref(row)

    async def set_on_call(self, key: ConversationKey, *, by: Person) -> None:
        """`set on-call channel here`."""
        await self.assign(ON_CALL, key, by=by)

    async def find_on_call(self) -> ConversationRef | None:
        return await self.find_assigned(ON_CALL)
