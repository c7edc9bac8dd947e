"""Watermarks per environment and stream."""

from __future__ import annotations

from datetime import timedelta

from store import Store
from tests.store.kit import FakeClock


async def test_get_set_and_list(store: Store, other_store: Store, clock: FakeClock) -> None:
    assert await store.watermarks.get("prod", "mailboxes.modifiedon") is None
    first = await store.watermarks.set("prod", "mailboxes.modifiedon", "2025-06-02T08:59:00Z")
    assert first.updated_at == clock.current

    clock.advance(timedelta(minutes=1))
    await store.watermarks.set("prod", "tracelogs.modifiedon", "2025-06-02T08:58:00Z")
    second = await other_store.watermarks.set(
        "prod", "mailboxes.modifiedon", "2025-06-02T09:00:00Z"
    )
    await store.watermarks.set("test", "mailboxes.delta", 'W/"token"')

    assert second.updated_at == clock.current
    assert await store.watermarks.get("prod", "mailboxes.modifiedon") == second
    assert [(w.stream, w.value) for w in await store.watermarks.all("prod")] == [
        ("mailboxes.modifiedon", "2025-06-02T09:00:00Z"),
        ("tracelogs.modifiedon", "2025-06-02T08:58:00Z"),
    ]
    assert [w.value for w in await store.watermarks.all("test")] == ['W/"token"']
