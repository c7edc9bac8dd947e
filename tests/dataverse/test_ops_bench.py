"""`mailops bench bulk`: the bound arithmetic, and a small run end to end."""

from __future__ import annotations

import json

import pytest

from bot.bench import lower_bound, main, sequential_bound
from sim.context import Limits

DOCUMENTED = Limits()


def test_the_window_binds_beyond_one_window_of_operations() -> None:
    assert lower_bound(6000, DOCUMENTED, 0.02)["bound_s"] == pytest.approx(0.02)
    assert lower_bound(6001, DOCUMENTED, 0.02)["bound_s"] == pytest.approx(300.02)
    assert lower_bound(10_000, DOCUMENTED, 0.02)["window_s"] == 300
    assert lower_bound(18_001, DOCUMENTED, 0.02)["window_s"] == 900
    # 52 requests of 1000 operations at once: 60,000 operations need two latency rounds.
    roomy = Limits(requests_per_window=10**9)
    assert lower_bound(60_000, roomy, 0.02)["latency_s"] == pytest.approx(0.04)
    assert lower_bound(0, DOCUMENTED, 0.02)["bound_s"] == 0


def test_one_request_at_a_time_is_bound_by_latency_or_window() -> None:
    assert sequential_bound(2000, DOCUMENTED, 0.02) == pytest.approx(40.0)
    assert sequential_bound(20_000, DOCUMENTED, 0.02) == pytest.approx(900.02)


@pytest.mark.bench
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
    assert result["baseline"]["operations"] == 4 * 30
    assert result["unhandled_429"] == 0 and result["limits"]["documented"] is True


def test_a_sample_the_window_would_bind_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["bulk", "--mailboxes", "100", "--baseline-sample", "50", "--requests-per-window", "100"]
    )

    assert code == 2
    assert "window would bind" in capsys.readouterr().err
