"""Exchange Online server profiles against the sim."""

from __future__ import annotations

import logging
import uuid

import pytest
from pydantic import SecretStr

from dataverse import DataverseClient
from dataverse.errors import (
    BadRequest,
    Forbidden,
    InvalidIdentifier,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    UnexpectedResponse,
)
from dataverse.models import CredentialRetrieval, ServerType
from dataverse.ops import (
    CHINA_EWS_URL,
    CrossTenantOAuth,
    ProfileExists,
    SameTenant,
    check_exchange_online_profile,
    create_exchange_online_profile,
    point_profile_to_china,
    set_default_profile,
)
from tests.dataverse.conftest import dataverse_requests, oid
from tests.dataverse.opskit import row, set_row, statuses
from tests.simharness import RunningSim
from tests.waits import RecordedWaits

ONLINE_PROFILE = "e5000000-0000-4000-8000-000000000001"
ONPREM_PROFILE = "e5000000-0000-4000-8000-000000000002"
ORG = "0a000000-0000-4000-8000-000000000001"
SECRET = "cross-tenant-app-secret-value-123"


async def test_the_exchange_online_profile_exists_and_is_the_default(
    dv: DataverseClient,
) -> None:
    check = await check_exchange_online_profile(dv)

    assert check.ok and check.profile is not None
    assert check.profile.id == uuid.UUID(ONLINE_PROFILE)
    assert len(check.profiles) == 2


async def test_it_exists_but_another_one_is_the_default(
    sim: RunningSim, dv: DataverseClient
) -> None:
    await set_default_profile(dv, ONPREM_PROFILE)

    check = await check_exchange_online_profile(dv)

    assert check.exists and not check.is_default and not check.ok
    assert check.default_profile is not None
    assert check.default_profile.id == uuid.UUID(ONPREM_PROFILE)


async def test_a_missing_profile(sim: RunningSim, dv: DataverseClient) -> None:
    set_row(sim, "emailserverprofiles", ONLINE_PROFILE, name="Renamed")

    check = await check_exchange_online_profile(dv)

    assert not check.exists and check.profile is None


async def test_create_a_same_tenant_profile_as_the_default(
    sim: RunningSim, dv: DataverseClient
) -> None:
    profile = await create_exchange_online_profile(
        dv, "Contoso EXO", make_default=True, acting_for=oid(sim, "gina")
    )

    assert profile.name == "Contoso EXO"
    assert profile.server_type is ServerType.EXCHANGE_SERVER
    # What reads back names the type the way the admin UI does (reference §2, §12.1).
    assert profile.server_type_name == "Exchange Online"
    assert row(sim, "emailserverprofiles", str(profile.id))["serverauthority"] == 0
    assert profile.incoming_credential_retrieval is CredentialRetrieval.SERVER_TO_SERVER
    assert profile.outgoing_credential_retrieval is CredentialRetrieval.SERVER_TO_SERVER
    assert row(sim, "organizations", ORG)["_defaultemailserverprofileid_value"] == str(profile.id)


async def test_create_a_cross_tenant_oauth_profile_without_showing_the_secret(
    sim: RunningSim, dv: DataverseClient, caplog: pytest.LogCaptureFixture
) -> None:
    other_tenant, app = str(uuid.uuid4()), str(uuid.uuid4())
    auth = CrossTenantOAuth(tenant_id=other_tenant, client_id=app, client_secret=SECRET)
    caplog.set_level(logging.DEBUG)

    profile = await create_exchange_online_profile(dv, "Fabrikam EXO", auth)

    assert profile.incoming_credential_retrieval is CredentialRetrieval.ENTRA_ID_OAUTH
    assert profile.exchange_online_tenant_id == other_tenant
    assert profile.use_default_tenant_id is False
    stored = row(sim, "emailserverprofiles", str(profile.id))
    assert stored["oauthclientid"] == app and stored["oauthclientsecret"] == SECRET
    assert SECRET not in repr(auth) and SECRET not in str(auth)
    assert SECRET not in repr(profile) and SECRET not in caplog.text


async def test_the_same_name_twice_creates_nothing(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(ProfileExists):
        await create_exchange_online_profile(dv, "Microsoft Exchange Online", SameTenant())

    assert [r for r in dataverse_requests(sim) if r["method"] == "POST"] == []


async def test_bad_input_is_refused_before_any_request(
    sim: RunningSim, dv: DataverseClient
) -> None:
    with pytest.raises(InvalidInput):
        await create_exchange_online_profile(dv, "   ")
    with pytest.raises(InvalidInput):
        await create_exchange_online_profile(dv, "x" * 101)
    with pytest.raises(InvalidIdentifier):
        CrossTenantOAuth(
            tenant_id="contoso.onmicrosoft.com", client_id=str(uuid.uuid4()), client_secret=SECRET
        )
    with pytest.raises(InvalidInput):
        CrossTenantOAuth(
            tenant_id=str(uuid.uuid4()), client_id=str(uuid.uuid4()), client_secret=SecretStr(" ")
        )
    with pytest.raises(InvalidIdentifier):
        await point_profile_to_china(dv, "e5000000' or 1 eq 1")

    assert dataverse_requests(sim) == []


async def test_a_name_with_a_quote_is_escaped(sim: RunningSim, dv: DataverseClient) -> None:
    profile = await create_exchange_online_profile(dv, "O'Brien's EXO")

    assert profile.name == "O'Brien's EXO"
    [lookup] = [r for r in dataverse_requests(sim) if "filter" in str(r["query"])]
    assert "name eq 'O''Brien''s EXO'" in str(lookup["query"])


async def test_denied_without_the_privilege(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(Forbidden):
        await create_exchange_online_profile(dv, "Una's EXO", acting_for=oid(sim, "una"))


async def test_throttled_then_succeeding(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(r"POST /api/data/v9\.2/emailserverprofiles", 429, retry_after=1, times=1)

    profile = await create_exchange_online_profile(dv, "Throttled EXO")

    assert profile.name == "Throttled EXO"
    assert statuses(sim).count(429) == 1
    assert len([r for r in dataverse_requests(sim) if r["method"] == "POST"]) == 2
    assert waits.waits == [1.0]  # each Retry-After: 1 honoured


async def test_point_a_profile_to_china_once(sim: RunningSim, dv: DataverseClient) -> None:
    first = await point_profile_to_china(dv, ONLINE_PROFILE, acting_for=oid(sim, "gina"))
    second = await point_profile_to_china(dv, ONLINE_PROFILE)

    assert first.changed and first.authority_set
    assert not second.changed
    stored = row(sim, "emailserverprofiles", ONLINE_PROFILE)
    assert stored["defaultserverlocation"] == CHINA_EWS_URL
    assert stored["serverauthority"] == 2
    assert len([r for r in dataverse_requests(sim) if r["method"] == "PATCH"]) == 1


async def test_china_without_the_server_authority_column(
    sim: RunningSim, dv: DataverseClient
) -> None:
    body = {
        "error": {
            "code": "0x80060888",
            "message": "Could not find a property named "
            "'serverauthority' on type 'Microsoft.Dynamics.CRM.emailserverprofile'.",
        }
    }
    sim.fault(r"GET .*serverauthority", 400, times=1, body=body)

    result = await point_profile_to_china(dv, ONLINE_PROFILE)

    assert result.changed and not result.authority_set
    stored = row(sim, "emailserverprofiles", ONLINE_PROFILE)
    assert stored["defaultserverlocation"] == CHINA_EWS_URL
    assert stored["serverauthority"] == 0  # the column's default: the client did not write it


async def test_china_unknown_profile_and_stale_write(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(NotFound):
        await point_profile_to_china(dv, uuid.uuid4())
    sim.fault(r"PATCH /api/data/v9\.2/emailserverprofiles\(", 412, times=1)
    with pytest.raises(PreconditionFailed):
        await point_profile_to_china(dv, ONLINE_PROFILE)
    with pytest.raises(BadRequest):
        sim.fault(r"GET .*emailserverprofiles", 400, times=2)
        await point_profile_to_china(dv, ONLINE_PROFILE)


async def test_checking_and_pointing_are_denied_without_privileges(
    sim: RunningSim, dv: DataverseClient
) -> None:
    # una may not read the organization row: the sim's query hides it, and the client
    # reports an answer without the one row there always is.
    with pytest.raises(UnexpectedResponse):
        await check_exchange_online_profile(dv, acting_for=oid(sim, "una"))
    with pytest.raises(Forbidden):
        await point_profile_to_china(dv, ONLINE_PROFILE, acting_for=oid(sim, "una"))

    assert row(sim, "emailserverprofiles", ONLINE_PROFILE)["defaultserverlocation"] is None


async def test_checking_and_pointing_when_throttled(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(r"GET /api/data/v9\.2/emailserverprofiles", 429, retry_after=1, times=2)

    check = await check_exchange_online_profile(dv)
    china = await point_profile_to_china(dv, ONPREM_PROFILE)

    assert check.ok and china.changed
    assert statuses(sim).count(429) == 2
    assert waits.waits == [1.0, 1.0]  # each Retry-After: 1 honoured
