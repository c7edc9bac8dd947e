"""`mailops bench monitor`, small: a quiet cycle is two requests, a busy one too, and a
change reaches the channel within the poll interval plus a second, on a quiet fleet and
while a share of the fleet changes every interval."""

from __future__ import annotations

import json

import pytest

from devtools.bench import main


@pytest.mark.bench
def test_a_small_run(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "monitor",
            "--sizes",
            "300",
            "--cycles",
            "2",
            "--change",
            "0.02",
            "--intervals",
            "0.5",
            "--samples",
            "2",
        ]
    )

    assert code == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["mailboxes"] == 300
    assert result["first_cycle_sweep"]["mailboxes_indexed"] == result["fleet_rows"]
    assert result["quiet"]["requests_per_cycle"] == [2, 2]
    assert result["changing"]["requests_per_cycle"] == [2, 2]
    assert result["changing"]["changed_mailboxes"] == [6, 6]
    (latency,) = result["latency"]
    assert latency["samples"] == 2 and latency["within_interval_plus_1s"]
    (churn,) = result["latency_under_churn"]
    assert churn["samples"] == 2 and churn["within_interval_plus_1s"]
    assert churn["interval_s"] == 0.5 and churn["mailboxes_changed_per_interval"] == 6
    assert churn["cycles"] >= 1 and churn["opened_per_cycle"]["max"] >= 1
    assert churn["open_incidents_after"] > 0


@pytest.mark.bench
def test_churn_latency_can_be_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["monitor", "--sizes", "100", "--cycles", "1", "--samples", "0", "--no-churn-latency"]
    )

    assert code == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["latency_under_churn"] == []


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "--sizes", "0"]) == 2
    assert main(["monitor", "--change", "2"]) == 2
