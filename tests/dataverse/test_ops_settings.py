"""Mailbox settings against the sim: delivery methods, profile, defaults, org-only sync."""

from __future__ import annotations

import json
import uuid

import pytest

from dataverse import DataverseClient
from dataverse.errors import (
    Forbidden,
    InvalidIdentifier,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from dataverse.models import ActDelivery, IncomingDelivery, Mailbox, OutgoingDelivery
from dataverse.ops import (
    MissingDefault,
    Outcome,
    TestState,
    apply_default_settings,
    set_delivery_methods,
    set_org_primary_sync,
    set_server_profile,
)
from tests.dataverse.conftest import dataverse_requests, mailbox_id, oid
from tests.dataverse.opskit import dv_nowait, patches_of, row, set_row, statuses
from tests.simharness import RunningSim

__all__ = ["dv_nowait"]

ONLINE_PROFILE = "e5000000-0000-4000-8000-000000000001"
ONPREM_PROFILE = "e5000000-0000-4000-8000-000000000002"
ORG = "0a000000-0000-4000-8000-000000000001"


def _patch_bodies(sim: RunningSim, mailbox: str) -> list[dict[str, object]]:
    bodies = []
    for request in dataverse_requests(sim):
        text = str(request["body"])
        marker = f"PATCH {sim.origin}/api/data/v9.2/mailboxes({mailbox})"
        if marker in text and request["status"] == 200:
            part = text[text.index(marker) :]
            bodies.append(json.loads(part[part.index("{") : part.index("}") + 1]))
    return bodies


async def test_set_delivery_methods_then_again(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")

    first = await set_delivery_methods(
        dv, [alice], incoming=IncomingDelivery.NONE, act=ActDelivery.OUTLOOK
    )
    again = await set_delivery_methods(dv, [alice], incoming=0, act=0)

    assert first[0].ok and again[0].skipped
    stored = row(sim, "mailboxes", alice)
    assert stored["incomingemaildeliverymethod"] == 0 and stored["actdeliverymethod"] == 0
    assert stored["outgoingemaildeliverymethod"] == 2
    assert _patch_bodies(sim, alice) == [
        {"incomingemaildeliverymethod": 0, "actdeliverymethod": 0}
    ]


async def test_delivery_methods_are_checked_before_any_request(
    sim: RunningSim, dv: DataverseClient
) -> None:
    with pytest.raises(InvalidInput):
        await set_delivery_methods(dv, [mailbox_id(sim, "alice")], outgoing=3)
    with pytest.raises(InvalidInput):
        await set_delivery_methods(dv, [mailbox_id(sim, "alice")])
    with pytest.raises(InvalidInput):
        await set_org_primary_sync(dv, [mailbox_id(sim, "alice")], "yes")  # type: ignore[arg-type]

    assert dataverse_requests(sim) == []


async def test_set_the_server_profile(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")

    [result] = await set_server_profile(dv, [alice], ONPREM_PROFILE, acting_for=oid(sim, "gina"))

    assert result.ok
    assert row(sim, "mailboxes", alice)["_emailserverprofile_value"] == ONPREM_PROFILE
    assert _patch_bodies(sim, alice) == [
        {"emailserverprofile@odata.bind": f"/emailserverprofiles({ONPREM_PROFILE})"}
    ]


async def test_an_unknown_profile_writes_nothing(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(NotFound):
        await set_server_profile(dv, [mailbox_id(sim, "alice")], uuid.uuid4())
    with pytest.raises(InvalidIdentifier):
        await set_server_profile(dv, [mailbox_id(sim, "alice")], "Microsoft Exchange Online")

    assert [r for r in dataverse_requests(sim) if r["method"] != "GET"] == []


async def test_sync_from_this_org_only(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")

    on = await set_org_primary_sync(dv, [alice])
    off = await set_org_primary_sync(dv, [alice], False)
    off_again = await set_org_primary_sync(dv, [alice], False)

    assert on[0].ok and off[0].ok and off_again[0].skipped
    assert row(sim, "mailboxes", alice)["orgmarkedasprimaryforexchangesync"] is False
    assert len(patches_of(sim, alice)) == 2


async def test_apply_the_default_settings_and_test(sim: RunningSim, dv: DataverseClient) -> None:
    otto = mailbox_id(sim, "otto")  # on the on-premises profile

    [result] = await apply_default_settings(dv, [otto], acting_for=oid(sim, "gina"))

    assert result.ok and result.test is not None and result.test.state is TestState.SCHEDULED
    stored = row(sim, "mailboxes", otto)
    assert stored["_emailserverprofile_value"] == ONLINE_PROFILE
    assert stored["testemailconfigurationscheduled"] is True
    assert _patch_bodies(sim, otto) == [
        {
            "emailserverprofile@odata.bind": f"/emailserverprofiles({ONLINE_PROFILE})",
            "incomingemaildeliverymethod": 2,
            "outgoingemaildeliverymethod": 2,
            "actdeliverymethod": 1,
            "testemailconfigurationscheduled": True,
        }
    ]


async def test_apply_the_defaults_without_a_test(sim: RunningSim, dv: DataverseClient) -> None:
    otto, gina = mailbox_id(sim, "otto"), mailbox_id(sim, "gina")
    set_row(sim, "mailboxes", otto, outgoingemaildeliverymethod=OutgoingDelivery.NONE.value)

    results = await apply_default_settings(dv, [otto, gina], test=False)

    assert [r.outcome for r in results] == [Outcome.OK, Outcome.SKIPPED]
    assert results[1].reason == "already has the default settings"
    assert row(sim, "mailboxes", otto)["outgoingemaildeliverymethod"] == 2
    assert row(sim, "mailboxes", otto)["testemailconfigurationscheduled"] is False


async def test_no_default_profile_means_nothing_to_apply(
    sim: RunningSim, dv: DataverseClient
) -> None:
    set_row(sim, "organizations", ORG, _defaultemailserverprofileid_value=None)

    with pytest.raises(MissingDefault):
        await apply_default_settings(dv, [mailbox_id(sim, "otto")])

    assert patches_of(sim, mailbox_id(sim, "otto")) == []


async def test_denied_and_missing_items(sim: RunningSim, dv: DataverseClient) -> None:
    una, gina = mailbox_id(sim, "una"), mailbox_id(sim, "gina")

    results = await set_delivery_methods(
        dv, [una, gina, str(uuid.uuid4())], outgoing=0, acting_for=oid(sim, "una")
    )

    assert results[0].ok  # her own mailbox: user-level write
    assert isinstance(results[1].error, Forbidden)
    assert isinstance(results[2].error, NotFound)
    assert row(sim, "mailboxes", gina)["outgoingemaildeliverymethod"] == 2


async def test_throttled_then_succeeding(sim: RunningSim, dv_nowait: DataverseClient) -> None:
    sim.fault(r"POST /api/data/v9\.2/\$batch", 429, retry_after=1, times=1)

    [result] = await set_org_primary_sync(dv_nowait, [mailbox_id(sim, "alice")])

    assert result.ok and 429 in statuses(sim)


async def test_a_stale_row_is_a_precondition_failure(sim: RunningSim, dv: DataverseClient) -> None:
    alice = mailbox_id(sim, "alice")
    seen = await dv.get_row(Mailbox, alice)
    set_row(sim, "mailboxes", alice, orgmarkedasprimaryforexchangesync=False)

    [result] = await set_delivery_methods(dv, [seen], incoming=0)

    assert isinstance(result.error, PreconditionFailed)
    assert row(sim, "mailboxes", alice)["incomingemaildeliverymethod"] == 2
