"""Service protection limits (reference §6.3, api-limits S11)."""

from __future__ import annotations

import pytest

from sim.context import Limits
from sim.errors import DataverseFault
from sim.webapi.model import service
from sim.webapi.throttle import ServiceProtection
from tests.sim.webapi_kit import API, Op, batch_body, dv, error_of, limits
from tests.simharness import RunningSim


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _protection(**values: float) -> tuple[ServiceProtection, FakeClock]:
    lim = Limits(**values)  # type: ignore[arg-type]
    clock = FakeClock()
    return ServiceProtection(lambda: lim, clock), clock


def test_sliding_window_counts_requests_per_user() -> None:
    """reference §6.3: N requests per user over a sliding window, then 429 0x80072322 with
    Retry-After until the oldest request leaves the window; other users are not affected."""
    sp, clock = _protection(requests_per_window=3, window_seconds=10)
    for step in range(3):
        sp.release(sp.admit("u1"))
        clock.now += 2 if step < 2 else 0  # at t=0, 2, 4
    with pytest.raises(DataverseFault) as refused:
        sp.admit("u1")
    assert refused.value.status == 429
    assert refused.value.code == "0x80072322"
    assert refused.value.message == (
        "Number of requests exceeded the limit of 3 over time window of 10 seconds."
    )
    assert refused.value.headers["Retry-After"] == "6"  # the t=0 request leaves at t=10
    sp.release(sp.admit("u2"))  # per user
    clock.now += 6
    sp.release(sp.admit("u1"))  # the window slid


def test_a_batch_counts_every_operation_and_is_refused_as_a_whole() -> None:
    """reference §6.3: every operation in a batch counts; over the budget → whole batch 429."""
    sp, clock = _protection(requests_per_window=10, window_seconds=60)
    sp.release(sp.admit("u", cost=8))
    with pytest.raises(DataverseFault) as refused:
        sp.admit("u", cost=3)
    assert refused.value.code == "0x80072322"
    sp.release(sp.admit("u", cost=2))
    with pytest.raises(DataverseFault):
        sp.admit("u")
    with pytest.raises(DataverseFault) as huge:
        _protection(requests_per_window=5, window_seconds=60)[0].admit("v", cost=6)
    assert huge.value.headers["Retry-After"] == "60"


def test_concurrency_limit_fails_at_once() -> None:
    """reference §6.3: concurrent requests over the limit → 429 0x80072326 immediately."""
    sp, _ = _protection(concurrent_requests=2, retry_after_seconds=3)
    first, second = sp.admit("u"), sp.admit("u")
    with pytest.raises(DataverseFault) as refused:
        sp.admit("u")
    assert refused.value.code == "0x80072326"
    assert refused.value.message == "Number of concurrent requests exceeded the limit of 2"
    assert refused.value.headers["Retry-After"] == "3"
    sp.release(first)
    sp.release(first)  # releasing twice frees one slot only
    sp.release(sp.admit("u"))
    sp.release(second)
    assert sp.in_flight("u") == 0


def test_execution_time_limit() -> None:
    """reference §6.3: combined execution time over the window → 429 0x80072321."""
    sp, clock = _protection(execution_ms_per_window=1000, window_seconds=30)
    ticket = sp.admit("u")
    clock.now += 1.5  # a 1500 ms request
    sp.release(ticket)
    with pytest.raises(DataverseFault) as refused:
        sp.admit("u")
    assert refused.value.code == "0x80072321"
    assert refused.value.headers["Retry-After"] == "30"
    clock.now += 30
    sp.release(sp.admit("u"))


def test_429_with_retry_after_under_load(sim: RunningSim) -> None:
    """reference §6.3: over the request limit the Web API answers 429 + Retry-After; refused
    requests do not count."""
    limits(sim, requests_per_window=5, window_seconds=120)
    with dv(sim) as client:
        statuses = [client.get("WhoAmI").status_code for _ in range(8)]
        assert statuses == [200] * 5 + [429] * 3
        resp = client.get("mailboxes")
        assert resp.status_code == 429
        assert int(resp.headers["Retry-After"]) >= 1
        assert error_of(resp)["code"] == "0x80072322"


def test_batch_operations_count_against_the_limit(sim: RunningSim) -> None:
    """reference §6.3: a batch of 4 operations uses 4 requests; one over the budget is
    refused as a whole and nothing of it runs."""
    limits(sim, requests_per_window=6, window_seconds=120)
    ops: list[Op | list[Op]] = [
        Op("POST", f"{API}tracelogs", {"text": f"t{i}", "level": 1}) for i in range(4)
    ]
    ctype, body = batch_body(ops)
    with dv(sim) as client:
        first = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert first.status_code == 200
        assert first.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "2"
        second = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert second.status_code == 429
        assert error_of(second)["code"] == "0x80072322"
        assert len(sim.state()["tracelogs"]) == 4
        assert client.get("WhoAmI").status_code == 200
        assert client.get("WhoAmI").status_code == 200
        assert client.get("WhoAmI").status_code == 429


def test_concurrency_over_http(sim: RunningSim) -> None:
    """reference §6.3: with the user's slots all taken, the next call is 429 0x80072326."""
    limits(sim, concurrent_requests=1, retry_after_seconds=2)
    app_oid = sim.fixture.application.object_id.lower()
    api = sim.thread.call(lambda: service(sim.sim))
    ticket = sim.thread.call(lambda: api.protection.admit(app_oid))
    with dv(sim) as client:
        resp = client.get("WhoAmI")
        assert resp.status_code == 429
        assert resp.headers["Retry-After"] == "2"
        assert error_of(resp)["code"] == "0x80072326"
        sim.thread.call(lambda: api.protection.release(ticket))
        assert client.get("WhoAmI").status_code == 200


def test_limits_reset_with_the_sim(sim: RunningSim) -> None:
    """The sim's reset clears the counters (tests start from zero)."""
    limits(sim, requests_per_window=1, window_seconds=300)
    with dv(sim) as client:
        assert client.get("WhoAmI").status_code == 200
        assert client.get("WhoAmI").status_code == 429
    sim.reset()
    with dv(sim) as client:
        assert client.get("WhoAmI").status_code == 200
