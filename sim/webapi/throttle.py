"""Service protection limits (reference/dataverse.md §6.3, source S11 api-limits).

Per authenticated user, over a sliding window of `Limits.window_seconds`:

- the number of requests (`requests_per_window`; every operation inside a `$batch` counts,
  and a batch larger than what is left is refused as a whole): 0x80072322;
- the combined execution time (`execution_ms_per_window`): 0x80072321;
- the number of requests in flight at once (`concurrent_requests`): 0x80072326, at once.

A refused request gets 429 with `Retry-After` in whole seconds: for the window limits, the time
until enough of the window has slid past; for concurrency, `Limits.retry_after_seconds`.
Refused requests are not counted. The clock is injectable so tests run in no time.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sim.context import Limits
from sim.webapi import errors


@dataclass
class _Usage:
    requests: deque[tuple[float, int]] = field(default_factory=deque)  # (when, how many)
    request_total: int = 0
    execution: deque[tuple[float, float]] = field(default_factory=deque)  # (when, ms)
    execution_total: float = 0.0
    in_flight: int = 0


@dataclass
class Ticket:
    """An admitted request; hand it back to `ServiceProtection.release` when done."""

    user: str
    started: float
    remaining: int  # requests left in the window after this one (a debug header)
    released: bool = False


class ServiceProtection:
    """Sliding-window request and execution-time limits plus a concurrency limit, per user."""

    def __init__(
        self,
        limits: Callable[[], Limits],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._users: dict[str, _Usage] = {}

    def reset(self) -> None:
        self._users.clear()

    def _usage(self, user: str, now: float, window: float) -> _Usage:
        usage = self._users.setdefault(user, _Usage())
        horizon = now - window
        while usage.requests and usage.requests[0][0] <= horizon:
            usage.request_total -= usage.requests.popleft()[1]
        while usage.execution and usage.execution[0][0] <= horizon:
            usage.execution_total -= usage.execution.popleft()[1]
        return usage

    @staticmethod
    def _wait(
        entries: deque[tuple[float, float]] | deque[tuple[float, int]],
        excess: float,
        now: float,
        window: float,
    ) -> int:
        """Seconds until the oldest entries worth `excess` have left the window."""
        freed = 0.0
        for when, amount in entries:
            freed += amount
            if freed >= excess:
                return max(1, math.ceil(when + window - now))
        return max(1, math.ceil(window))

    def admit(self, user: str, cost: int = 1) -> Ticket:
        """Count `cost` requests for `user` or raise the 429 DataverseFault."""
        limits = self._limits()
        now = self._clock()
        window = limits.window_seconds
        usage = self._usage(user, now, window)
        if usage.in_flight >= limits.concurrent_requests:
            raise errors.too_concurrent(limits.concurrent_requests, limits.retry_after_seconds)
        cost = max(1, cost)
        if usage.request_total + cost > limits.requests_per_window:
            excess = usage.request_total + cost - limits.requests_per_window
            wait = (
                math.ceil(window)
                if cost > limits.requests_per_window
                else self._wait(usage.requests, excess, now, window)
            )
            raise errors.too_many_requests(limits.requests_per_window, window, wait)
        if usage.execution_total > limits.execution_ms_per_window:
            excess_ms = usage.execution_total - limits.execution_ms_per_window
            wait = self._wait(usage.execution, excess_ms, now, window)
            raise errors.too_much_time(limits.execution_ms_per_window, window, wait)
        usage.requests.append((now, cost))
        usage.request_total += cost
        usage.in_flight += 1
        return Ticket(user, now, limits.requests_per_window - usage.request_total)

    def release(self, ticket: Ticket) -> None:
        """The request is answered: record its execution time, free its concurrency slot."""
        if ticket.released:
            return
        ticket.released = True
        now = self._clock()
        usage = self._users.get(ticket.user)
        if usage is None:  # reset while the request ran
            return
        usage.in_flight = max(0, usage.in_flight - 1)
        elapsed_ms = max(0.0, (now - ticket.started) * 1000.0)
        usage.execution.append((now, elapsed_ms))
        usage.execution_total += elapsed_ms

    def in_flight(self, user: str) -> int:
        usage = self._users.get(user)
        return usage.in_flight if usage else 0
