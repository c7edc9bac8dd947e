"""A stand-in for `asyncio.sleep` that the clients' retry loops wait on in tests.

The engine under `DataverseClient` and `GraphClient` waits out a 429's Retry-After and the
backoff after a 5xx. Spending those seconds for real made a refused-every-time test take
~8 s; recording them instead lets a test assert the waits themselves (Retry-After honoured,
the budget respected) in no time.
"""

from __future__ import annotations

import asyncio


class RecordedWaits:
    """Records each wait asked for and advances a fake clock by it; returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0  # seconds of fake time: the sum of the waits so far

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        # Still a suspension point, as a real sleep is: other tasks get to run meanwhile.
        await asyncio.sleep(0)

    def clock(self) -> float:
        """The fake monotonic time, for code that takes a clock beside its sleep."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Time that passes outside a wait (a request taking long)."""
        self.now += seconds

    async def until_stopped(self, stop: asyncio.Event, seconds: float) -> None:
        """A wait that a set event cuts short, as `Monitor.run_forever` pauses: a wait
        asked for once `stop` is set is not recorded (the real one returns at once)."""
        if not stop.is_set():
            await self(seconds)


class Backoff:
    """One jittered backoff wait of at most `cap` seconds, as an item of an expected list:
    `waits.waits == [Backoff(0.05)] * 2` holds for any two waits in [0, 0.05]."""

    def __init__(self, cap: float) -> None:
        self.cap = cap

    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and 0.0 <= other <= self.cap

    __hash__ = None  # type: ignore[assignment]  # equal to many floats: not hashable

    def __repr__(self) -> str:
        return f"Backoff(<= {self.cap}s)"
