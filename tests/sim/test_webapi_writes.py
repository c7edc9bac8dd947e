"""Writes through the Web API face: create, update, upsert, delete, binds, associations."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sim.webapi.tables import TABLES
from tests.sim.webapi_kit import (
    APP_USER,
    MAILBOX_ALICE,
    MAILBOX_GINA,
    PROFILE_EXO,
    PROFILE_ONPREM,
    ROLE_BASIC,
    ROLE_SYSADMIN,
    TEAM_OPS,
    USER_ALICE,
    USER_SAM,
    dv,
    error_of,
)
from tests.simharness import RunningSim


def _row(sim: RunningSim, entity_set: str, key: str) -> dict[str, Any] | None:
    pk = TABLES[entity_set].primary_key
    return next((r for r in sim.state()[entity_set] if r[pk] == key), None)


def _mailbox(sim: RunningSim, key: str) -> dict[str, Any]:
    row = _row(sim, "mailboxes", key)
    assert row is not None, key
    return row


# ---- create ------------------------------------------------------------------------------


def test_create_returns_204_with_entity_id(sim: RunningSim) -> None:
    """create-entity-web-api: 204 and OData-EntityId; metadata defaults fill the rest
    (reference §1.1: isforwardmailbox defaults Yes, enabledfor* Yes)."""
    with dv(sim) as client:
        resp = client.post(
            "mailboxes",
            json={
                "name": "Shared box",
                "emailaddress": "shared@contoso.com",
                "emailserverprofile@odata.bind": f"/emailserverprofiles({PROFILE_EXO})",
            },
        )
    assert resp.status_code == 204, resp.text
    entity_id = resp.headers["OData-EntityId"]
    assert entity_id.startswith(f"{sim.origin}/api/data/v9.2/mailboxes(")
    key = entity_id.rsplit("(", 1)[1].rstrip(")")
    row = _row(sim, "mailboxes", key)
    assert row is not None
    assert row["_emailserverprofile_value"] == PROFILE_EXO
    assert row["isforwardmailbox"] is True
    assert row["enabledforincomingemail"] is True
    assert row["_createdby_value"] == APP_USER
    assert row["_ownerid_value"] == APP_USER
    assert isinstance(row["versionnumber"], int)


def test_create_with_return_representation(sim: RunningSim) -> None:
    """Prefer: return=representation → 201 with the row, honouring $select."""
    with dv(sim) as client:
        resp = client.post(
            "mailboxes",
            params={"$select": "name,emailaddress"},
            json={"name": "Rep box", "emailaddress": "rep@contoso.com"},
            headers={"Prefer": "return=representation"},
        )
    assert resp.status_code == 201, resp.text
    assert resp.headers["Preference-Applied"] == "return=representation"
    body = resp.json()
    assert body["name"] == "Rep box"
    assert set(body) == {"@odata.context", "@odata.etag", "name", "emailaddress", "mailboxid"}


def test_create_in_a_table_without_create(sim: RunningSim) -> None:
    """reference §3: organization supports Retrieve, RetrieveMultiple and Update only."""
    with dv(sim) as client:
        resp = client.post("organizations", json={"name": "second"})
    assert resp.status_code == 400
    assert "Create" in error_of(resp)["message"]


# ---- update with If-Match ----------------------------------------------------------------


def test_if_match_mismatch_is_412(sim: RunningSim) -> None:
    """reference §6.4: a stale ETag in If-Match → 412 ConcurrencyVersionMismatch."""
    with dv(sim) as client:
        tag = client.get(f"mailboxes({MAILBOX_ALICE})", params={"$select": "name"}).json()[
            "@odata.etag"
        ]
        ok = client.patch(
            f"mailboxes({MAILBOX_ALICE})",
            json={"ewsurl": "https://a/ews"},
            headers={"If-Match": tag},
        )
        assert ok.status_code == 204, ok.text
        stale = client.patch(
            f"mailboxes({MAILBOX_ALICE})",
            json={"ewsurl": "https://b/ews"},
            headers={"If-Match": tag},
        )
        assert stale.status_code == 412
        assert error_of(stale) == {
            "code": "0x80060882",
            "message": "The version of the existing record doesn't match the RowVersion "
            "property provided.",
        }
        delete = client.delete(f"tracelogs({uuid.uuid4()})", headers={"If-Match": tag})
        assert delete.status_code == 404
    assert _mailbox(sim, MAILBOX_ALICE)["ewsurl"] == "https://a/ews"


def test_if_match_star_on_missing_row_is_404(sim: RunningSim) -> None:
    """reference §6.4 / §9: If-Match: * prevents the upsert from creating the row."""
    missing = str(uuid.uuid4())
    with dv(sim) as client:
        resp = client.patch(f"mailboxes({missing})", json={"name": "x"}, headers={"If-Match": "*"})
    assert resp.status_code == 404
    assert error_of(resp) == {
        "code": "0x80040217",
        "message": f"mailbox With Id = {missing} Does Not Exist",
    }
    assert _row(sim, "mailboxes", missing) is None


def test_patch_without_if_match_upserts(sim: RunningSim) -> None:
    """reference §1 (Upsert): a PATCH for a missing id creates the row with that id."""
    new = str(uuid.uuid4())
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({new})", json={"name": "Upserted", "emailaddress": "u@contoso.com"}
        )
        assert resp.status_code == 204, resp.text
        assert resp.headers["OData-EntityId"].endswith(f"mailboxes({new})")
        again = client.patch(f"mailboxes({new})", json={"name": "Upserted again"})
        assert again.status_code == 204
    row = _row(sim, "mailboxes", new)
    assert row is not None
    assert row["name"] == "Upserted again"
    assert row["emailaddress"] == "u@contoso.com"


def test_if_none_match_star_prevents_update(sim: RunningSim) -> None:
    """reference §6.4: If-None-Match: * → 412 when the row exists, create when it does not."""
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({MAILBOX_GINA})", json={"name": "x"}, headers={"If-None-Match": "*"}
        )
        assert resp.status_code == 412
        assert error_of(resp)["message"] == "A record with matching key values already exists."
        new = str(uuid.uuid4())
        created = client.patch(
            f"mailboxes({new})", json={"name": "fresh"}, headers={"If-None-Match": "*"}
        )
        assert created.status_code == 204
    assert _mailbox(sim, MAILBOX_GINA)["name"] == "Gina Global"


def test_update_with_return_representation_and_bind(sim: RunningSim) -> None:
    """reference §9: the configure PATCH with emailserverprofile@odata.bind and If-Match: *."""
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({MAILBOX_ALICE})",
            params={"$select": "_emailserverprofile_value,incomingemaildeliverymethod"},
            json={
                "emailserverprofile@odata.bind": f"/emailserverprofiles({PROFILE_ONPREM})",
                "incomingemaildeliverymethod": 2,
                "outgoingemaildeliverymethod": 2,
                "actdeliverymethod": 1,
                "orgmarkedasprimaryforexchangesync": True,
            },
            headers={"If-Match": "*", "Prefer": "return=representation"},
        )
    assert resp.status_code == 200, resp.text
    assert resp.json()["_emailserverprofile_value"] == PROFILE_ONPREM
    row = _row(sim, "mailboxes", MAILBOX_ALICE)
    assert row is not None and row["orgmarkedasprimaryforexchangesync"] is True


def test_bind_accepts_absolute_urls_and_null(sim: RunningSim) -> None:
    """odata.bind with the full service URL; null clears the lookup."""
    with dv(sim) as client:
        url = f"{sim.origin}/api/data/v9.2/emailserverprofiles({PROFILE_ONPREM})"
        assert (
            client.patch(
                f"mailboxes({MAILBOX_ALICE})", json={"emailserverprofile@odata.bind": url}
            ).status_code
            == 204
        )
        assert _mailbox(sim, MAILBOX_ALICE)["_emailserverprofile_value"] == PROFILE_ONPREM
        assert (
            client.patch(
                f"mailboxes({MAILBOX_ALICE})", json={"emailserverprofile@odata.bind": None}
            ).status_code
            == 204
        )
    assert _mailbox(sim, MAILBOX_ALICE)["_emailserverprofile_value"] is None


@pytest.mark.parametrize(
    ("body", "status", "code", "fragment"),
    [
        (
            {"name": 5},
            400,
            "0x80048d19",
            "Cannot convert the literal '5' to the expected type 'Edm.String'",
        ),
        ({"name": "x" * 201}, 400, "0x80044331", "maximum allowed length of '200'"),
        ({"emailrouteraccessapproval": 7}, 400, "0x8004431a", "Accepted Values: 0,1,2,3"),
        ({"incomingemaildeliverymethod": "2"}, 400, "0x80048d19", "Edm.Int32"),
        ({"testemailconfigurationscheduled": "yes"}, 400, "0x80048d19", "Edm.Boolean"),
        ({"testemailconfigurationscheduled": 1}, 400, "0x80048d19", "Edm.Boolean"),
        ({"verboseloggingenabled": 101}, 400, "0x80044331", "Accepted Range: 0 to 100"),
        ({"postponesendinguntil": "tomorrow"}, 400, "0x80048d19", "Edm.DateTimeOffset"),
        ({"mailboxstatus": 1}, 400, "0x80040203", "not valid for update"),
        ({"isforwardmailbox": False}, 400, "0x80040203", "not valid for update"),
        ({"nosuchcolumn": 1}, 400, "0x80048d19", "The property 'nosuchcolumn' does not exist"),
        ({"_emailserverprofile_value": PROFILE_EXO}, 400, "0x80048d19", "Navigation properties"),
        (
            {"emailserverprofile@odata.bind": f"/emailserverprofiles({uuid.UUID(int=7)})"},
            404,
            "0x80040217",
            "Does Not Exist",
        ),
        (
            {"emailserverprofile@odata.bind": f"/systemusers({USER_SAM})"},
            400,
            "0x80048d19",
            "refers to 'emailserverprofiles'",
        ),
        (
            {"emailserverprofile@odata.bind": "/emailserverprofiles(nope)"},
            400,
            "0x80060888",
            "Edm.Guid",
        ),
        (
            {"nosuchnav@odata.bind": f"/emailserverprofiles({PROFILE_EXO})"},
            400,
            "0x80048d19",
            "undeclared property 'nosuchnav'",
        ),
        (
            {"regardingobjectid@odata.bind": f"/systemusers({USER_SAM})"},
            400,
            "0x80040203",
            "not valid for update",
        ),
        ({"mailboxid": MAILBOX_GINA}, 400, "0x80040203", "not valid for update"),
    ],
)
def test_bad_values_are_refused(
    sim: RunningSim, body: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    """reference §1.1, §1.2, §6.1: types, lengths, ranges, option values, read-only columns
    and lookups are checked against the metadata; nothing is stored."""
    before = _row(sim, "mailboxes", MAILBOX_ALICE)
    with dv(sim) as client:
        resp = client.patch(f"mailboxes({MAILBOX_ALICE})", json=body, headers={"If-Match": "*"})
    assert resp.status_code == status, resp.text
    err = error_of(resp)
    assert err["code"] == code
    assert fragment in err["message"]
    assert _row(sim, "mailboxes", MAILBOX_ALICE) == before


def test_create_only_and_update_only_columns(sim: RunningSim) -> None:
    """reference §1.1: isemailaddressapprovedbyo365admin / incomingemailstatus are valid on
    update only; mailboxid on create only."""
    with dv(sim) as client:
        resp = client.post("mailboxes", json={"name": "x", "incomingemailstatus": 1})
        assert resp.status_code == 400
        assert "not valid for create" in error_of(resp)["message"]
        key = str(uuid.uuid4())
        assert client.post("mailboxes", json={"name": "y", "mailboxid": key}).status_code == 204
        assert _row(sim, "mailboxes", key) is not None
        dup = client.post("mailboxes", json={"name": "z", "mailboxid": key})
        assert dup.status_code == 412
        ok = client.patch(f"mailboxes({key})", json={"incomingemailstatus": 1})
        assert ok.status_code == 204


def test_impersonated_write_records_both_callers(sim: RunningSim) -> None:
    """reference §6.7: after an impersonated write modifiedby is the impersonated user and
    modifiedonbehalfby the real caller."""
    sam = sim.person("sam")
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({MAILBOX_GINA})",
            json={"ewsurl": "https://ews.example/x"},
            headers={"If-Match": "*", "CallerObjectId": sam.object_id},
        )
    assert resp.status_code == 204, resp.text
    row = _row(sim, "mailboxes", MAILBOX_GINA)
    assert row is not None
    assert row["_modifiedby_value"] == USER_SAM
    assert row["_modifiedonbehalfby_value"] == APP_USER


# ---- delete ------------------------------------------------------------------------------


def test_delete_with_etag(sim: RunningSim) -> None:
    """reference §6.4: DELETE with a stale If-Match → 412; with the current one → 204."""
    with dv(sim) as client:
        resp = client.post(
            "tracelogs",
            json={"text": "x", "level": 1},
            headers={"Prefer": "return=representation"},
        )
        assert resp.status_code == 201
        key, tag = resp.json()["tracelogid"], resp.json()["@odata.etag"]
        stale = client.delete(f"tracelogs({key})", headers={"If-Match": 'W/"1"'})
        assert stale.status_code == 412
        assert client.delete(f"tracelogs({key})", headers={"If-Match": tag}).status_code == 204
        assert client.delete(f"tracelogs({key})").status_code == 404
        assert client.patch(f"tracelogs({uuid.uuid4()})", json={"text": "y"}).status_code == 404
    assert _row(sim, "tracelogs", key) is None


def test_tracelog_supports_no_update(sim: RunningSim) -> None:
    """reference §5.3: tracelog messages are Create, Delete, Retrieve, RetrieveMultiple."""
    with dv(sim) as client:
        key = (
            client.post("tracelogs", json={"text": "x", "level": 1})
            .headers["OData-EntityId"]
            .rsplit("(", 1)[1]
            .rstrip(")")
        )
        resp = client.patch(f"tracelogs({key})", json={"text": "y"}, headers={"If-Match": "*"})
    assert resp.status_code == 400
    assert "Update" in error_of(resp)["message"]


# ---- associations ------------------------------------------------------------------------


def test_associate_and_disassociate_roles(sim: RunningSim) -> None:
    """reference §8: POST …/systemuserroles_association/$ref, DELETE …(<roleid>)/$ref and
    …/$ref?$id=<url>; the same for teams(<id>)/teamroles_association."""
    role_url = f"{sim.origin}/api/data/v9.2/roles({ROLE_BASIC})"
    with dv(sim) as client:
        add = client.post(
            f"systemusers({USER_SAM})/systemuserroles_association/$ref",
            json={"@odata.id": role_url},
        )
        assert add.status_code == 204, add.text
        names = {
            r["name"]
            for r in client.get(f"systemusers({USER_SAM})/systemuserroles_association").json()[
                "value"
            ]
        }
        assert names == {"System Administrator", "Basic User"}
        again = client.post(
            f"systemusers({USER_SAM})/systemuserroles_association/$ref",
            json={"@odata.id": role_url},
        )
        assert again.status_code == 412
        remove = client.delete(
            f"systemusers({USER_SAM})/systemuserroles_association({ROLE_BASIC})/$ref"
        )
        assert remove.status_code == 204
        assert (
            client.post(
                f"teams({TEAM_OPS})/teamroles_association/$ref", json={"@odata.id": role_url}
            ).status_code
            == 204
        )
        by_id = client.delete(
            f"teams({TEAM_OPS})/teamroles_association/$ref", params={"$id": role_url}
        )
        assert by_id.status_code == 204
        wrong = client.post(
            f"systemusers({USER_SAM})/systemuserroles_association/$ref",
            json={"@odata.id": f"{sim.origin}/api/data/v9.2/teams({TEAM_OPS})"},
        )
        assert wrong.status_code == 400
        missing = client.post(
            f"systemusers({USER_SAM})/systemuserroles_association/$ref",
            json={"@odata.id": f"/roles({uuid.uuid4()})"},
        )
        assert missing.status_code == 404
    pairs = {
        (u, r)
        for u, r in sim.thread.call(
            lambda: set(sim.sim.state.associations["systemuserroles_association"])
        )
    }
    assert (USER_SAM, ROLE_SYSADMIN) in pairs
    assert (USER_SAM, ROLE_BASIC) not in pairs


def test_associate_goes_through_the_rules(sim: RunningSim) -> None:
    """Seed (Delegated Mailbox Approver), reference §4.1: the rules hooks decide; the app
    (no Entra admin role) may not assign the Delegated Mailbox Approver role: 0x80090904."""
    dma = "70000000-0000-4000-8000-000000000002"
    with dv(sim) as client:
        resp = client.post(
            f"systemusers({USER_ALICE})/systemuserroles_association/$ref",
            json={"@odata.id": f"{sim.origin}/api/data/v9.2/roles({dma})"},
        )
    assert resp.status_code == 403, resp.text
    assert error_of(resp)["code"] == "0x80090904"


def test_single_valued_ref(sim: RunningSim) -> None:
    """PUT …/emailserverprofile/$ref sets a lookup; DELETE clears it."""
    with dv(sim) as client:
        put = client.put(
            f"mailboxes({MAILBOX_ALICE})/emailserverprofile/$ref",
            json={
                "@odata.id": f"{sim.origin}/api/data/v9.2/emailserverprofiles({PROFILE_ONPREM})"
            },
        )
        assert put.status_code == 204, put.text
        assert _mailbox(sim, MAILBOX_ALICE)["_emailserverprofile_value"] == PROFILE_ONPREM
        assert (
            client.delete(f"mailboxes({MAILBOX_ALICE})/emailserverprofile/$ref").status_code == 204
        )
    assert _mailbox(sim, MAILBOX_ALICE)["_emailserverprofile_value"] is None


def test_owner_binds_a_user_or_a_team(sim: RunningSim) -> None:
    """reference §1.1: ownerid is an Owner lookup (systemuser or team)."""
    with dv(sim) as client:
        team = client.post(
            "mailboxes", json={"name": "team box", "ownerid@odata.bind": f"/teams({TEAM_OPS})"}
        )
        user = client.post(
            "mailboxes",
            json={"name": "user box", "ownerid@odata.bind": f"/systemusers({USER_SAM})"},
        )
        role = client.post(
            "mailboxes", json={"name": "role box", "ownerid@odata.bind": f"/roles({ROLE_BASIC})"}
        )
    assert (team.status_code, user.status_code, role.status_code) == (204, 204, 400)
    owners = {r["name"]: r["_ownerid_value"] for r in sim.state()["mailboxes"]}
    assert owners["team box"] == TEAM_OPS
    assert owners["user box"] == USER_SAM


def test_test_and_enable_is_queued_by_a_patch_and_not_by_a_rolled_back_change_set(
    sim: RunningSim,
) -> None:
    """reference §5.1, §6.5: the PATCH of testemailconfigurationscheduled reaches
    rules.after_update (Test & Enable is queued); inside a change set that fails, it is not."""
    from sim import testenable
    from tests.sim.webapi_kit import API, Op, batch_body

    gina_box = MAILBOX_GINA
    ctype, body = batch_body(
        [
            [
                Op(
                    "PATCH",
                    f"{API}mailboxes({gina_box})",
                    {"testemailconfigurationscheduled": True},
                    headers={"If-Match": "*"},
                ),
                Op(
                    "PATCH",
                    f"{API}mailboxes({uuid.uuid4()})",
                    {"name": "x"},
                    headers={"If-Match": "*"},
                ),
            ]
        ]
    )
    with dv(sim) as client:
        failed = client.post("$batch", content=body.encode(), headers={"Content-Type": ctype})
        assert failed.status_code == 404
        assert sim.thread.call(lambda: testenable.pending(sim.sim)) == []
        assert _mailbox(sim, gina_box)["testemailconfigurationscheduled"] is False
        resp = client.patch(
            f"mailboxes({gina_box})",
            json={"testemailconfigurationscheduled": True},
            headers={"If-Match": "*"},
        )
        assert resp.status_code == 204
    assert sim.thread.call(lambda: testenable.pending(sim.sim)) == [gina_box]
    sim.thread.call_async(testenable.run_pending(sim.sim))
    box = _mailbox(sim, gina_box)
    assert box["testmailboxaccesscompletedon"] is not None
    assert box["mailboxstatus"] == 1
    with dv(sim) as client:
        alerts = client.get(
            f"mailboxes({gina_box})/tracelog_Mailbox", params={"$select": "level,text"}
        ).json()["value"]
    assert [a["level"] for a in alerts] == [1]
