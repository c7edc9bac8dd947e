"""Assigning and removing Delegated Mailbox Approver against the sim."""

from __future__ import annotations

import uuid

import pytest

from dataverse import DataverseClient
from dataverse.errors import Forbidden, InvalidIdentifier, InvalidInput, NotFound
from dataverse.ops import (
    DelegatedApproverAssignDenied,
    DelegatedApproverNotForTeams,
    UnknownName,
    assign_delegated_approver,
    remove_delegated_approver,
)
from tests.dataverse.conftest import dataverse_requests, oid, systemuser_id
from tests.simharness import RunningSim
from tests.waits import RecordedWaits

DMA_ROLE = "70000000-0000-4000-8000-000000000002"
TEAM = "7e000000-0000-4000-8000-000000000001"


def _holders(sim: RunningSim) -> set[str]:
    pairs = sim.state()["associations"]["systemuserroles_association"]
    return {p["systemuserid"] for p in pairs if p["roleid"] == DMA_ROLE}


async def test_assign_then_again_then_remove(sim: RunningSim, dv: DataverseClient) -> None:
    sam = systemuser_id(sim, "sam")
    eddie = oid(sim, "eddie")

    added = await assign_delegated_approver(dv, sam, acting_for=eddie)
    again = await assign_delegated_approver(dv, sam, acting_for=eddie)
    assert sam in _holders(sim)
    removed = await remove_delegated_approver(dv, sam, acting_for=eddie)
    removed_again = await remove_delegated_approver(dv, sam, acting_for=eddie)

    assert added.changed and added.role.id == uuid.UUID(DMA_ROLE)
    assert not again.changed and again.reason == "already holds the role"
    assert removed.changed and not removed_again.changed
    assert sam not in _holders(sim)
    writes = [r for r in dataverse_requests(sim) if r["method"] in ("POST", "DELETE")]
    assert len(writes) == 2
    assert all(w["caller_object_id"] == eddie for w in writes)


async def test_only_a_global_or_exchange_admin_may_assign(
    sim: RunningSim, dv: DataverseClient
) -> None:
    with pytest.raises(DelegatedApproverAssignDenied) as caught:
        await assign_delegated_approver(dv, systemuser_id(sim, "una"), acting_for=oid(sim, "sam"))

    assert isinstance(caught.value, Forbidden) and caught.value.code == "0x80090904"
    assert systemuser_id(sim, "una") not in _holders(sim)


async def test_only_a_global_or_exchange_admin_may_remove(
    sim: RunningSim, dv: DataverseClient
) -> None:
    with pytest.raises(DelegatedApproverAssignDenied):
        await remove_delegated_approver(dv, systemuser_id(sim, "dana"), acting_for=oid(sim, "sam"))

    assert systemuser_id(sim, "dana") in _holders(sim)


async def test_never_to_a_team(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(DelegatedApproverNotForTeams) as caught:
        await assign_delegated_approver(dv, TEAM, principal="team", acting_for=oid(sim, "gina"))

    assert caught.value.code == "0x80090905"


async def test_unknown_malformed_and_bad_arguments(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(NotFound):
        await assign_delegated_approver(dv, uuid.uuid4(), acting_for=oid(sim, "eddie"))
    requests_so_far = len(dataverse_requests(sim))
    with pytest.raises(InvalidIdentifier):
        await assign_delegated_approver(dv, "dana")
    with pytest.raises(InvalidInput):
        await assign_delegated_approver(dv, systemuser_id(sim, "dana"), principal="group")  # type: ignore[arg-type]

    assert len(dataverse_requests(sim)) == requests_so_far


async def test_the_role_does_not_exist_before_its_version(
    sim: RunningSim, dv: DataverseClient
) -> None:
    def older() -> None:
        sim.sim.state.version = "9.2.22000.00100"

    sim.thread.call(older)

    with pytest.raises(UnknownName):
        await assign_delegated_approver(
            dv, systemuser_id(sim, "sam"), acting_for=oid(sim, "eddie")
        )


async def test_throttled_then_succeeding(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(r"POST .*systemuserroles_association/\$ref", 429, retry_after=1, times=1)

    change = await assign_delegated_approver(
        dv, systemuser_id(sim, "sam"), acting_for=oid(sim, "eddie")
    )

    assert change.changed and systemuser_id(sim, "sam") in _holders(sim)
    assert waits.waits == [1.0]  # each Retry-After: 1 honoured
