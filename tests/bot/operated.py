"""The real app with its operators' parts (guards, metrics) chosen by the test, over the sim."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.adapter import create_adapter
from bot.app import create_app
from bot.guards import Guards
from bot.metrics import Metrics
from dialogs.turn import Dispatcher
from tests.bot.conftest import Host, RecordingDispatcher, settings_for
from tests.simharness import RunningSim


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class OperatedHost(Host):
    metrics: Metrics

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """`GET /metrics`, parsed: (sample name, sorted labels) → value."""
        response = await self.client.get("/metrics")
        assert response.status == 200
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for family in text_string_to_metric_families(await response.text()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    async def value(self, name: str, **labels: str) -> float:
        """One sample of `GET /metrics` (0 when it is not there yet)."""
        return (await self.scrape()).get((name, tuple(sorted(labels.items()))), 0.0)

    def dataverse_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.sim.requests() if r["path"].startswith("/api/data/")]


@contextlib.asynccontextmanager
async def operated_host(
    sim: RunningSim,
    dispatcher: Dispatcher,
    *,
    guards: Guards | None = None,
    **environment: str,
) -> AsyncIterator[OperatedHost]:
    """The app as `mailops serve` builds it; `guards` default to those of the settings."""
    settings = settings_for(sim, **environment)
    metrics = Metrics()
    recording = RecordingDispatcher(dispatcher)
    app = create_app(
        create_adapter(settings),
        recording,
        guards=guards if guards is not None else Guards.from_settings(settings),
        metrics=metrics,
    )
    async with TestClient(TestServer(app)) as client:
        yield OperatedHost(client, sim, recording, metrics)
