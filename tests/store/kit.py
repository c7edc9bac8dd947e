"""Helpers for the store tests: the database under test, a settable clock, people."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from store import Person, Store

# Read when the test modules are imported: the autouse `_clean_environ` fixture of
# tests/conftest.py removes every MAILOPS_* variable before each test runs.
PG_URL: Final = os.environ.get("MAILOPS_TEST_PG_URL") or None
PG_SKIP_REASON: Final = (
    "MAILOPS_TEST_PG_URL not set: the PostgreSQL variants of the store tests are skipped "
    "(e.g. export MAILOPS_TEST_PG_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
)

START: Final = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)

SAM: Final = Person("00000000-0000-0000-0000-00000000005a", "Sam Requester")
DANA: Final = Person("00000000-0000-0000-0000-0000000000da", "Dana Approver")
ERIN: Final = Person("00000000-0000-0000-0000-0000000000e1", "Erin Admin")
ALICE_MAILBOX: Final = "11111111-1111-1111-1111-111111111111"


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass(frozen=True, slots=True)
class Backend:
    """A database for one test: an SQLite file, or a fresh schema on PostgreSQL."""

    name: str
    url: str
    schema: str | None = None

    async def open(self, clock: FakeClock | None = None, *, migrate: bool = True) -> Store:
        return await Store.open(self.url, schema=self.schema, clock=clock, migrate=migrate)
