"""Where the facts come from, and a short-lived cache in front of it.

:class:`FactSource` is the seam: the bot implements it over Graph and the Dataverse Web API;
tests implement it in memory. :class:`FactsCache` reads a person's Entra roles, Dataverse
roles and the environment at the same time, keeps them for a short TTL (roles change, and
a stale "yes" is worse than a slow answer), and lets concurrent requests for one person
share one fetch. Pure asyncio: no I/O library is imported here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Generic, Protocol, TypeVar

from permissions.model import Actor, Depth, Environment, RoleRef

_T = TypeVar("_T")

DEFAULT_TTL_SECONDS: Final = 60.0
_ENVIRONMENT_KEY: Final = "environment"


@dataclass(frozen=True)
class DataversePrincipalFacts:
    """What Dataverse says about the systemuser behind an Entra object id.

    Args:
        systemuser_id: the systemuser row id.
        upn: ``systemuser.domainname``, the user principal name.
        is_application: an application user (service principal), not a person.
        direct_roles: roles assigned to the user.
        team_roles: roles held through team membership.
        privileges: merged from all roles, widest depth per privilege
            (see :func:`permissions.model.merge_privileges`).
    """

    systemuser_id: str | None
    upn: str | None
    is_application: bool = False
    direct_roles: frozenset[RoleRef] = frozenset()
    team_roles: frozenset[RoleRef] = frozenset()
    privileges: Mapping[str, Depth] = field(default_factory=dict)


class FactSource(Protocol):
    """Reads the facts a decision needs. Implementations raise on failure."""

    async def entra_role_template_ids(self, object_id: str) -> frozenset[str]:
        """Active Entra role template ids of ``object_id``, direct and through groups."""
        ...

    async def dataverse_principal(self, object_id: str) -> DataversePrincipalFacts:
        """The Dataverse roles (direct and via teams) and merged privileges of a person."""
        ...

    async def environment(self) -> Environment:
        """The environment's deployment, version and self-approval setting."""
        ...


class FactsUnavailableError(Exception):
    """A person's facts could not be read; the cause is chained."""

    def __init__(self, object_id: str) -> None:
        super().__init__(f"could not read the permission facts of {object_id}")
        self.object_id = object_id


class _SingleFlight(Generic[_T]):
    """A TTL cache where concurrent misses for one key share a single fetch."""

    def __init__(self, ttl: float, clock: Callable[[], float], max_entries: int) -> None:
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._values: dict[str, tuple[float, _T]] = {}
        self._inflight: dict[str, asyncio.Task[_T]] = {}
        self._generation = 0

    async def get(self, key: str, fetch: Callable[[], Awaitable[_T]]) -> _T:
        hit = self._values.get(key)
        if hit is not None and self._clock() < hit[0]:
            return hit[1]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, fetch, self._generation))
            # A fetch whose every waiter was cancelled still finishes; read its exception
            # so that asyncio does not report it as never retrieved.
            task.add_done_callback(_consume_exception)
            self._inflight[key] = task
        # One caller's cancellation must not cancel the fetch the others are waiting for.
        return await asyncio.shield(task)

    async def _load(self, key: str, fetch: Callable[[], Awaitable[_T]], generation: int) -> _T:
        try:
            value = await fetch()
        finally:
            self._inflight.pop(key, None)
        # A fetch started before an invalidation may carry the old roles: answer with it,
        # but do not keep it.
        if generation == self._generation and self._ttl > 0:
            self._store(key, value)
        return value

    def _store(self, key: str, value: _T) -> None:
        now = self._clock()
        self._values.pop(key, None)
        self._values[key] = (now + self._ttl, value)
        if len(self._values) > self._max_entries:
            for stale in [k for k, (expires, _) in self._values.items() if expires <= now]:
                del self._values[stale]
        while len(self._values) > self._max_entries:
            del self._values[next(iter(self._values))]

    def invalidate(self, key: str | None) -> None:
        self._generation += 1
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)


def _consume_exception(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()


class FactsCache:
    """Reads a person's facts concurrently, shares concurrent reads, keeps them ``ttl``.

    Args:
        source: where the facts come from.
        ttl_seconds: how long a read stays fresh; 0 disables keeping (sharing still works).
        clock: monotonic seconds; injected so tests can move time.
        max_entries: people kept at most; the oldest go first.
    """

    def __init__(
        self,
        source: FactSource,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 1024,
    ) -> None:
        if ttl_seconds < 0:
            msg = f"ttl_seconds must be >= 0, not {ttl_seconds}"
            raise ValueError(msg)
        if max_entries < 1:
            msg = f"max_entries must be >= 1, not {max_entries}"
            raise ValueError(msg)
        self._source = source
        self._actors = _SingleFlight[Actor](ttl_seconds, clock, max_entries)
        self._environment = _SingleFlight[Environment](ttl_seconds, clock, 1)

    async def actor(self, object_id: str) -> Actor:
        """The person's facts: Entra roles and Dataverse roles, read at the same time.

        Raises:
            FactsUnavailableError: a read failed.
        """
        key = _key(object_id)
        return await self._actors.get(key, lambda: self._read_actor(key))

    async def environment(self) -> Environment:
        """The environment's facts."""
        return await self._environment.get(_ENVIRONMENT_KEY, self._source.environment)

    async def facts(self, object_id: str) -> tuple[Actor, Environment]:
        """The person's facts and the environment's, all read at the same time.

        Raises:
            FactsUnavailableError: a read failed.
        """
        try:
            async with asyncio.TaskGroup() as group:
                actor = group.create_task(self.actor(object_id))
                environment = group.create_task(self.environment())
        except ExceptionGroup as failures:
            raise FactsUnavailableError(_key(object_id)) from failures
        return actor.result(), environment.result()

    def invalidate(self, object_id: str | None = None) -> None:
        """Forget one person's facts (after a role change), or everything when ``None``."""
        self._actors.invalidate(None if object_id is None else _key(object_id))
        if object_id is None:
            self._environment.invalidate(None)

    async def _read_actor(self, object_id: str) -> Actor:
        try:
            async with asyncio.TaskGroup() as group:
                entra = group.create_task(self._source.entra_role_template_ids(object_id))
                dataverse = group.create_task(self._source.dataverse_principal(object_id))
        except ExceptionGroup as failures:
            raise FactsUnavailableError(object_id) from failures
        person = dataverse.result()
        return Actor(
            object_id=object_id,
            upn=person.upn,
            entra_role_template_ids=entra.result(),
            direct_roles=person.direct_roles,
            team_roles=person.team_roles,
            privileges=person.privileges,
            is_application=person.is_application,
            systemuser_id=person.systemuser_id,
        )


def _key(object_id: str) -> str:
    # Entra object ids are GUIDs; Graph and Teams do not agree on their case.
    return object_id.strip().lower()
