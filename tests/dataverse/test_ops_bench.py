"""`mailops bench bulk`: the bound arithmetic, and a small run end to end."""

from __future__ import annotations

import json

import pytest

from bot.bench import lower_bound, main, sequential_bound
from sim.context import Limits

DOCUMENTED = Limits()


def test_concurrency_binds_when_the_windows_do_not() -> None:
    """api-limits.md (reference §6.3): a `$batch` counts once, so 10,051 operations in 101
    requests are far from the 6,000-request window; 201 s of execution time is far from the
    1,200 s window; what is left is 52 requests in flight, each operation taking L."""
    bound = lower_bound(10_051, 101, DOCUMENTED, 0.02, longest=101)
    assert bound["concurrency_s"] == pytest.approx(10_051 * 0.02 / 52)
    assert bound["execution_s"] == bound["requests_s"] == 0
    assert bound["bound_s"] == pytest.approx(3.866, abs=1e-3)
    # A single request is no faster than its own operations one after the other.
    assert lower_bound(30, 1, DOCUMENTED, 0.02, longest=30)["bound_s"] == pytest.approx(0.6)
    assert lower_bound(0, 0, DOCUMENTED, 0.02)["bound_s"] == 0


def test_the_execution_window_binds_long_runs() -> None:
    """api-limits.md: batching does not avoid the execution-time limit: 130,000 operations
    of 20 ms are 2,600 s of execution time, 3 windows' worth of 1,200 s, so the last of it
    cannot be spent before two windows have slid by."""
    bound = lower_bound(130_000, 130, DOCUMENTED, 0.02, longest=1000)
    assert bound["execution_s"] == 600
    assert bound["concurrency_s"] == pytest.approx(50.0)
    assert bound["bound_s"] == 600


def test_the_requests_window_binds_many_small_requests() -> None:
    """api-limits.md: 6,000 requests per 300 s window: request 6,001 waits for the first."""
    assert lower_bound(6001, 6001, DOCUMENTED, 0.0)["requests_s"] == 300
    assert lower_bound(18_001, 18_001, DOCUMENTED, 0.0)["bound_s"] == 900
    assert lower_bound(6000, 6000, DOCUMENTED, 0.0)["requests_s"] == 0


def test_one_request_at_a_time_is_bound_by_latency_or_window() -> None:
    assert sequential_bound(2000, DOCUMENTED, 0.02) == pytest.approx(40.0)
    assert sequential_bound(20_000, DOCUMENTED, 0.02) == pytest.approx(900.02)


@pytest.mark.parametrize("targets", [[], ["--by-id"]])
def test_a_small_run(capsys: pytest.CaptureFixture[str], targets: list[str]) -> None:
    code = main(["bulk", "--mailboxes", "30", "--latency-ms", "0", "--chunk-size", "10", *targets])

    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mailboxes"] == 30
    assert result["bulk"]["approve"] == {"ok": 30, "skipped": 0, "failed": 0}
    assert result["bulk"]["test_and_enable"] == {"ok": 30, "skipped": 0, "failed": 0}
    assert result["bulk"]["sim_approved"] == result["bulk"]["sim_tested"] == 30
    assert result["baseline"]["sim_approved"] == result["baseline"]["sim_tested"] == 30
    # one read (the query, or the ids), 30 approvals with 3 verifying reads, 30 test flags
    assert result["operations"] == 1 + 30 + 3 + 30
    # in batches of 10 (+ its verifying read), each counted once (api-limits.md)
    assert result["bound"]["requests_admitted"] == result["requests"] == 1 + 3 + 3
    assert result["bound"]["longest_request_operations"] == 11
    assert result["baseline"]["operations"] == 4 * 30
    assert result["unhandled_429"] == 0 and result["limits"]["documented"] is True


def test_a_sample_the_window_would_bind_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["bulk", "--mailboxes", "100", "--baseline-sample", "50", "--requests-per-window", "100"]
    )

    assert code == 2
    assert "window would bind" in capsys.readouterr().err
