"""DataverseClient against the sim's Web API face, over HTTPS with the sim's CA."""

from __future__ import annotations

import asyncio
import math
import uuid
from pathlib import Path

import pytest

from dataverse import BearerAuth, DataverseClient, EntraApp, Query, RetryPolicy, col, desc
from dataverse.errors import (
    DataverseRequestError,
    Forbidden,
    InvalidIdentifier,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from dataverse.models import (
    AlertLevel,
    EmailApproval,
    IncomingDelivery,
    Mailbox,
    MailboxChanges,
    Role,
    ServerProfile,
    ServerType,
    SystemUser,
    TestStatus,
)
from tests.dataverse.conftest import (
    add_alert,
    dataverse_requests,
    mailbox_id,
    mint_user_token,
    oid,
    row_ids,
    systemuser_id,
)
from tests.simharness import RunningSim

APP_SYSTEMUSER = "5e000000-0000-4000-8000-0000000000a1"


async def test_whoami_is_the_application_user(dv: DataverseClient) -> None:
    me = await dv.whoami()

    assert me.user_id == uuid.UUID(APP_SYSTEMUSER)


async def test_retrieve_version(dv: DataverseClient) -> None:
    version = await dv.retrieve_version()

    assert str(version) == "9.2.25093.00214"


async def test_get_a_mailbox_with_its_etag(sim: RunningSim, dv: DataverseClient) -> None:
    mailbox = await dv.get_mailbox(mailbox_id(sim, "gina"))

    assert mailbox.email_address == "gina@contoso.com"
    assert mailbox.approval is EmailApproval.APPROVED
    assert mailbox.incoming_status is TestStatus.SUCCESS
    assert mailbox.regarding_id == uuid.UUID(systemuser_id(sim, "gina"))
    assert mailbox.regarding_type == "systemuser"
    assert mailbox.etag is not None and mailbox.etag.startswith('W/"')


async def test_the_standard_headers_and_select_go_out(
    sim: RunningSim, dv: DataverseClient
) -> None:
    await dv.get_mailbox(mailbox_id(sim, "gina"))

    [request] = dataverse_requests(sim)
    assert request["path"] == f"/api/data/v9.2/mailboxes({mailbox_id(sim, 'gina')})"
    assert str(request["query"]).startswith("$select=mailboxid,name,emailaddress,")
    assert request["status"] == 200


async def test_the_mailbox_of_a_queue(sim: RunningSim, dv: DataverseClient) -> None:
    [queue] = await dv.find_queues("support@contoso.com")
    mailbox = await dv.mailbox_for(queue.id)

    assert mailbox is not None
    assert mailbox.is_queue_mailbox
    assert mailbox.id == queue.default_mailbox_id


async def test_mailboxes_with_their_alerts_in_one_request(
    sim: RunningSim, dv: DataverseClient
) -> None:
    """The alerts expanded through `tracelog_Mailbox` (reference §5.3; Microsoft's "Join
    tables using OData": `$select`, `$orderby` and `$top` apply to an expanded collection)
    are the ones the `tracelogs` query answers, newest first."""
    bob, alice = mailbox_id(sim, "bob"), mailbox_id(sim, "alice")
    for text, when in [("old", "2026-01-01T00:00:00Z"), ("new", "2026-03-01T00:00:00Z")]:
        add_alert(sim, bob, text, when)
    add_alert(sim, alice, "alice's", "2026-02-01T00:00:00Z")
    query = Query(filter=col("mailboxid").in_([uuid.UUID(bob), uuid.UUID(alice)]))
    before = len(dataverse_requests(sim))

    found = await dv.mailboxes_with_alerts(query, alerts=1, limit=10)

    assert len(dataverse_requests(sim)) == before + 1
    by_id = {str(m.id): alerts for m, alerts in found}
    assert [a.text for a in by_id[bob]] == ["new"]
    assert [a.text for a in by_id[alice]] == ["alice's"]
    for mailbox, alerts in by_id.items():
        assert list(alerts) == await dv.alerts(mailbox, limit=1)


async def test_a_missing_row_is_not_found(dv: DataverseClient) -> None:
    with pytest.raises(NotFound) as caught:
        await dv.get_mailbox(uuid.uuid4())

    assert caught.value.status == 404
    assert caught.value.code  # Dataverse's hex code, e.g. 0x80040217


async def test_paging_follows_next_links_with_the_same_page_size(
    sim: RunningSim, dv: DataverseClient
) -> None:
    total = len(row_ids(sim, "mailboxes", "mailboxid"))
    page_size = 40

    rows = [row async for row in dv.iter_rows(Mailbox, page_size=page_size)]

    assert len(rows) == total
    assert len({row.id for row in rows}) == total
    gets = [r for r in dataverse_requests(sim) if r["method"] == "GET"]
    # Each page held exactly `page_size` rows, so the preference went out on every request.
    assert len(gets) == math.ceil(total / page_size)
    assert all("$skiptoken=" in str(r["query"]) for r in gets[1:])


async def test_a_page_at_a_time(dv: DataverseClient) -> None:
    first = await dv.query_page(Mailbox, Query(count=True), page_size=5)
    assert first.next_link is not None
    second = await dv.query_page(Mailbox, next_link=first.next_link, page_size=5)

    assert len(first.rows) == len(second.rows) == 5
    assert not {r.id for r in first.rows} & {r.id for r in second.rows}
    assert first.count is not None and first.count > 10


async def test_iteration_can_stop_early(sim: RunningSim, dv: DataverseClient) -> None:
    rows = await dv.list_rows(Mailbox, page_size=10, limit=15)

    assert len(rows) == 15
    assert len(dataverse_requests(sim)) == 2


async def test_a_filtered_ordered_query(sim: RunningSim, dv: DataverseClient) -> None:
    query = Query(
        filter=col("emailrouteraccessapproval").eq(EmailApproval.PENDING_APPROVAL)
        & col("_emailserverprofile_value").eq(uuid.UUID("e5000000-0000-4000-8000-000000000002")),
        orderby=(desc("name"),),
    )

    rows = await dv.list_rows(Mailbox, query)

    assert [r.name for r in rows] == ["Otto Onprem", "Olga Onprem"]


async def test_update_a_mailbox_then_a_stale_etag_is_refused(
    sim: RunningSim, dv: DataverseClient
) -> None:
    before = await dv.get_mailbox(mailbox_id(sim, "alice"))
    assert before.etag is not None

    await dv.update_mailbox(
        before.id,
        MailboxChanges(incoming_delivery=IncomingDelivery.SERVER_SIDE_SYNC),
        etag=before.etag,
    )
    with pytest.raises(PreconditionFailed) as caught:
        await dv.update_mailbox(before.id, MailboxChanges(test_scheduled=True), etag=before.etag)

    assert caught.value.status == 412
    after = await dv.get_mailbox(before.id)
    assert after.etag != before.etag
    assert after.incoming_delivery is IncomingDelivery.SERVER_SIDE_SYNC


async def test_if_match_star_on_a_missing_row_is_404_and_creates_nothing(
    sim: RunningSim, dv: DataverseClient
) -> None:
    missing = uuid.uuid4()

    with pytest.raises(NotFound):
        await dv.update_mailbox(missing, MailboxChanges(test_scheduled=True))

    assert str(missing) not in row_ids(sim, "mailboxes", "mailboxid")
    [request] = dataverse_requests(sim)
    assert (request["method"], request["status"]) == ("PATCH", 404)


async def test_update_returning_the_row(sim: RunningSim, dv: DataverseClient) -> None:
    row = await dv.update_row_returning(
        Mailbox, mailbox_id(sim, "alice"), {"orgmarkedasprimaryforexchangesync": True}
    )

    assert row.org_marked_primary is True
    assert row.etag is not None


async def test_set_email_approval_acting_for_an_admin(
    sim: RunningSim, dv: DataverseClient
) -> None:
    alice = systemuser_id(sim, "alice")

    await dv.acting_for(oid(sim, "gina")).set_email_approval(
        SystemUser, alice, EmailApproval.APPROVED
    )

    assert (await dv.get_person(alice)).approval is EmailApproval.APPROVED


async def test_the_app_alone_may_not_approve(sim: RunningSim, dv: DataverseClient) -> None:
    with pytest.raises(Forbidden) as caught:
        await dv.set_email_approval(
            SystemUser, systemuser_id(sim, "alice"), EmailApproval.APPROVED
        )

    assert caught.value.code == "0x8009000B"


async def test_org_email_settings(dv: DataverseClient) -> None:
    org = await dv.org_email_settings()

    assert org.require_approval_for_user_email is True
    assert org.require_privilege_to_self_approve is False
    assert org.default_email_settings is not None
    assert org.default_profile_id == uuid.UUID("e5000000-0000-4000-8000-000000000001")


async def test_server_profiles(dv: DataverseClient) -> None:
    profiles = {p.name: p for p in await dv.server_profiles()}

    online = profiles["Microsoft Exchange Online"]
    onprem = profiles["Contoso Exchange (on-premises)"]
    assert online.server_type is ServerType.EXCHANGE_SERVER
    assert onprem.server_type is ServerType.EXCHANGE_SERVER_HYBRID
    assert onprem.default_server_location == "https://mail.contoso.com/EWS/Exchange.asmx"


async def test_people_by_object_id_and_by_name(sim: RunningSim, dv: DataverseClient) -> None:
    gina = await dv.person_by_object_id(oid(sim, "gina"))
    found = await dv.find_people("Alice")

    assert gina is not None and gina.id == uuid.UUID(systemuser_id(sim, "gina"))
    assert [p.domain_name for p in found] == ["alice@contoso.com"]
    assert await dv.person_by_object_id(uuid.uuid4()) is None


async def test_user_text_is_escaped_in_filters(sim: RunningSim, dv: DataverseClient) -> None:
    assert await dv.find_people("O'Brien") == []
    assert await dv.find_people("alice' or 1 eq 1") == []

    queries = [str(r["query"]) for r in dataverse_requests(sim)]
    assert "startswith(fullname,'O''Brien')" in queries[0]
    assert "startswith(fullname,'alice'' or 1 eq 1')" in queries[1]
    assert "domainname eq 'alice'' or 1 eq 1'" in queries[1]
    assert all(r["status"] == 200 for r in dataverse_requests(sim))


async def test_bad_ids_are_refused_before_any_request(
    sim: RunningSim, dv: DataverseClient
) -> None:
    with pytest.raises(InvalidIdentifier):
        await dv.get_mailbox("3b000000-0000-4000-8000-000000000001) or (1 eq 1")
    with pytest.raises(InvalidIdentifier):
        await dv.alerts("not-a-guid")
    with pytest.raises(InvalidIdentifier):
        dv.acting_for("gina@contoso.com")
    with pytest.raises(InvalidInput):
        await dv.update_row(Mailbox, mailbox_id(sim, "gina"), {"name": "x"}, etag="W/no-quotes")

    assert dataverse_requests(sim) == []


async def test_caller_object_id_per_call_and_bound(sim: RunningSim, dv: DataverseClient) -> None:
    gina = oid(sim, "gina")

    per_call = await dv.whoami(as_caller=gina)
    bound = await dv.acting_for(gina).whoami()

    assert per_call.user_id == bound.user_id == uuid.UUID(systemuser_id(sim, "gina"))
    callers = [r["caller_object_id"] for r in dataverse_requests(sim)]
    assert callers == [gina, gina]


async def test_impersonation_intersects_privileges(sim: RunningSim, dv: DataverseClient) -> None:
    una = dv.acting_for(oid(sim, "una"))

    # una (Basic User) may read her own mailbox, not gina's.
    own = await una.get_mailbox(mailbox_id(sim, "una"))
    with pytest.raises(Forbidden) as caught:
        await una.update_mailbox(mailbox_id(sim, "gina"), MailboxChanges(test_scheduled=True))

    assert own.id == uuid.UUID(mailbox_id(sim, "una"))
    assert caught.value.code  # e.g. 0x80040220 PrivilegeDenied


async def test_a_view_does_not_close_the_shared_client(
    sim: RunningSim, dv: DataverseClient
) -> None:
    view = dv.acting_for(oid(sim, "gina"))
    await view.aclose()

    assert (await dv.whoami()).user_id == uuid.UUID(APP_SYSTEMUSER)


async def test_security_roles_direct_and_through_a_team(
    sim: RunningSim, dv: DataverseClient
) -> None:
    roles = await dv.security_roles(systemuser_id(sim, "tess"))

    assert {r.name for r in roles.direct} == {"Basic User"}
    [team] = roles.through_teams
    assert team.team.name == "Mailbox Operations"
    assert {r.name for r in team.roles} == {"System Administrator"}
    assert "System Administrator" in roles.names()


async def test_associate_and_disassociate_a_role(sim: RunningSim, dv: DataverseClient) -> None:
    una = systemuser_id(sim, "una")
    [approver] = await dv.roles_named("Email Address Approver")

    await dv.associate(SystemUser, una, "systemuserroles_association", Role, approver.id)
    with_role = await dv.security_roles(una)
    await dv.disassociate(SystemUser, una, "systemuserroles_association", approver.id)
    without = await dv.security_roles(una)

    assert "Email Address Approver" in with_role.names()
    assert "Email Address Approver" not in without.names()


async def test_test_and_enable_then_alerts(sim: RunningSim, dv: DataverseClient) -> None:
    bob = mailbox_id(sim, "bob")

    await dv.schedule_test_and_enable(bob)
    alerts = []
    for _ in range(50):
        alerts = await dv.alerts(bob, min_level=AlertLevel.ERROR)
        if alerts:
            break
        await asyncio.sleep(0.1)

    assert alerts, "the sim's Test & Enable wrote no error alert"
    assert alerts[0].level is AlertLevel.ERROR
    assert alerts[0].trace_code == 3
    mailbox = await dv.get_mailbox(bob)
    assert mailbox.mailbox_status is TestStatus.FAILURE


async def test_on_behalf_of_a_user_for_dataverse(sim: RunningSim, entra: EntraApp) -> None:
    assertion = mint_user_token(sim, oid(sim, "gina"))
    auth = BearerAuth(entra.on_behalf_of(assertion, [f"{sim.dataverse_url}/.default"]))
    async with DataverseClient(sim.dataverse_url, auth=auth, ca_path=sim.ca_path) as client:
        me = await client.whoami()

    assert me.user_id == uuid.UUID(systemuser_id(sim, "gina"))


async def test_a_wrong_ca_is_refused(sim: RunningSim, entra: EntraApp, other_ca: Path) -> None:
    async with DataverseClient(
        sim.dataverse_url,
        auth=entra.dataverse_auth(sim.dataverse_url),
        ca_path=other_ca,
        retry=RetryPolicy(attempts=3, backoff_base=0.01),
    ) as client:
        with pytest.raises(DataverseRequestError) as caught:
            await client.whoami()

    assert "TLS verification failed" in str(caught.value)
    assert dataverse_requests(sim) == []


async def test_create_and_delete_a_row(dv: DataverseClient) -> None:
    created = await dv.create_row(
        ServerProfile, {"name": "Fabrikam Exchange Online", "servertype": 0}
    )
    profile = await dv.get_server_profile(created)
    assert profile.name == "Fabrikam Exchange Online"
    assert profile.etag is not None

    await dv.delete_row(ServerProfile, created, etag=profile.etag)

    with pytest.raises(NotFound):
        await dv.get_server_profile(created)
