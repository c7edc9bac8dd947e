"""The sim's rules through its Web API, as a client meets them.

A token from the sim's Entra face (client credentials, scope `<environment>/.default`,
reference §6.9) and `CallerObjectId` to act as a person (§6.7). Each test names the seed or
reference section it follows; the full matrices are in the test_rules_* files, here the
answers on the wire: status, the error body (§6.1), 204 on success, rows as read back.
"""

from __future__ import annotations

from typing import Any

import httpx

from sim import testenable
from sim.fixture import TestFailure as ScriptedFailure
from tests.sim.webapi_kit import dv, error_of, user_token
from tests.simharness import RunningSim

DMA_ROLE = "70000000-0000-4000-8000-000000000002"
TEAM_OPS = "7e000000-0000-4000-8000-000000000001"
ORG = "0a000000-0000-4000-8000-000000000001"


def _as(sim: RunningSim, name: str) -> dict[str, str]:
    return {"CallerObjectId": sim.person(name).object_id, "If-Match": "*"}


def _mailbox_id(sim: RunningSim, name: str) -> str:
    spec = sim.person(name).mailbox
    assert spec is not None
    return str(spec.id)


def _mailbox(client: httpx.Client, mailbox_id: str) -> dict[str, Any]:
    resp = client.get(f"mailboxes({mailbox_id})")
    assert resp.status_code == 200, resp.text
    row: dict[str, Any] = resp.json()
    return row


def _approve(
    sim: RunningSim,
    client: httpx.Client,
    caller: str,
    target: str,
    extra: dict[str, Any] | None = None,
) -> httpx.Response:
    body = {"emailrouteraccessapproval": 1, **(extra or {})}
    return client.patch(
        f"mailboxes({_mailbox_id(sim, target)})", json=body, headers=_as(sim, caller)
    )


def test_http_global_admin_approves(sim: RunningSim) -> None:
    """Seed "Model izin" (GA+SA, online + Exchange Online: Yes); reference §9 (204)."""
    with dv(sim) as client:
        resp = _approve(sim, client, "gina", "alice")
        assert resp.status_code == 204, resp.text
        row = _mailbox(client, _mailbox_id(sim, "alice"))
    assert row["emailrouteraccessapproval"] == 1
    assert row["isemailaddressapprovedbyo365admin"] is True
    assert row["_emailaddressapprovedby_value"] == sim.person("gina").systemuser_id
    assert row["emailaddressapprovedon"]


def test_http_system_administrator_alone_is_refused(sim: RunningSim) -> None:
    """Seed "Model izin" (SA alone: No); reference §4.3 (0x8009000B, 403)."""
    with dv(sim) as client:
        resp = _approve(sim, client, "sam", "alice")
        assert resp.status_code == 403
        assert error_of(resp)["code"] == "0x8009000B"
        assert _mailbox(client, _mailbox_id(sim, "alice"))["emailrouteraccessapproval"] == 2


def test_http_application_identity_is_refused(sim: RunningSim) -> None:
    """Reference §4.3 / §12.5: the app itself is no Global or Exchange admin."""
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({_mailbox_id(sim, 'alice')})",
            json={"emailrouteraccessapproval": 1},
            headers={"If-Match": "*"},
        )
    assert resp.status_code == 403
    assert error_of(resp)["code"] == "0x8009000B"


def test_http_on_premises_exchange_takes_system_administrator(sim: RunningSim) -> None:
    """Seed "Model izin", online + Exchange (on-premises): SA Yes, service admin No."""
    with dv(sim) as client:
        assert _approve(sim, client, "sam", "otto").status_code == 204
        resp = _approve(sim, client, "steve", "olga")
        assert resp.status_code == 403


def test_http_version_gate(sim: RunningSim) -> None:
    """Seed footnote 1 / reference §4.4: DMA+SA only from 9.2.22104.00170."""

    def older() -> None:
        sim.sim.state.version = "9.2.22104.00169"

    sim.thread.call(older)
    with dv(sim) as client:
        resp = _approve(sim, client, "dana", "alice")
        assert resp.status_code == 403
        assert "9.2.22104.00170" in error_of(resp)["message"]

    def newer() -> None:
        sim.sim.state.version = "9.2.22104.00170"

    sim.thread.call(newer)
    with dv(sim) as client:
        assert _approve(sim, client, "dana", "alice").status_code == 204


def test_http_extra_attributes_leave_the_approval(sim: RunningSim) -> None:
    """Seed "Menyetujui kotak pesan secara terprogram": other attributes, no approval."""
    with dv(sim) as client:
        resp = _approve(sim, client, "gina", "alice", {"name": "Alice (sales)"})
        assert resp.status_code == 204, resp.text
        row = _mailbox(client, _mailbox_id(sim, "alice"))
    assert row["name"] == "Alice (sales)"
    assert row["emailrouteraccessapproval"] == 2


def test_http_already_approved_is_a_no_op(sim: RunningSim) -> None:
    """Seed: "if the row isn't already approved": a second approval changes nothing."""
    with dv(sim) as client:
        assert _approve(sim, client, "gina", "alice").status_code == 204
        before = _mailbox(client, _mailbox_id(sim, "alice"))
        assert _approve(sim, client, "eddie", "alice").status_code == 204
        after = _mailbox(client, _mailbox_id(sim, "alice"))
    assert after["@odata.etag"] == before["@odata.etag"]
    assert after["_emailaddressapprovedby_value"] == sim.person("gina").systemuser_id


def test_http_user_row_route(sim: RunningSim) -> None:
    """Reference §4.2 / §9: PATCH systemusers {emailrouteraccessapproval: 1}."""
    with dv(sim) as client:
        resp = client.patch(
            f"systemusers({sim.person('una').systemuser_id})",
            json={"emailrouteraccessapproval": 1},
            headers=_as(sim, "eddie"),
        )
        assert resp.status_code == 204, resp.text
        assert _mailbox(client, _mailbox_id(sim, "una"))["emailrouteraccessapproval"] == 1


def test_http_self_approval(sim: RunningSim) -> None:
    """Reference §4.1: una meets the four conditions and approves her own mailbox."""
    with dv(sim) as client:
        assert _approve(sim, client, "una", "una").status_code == 204
        assert _mailbox(client, _mailbox_id(sim, "una"))["emailrouteraccessapproval"] == 1


def test_http_impersonation_needs_the_privilege(sim: RunningSim) -> None:
    """Reference §6.7: sam (SA, no Delegate role) cannot act as alice: 0x8004A110."""
    with dv(sim, user_token(sim, "sam")) as client:
        resp = client.get("WhoAmI", headers={"CallerObjectId": sim.person("alice").object_id})
    assert resp.status_code == 403
    assert error_of(resp)["code"] == "0x8004A110"


def test_http_unknown_caller_object_id(sim: RunningSim) -> None:
    """Reference §6.7: a CallerObjectId that is no system user is refused."""
    with dv(sim) as client:
        resp = client.get(
            "WhoAmI", headers={"CallerObjectId": "aa000000-0000-4000-8000-0000000fffff"}
        )
    assert resp.status_code == 403
    assert error_of(resp)["code"] == "0x80072560"


def _assign(sim: RunningSim, client: httpx.Client, path: str, as_: str | None) -> httpx.Response:
    headers = {"CallerObjectId": sim.person(as_).object_id} if as_ else {}
    return client.post(
        path, json={"@odata.id": f"{sim.origin}/api/data/v9.2/roles({DMA_ROLE})"}, headers=headers
    )


def test_http_delegated_approver_assignment(sim: RunningSim) -> None:
    """Seed "Mendelegasikan persetujuan kotak pesan": 0x80090904 and 0x80090905."""
    alice = f"systemusers({sim.person('alice').systemuser_id})/systemuserroles_association/$ref"
    team = f"teams({TEAM_OPS})/teamroles_association/$ref"
    with dv(sim) as client:
        refused = _assign(sim, client, alice, "sam")
        assert refused.status_code == 403
        assert error_of(refused)["code"] == "0x80090904"
        assert _assign(sim, client, alice, None).status_code == 403  # the app itself
        to_team = _assign(sim, client, team, "gina")
        assert error_of(to_team)["code"] == "0x80090905"
        assert _assign(sim, client, alice, "eddie").status_code == 204
        roles = client.get(
            f"systemusers({sim.person('alice').systemuser_id})/systemuserroles_association"
        ).json()["value"]
    assert DMA_ROLE in {r["roleid"] for r in roles}


def test_http_require_approval_setting(sim: RunningSim) -> None:
    """Seed "Hapus persyaratan untuk menyetujui kotak pesan": only the table's admins."""
    with dv(sim) as client:
        body = {"requireapprovalforuseremail": False}
        refused = client.patch(f"organizations({ORG})", json=body, headers=_as(sim, "sam"))
        assert refused.status_code == 403
        assert error_of(refused)["code"] == "0x8009000B"
        resp = client.patch(f"organizations({ORG})", json=body, headers=_as(sim, "gina"))
        assert resp.status_code == 204, resp.text
        org = client.get(f"organizations({ORG})?$select=requireapprovalforuseremail").json()
    assert org["requireapprovalforuseremail"] is False


def _alerts(client: httpx.Client, mailbox_id: str) -> list[dict[str, Any]]:
    resp = client.get(
        "tracelogs",
        params={
            "$filter": f"_regardingobjectid_value eq {mailbox_id}",
            "$select": "level,text,tracecode,tracestatus,createdon,modifiedon",
        },
    )
    assert resp.status_code == 200, resp.text
    alerts: list[dict[str, Any]] = resp.json()["value"]
    return alerts


def _wait_for_tests(sim: RunningSim) -> None:
    sim.thread.call_async(testenable.await_idle(sim.sim))


def test_http_test_and_enable_success(sim: RunningSim) -> None:
    """Reference §5.1–§5.3 and the seed: una's test succeeds and approves her address."""
    una = _mailbox_id(sim, "una")
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({una})",
            json={"testemailconfigurationscheduled": True},
            headers=_as(sim, "una"),
        )
        assert resp.status_code == 204, resp.text
        _wait_for_tests(sim)
        row = _mailbox(client, una)
        alerts = _alerts(client, una)
    assert (row["incomingemailstatus"], row["outgoingemailstatus"], row["actstatus"]) == (1, 1, 1)
    assert row["mailboxstatus"] == 1
    assert row["testemailconfigurationscheduled"] is False
    assert row["emailrouteraccessapproval"] == 1
    assert [(a["level"], a["tracestatus"]) for a in alerts] == [(1, True)]


def test_http_test_and_enable_failure(sim: RunningSim) -> None:
    """Reference §5.2: bob's scripted failure, its code and text in an error alert."""
    bob = _mailbox_id(sim, "bob")
    spec = sim.person("bob").mailbox
    assert spec is not None
    outcome = spec.test_outcome
    assert isinstance(outcome, ScriptedFailure)
    with dv(sim) as client:
        resp = client.patch(
            f"mailboxes({bob})",
            json={"testemailconfigurationscheduled": True},
            headers={"If-Match": "*"},
        )
        assert resp.status_code == 204, resp.text
        _wait_for_tests(sim)
        row = _mailbox(client, bob)
        alerts = _alerts(client, bob)
    assert row["mailboxstatus"] == 2
    assert [(a["level"], a["tracecode"], a["text"]) for a in alerts] == [
        (3, outcome.code, outcome.text)
    ]
