"""Leader leases: one holder at a time, across processes, with take-over after expiry."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from store import InvalidInput, Store
from tests.store.kit import Backend, FakeClock

NAME = "monitor:prod"
TTL = timedelta(seconds=30)


async def test_acquire_a_free_lease(store: Store, clock: FakeClock) -> None:
    lease = await store.leases.try_acquire(NAME, "replica-a", TTL)
    assert lease is not None
    assert (lease.holder, lease.token) == ("replica-a", 1)
    assert lease.acquired_at == clock.current
    assert lease.expires_at == clock.current + TTL
    assert await store.leases.current(NAME) == lease


async def test_held_by_another_is_refused(store: Store, other_store: Store) -> None:
    assert await store.leases.try_acquire(NAME, "replica-a", TTL) is not None
    assert await other_store.leases.try_acquire(NAME, "replica-b", TTL) is None
    current = await other_store.leases.current(NAME)
    assert current is not None
    assert current.holder == "replica-a"
    # Another name is another lease.
    assert await other_store.leases.try_acquire("monitor:test", "replica-b", TTL) is not None


async def test_the_holder_acquiring_again_extends(store: Store, clock: FakeClock) -> None:
    first = await store.leases.try_acquire(NAME, "replica-a", TTL)
    clock.advance(timedelta(seconds=10))
    again = await store.leases.try_acquire(NAME, "replica-a", TTL)
    assert first is not None
    assert again is not None
    assert again.token == first.token
    assert again.acquired_at == first.acquired_at
    assert again.expires_at == clock.current + TTL


async def test_expired_lease_is_taken_over(
    store: Store, other_store: Store, clock: FakeClock
) -> None:
    await store.leases.try_acquire(NAME, "replica-a", TTL)
    clock.advance(TTL - timedelta(microseconds=1))
    assert await other_store.leases.try_acquire(NAME, "replica-b", TTL) is None
    clock.advance(timedelta(microseconds=1))
    assert await store.leases.current(NAME) is None
    taken = await other_store.leases.try_acquire(NAME, "replica-b", TTL)
    assert taken is not None
    assert (taken.holder, taken.token, taken.acquired_at) == ("replica-b", 2, clock.current)
    # The old leader comes back: it lost the lease and cannot renew it.
    assert await store.leases.renew(NAME, "replica-a", TTL) is None
    assert await store.leases.try_acquire(NAME, "replica-a", TTL) is None


async def test_renew(store: Store, other_store: Store, clock: FakeClock) -> None:
    lease = await store.leases.try_acquire(NAME, "replica-a", TTL)
    assert lease is not None
    for _ in range(5):
        clock.advance(TTL / 3)
        renewed = await store.leases.renew(NAME, "replica-a", TTL)
        assert renewed is not None
        assert renewed.expires_at == clock.current + TTL
        assert renewed.token == lease.token
        assert await other_store.leases.try_acquire(NAME, "replica-b", TTL) is None
    assert await other_store.leases.renew(NAME, "replica-b", TTL) is None
    assert await store.leases.renew("never-acquired", "replica-a", TTL) is None


async def test_renew_after_expiry_fails(store: Store, clock: FakeClock) -> None:
    await store.leases.try_acquire(NAME, "replica-a", TTL)
    clock.advance(TTL)
    assert await store.leases.renew(NAME, "replica-a", TTL) is None
    # Nobody took it meanwhile: acquiring again works, and the token says it is unchanged.
    again = await store.leases.try_acquire(NAME, "replica-a", TTL)
    assert again is not None
    assert again.token == 1


async def test_release_lets_another_take_over_at_once(store: Store, other_store: Store) -> None:
    await store.leases.try_acquire(NAME, "replica-a", TTL)
    assert await other_store.leases.release(NAME, "replica-b") is False
    assert await store.leases.release(NAME, "replica-a") is True
    assert await store.leases.release(NAME, "replica-a") is False
    assert await store.leases.current(NAME) is None
    taken = await other_store.leases.try_acquire(NAME, "replica-b", TTL)
    assert taken is not None
    assert taken.token == 2


async def test_a_race_for_a_free_lease_has_one_winner(
    store: Store, other_store: Store, clock: FakeClock
) -> None:
    for round_ in range(5):
        name = f"monitor:env{round_}"
        results = await asyncio.gather(
            *(
                (store if index % 2 else other_store).leases.try_acquire(
                    name, f"replica-{index}", TTL
                )
                for index in range(6)
            )
        )
        winners = [lease for lease in results if lease is not None]
        assert len(winners) == 1
        current = await store.leases.current(name)
        assert current == winners[0]


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-1)])
async def test_ttl_must_be_positive(store: Store, ttl: timedelta) -> None:
    with pytest.raises(InvalidInput):
        await store.leases.try_acquire(NAME, "replica-a", ttl)
    with pytest.raises(InvalidInput):
        await store.leases.renew(NAME, "replica-a", ttl)


async def test_with_the_database_clock(backend: Backend) -> None:
    # No injected clock: PostgreSQL's now() (SQLite: the machine's clock) decides.
    first = await backend.open()
    second = await backend.open()
    try:
        ttl = timedelta(milliseconds=300)
        lease = await first.leases.try_acquire(NAME, "replica-a", ttl)
        assert lease is not None
        assert lease.expires_at - lease.acquired_at == ttl
        assert await second.leases.try_acquire(NAME, "replica-b", ttl) is None
        await asyncio.sleep(0.4)
        taken = await second.leases.try_acquire(NAME, "replica-b", ttl)
        assert taken is not None
        assert taken.token == 2
    finally:
        await first.close()
        await second.close()
