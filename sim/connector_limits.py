"""Teams' per-bot, per-conversation rate limit, on the Bot Connector stand-in.

Microsoft documents it as the "per bot per thread limit" (learn.microsoft.com/microsoftteams/
platform/bots/how-to/rate-limit; reference/teams.md §2.5): for sending to a conversation,
7 operations in 1 s, 8 in 2 s, 60 in 30 s and 1800 in 3600 s, all at once, over sliding
windows. A bot over it gets HTTP 429 Too Many Requests. The page adds that all requests are
subject to the same policy and that the exact values may change.

The sim's reading where the page is silent (unconfirmed, decided here only):

- what counts: every write into a conversation, i.e. send, reply, update and delete (the
  page's table names "send to conversation"; its text puts every request under the policy,
  and an update is a write into the same thread);
- `Retry-After`: the page asks for exponential backoff and names no header; the sim sends
  the whole seconds until every window has room again, which a client honouring the header
  can use and one ignoring it loses nothing by;
- refused calls are not counted, and the key is (bot app id, conversation id); calls
  without a token (demo mode) share the app id "".

The clock is injectable (`ThreadLimits.clock`) so tests run in no time; `Sim.reset` empties
the windows and puts the real clock back.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from sim.context import Sim

# (window in seconds, operations allowed in it): "per bot per thread limit", send to conversation
THREAD_LIMITS: Final = ((1.0, 7), (2.0, 8), (30.0, 60), (3600.0, 1800))
WRITES: Final = frozenset({"send", "reply", "update", "delete"})
_LONGEST: Final = max(window for window, _ in THREAD_LIMITS)
_EXTRAS_KEY: Final = "connector_limits"


class ThreadLimits:
    """Sliding windows of writes per (bot, conversation)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._writes: dict[tuple[str, str], deque[float]] = {}

    def reset(self) -> None:
        self._writes.clear()
        self.clock = time.monotonic

    def admit(self, app_id: str, conversation_id: str) -> int | None:
        """Count one write, or refuse it: the seconds to wait (for `Retry-After`)."""
        now = self.clock()
        writes = self._writes.setdefault((app_id, conversation_id), deque())
        while writes and writes[0] <= now - _LONGEST:
            writes.popleft()
        wait = 0.0
        for window, allowed in THREAD_LIMITS:
            in_window = [at for at in writes if at > now - window]
            if len(in_window) >= allowed:
                # room comes when the oldest write that keeps the window full slides out
                wait = max(wait, in_window[len(in_window) - allowed] + window - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        writes.append(now)
        return None


def thread_limits(sim: Sim) -> ThreadLimits:
    """The sim's limiter, made on first use and emptied by `Sim.reset`."""
    found = sim.extras.get(_EXTRAS_KEY)
    if isinstance(found, ThreadLimits):
        return found
    limits = ThreadLimits()
    sim.extras[_EXTRAS_KEY] = limits
    sim.extras.setdefault("reset_hooks", []).append(limits.reset)
    return limits
