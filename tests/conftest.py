"""Shared fixtures: a clean environment and a running sim per session (reset per test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.server import SimThread
from tests.simharness import CONTOSO, RunningSim

_OUR_VARIABLES = ("Microsoft", "DATAVERSE_", "MAILOPS_")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a developer exported may change what a test sees."""
    for key in list(os.environ):
        if key.startswith(_OUR_VARIABLES):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def sim_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimThread]:
    state_dir: Path = tmp_path_factory.mktemp("sim-state")
    thread = SimThread(CONTOSO, state_dir).start()
    yield thread
    thread.stop()


@pytest.fixture
def sim(sim_thread: SimThread) -> RunningSim:
    running = RunningSim(sim_thread)
    running.reset()
    return running
