"""The organization's email settings against the sim."""

from __future__ import annotations

import uuid

import pytest

from dataverse import DataverseClient
from dataverse._xml import UnsafeXml
from dataverse.errors import InvalidIdentifier, InvalidInput, NotFound, PreconditionFailed
from dataverse.models import IncomingDelivery, OutgoingDelivery
from dataverse.ops import (
    EmailApprovalDenied,
    change_org_email_settings,
    get_org_email_settings,
    rewrite_email_settings,
    set_default_profile,
)
from tests.dataverse.conftest import dataverse_requests, oid
from tests.dataverse.opskit import row, set_row, statuses
from tests.simharness import RunningSim
from tests.waits import RecordedWaits

ONLINE_PROFILE = "e5000000-0000-4000-8000-000000000001"
ONPREM_PROFILE = "e5000000-0000-4000-8000-000000000002"
ORG = "0a000000-0000-4000-8000-000000000001"


def _writes(sim: RunningSim) -> list[dict[str, object]]:
    return [r for r in dataverse_requests(sim) if r["method"] == "PATCH"]


async def test_read_the_settings(dv: DataverseClient) -> None:
    settings = await get_org_email_settings(dv)

    assert settings.default_profile_id == uuid.UUID(ONLINE_PROFILE)
    assert settings.require_approval_for_user_email is True
    assert settings.default_email_settings is not None
    assert settings.default_email_settings.incoming is IncomingDelivery.SERVER_SIDE_SYNC


async def test_rewrite_the_default_delivery_methods_keeping_other_elements(
    sim: RunningSim, dv: DataverseClient
) -> None:
    set_row(
        sim,
        "organizations",
        ORG,
        defaultemailsettings="<EmailSettings><Other>a&amp;b</Other>"
        "<IncomingEmailDeliveryMethod>2</IncomingEmailDeliveryMethod></EmailSettings>",
    )

    change = await change_org_email_settings(
        dv, incoming=IncomingDelivery.NONE, outgoing=OutgoingDelivery.NONE
    )

    assert change.changed
    assert change.settings.default_email_settings is not None
    assert change.settings.default_email_settings.incoming is IncomingDelivery.NONE
    assert row(sim, "organizations", ORG)["defaultemailsettings"] == (
        "<EmailSettings><Other>a&amp;b</Other>"
        "<IncomingEmailDeliveryMethod>0</IncomingEmailDeliveryMethod>"
        "<OutgoingEmailDeliveryMethod>0</OutgoingEmailDeliveryMethod></EmailSettings>"
    )


def test_the_xml_rewrite_refuses_entities() -> None:
    with pytest.raises(UnsafeXml):
        rewrite_email_settings(
            '<!DOCTYPE x [<!ENTITY e "boom">]><EmailSettings>&e;</EmailSettings>', incoming=2
        )
    assert rewrite_email_settings(None, act=1) == (
        "<EmailSettings><ACTDeliveryMethod>1</ACTDeliveryMethod></EmailSettings>"
    )


async def test_turn_off_approval_for_users_as_a_global_admin(
    sim: RunningSim, dv: DataverseClient
) -> None:
    change = await change_org_email_settings(
        dv, require_approval_for_users=False, acting_for=oid(sim, "gina")
    )

    assert change.changed and change.settings.require_approval_for_user_email is False
    assert row(sim, "organizations", ORG)["requireapprovalforuseremail"] is False
    assert row(sim, "organizations", ORG)["requireapprovalforqueueemail"] is True


async def test_a_system_administrator_alone_may_not(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(EmailApprovalDenied) as caught:
        await change_org_email_settings(
            dv, require_approval_for_queues=False, acting_for=oid(sim, "sam")
        )

    assert caught.value.status == 403
    assert row(sim, "organizations", ORG)["requireapprovalforqueueemail"] is True


async def test_nothing_to_change_writes_nothing(sim: RunningSim, dv: DataverseClient) -> None:
    same = await change_org_email_settings(
        dv, require_approval_for_users=True, incoming=2, default_profile_id=ONLINE_PROFILE
    )

    assert not same.changed
    assert _writes(sim) == []
    with pytest.raises(InvalidInput):
        await change_org_email_settings(dv)
    with pytest.raises(InvalidInput):
        await change_org_email_settings(dv, require_approval_for_users="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await change_org_email_settings(dv, act=9)


async def test_set_the_default_profile(sim: RunningSim, dv: DataverseClient) -> None:
    change = await set_default_profile(dv, ONPREM_PROFILE, acting_for=oid(sim, "gina"))

    assert change.changed and change.settings.default_profile_id == uuid.UUID(ONPREM_PROFILE)
    assert row(sim, "organizations", ORG)["_defaultemailserverprofileid_value"] == ONPREM_PROFILE


async def test_unknown_and_malformed_profiles(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(NotFound):
        await set_default_profile(dv, uuid.uuid4())
    with pytest.raises(InvalidIdentifier):
        await set_default_profile(dv, "x') or (1 eq 1")

    assert _writes(sim) == []


async def test_a_412_that_does_not_resolve_is_raised(sim: RunningSim, dv: DataverseClient) -> None:
    sim.fault(r"PATCH /api/data/v9\.2/organizations\(", 412, times=1)

    with pytest.raises(PreconditionFailed):
        await set_default_profile(dv, ONPREM_PROFILE)

    assert row(sim, "organizations", ORG)["_defaultemailserverprofileid_value"] == ONLINE_PROFILE


async def test_throttled_then_succeeding(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(r"PATCH /api/data/v9\.2/organizations\(", 429, retry_after=1, times=1)

    change = await set_default_profile(dv, ONPREM_PROFILE)

    assert change.changed and 429 in statuses(sim)
    assert waits.waits == [1.0]  # each Retry-After: 1 honoured
