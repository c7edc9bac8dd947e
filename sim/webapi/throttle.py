"""Service protection limits (reference/dataverse.md §6.3, source S11 api-limits).

Per authenticated user, over a sliding window of `Limits.window_seconds`:

- the number of requests (`requests_per_window`): 0x80072322. A `$batch` counts as ONE
  request, however many operations it carries: api-limits.md says combining operations in a
  batch (up to 1,000) avoids the number-of-requests limit (the per-operation count belongs to
  the 24-hour Power Platform entitlement, which answers no 429 and is not modelled);
- the combined execution time (`execution_ms_per_window`): 0x80072321. Batching does not
  avoid it (api-limits.md): every operation of a batch adds its own execution time, charged
  as it completes (`charge`), so a long batch fills the window while it runs;
- the number of requests in flight at once (`concurrent_requests`): 0x80072326, at once. A
  running `$batch` holds one slot, like any request.

The window limits show up after a delay, as documented: a request is refused when the window
is already over its limit, so the request that crosses it still runs.

A refused request gets 429 with `Retry-After` in whole seconds: for the window limits, the time
until enough of the window has slid past; for concurrency, `Limits.retry_after_seconds`.
Refused requests are not counted.

The clock and the sleep that serves the sim's base latency (`serve`) are injectable
(`use_clock`), so tests run in no time; the sim's reset puts the real ones back.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sim.context import Limits
from sim.webapi import errors

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _Usage:
    requests: deque[float] = field(default_factory=deque)  # when each request was admitted
    execution: deque[tuple[float, float]] = field(default_factory=deque)  # (when, ms)
    execution_total: float = 0.0
    in_flight: int = 0


@dataclass
class Ticket:
    """An admitted request; hand it back to `ServiceProtection.release` when done."""

    user: str
    started: float
    remaining: int  # requests left in the window after this one (a debug header)
    charged_until: float = 0.0  # the clock up to which its execution time is counted
    released: bool = False


class ServiceProtection:
    """Sliding-window request and execution-time limits plus a concurrency limit, per user."""

    def __init__(
        self,
        limits: Callable[[], Limits],
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._limits = limits
        self._default_clock, self._default_sleep = clock, sleep
        self._clock, self._sleep = clock, sleep
        self._users: dict[str, _Usage] = {}

    def reset(self) -> None:
        self._users.clear()
        self._clock, self._sleep = self._default_clock, self._default_sleep

    def use_clock(self, clock: Clock, sleep: Sleep) -> None:
        """Measure with `clock` and serve latency with `sleep` until the next reset."""
        self._clock, self._sleep = clock, sleep

    def now(self) -> float:
        return self._clock()

    async def serve(self, seconds: float) -> None:
        """Spend `seconds` serving a request: the sim's modelled latency of an operation."""
        await self._sleep(seconds)

    def _usage(self, user: str, now: float, window: float) -> _Usage:
        usage = self._users.setdefault(user, _Usage())
        horizon = now - window
        while usage.requests and usage.requests[0] <= horizon:
            usage.requests.popleft()
        while usage.execution and usage.execution[0][0] <= horizon:
            usage.execution_total -= usage.execution.popleft()[1]
        return usage

    @staticmethod
    def _wait(
        entries: deque[tuple[float, float]], excess: float, now: float, window: float
    ) -> int:
        """Seconds until the oldest entries worth `excess` have left the window."""
        freed = 0.0
        for when, amount in entries:
            freed += amount
            if freed >= excess:
                return max(1, math.ceil(when + window - now))
        return max(1, math.ceil(window))

    def admit(self, user: str) -> Ticket:
        """Count one request for `user` (a `$batch` too) or raise the 429 DataverseFault."""
        limits = self._limits()
        now = self._clock()
        window = limits.window_seconds
        usage = self._usage(user, now, window)
        if usage.in_flight >= limits.concurrent_requests:
            raise errors.too_concurrent(limits.concurrent_requests, limits.retry_after_seconds)
        if len(usage.requests) >= limits.requests_per_window:
            # The request that brings the count back under the limit leaves the window first.
            oldest = usage.requests[len(usage.requests) - limits.requests_per_window]
            wait = max(1, math.ceil(oldest + window - now))
            raise errors.too_many_requests(limits.requests_per_window, window, wait)
        if usage.execution_total > limits.execution_ms_per_window:
            excess_ms = usage.execution_total - limits.execution_ms_per_window
            wait = self._wait(usage.execution, excess_ms, now, window)
            raise errors.too_much_time(limits.execution_ms_per_window, window, wait)
        usage.requests.append(now)
        usage.in_flight += 1
        return Ticket(user, now, limits.requests_per_window - len(usage.requests), now)

    def charge(self, ticket: Ticket) -> None:
        """Add the execution time `ticket` spent since its last charge: a `$batch` calls this
        after each operation, since each operation adds its own time (api-limits.md)."""
        if ticket.released:
            return
        now = self._clock()
        usage = self._users.get(ticket.user)
        elapsed_ms = max(0.0, (now - ticket.charged_until) * 1000.0)
        ticket.charged_until = now
        if usage is None or elapsed_ms == 0.0:  # reset while the request ran, or no time
            return
        usage.execution.append((now, elapsed_ms))
        usage.execution_total += elapsed_ms

    def release(self, ticket: Ticket) -> None:
        """The request is answered: charge the rest of its execution time, free its slot."""
        if ticket.released:
            return
        self.charge(ticket)
        ticket.released = True
        usage = self._users.get(ticket.user)
        if usage is not None:
            usage.in_flight = max(0, usage.in_flight - 1)

    def execution_remaining_ms(self, user: str) -> float:
        """What is left of the execution-time window (the debug header's figure)."""
        limits = self._limits()
        usage = self._users.get(user)
        used = usage.execution_total if usage else 0.0
        return max(0.0, limits.execution_ms_per_window - used)

    def in_flight(self, user: str) -> int:
        usage = self._users.get(user)
        return usage.in_flight if usage else 0
