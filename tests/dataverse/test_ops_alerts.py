"""Alerts of a mailbox or a profile against the sim."""

from __future__ import annotations

import uuid

import pytest

from dataverse import DataverseClient
from dataverse.errors import Forbidden, InvalidIdentifier, InvalidInput, NotFound
from dataverse.models import AlertLevel
from dataverse.ops import list_alerts
from dataverse.ops import testing as te
from dataverse.ops.testing import Polling
from tests.dataverse.conftest import add_alert, dataverse_requests, mailbox_id, oid
from tests.simharness import RunningSim
from tests.waits import RecordedWaits

ONLINE_PROFILE = "e5000000-0000-4000-8000-000000000001"
FAST = Polling(first=0.1, cap=0.3, deadline=10.0)


async def test_alerts_of_a_mailbox_newest_first(sim: RunningSim, dv: DataverseClient) -> None:
    bob = mailbox_id(sim, "bob")
    await te.test_and_enable(dv, bob, wait=True, polling=FAST)  # an error alert
    await te.test_and_enable(dv, mailbox_id(sim, "gina"), wait=True, polling=FAST)

    alerts = await list_alerts(dv, mailbox_id=bob)
    errors = await list_alerts(dv, mailbox_id=bob, min_level=AlertLevel.ERROR, limit=1)

    assert [a.trace_code for a in alerts] == [3]
    assert errors[0].level is AlertLevel.ERROR
    assert all(a.regarding_id == uuid.UUID(bob) for a in alerts)


async def test_alerts_of_a_profile_with_a_level_filter(
    sim: RunningSim, dv: DataverseClient
) -> None:
    add_alert(
        sim,
        ONLINE_PROFILE,
        "older warning",
        "2026-01-01T00:00:00Z",
        level=2,
        regarding_type="emailserverprofile",
    )
    add_alert(
        sim,
        ONLINE_PROFILE,
        "newer error",
        "2026-02-01T00:00:00Z",
        level=3,
        regarding_type="emailserverprofile",
    )
    add_alert(
        sim,
        ONLINE_PROFILE,
        "newest information",
        "2026-03-01T00:00:00Z",
        level=1,
        regarding_type="emailserverprofile",
    )

    every = await list_alerts(dv, profile_id=ONLINE_PROFILE)
    warnings_up = await list_alerts(dv, profile_id=ONLINE_PROFILE, min_level=AlertLevel.WARNING)

    assert [a.text for a in every] == ["newest information", "newer error", "older warning"]
    assert [a.text for a in warnings_up] == ["newer error", "older warning"]


async def test_unknown_malformed_and_bad_arguments(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(NotFound):
        await list_alerts(dv, mailbox_id=uuid.uuid4())
    with pytest.raises(NotFound):
        await list_alerts(dv, profile_id=uuid.uuid4())
    before = len(dataverse_requests(sim))
    with pytest.raises(InvalidIdentifier):
        await list_alerts(dv, mailbox_id="bob")
    with pytest.raises(InvalidInput):
        await list_alerts(dv)
    with pytest.raises(InvalidInput):
        await list_alerts(dv, mailbox_id=mailbox_id(sim, "bob"), profile_id=ONLINE_PROFILE)
    with pytest.raises(InvalidInput):
        await list_alerts(dv, mailbox_id=mailbox_id(sim, "bob"), limit=0)
    with pytest.raises(ValueError):
        await list_alerts(dv, mailbox_id=mailbox_id(sim, "bob"), min_level=9)  # type: ignore[arg-type]

    assert len(dataverse_requests(sim)) == before


async def test_denied_for_someone_else(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(Forbidden):
        await list_alerts(dv, mailbox_id=mailbox_id(sim, "bob"), acting_for=oid(sim, "una"))


async def test_throttled_then_succeeding(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(r"GET /api/data/v9\.2/tracelogs", 429, retry_after=1, times=1)

    alerts = await list_alerts(dv, mailbox_id=mailbox_id(sim, "gina"))

    assert alerts == []
    assert 429 in [r["status"] for r in dataverse_requests(sim)]
    assert waits.waits == [1.0]  # each Retry-After: 1 honoured
