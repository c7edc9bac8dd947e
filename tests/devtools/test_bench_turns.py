"""`mailops bench turns`: its arithmetic, its command line, and one small real run."""

from __future__ import annotations

import json

import pytest

from bot.cli import main as cli_main
from devtools import bench, bench_turns
from devtools.bench_turns import Call, percentile, sequential_round_trips, union_s


def _call(start: float, end: float, service: str = "dataverse") -> Call:
    return Call(service, "GET", "/x", start, end)


def test_backend_time_is_the_union_of_overlapping_calls() -> None:
    assert union_s([]) == 0
    assert union_s([_call(0, 2), _call(1, 3), _call(5, 6)]) == 4
    assert union_s([_call(0, 10), _call(2, 3)]) == 10


def test_parallel_calls_are_one_round_trip_and_chained_ones_add_up() -> None:
    # three lookups in parallel, then a $batch that waited for them: 2 round trips
    resolve = [_call(1.0, 5.0), _call(1.1, 6.0), _call(1.2, 6.5)]
    assert sequential_round_trips([*resolve, _call(7.0, 9.0)]) == 2
    # a call that started before the first answer is not behind it
    assert sequential_round_trips([_call(0, 5), _call(4, 8), _call(9, 10)]) == 2
    assert sequential_round_trips([_call(0, 1), _call(2, 3), _call(4, 5)]) == 3
    assert sequential_round_trips([]) == 0


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([3.0], 99) == 3


def test_mailops_bench_dispatches_turns_and_keeps_bulk(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as turns:
        cli_main(["bench", "turns", "--help"])
    assert turns.value.code == 0
    assert "--concurrency" in capsys.readouterr().out
    with pytest.raises(SystemExit) as bulk:
        bench.main(["bulk", "--help"])
    assert bulk.value.code == 0
    assert "--mailboxes" in capsys.readouterr().out


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_turns.main(["--turns", "0"])
    assert bench_turns.main(["--latency-ms", "-1"]) == 2


@pytest.mark.bench
def test_a_small_run_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    """The real thing, small: the sim, a recorder and six bots in their own processes (each
    SDK's stock echo, and MailOps and its hosting alone on each host)."""
    code = bench_turns.main(
        ["--turns", "6", "--rounds", "1", "--concurrency", "2", "--warmup", "2"]
        + ["--approvals", "1"]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    for key in (
        "echo_p50_ms",
        "echo_p99_ms",
        "echo_turns_per_s",
        "bot_p50_ms",
        "bot_p99_ms",
        "bot_turns_per_s",
        "bot_overhead_p50_ms",
        "ratio_overhead",
        "ratio_throughput",
    ):
        assert isinstance(result[key], (int, float)), key
    approve = result["approve_round_trips"]
    assert approve["approved_in_sim"]
    assert approve["dataverse"] <= 2, approve["requests"]
    assert result["bot_backend_calls_per_turn"] > 0
    assert result["hosting_only"]["turns_per_s"] > 0
    agents = result["agents"]
    for key in (
        "agents_echo_p50_ms",
        "agents_echo_turns_per_s",
        "bot_p50_ms",
        "bot_turns_per_s",
        "bot_overhead_p50_ms",
        "ratio_overhead_to_echo",
        "ratio_throughput_to_echo",
        "ratio_overhead_to_agents_echo",
    ):
        assert isinstance(agents[key], (int, float)), key
    assert agents["hosting_only"]["turns_per_s"] > 0
    assert set(agents["goals"]) == {
        "overhead_at_most_one_fifth_of_echo",
        "throughput_at_least_5x_echo",
        "overhead_within_2x_of_agents_echo_p50",
    }
    # every turn of every bot answered through the same recorder
    assert result["connector_activities_received"] >= 6 * (2 + 6 + 6)
