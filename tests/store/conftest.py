"""Every store test runs against SQLite (a temporary file) and PostgreSQL (a fresh schema).

PostgreSQL comes from MAILOPS_TEST_PG_URL; without it those variants skip with the reason.
Each PostgreSQL test gets its own schema `mailops_test_<random>`, dropped afterwards, so
reruns and parallel runs on one server do not meet.
"""

from __future__ import annotations

import pytest

from tests.store.kit import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
