"""Bulk-change previews: kept until taken once or expired, shared by every process."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from store import InvalidInput, Store
from store.previews import PURGE_BATCH
from tests.store.kit import FakeClock

TTL = timedelta(minutes=15)
RECORD: dict[str, Any] = {
    "operation": "approve-email",
    "mailboxes": [["11111111-1111-1111-1111-111111111111", "Alice Anders", 2**62 + 1]],
    "run": {"kind": "set-delivery-methods", "params": {"outgoing": 1, "act": None}},
    "label": "Ünïcode ✓",
}


async def _count(store: Store) -> int:
    async with store.engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM previews"))).scalar_one())


async def test_add_then_take_gives_the_record_once(store: Store, clock: FakeClock) -> None:
    await store.previews.add("tok-1", RECORD, clock.current + TTL)
    assert await store.previews.take("tok-1") == RECORD
    assert await store.previews.take("tok-1") is None
    assert await _count(store) == 0


async def test_unknown_tokens_give_nothing(store: Store, clock: FakeClock) -> None:
    await store.previews.add("tok-1", RECORD, clock.current + TTL)
    for token in ("tok-2", "", "x" * 500):
        assert await store.previews.take(token) is None
    assert await store.previews.take("tok-1") == RECORD


async def test_another_process_takes_what_one_added(
    store: Store, other_store: Store, clock: FakeClock
) -> None:
    await store.previews.add("tok-1", RECORD, clock.current + TTL)
    assert await other_store.previews.take("tok-1") == RECORD
    assert await store.previews.take("tok-1") is None


async def test_an_expired_preview_is_never_returned(store: Store, clock: FakeClock) -> None:
    await store.previews.add("early", RECORD, clock.current + TTL)
    await store.previews.add("late", RECORD, clock.current + TTL)
    clock.advance(TTL - timedelta(microseconds=1))
    assert await store.previews.take("early") == RECORD
    clock.advance(timedelta(microseconds=1))
    assert await store.previews.take("late") is None
    # Taken, though expired: the row is gone.
    assert await _count(store) == 0


async def test_add_removes_expired_previews_a_batch_at_a_time(
    store: Store, clock: FakeClock
) -> None:
    backlog = PURGE_BATCH + 5
    for number in range(backlog):
        await store.previews.add(f"old-{number}", RECORD, clock.current + TTL)
    await store.previews.add("alive", RECORD, clock.current + 2 * TTL)
    clock.advance(TTL)

    await store.previews.add("new-1", RECORD, clock.current + TTL)
    assert await _count(store) == backlog + 2 - PURGE_BATCH
    await store.previews.add("new-2", RECORD, clock.current + TTL)
    assert await _count(store) == 3  # alive, new-1, new-2
    assert await store.previews.take("alive") == RECORD


async def test_concurrent_takes_have_exactly_one_winner(
    store: Store, other_store: Store, clock: FakeClock
) -> None:
    for round_ in range(5):
        token = f"tok-{round_}"
        await store.previews.add(token, RECORD, clock.current + TTL)
        takers = [store, other_store] * 4
        taken = await asyncio.gather(*(s.previews.take(token) for s in takers))
        assert [t for t in taken if t is not None] == [RECORD]


@pytest.mark.parametrize(
    ("token", "shift", "naive"),
    [
        ("", TTL, False),
        ("x" * 65, TTL, False),
        ("tok", timedelta(0), False),
        ("tok", -TTL, False),
        ("tok", TTL, True),
    ],
    ids=["empty-token", "long-token", "expires-now", "expired", "naive-time"],
)
async def test_add_refuses_bad_input(
    store: Store, clock: FakeClock, token: str, shift: timedelta, naive: bool
) -> None:
    expires_at = clock.current + shift
    with pytest.raises(InvalidInput):
        await store.previews.add(
            token, RECORD, expires_at.replace(tzinfo=None) if naive else expires_at
        )
    assert await _count(store) == 0
