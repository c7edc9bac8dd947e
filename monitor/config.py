"""The monitor's knobs: one frozen value per environment, built by the bot from its settings.

Nothing here reads the environment; the bot reads `MAILOPS_MONITOR_INTERVAL_S` (default
60) and `MAILOPS_MONITOR_LEASE_TTL_S` (default three intervals) and passes them in as
`interval` and `lease_ttl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Final

from store import InvalidInput

DEFAULT_INTERVAL: Final = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class ProfileThreshold:
    """When a server profile counts as failing: at least `min_mailboxes` of its mailboxes
    fail and they are at least `ratio` of the profile's mailboxes. It counts as recovered
    again below `min_mailboxes` or below `resolve_ratio` (hysteresis, so that one mailbox
    going back and forth does not open and close the profile incident every cycle)."""

    min_mailboxes: int = 5
    ratio: float = 0.5
    resolve_ratio: float = 0.25

    def __post_init__(self) -> None:
        if self.min_mailboxes < 1 or not 0 < self.resolve_ratio <= self.ratio <= 1:
            msg = "a profile threshold needs min_mailboxes >= 1, 0 < resolve_ratio <= ratio <= 1"
            raise InvalidInput(msg)

    def failing(self, failing: int, total: int) -> bool:
        return total > 0 and failing >= self.min_mailboxes and failing / total >= self.ratio

    def recovered(self, failing: int, total: int) -> bool:
        return total == 0 or failing < self.min_mailboxes or failing / total < self.resolve_ratio


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """How one environment is watched and how its incidents are handled.

    Attributes:
        interval: time between polls (`MAILOPS_MONITOR_INTERVAL_S`).
        lease_ttl: how long a leader's lease lasts without renewal
            (`MAILOPS_MONITOR_LEASE_TTL_S`); None means three intervals. Another replica
            takes over within this time when the leader dies.
        full_sweep_every: every Nth cycle reads every mailbox (status columns only), to
            catch what the watermark missed; the first cycle of a process always does.
        overlap: how far behind the newest `modifiedon` seen the next read starts (rows
            committed late with an older timestamp, one-second timestamps); rows already
            seen in the overlap are skipped by id and version.
        page_size: `Prefer: odata.maxpagesize` for every read (reference §6.6).
        alert_lookback: how far back the first read of alerts goes (older alerts are history).
        profile_threshold: when a profile counts as failing (see `ProfileThreshold`).
        approval_pending_after: an address pending approval for longer than this opens an
            incident; None turns the check off.
        approval_check_every: the pending-approval query runs every Nth cycle.
        ack_timeout: a firing incident not acknowledged this long after it was last
            announced escalates one level (1: the next person on call, 2: the approvers).
        repeat_interval: an open incident is announced again after this long.
        auto_retest: schedule Test & Enable when a failing mailbox changes without a new
            test result (someone fixed something); off by default.
        retest_cooldown: at most one automatic re-test per mailbox in this time.
        locale: the language of the cards in the on-call channel.
        digest_at: the time of day (UTC) after which the daily digest goes out; None: never.
        max_listed: how many mailboxes a grouped card lists before "… and N more".
    """

    interval: timedelta = DEFAULT_INTERVAL
    lease_ttl: timedelta | None = None
    full_sweep_every: int = 60
    overlap: timedelta = timedelta(seconds=5)
    page_size: int = 5000
    alert_lookback: timedelta = timedelta(hours=24)
    profile_threshold: ProfileThreshold = field(default_factory=ProfileThreshold)
    approval_pending_after: timedelta | None = timedelta(days=2)
    approval_check_every: int = 60
    ack_timeout: timedelta = timedelta(minutes=15)
    repeat_interval: timedelta = timedelta(hours=4)
    auto_retest: bool = False
    retest_cooldown: timedelta = timedelta(minutes=30)
    locale: str = "en-US"
    digest_at: time | None = time(8, 0)
    max_listed: int = 25

    def __post_init__(self) -> None:
        problems = []
        if self.interval <= timedelta(0):
            problems.append("interval must be positive")
        if self.lease_ttl is not None and self.lease_ttl <= self.interval:
            problems.append("lease_ttl must be longer than the interval")
        if self.full_sweep_every < 1 or self.approval_check_every < 1:
            problems.append("full_sweep_every and approval_check_every must be at least 1")
        if self.overlap < timedelta(0):
            problems.append("overlap must not be negative")
        if not 1 <= self.page_size <= 5000:
            problems.append("page_size must be 1..5000 (reference §6.6)")
        if self.ack_timeout <= timedelta(0) or self.repeat_interval <= timedelta(0):
            problems.append("ack_timeout and repeat_interval must be positive")
        if self.max_listed < 1:
            problems.append("max_listed must be at least 1")
        if problems:
            raise InvalidInput("; ".join(problems))

    @property
    def ttl(self) -> timedelta:
        """The lease TTL: as configured, or three intervals."""
        return self.lease_ttl if self.lease_ttl is not None else 3 * self.interval
