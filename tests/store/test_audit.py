"""The audit log: append, the queries, the undo lookup, and append-only for real."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from store import (
    AlreadyUndone,
    AuditEntry,
    AuditResult,
    InvalidInput,
    NotFound,
    Store,
    Target,
)
from tests.store.kit import ALICE_MAILBOX, DANA, ERIN, SAM, FakeClock

ALICE = Target("mailbox", ALICE_MAILBOX, "alice@contoso.com")
BOB = Target("mailbox", "22222222-2222-2222-2222-222222222222", "bob@contoso.com")


async def change(
    store: Store,
    target: Target = ALICE,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    result: AuditResult = AuditResult.OK,
    actor: Any = DANA,
    undoes: int | None = None,
    environment: str = "prod",
) -> AuditEntry:
    return await store.audit.append(
        actor=actor,
        action="undo" if undoes else "set_mailbox",
        result=result,
        target=target,
        environment=environment,
        before=before,
        after=after,
        undoes=undoes,
    )


async def test_append_and_read_back(store: Store, clock: FakeClock) -> None:
    request = await store.approvals.create(
        environment="prod",
        action="approve_mailbox",
        target_mailbox_id=ALICE_MAILBOX,
        target_display="alice@contoso.com",
        requester=SAM,
        expires_in=timedelta(hours=1),
    )
    entry = await store.audit.append(
        actor=DANA,
        on_behalf_of=SAM.object_id,
        action="approve_mailbox",
        result=AuditResult.OK,
        target=ALICE,
        environment="prod",
        before={"emailrouteraccessapproval": 0, "nested": {"a": [1, 2]}},
        after={"emailrouteraccessapproval": 1},
        detail="approved",
        correlation_id="corr-7",
        approval_request_id=request.id,
    )
    assert entry.at == clock.current
    assert entry.actor == DANA
    assert entry.on_behalf_of == SAM.object_id
    assert entry.target == ALICE
    assert entry.before == {"emailrouteraccessapproval": 0, "nested": {"a": [1, 2]}}
    assert entry.after == {"emailrouteraccessapproval": 1}
    assert entry.result is AuditResult.OK
    assert entry.approval_request_id == request.id
    assert await store.audit.get(entry.id) == entry
    assert await store.audit.get(entry.id + 1000) is None


async def test_entries_without_target_or_values(store: Store) -> None:
    entry = await store.audit.append(
        actor=SAM, action="approve_mailbox", result=AuditResult.DENIED, detail="needs approver"
    )
    read = await store.audit.get(entry.id)
    assert read is not None
    assert (read.target, read.before, read.after, read.environment) == (None, None, None, None)


async def test_latest_by_target_by_actor(store: Store, clock: FakeClock) -> None:
    ids = []
    for actor, target, environment in [
        (DANA, ALICE, "prod"),
        (ERIN, BOB, "prod"),
        (DANA, BOB, "test"),
        (SAM, ALICE, "prod"),
    ]:
        clock.advance(timedelta(seconds=1))
        entry = await store.audit.append(
            actor=actor,
            action="set_mailbox",
            result=AuditResult.OK,
            target=target,
            environment=environment,
            on_behalf_of=SAM.object_id if actor == DANA else None,
        )
        ids.append(entry.id)

    assert [e.id for e in await store.audit.latest(20)] == ids[::-1]
    assert [e.id for e in await store.audit.latest(2)] == [ids[3], ids[2]]
    assert [e.id for e in await store.audit.latest(20, environment="test")] == [ids[2]]
    assert [e.id for e in await store.audit.by_target(ALICE_MAILBOX)] == [ids[3], ids[0]]
    assert [e.id for e in await store.audit.by_actor(DANA.object_id)] == [ids[2], ids[0]]
    assert [e.id for e in await store.audit.by_actor(ERIN.object_id)] == [ids[1]]
    # What others did for sam counts as sam's, unless asked otherwise.
    assert [e.id for e in await store.audit.by_actor(SAM.object_id)] == [
        ids[3],
        ids[2],
        ids[0],
    ]
    assert [e.id for e in await store.audit.by_actor(SAM.object_id, include_on_behalf=False)] == [
        ids[3]
    ]


async def test_entries_about_several_targets(store: Store, clock: FakeClock) -> None:
    """A person's mailbox and the person, say: each key is a kind and an id together."""
    person = Target("user", "5e000000-0000-4000-8000-000000000004", "Sam Sysadmin")
    ids = []
    for target, environment in [
        (ALICE, "prod"),
        (person, "prod"),
        (BOB, "prod"),
        (Target("profile", ALICE_MAILBOX, "same id, other kind"), "prod"),
        (ALICE, "test"),
        (ALICE, "prod"),
    ]:
        clock.advance(timedelta(seconds=1))
        ids.append((await change(store, target, environment=environment)).id)

    keys = [("mailbox", ALICE_MAILBOX), ("user", person.id)]
    assert [e.id for e in await store.audit.about(keys, environment="prod")] == [
        ids[5],
        ids[1],
        ids[0],
    ]
    assert [e.id for e in await store.audit.about(keys, limit=2, environment="prod")] == [
        ids[5],
        ids[1],
    ]
    assert [e.id for e in await store.audit.about(keys)] == [ids[5], ids[4], ids[1], ids[0]]
    assert await store.audit.about([]) == []


async def test_the_last_undoable_change(store: Store) -> None:
    assert await store.audit.last_undoable(ALICE_MAILBOX) is None
    first = await change(store, before={"x": 1}, after={"x": 2})
    second = await change(store, before={"x": 2}, after={"x": 3})
    await change(store, before={"x": 3}, after={"x": 4}, result=AuditResult.FAILED)
    await change(store, before=None, after={"tested": True})
    await change(store, BOB, before={"y": 1}, after={"y": 2})

    found = await store.audit.last_undoable(ALICE_MAILBOX)
    assert found is not None
    assert found.id == second.id

    await change(store, before={"x": 3}, after={"x": 2}, undoes=second.id)
    found = await store.audit.last_undoable(ALICE_MAILBOX)
    assert found is not None
    assert found.id == first.id

    await change(store, before={"x": 2}, after={"x": 1}, undoes=first.id)
    assert await store.audit.last_undoable(ALICE_MAILBOX) is None


async def test_the_last_undoable_change_of_a_kind(store: Store) -> None:
    """A change to something of another kind under the same id is never offered."""
    mailbox = await change(store, before={"x": 1}, after={"x": 2})
    await change(store, Target("profile", ALICE_MAILBOX, "P"), before={"y": 1}, after={"y": 2})

    found = await store.audit.last_undoable(ALICE_MAILBOX, kind="mailbox")
    assert found is not None
    assert found.id == mailbox.id
    assert await store.audit.last_undoable(ALICE_MAILBOX, kind="user") is None


async def test_a_failed_undo_leaves_the_change_undoable(store: Store) -> None:
    original = await change(store, before={"x": 1}, after={"x": 2})
    await change(store, result=AuditResult.FAILED, undoes=original.id)
    found = await store.audit.last_undoable(ALICE_MAILBOX)
    assert found is not None
    assert found.id == original.id


async def test_undo_happens_once(store: Store) -> None:
    original = await change(store, before={"x": 1}, after={"x": 2})
    undo = await change(store, before={"x": 2}, after={"x": 1}, undoes=original.id)
    with pytest.raises(AlreadyUndone) as caught:
        await change(store, before={"x": 2}, after={"x": 1}, undoes=original.id)
    assert caught.value.undone_by == undo.id


async def test_two_undos_at_once_one_succeeds(store: Store, other_store: Store) -> None:
    for _ in range(5):
        original = await change(store, before={"x": 1}, after={"x": 2})
        outcomes = await asyncio.gather(
            change(store, before={"x": 2}, after={"x": 1}, undoes=original.id),
            change(other_store, before={"x": 2}, after={"x": 1}, undoes=original.id),
            return_exceptions=True,
        )
        assert sorted(type(outcome).__name__ for outcome in outcomes) == [
            "AlreadyUndone",
            "AuditEntry",
        ]


async def test_only_successful_changes_can_be_undone(store: Store) -> None:
    original = await change(store, before={"x": 1}, after={"x": 2})
    undo = await change(store, before={"x": 2}, after={"x": 1}, undoes=original.id)
    failed = await change(store, before={"x": 1}, result=AuditResult.FAILED)
    without_before = await change(store, before=None)
    for entry in (undo, failed, without_before):
        with pytest.raises(InvalidInput):
            await change(store, before={"x": 2}, undoes=entry.id)
    with pytest.raises(NotFound):
        await change(store, before={"x": 2}, undoes=999_999)


async def test_unknown_approval_request_is_refused(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.audit.append(
            actor=DANA, action="x", result=AuditResult.OK, approval_request_id=uuid.uuid4()
        )


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET result = 'failed'", "DELETE FROM audit_log"],
)
async def test_the_database_keeps_the_log_append_only(store: Store, statement: str) -> None:
    await change(store, before={"x": 1})
    with pytest.raises(DBAPIError, match="append-only"):
        async with store.engine.begin() as connection:
            await connection.execute(text(statement))
    assert len(await store.audit.latest()) == 1
