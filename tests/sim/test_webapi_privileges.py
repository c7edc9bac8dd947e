"""RetrieveUserPrivileges: the privileges a user holds through roles and teams."""

from __future__ import annotations

from tests.sim.webapi_kit import app_token, dv, error_of
from tests.simharness import RunningSim


def _privileges(sim: RunningSim, name: str) -> dict[str, str]:
    user = sim.person(name).systemuser_id
    with dv(sim, app_token(sim)) as client:
        resp = client.get(f"systemusers({user})/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()")
    assert resp.status_code == 200, resp.text
    return {p["PrivilegeName"]: p["Depth"] for p in resp.json()["RolePrivileges"]}


def test_basic_user_privileges_carry_their_depth(sim: RunningSim) -> None:
    """RetrieveUserPrivilegesResponse (RolePrivilege: Depth Basic/Local/Deep/Global)."""
    held = _privileges(sim, "una")
    assert held["prvWriteMailbox"] == "Basic"
    assert held["prvReadUser"] == "Global"
    assert "prvApproveRejectEmailAddress" not in held


def test_privileges_through_a_team_are_listed(sim: RunningSim) -> None:
    """RetrieveUserPrivilegesRequest: "inherited privileges from their team membership"."""
    held = _privileges(sim, "tess")  # System Administrator only through a team
    assert held["prvApproveRejectEmailAddress"] == "Global"
    assert held["prvWriteMailbox"] == "Global"


def test_unknown_user_is_not_found(sim: RunningSim) -> None:
    """Reference §6.2: ObjectDoesNotExist."""
    with dv(sim, app_token(sim)) as client:
        resp = client.get(
            "systemusers(00000000-0000-4000-8000-000000000000)"
            "/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()"
        )
    assert resp.status_code == 404
    assert error_of(resp)["code"] == "0x80040217"
