"""`GET /metrics`: turns, commands, Dataverse and Graph calls and their latencies, per app."""

from __future__ import annotations

import asyncio

import pytest

from bot.metrics import Metrics, status_class
from dataverse import DataverseClient
from dataverse._http import response_observer
from dataverse.errors import Service
from dialogs.router import Router
from dialogs.turn import Card, Turn
from tests.bot.activities import buttons, execute, message
from tests.bot.operated import operated_host
from tests.simharness import RunningSim

pytestmark = pytest.mark.usefixtures("trust_sim")

TURNS = "mailops_turns_total"
COMMANDS = "mailops_commands_total"
CALLS = "mailops_api_calls_total"


async def test_the_metrics_are_served_in_the_text_format(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        response = await host.client.get("/metrics")
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = await response.text()
    for name, kind in [
        ("mailops_turns_total", "counter"),
        ("mailops_commands_total", "counter"),
        ("mailops_api_calls_total", "counter"),
        ("mailops_turn_duration_seconds", "histogram"),
        ("mailops_api_call_duration_seconds", "histogram"),
    ]:
        assert f"# TYPE {name} {kind}\n" in text


async def test_a_scraper_that_asks_for_openmetrics_gets_it(
    sim: RunningSim, router: Router
) -> None:
    async with operated_host(sim, router) as host:
        response = await host.client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        assert (await response.text()).endswith("# EOF\n")


async def test_a_turn_that_succeeds_moves_the_counters(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        assert await host.value(TURNS, activity="message", outcome="ok") == 0
        assert (await host.post(message(sim, "eddie", "status of alice"))).status == 201
        samples = await host.scrape()

        def value(name: str, **labels: str) -> float:
            return samples.get((name, tuple(sorted(labels.items()))), 0.0)

        assert value(TURNS, activity="message", outcome="ok") == 1
        assert value(COMMANDS, command="status", outcome="ok") == 1
        dataverse_gets = value(CALLS, service="dataverse", method="GET", status="2xx")
        graph_gets = value(CALLS, service="graph", method="GET", status="2xx")
        # every request the sim saw from this turn was counted, once
        seen = host.sim.requests()
        assert dataverse_gets == len([r for r in seen if r["path"].startswith("/api/data/")])
        assert graph_gets == len([r for r in seen if r["path"].startswith("/v1.0/")])
        assert dataverse_gets > 0
        assert graph_gets > 0
        assert value("mailops_turn_duration_seconds_count", activity="message") == 1
        assert (
            value("mailops_api_call_duration_seconds_count", service="dataverse", method="GET")
            == dataverse_gets
        )


async def test_a_denied_command_and_a_usage_error(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        await host.post(message(sim, "una", "approve mailbox for alice"))
        await host.post(message(sim, "eddie", "frobnicate every mailbox"))
        assert await host.value(COMMANDS, command="approve", outcome="denied") == 1
        assert await host.value(COMMANDS, command="unknown", outcome="usage") == 1
        # both were answered: the turns themselves went fine
        assert await host.value(TURNS, activity="message", outcome="ok") == 2


async def test_a_dataverse_429_is_counted_apart(sim: RunningSim, router: Router) -> None:
    """Retry-After beyond the call's budget: the person hears "busy", operators see a 429."""
    sim.fault(r"^GET /api/data/v9\.2/mailboxes\?", 429, retry_after=120)
    async with operated_host(sim, router) as host:
        await host.post(message(sim, "eddie", "status of alice"))
        assert "Dataverse is busy" in str(host.cards())
        assert await host.value(CALLS, service="dataverse", method="GET", status="429") == 1
        assert await host.value(COMMANDS, command="status", outcome="failed") == 1
        assert await host.value(TURNS, activity="message", outcome="ok") == 1


async def test_a_card_click_is_counted_by_its_verb(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        await host.post(message(sim, "eddie", "status of alice"))
        [recorded] = host.activities()
        [approve] = [b for b in buttons(host.cards()[0]) if b["title"] == "Approve"]
        click = execute(sim, "eddie", approve, reply_to_id=recorded["activity_id"])
        assert (await host.post(click)).status == 200
        assert await host.value(COMMANDS, command="mailbox.approve", outcome="ok") == 1
        assert await host.value(TURNS, activity="invoke", outcome="ok") == 1
        assert await host.value(CALLS, service="dataverse", method="POST", status="2xx") >= 1

        forged = execute(sim, "eddie", {"verb": "made.up", "data": {}}, reply_to_id="1")
        assert (await host.post(forged)).status == 200
        assert await host.value(COMMANDS, command="unknown", outcome="denied") == 1


class _Failing:
    async def on_message(self, turn: Turn) -> None:
        raise RuntimeError("the dialogs broke")

    async def on_execute(self, turn: Turn) -> Card | str:
        raise RuntimeError("the dialogs broke")

    async def on_installed(self, turn: Turn) -> None:
        raise RuntimeError("the dialogs broke")


async def test_a_failed_turn_and_requests_that_are_no_turn(sim: RunningSim) -> None:
    async with operated_host(sim, _Failing()) as host:
        assert (await host.post(message(sim, "eddie", "status of alice"))).status == 201
        assert (await host.post("not json", headers={"Content-Type": "text/plain"})).status == 415
        assert (await host.post({"type": "message", "id": "x"})).status == 400
        samples = await host.scrape()
    assert samples[(TURNS, (("activity", "message"), ("outcome", "error")))] == 1
    assert samples[(TURNS, (("activity", "invalid"), ("outcome", "rejected")))] == 1
    assert samples[(TURNS, (("activity", "message"), ("outcome", "rejected")))] == 1
    # only the turn that ran is timed
    assert samples[("mailops_turn_duration_seconds_count", (("activity", "message"),))] == 1


async def test_two_apps_count_apart(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as first, operated_host(sim, router) as second:
        await first.post(message(sim, "eddie", "help"))
        assert await first.value(TURNS, activity="message", outcome="ok") == 1
        assert await second.value(TURNS, activity="message", outcome="ok") == 0
        assert await second.value(COMMANDS, command="help", outcome="ok") == 0


async def test_calls_outside_a_turn_are_counted_once_asked(dv: DataverseClient) -> None:
    metrics = Metrics()

    async def poll(counted: bool) -> None:
        if counted:
            metrics.count_calls()
        await dv.retrieve_version()

    labels = {"service": "dataverse", "method": "GET", "status": "2xx"}
    await asyncio.create_task(poll(counted=False))
    assert metrics.registry.get_sample_value(CALLS, labels) is None
    await asyncio.create_task(poll(counted=True))
    assert metrics.registry.get_sample_value(CALLS, labels) == 1


async def test_an_observer_that_fails_does_not_fail_the_call(dv: DataverseClient) -> None:
    def broken(service: Service, method: str, status: int | None, seconds: float) -> None:
        raise RuntimeError("observer bug")

    token = response_observer.set(broken)
    try:
        version = await dv.retrieve_version()
    finally:
        response_observer.reset(token)
    assert version


@pytest.mark.parametrize(
    ("status", "label"), [(200, "2xx"), (204, "2xx"), (304, "3xx"), (404, "4xx"), (429, "429")]
)
def test_status_classes(status: int, label: str) -> None:
    assert status_class(status) == label


def test_no_answer_is_an_error() -> None:
    assert status_class(None) == "error"
    metrics = Metrics()
    metrics.count_call("graph", "BREW", None, 0.5)
    labels = {"service": "graph", "method": "OTHER", "status": "error"}
    assert metrics.registry.get_sample_value(CALLS, labels) == 1
