"""`Monitor`: one environment's poll loop, run by whichever replica holds its lease.

Every cycle starts with `store.leases.try_acquire("monitor:<environment>", holder, ttl)`
(take the lease, or extend it if this replica has it). A replica without the lease does
nothing but wait until the lease can expire, so that it takes over within the TTL when the
leader dies. The lease's fencing token grows at every change of holder; before each message
and before the watermarks move, the leader checks (renewing the lease at most every third
of the TTL) that it still holds it with the token it started the cycle with. Work done under
a stale token is discarded: the new leader reads again from the stored watermarks, and the
store's one-incident-per-key upsert and card locations keep it from announcing twice.

A new term (the first cycle, or the token changed) starts with a full sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import httpx

from dataverse import DataverseClient
from dataverse.errors import DataverseError
from monitor.config import MonitorConfig
from monitor.digest import DigestSender
from monitor.incidents import IncidentEngine
from monitor.notifier import Notifier
from monitor.watcher import Watcher
from store import Lease, OnCallSchedule, Store, StoreError

log = logging.getLogger(__name__)

LEASE_PREFIX: Final = "monitor:"


class LeaseLost(Exception):
    """This replica no longer holds the lease with the token its cycle started under."""


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle did (`leader` false: another replica holds the lease)."""

    leader: bool
    token: int | None = None
    sweep: bool = False
    requests: int = 0
    changed_mailboxes: int = 0
    changed_alerts: int = 0
    opened: int = 0
    seen_again: int = 0
    resolved: int = 0
    posted: int = 0
    updated: int = 0
    reminded: int = 0
    escalated: int = 0
    held_back: int = 0
    digest: bool = False
    discarded: bool = False
    """The lease was lost during the cycle; its remaining work was dropped."""
    seconds: float = 0.0


Pause = Callable[[asyncio.Event, float], Awaitable[None]]
"""Waits up to the given seconds, returning early once the event is set."""


async def pause_until_stopped(stop: asyncio.Event, seconds: float) -> None:
    """The real `Pause`: the rest of the interval, or until the loop is told to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def default_holder() -> str:
    """A name for this replica: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Monitor:
    """Watches one environment; see the module docstring.

    Args:
        environment: the environment's short name (the bot's `MAILOPS_ENVIRONMENT_NAME`).
        client: the app's Dataverse client for that environment.
        store: the shared store (leases, watermarks, incidents).
        notifier: the bot's proactive sender.
        config: intervals and thresholds (`config.interval` from `MAILOPS_MONITOR_INTERVAL_S`).
        schedule: who is on call (mentions and escalation); None mentions nobody.
        holder: this replica's name in the lease (default: host and pid).
        clock: monotonic seconds, for the length of a cycle and the start of the next.
        pause: how `run_forever` waits between cycles; tests pass these two to run the
            schedule in fake time.
    """

    def __init__(
        self,
        environment: str,
        client: DataverseClient,
        store: Store,
        notifier: Notifier,
        config: MonitorConfig | None = None,
        *,
        schedule: OnCallSchedule | None = None,
        holder: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        pause: Pause = pause_until_stopped,
    ) -> None:
        self.environment = environment
        self._clock = clock
        self._pause = pause
        self.config = config or MonitorConfig()
        self.holder = holder or default_holder()
        self.lease_name = LEASE_PREFIX + environment
        self._store = store
        self.watcher = Watcher(environment, client, store, self.config)
        self.engine = IncidentEngine(
            environment,
            store,
            notifier,
            self.config,
            client=client,
            schedule=schedule,
            profile_names=self.watcher.profile_name,
            profile_counts=self._profile_counts,
            mailbox_info=self.watcher.describe,
        )
        self.digest = DigestSender(environment, client, store, notifier, self.config, self.watcher)
        self._token: int | None = None
        self._renewed_at: datetime | None = None
        self._lost = False

    def _profile_counts(self, profile_id: str) -> tuple[int, int] | None:
        health = self.watcher.profiles().get(profile_id)
        return None if health is None else (health.failing, health.total)

    @property
    def token(self) -> int | None:
        """The fencing token of the current term, None while not leading."""
        return self._token

    async def run_cycle(self) -> CycleReport:
        """One poll: take or keep the lease, read what changed, update incidents, send what is
        due, then move the watermarks. Errors from Dataverse or the store propagate (the
        loop logs them and tries again next interval); the watermarks then stay put."""
        started = self._clock()
        lease = await self._store.leases.try_acquire(self.lease_name, self.holder, self.config.ttl)
        if lease is None:
            self._step_down()
            return CycleReport(leader=False, seconds=self._clock() - started)
        self._new_term(lease)
        beat = asyncio.create_task(self._heartbeat(), name=f"lease {self.lease_name}")
        try:
            return await self._cycle(lease, started)
        except LeaseLost:
            log.warning("monitor %s: lost the lease mid-cycle; work discarded", self.environment)
            self._step_down()
            return CycleReport(
                leader=False,
                token=lease.token,
                discarded=True,
                seconds=self._clock() - started,
            )
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _heartbeat(self) -> None:
        """Renew the lease every third of the TTL while a long cycle runs (a sweep of a
        large fleet may take longer than the TTL)."""
        pause = self.config.ttl.total_seconds() / 3
        while True:
            await asyncio.sleep(pause)
            try:
                await self._renew()
            except LeaseLost:
                return
            except StoreError as exc:
                log.warning("monitor %s: lease renewal failed: %s", self.environment, exc)

    async def _cycle(self, lease: Lease, started: float) -> CycleReport:
        store = self._store
        # The open incidents are read while the watcher reads Dataverse (it needs them only
        # after its reads).
        reading = asyncio.ensure_future(self.engine.open_incidents())
        try:
            poll = await self.watcher.poll(store.now(), reading)
            open_incidents = await reading
        finally:
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(BaseException):
                    await reading
        await self.guard()
        applied = await self.engine.apply(poll, open_incidents)
        sent = await self.engine.reconcile(guard=self.guard, dirty=applied.dirty)
        digest = await self.digest.send_if_due(guard=self.guard)
        await self.guard()
        await self.watcher.commit(poll)
        return CycleReport(
            leader=True,
            token=lease.token,
            sweep=poll.sweep,
            requests=poll.requests + self.digest.last_requests * digest,
            changed_mailboxes=len(poll.mailboxes),
            changed_alerts=len(poll.alerts),
            opened=applied.opened,
            seen_again=applied.seen_again,
            resolved=applied.resolved,
            posted=sent.posted,
            updated=sent.updated,
            reminded=sent.reminded,
            escalated=sent.escalated,
            held_back=sent.held_back,
            digest=digest,
            seconds=self._clock() - started,
        )

    def _new_term(self, lease: Lease) -> None:
        if lease.token != self._token:
            log.info("monitor %s: %s leads (token %d)", self.environment, self.holder, lease.token)
            self.watcher.reset()
            self._token = lease.token
        self._renewed_at = self._store.now()
        self._lost = False

    def _step_down(self) -> None:
        if self._token is not None:
            self.watcher.reset()
        self._token = None
        self._renewed_at = None

    async def guard(self) -> None:
        """Raise LeaseLost unless this replica still leads with its term's token; renews the
        lease when a third of the TTL has passed since the last renewal."""
        if self._token is None or self._renewed_at is None or self._lost:
            raise LeaseLost
        if self._store.now() - self._renewed_at >= self.config.ttl / 3:
            await self._renew()

    async def _renew(self) -> None:
        """Extend the lease. If it lapsed but nobody took it meanwhile (the token is still
        this term's), take it back: the fencing token proves no other leader ran."""
        now = self._store.now()
        leases = self._store.leases
        lease = await leases.renew(self.lease_name, self.holder, self.config.ttl)
        if lease is None:
            lease = await leases.try_acquire(self.lease_name, self.holder, self.config.ttl)
        if lease is None or lease.token != self._token:
            self._lost = True
            raise LeaseLost
        self._renewed_at = now

    async def _follower_wait(self) -> float:
        """Seconds until the current lease could expire (a follower retries then)."""
        lease = await self._store.leases.current(self.lease_name)
        interval = self.config.interval.total_seconds()
        if lease is None:
            return 0.0
        remaining = (lease.expires_at - self._store.now()).total_seconds()
        return max(0.05, min(interval, remaining + 0.05))

    async def run_forever(
        self,
        stop: asyncio.Event,
        *,
        on_cycle: Callable[[CycleReport], None] | None = None,
    ) -> None:
        """Cycle every interval until `stop` is set; release the lease on the way out.

        A follower retries when the leader's lease can expire, so it takes over within the
        TTL of the leader's last renewal. `on_cycle` sees every report (metrics, logs).
        """
        interval = self.config.interval.total_seconds()
        try:
            while not stop.is_set():
                started = self._clock()
                wait = interval
                try:
                    report = await self.run_cycle()
                    if on_cycle is not None:
                        on_cycle(report)
                    if not report.leader:
                        wait = await self._follower_wait()
                    else:
                        wait = max(0.0, started + interval - self._clock())
                except (DataverseError, StoreError, httpx.HTTPError, OSError) as exc:
                    log.warning("monitor %s: cycle failed: %s", self.environment, exc)
                except Exception:
                    # The loop outlives any one bad cycle (a notifier bug, an odd row): the
                    # watermarks did not move, so the next cycle reads the same changes.
                    log.exception("monitor %s: cycle failed", self.environment)
                await self._pause(stop, wait)
        finally:
            if self._token is not None:
                try:
                    await self._store.leases.release(self.lease_name, self.holder)
                except StoreError as exc:  # pragma: no cover - shutting down anyway
                    log.warning("monitor %s: lease not released: %s", self.environment, exc)
                self._step_down()
