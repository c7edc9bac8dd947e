"""FactsCache: concurrent reads, TTL, de-duplication, failures (brief item 4). The source
and the clock are fakes of the outside world; the cache itself is the real one."""

from __future__ import annotations

import asyncio

import pytest

from permissions import (
    DataversePrincipalFacts,
    Deployment,
    Depth,
    Environment,
    FactsCache,
    FactsUnavailableError,
)
from permissions.identifiers import PRV_APPROVE_REJECT_EMAIL
from tests.permissions.builders import GA, SYSTEM_ADMIN

ALICE = "AA000000-0000-4000-8000-000000000009"
BOB = "aa000000-0000-4000-8000-00000000000a"


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSource:
    """An in-memory FactSource that counts calls and can hold them until released."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {"entra": 0, "dataverse": 0, "environment": 0}
        self.release = asyncio.Event()
        self.release.set()
        self.entra_started = asyncio.Event()
        self.dataverse_started = asyncio.Event()
        self.rendezvous = False
        self.entra_error: Exception | None = None
        self.entra_roles: frozenset[str] = frozenset({GA})

    async def entra_role_template_ids(self, object_id: str) -> frozenset[str]:
        self.calls["entra"] += 1
        self.entra_started.set()
        if self.rendezvous:
            await self.dataverse_started.wait()
        await self.release.wait()
        if self.entra_error is not None:
            raise self.entra_error
        return self.entra_roles

    async def dataverse_principal(self, object_id: str) -> DataversePrincipalFacts:
        self.calls["dataverse"] += 1
        self.dataverse_started.set()
        if self.rendezvous:
            await self.entra_started.wait()
        await self.release.wait()
        return DataversePrincipalFacts(
            systemuser_id=f"su-{object_id}",
            upn=f"{object_id}@contoso.com",
            is_application=False,
            direct_roles=frozenset({SYSTEM_ADMIN}),
            team_roles=frozenset(),
            privileges={PRV_APPROVE_REJECT_EMAIL: Depth.ORGANIZATION},
        )

    async def environment(self) -> Environment:
        self.calls["environment"] += 1
        await self.release.wait()
        return Environment(Deployment.ONLINE, "9.2.25093.00214", False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


async def test_actor_is_built_from_both_sources(source: FakeSource, clock: FakeClock) -> None:
    """Brief item 4: Entra role template ids plus Dataverse roles and merged privileges."""
    actor = await FactsCache(source, clock=clock).actor(ALICE)
    assert actor.object_id == ALICE.lower()
    assert actor.entra_role_template_ids == frozenset({GA})
    assert actor.direct_roles == frozenset({SYSTEM_ADMIN})
    assert actor.privilege(PRV_APPROVE_REJECT_EMAIL) is Depth.ORGANIZATION
    assert actor.systemuser_id == f"su-{ALICE.lower()}"


async def test_entra_and_dataverse_are_read_concurrently(
    source: FakeSource, clock: FakeClock
) -> None:
    """Brief item 4: the reads run at the same time. Each fake read waits for the other to
    have started, so reading one after the other would never finish."""
    source.rendezvous = True
    async with asyncio.timeout(2):
        actor = await FactsCache(source, clock=clock).actor(ALICE)
    assert actor.upn is not None


async def test_facts_reads_the_environment_too(source: FakeSource, clock: FakeClock) -> None:
    """Brief item 4: person and environment together; the environment is cached as well."""
    cache = FactsCache(source, clock=clock)
    actor, environment = await cache.facts(ALICE)
    await cache.facts(BOB)
    assert environment.deployment is Deployment.ONLINE
    assert actor.object_id == ALICE.lower()
    assert source.calls == {"entra": 2, "dataverse": 2, "environment": 1}


async def test_concurrent_requests_for_one_person_share_a_fetch(
    source: FakeSource, clock: FakeClock
) -> None:
    """Brief item 4: de-duplicate concurrent fetches for the same person (object ids in any
    case are one person)."""
    source.release.clear()
    cache = FactsCache(source, clock=clock)
    waiters = [
        asyncio.create_task(cache.actor(ALICE if i % 2 else ALICE.lower())) for i in range(20)
    ]
    await asyncio.sleep(0)
    source.release.set()
    actors = await asyncio.gather(*waiters)
    assert len(set(actors)) == 1
    assert source.calls["entra"] == 1
    assert source.calls["dataverse"] == 1


async def test_ttl_with_a_fake_clock(source: FakeSource, clock: FakeClock) -> None:
    """Brief item 4: cached for a short configurable TTL, then read again."""
    cache = FactsCache(source, ttl_seconds=30, clock=clock)
    await cache.actor(ALICE)
    clock.advance(29.9)
    await cache.actor(ALICE)
    assert source.calls["dataverse"] == 1
    clock.advance(0.1)
    await cache.actor(ALICE)
    assert source.calls["dataverse"] == 2


async def test_zero_ttl_keeps_nothing(source: FakeSource, clock: FakeClock) -> None:
    """A TTL of 0 turns keeping off; every call reads again."""
    cache = FactsCache(source, ttl_seconds=0, clock=clock)
    await cache.actor(ALICE)
    await cache.actor(ALICE)
    assert source.calls["dataverse"] == 2


async def test_failures_are_raised_and_not_cached(source: FakeSource, clock: FakeClock) -> None:
    """A failed read raises FactsUnavailableError with the cause chained, and the next call
    tries again instead of remembering the failure."""
    source.entra_error = RuntimeError("graph is down")
    cache = FactsCache(source, clock=clock)
    with pytest.raises(FactsUnavailableError) as raised:
        await cache.actor(ALICE)
    assert raised.value.object_id == ALICE.lower()
    cause = raised.value.__cause__
    assert isinstance(cause, ExceptionGroup)
    assert cause.subgroup(RuntimeError) is not None
    source.entra_error = None
    assert (await cache.actor(ALICE)).entra_role_template_ids == frozenset({GA})
    assert source.calls["entra"] == 2


async def test_facts_wraps_failures(source: FakeSource, clock: FakeClock) -> None:
    """facts() reports a failed person read as FactsUnavailableError too."""
    source.entra_error = RuntimeError("graph is down")
    with pytest.raises(FactsUnavailableError):
        await FactsCache(source, clock=clock).facts(ALICE)


async def test_a_cancelled_caller_does_not_cancel_the_others(
    source: FakeSource, clock: FakeClock
) -> None:
    """A Teams turn that gives up must not fail another turn waiting on the same read."""
    source.release.clear()
    cache = FactsCache(source, clock=clock)
    impatient = asyncio.create_task(cache.actor(ALICE))
    patient = asyncio.create_task(cache.actor(ALICE))
    await asyncio.sleep(0)
    impatient.cancel()
    source.release.set()
    actor = await patient
    assert actor.object_id == ALICE.lower()
    assert impatient.cancelled()
    await cache.actor(ALICE)
    assert source.calls["dataverse"] == 1


async def test_invalidate(source: FakeSource, clock: FakeClock) -> None:
    """After a role change the bot forgets a person's facts (or everything)."""
    cache = FactsCache(source, clock=clock)
    await cache.facts(ALICE)
    await cache.actor(BOB)
    cache.invalidate(ALICE)
    await cache.actor(ALICE)
    await cache.actor(BOB)
    assert source.calls["dataverse"] == 3
    cache.invalidate()
    await cache.facts(BOB)
    assert source.calls["dataverse"] == 4
    assert source.calls["environment"] == 2


async def test_a_read_started_before_invalidation_is_not_kept(
    source: FakeSource, clock: FakeClock
) -> None:
    """An in-flight read may carry the roles from before the change: answer with it, but
    read again next time."""
    source.release.clear()
    cache = FactsCache(source, clock=clock)
    waiter = asyncio.create_task(cache.actor(ALICE))
    await asyncio.sleep(0)
    cache.invalidate(ALICE)
    source.release.set()
    await waiter
    await cache.actor(ALICE)
    assert source.calls["dataverse"] == 2


async def test_max_entries_evicts_the_oldest(source: FakeSource, clock: FakeClock) -> None:
    """The cache is bounded."""
    cache = FactsCache(source, clock=clock, max_entries=1)
    await cache.actor(ALICE)
    await cache.actor(BOB)
    await cache.actor(BOB)
    assert source.calls["dataverse"] == 2
    await cache.actor(ALICE)
    assert source.calls["dataverse"] == 3


@pytest.mark.parametrize(("ttl", "size"), [(-1.0, 10), (10.0, 0)])
def test_bad_settings_are_refused(source: FakeSource, ttl: float, size: int) -> None:
    """Fail fast on a configuration that cannot work."""
    with pytest.raises(ValueError, match="must be"):
        FactsCache(source, ttl_seconds=ttl, max_entries=size)
