"""Monitor fixtures: the store on SQLite and PostgreSQL (like tests/store), a clock that moves
only when told to (starting at the real time, so that the sim's `modifiedon` stamps and the
store's times agree), the recording notifier, and monitors over the running sim."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dataverse import DataverseClient
from monitor import Monitor, MonitorConfig, OnCallSchedule
from store import Store
from tests.monitor.kit import ENV, ON_CALL_LIST, RecordingNotifier
from tests.store.kit import Backend, FakeClock

MonitorFactory = Callable[..., Monitor]


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Backend:
    """SQLite only, for tests whose subject is not the database."""
    return Backend("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'mailops.db'}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def lite_store(sqlite_backend: Backend, clock: FakeClock) -> AsyncIterator[Store]:
    opened = await sqlite_backend.open(clock)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


def quiet_config(**changes: Any) -> MonitorConfig:
    """The defaults, without the daily digest (tests that want it turn it on)."""
    return replace(MonitorConfig(digest_at=None), **changes)


def make_factory(dv: DataverseClient, notifier: RecordingNotifier) -> Callable[..., Monitor]:
    def build(
        store: Store,
        *,
        holder: str = "replica-a",
        config: MonitorConfig | None = None,
        schedule: OnCallSchedule | None = ON_CALL_LIST,
        **timing: Any,  # clock, pause: the schedule in fake time
    ) -> Monitor:
        return Monitor(
            ENV,
            dv,
            store,
            notifier,
            config or quiet_config(),
            schedule=schedule,
            holder=holder,
            **timing,
        )

    return build


@pytest.fixture
def monitor_for(dv: DataverseClient, notifier: RecordingNotifier) -> MonitorFactory:
    """`monitor_for(store, holder=..., config=...)`: a monitor of the sim's environment."""
    return make_factory(dv, notifier)
