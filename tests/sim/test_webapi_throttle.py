"""Service protection limits (reference §6.3, api-limits S11).

Source for the `$batch` rules: Microsoft's api-limits.md (Dataverse service protection API
limits): combining operations in a batch avoids the number-of-requests limit but not the
execution-time limit, and a batch holds one concurrent slot while it runs. That a batch's
operations run one after the other (so its time is the sum of theirs) is from the
PowerPlatform-Dataverse-Client `BatchRequest` docs: "executed sequentially in the order added".
"""

from __future__ import annotations

from collections.abc import Callable

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


def test_a_batch_is_one_request_of_the_window() -> None:
    """api-limits.md (reference §6.3): a `$batch` counts once against the number-of-requests
    limit, so admission takes no operation count; the window refuses the request after it."""
    sp, clock = _protection(requests_per_window=2, window_seconds=60)
    sp.release(sp.admit("u"))
    ticket = sp.admit("u")
    assert ticket.remaining == 0
    sp.release(ticket)
    clock.now += 10
    with pytest.raises(DataverseFault) as refused:
        sp.admit("u")
    assert refused.value.code == "0x80072322"
    assert refused.value.headers["Retry-After"] == "50"  # the first one leaves at t=60


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


def test_a_batch_of_n_operations_uses_one_request_of_the_window(sim: RunningSim) -> None:
    """api-limits.md (reference §6.3): "combining operations in a batch avoids the
    number-of-requests limit": a batch of 5 operations uses 1 of the window's requests, and
    all 5 run; the window then refuses the request after its limit, batch or not."""
    limits(sim, requests_per_window=3, window_seconds=120)
    ops: list[Op | list[Op]] = [
        Op("POST", f"{API}tracelogs", {"text": f"t{i}", "level": 1}) for i in range(5)
    ]
    ctype, body = batch_body(ops)
    with dv(sim) as client:
        first = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert first.status_code == 200
        assert first.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "2"
        assert len(sim.state()["tracelogs"]) == 5
        second = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert second.status_code == 200
        assert second.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "1"
        assert client.get("WhoAmI").status_code == 200
        third = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert third.status_code == 429
        assert error_of(third)["code"] == "0x80072322"
        assert int(third.headers["Retry-After"]) >= 1
        assert len(sim.state()["tracelogs"]) == 10  # nothing of the refused batch ran


class SimClock:
    """The sim's service-protection clock for one test: serving latency advances it, no real
    wait; `during` is called at every wait with the protection, from the sim's loop."""

    def __init__(self, sim: RunningSim) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.during: Callable[[ServiceProtection], None] | None = None
        self.protection = sim.thread.call(lambda: service(sim.sim).protection)
        sim.thread.call(lambda: self.protection.use_clock(lambda: self.now, self._sleep))

    async def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.during is not None:
            self.during(self.protection)
        self.now += seconds


def test_batch_operations_add_their_execution_time(sim: RunningSim) -> None:
    """api-limits.md (reference §6.3): batching does not avoid the execution-time limit:
    every operation adds its time. The operations of a batch run one after the other
    (Python SDK `BatchRequest`: "executed sequentially in the order added"), each taking the
    sim's base latency, so a batch of 4 operations at 300 ms takes 1200 ms of the 1000 ms
    window; it still runs (going over shows up after a delay) and the next request, a
    single GET, is refused with 0x80072321 and a Retry-After until the time slides out."""
    limits(sim, execution_ms_per_window=1000, window_seconds=60)
    sim.thread.call(lambda: setattr(sim.sim, "base_latency_ms", 300))
    clock = SimClock(sim)
    app_oid = sim.fixture.application.object_id.lower()
    ops: list[Op | list[Op]] = [
        Op("POST", f"{API}tracelogs", {"text": f"t{i}", "level": 1}) for i in range(4)
    ]
    ctype, body = batch_body(ops)
    with dv(sim) as client:
        first = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert first.status_code == 200
        assert clock.waits == pytest.approx([0.3] * 4)  # one latency per operation, in turn
        remaining = sim.thread.call(lambda: clock.protection.execution_remaining_ms(app_oid))
        assert remaining == 0.0
        refused = client.get("WhoAmI")
        assert refused.status_code == 429
        assert error_of(refused)["code"] == "0x80072321"
        # 200 ms too much: the first operation's 300 ms, charged at t+0.3 s, leaves the
        # window at t+60.3 s; the clock stands at t+1.2 s, so 59.1 s, rounded up.
        assert refused.headers["Retry-After"] == "60"
        clock.now += 60
        assert client.get("WhoAmI").status_code == 200


def test_a_batch_under_the_execution_window_leaves_room(sim: RunningSim) -> None:
    """api-limits.md (reference §6.3): the window refuses only once the accumulated time of
    the batch parts exceeds it: 3 operations at 300 ms (900 ms of 1000 ms) leave room."""
    limits(sim, execution_ms_per_window=1000, window_seconds=60)
    sim.thread.call(lambda: setattr(sim.sim, "base_latency_ms", 300))
    SimClock(sim)
    ops: list[Op | list[Op]] = [Op("GET", f"{API}WhoAmI") for _ in range(3)]
    ctype, body = batch_body(ops)
    with dv(sim) as client:
        batch = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert batch.status_code == 200
        assert client.get("WhoAmI").status_code == 200  # 1200 ms now: over, from here on
        assert client.get("WhoAmI").status_code == 429


def test_a_running_batch_holds_one_concurrency_slot(sim: RunningSim) -> None:
    """api-limits.md (reference §6.3): a batch occupies one concurrent slot while it runs:
    with a limit of 2, a 5-operation batch runs with exactly 1 request in flight for the app
    user at each of its operations, one more request is admitted beside it, and the next is
    refused at once with 0x80072326."""
    limits(sim, concurrent_requests=2, retry_after_seconds=2)
    sim.thread.call(lambda: setattr(sim.sim, "base_latency_ms", 10))
    clock = SimClock(sim)
    app_oid = sim.fixture.application.object_id.lower()
    seen: list[int] = []
    beside: list[str] = []

    def during(protection: ServiceProtection) -> None:
        seen.append(protection.in_flight(app_oid))
        if len(seen) == 3:  # in the middle of the batch
            ticket = protection.admit(app_oid)
            try:
                protection.admit(app_oid)
            except DataverseFault as refused:
                beside.append(refused.code)
            finally:
                protection.release(ticket)

    clock.during = during
    ops: list[Op | list[Op]] = [Op("GET", f"{API}WhoAmI") for _ in range(5)]
    ctype, body = batch_body(ops)
    with dv(sim) as client:
        resp = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert resp.status_code == 200
        assert resp.text.count("HTTP/1.1 200 OK") == 5
    assert seen == [1, 1, 1, 1, 1]
    assert beside == ["0x80072326"]
    assert sim.thread.call(lambda: clock.protection.in_flight(app_oid)) == 0


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
