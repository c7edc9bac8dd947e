"""Who is calling, and what their privileges reach.

Reference/dataverse.md §6.7 (CallerObjectId impersonation, prvActOnBehalfOfAnotherUser in
the Delegate role, intersection of privileges), §6.1/§6.2 (403 codes), §8 (roles through
teams), and the documented answers for unknown (0x80072560) and disabled (0x80040225) users.
"""

from __future__ import annotations

import pytest

from sim import rules
from sim.errors import (
    ACCESS_CHECK_FAILED,
    CANNOT_ACT_ON_BEHALF_OF_ANOTHER_USER,
    INVALID_ARGUMENT,
    PRIVILEGE_DENIED,
    USER_DISABLED,
    USER_NOT_MEMBER_OF_ORGANIZATION,
    DataverseFault,
)
from tests.sim.rules_kit import (
    app,
    mailbox,
    make_sim,
    patch,
    person,
    queue,
    role_id,
    team_id,
    user_row,
    who,
)

STRANGER = "aa000000-0000-4000-8000-00000000ffff"


def test_a_person_calls_as_themselves() -> None:
    """Reference §6.8: the caller is the system user of the token's object id."""
    sim = make_sim()
    caller = who(sim, "alice")
    assert caller.user is user_row(sim, "alice")
    assert not caller.impersonating and not caller.application_itself


def test_unknown_identity_is_no_member_of_the_organization() -> None:
    """Reference §6.1 (403): 0x80072560 "The user is not a member of the organization."."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        rules.resolve_caller(sim, STRANGER, None)
    assert (refused.value.status, refused.value.code) == (403, USER_NOT_MEMBER_OF_ORGANIZATION)


def test_disabled_user_is_refused() -> None:
    """Reference §6.1: a disabled system user cannot call (0x80040225)."""
    sim = make_sim()
    user_row(sim, "alice")["isdisabled"] = True
    with pytest.raises(DataverseFault) as refused:
        who(sim, "alice")
    assert (refused.value.status, refused.value.code) == (403, USER_DISABLED)
    with pytest.raises(DataverseFault):
        app(sim, as_user="alice")


def test_application_user_resolves() -> None:
    """Reference §6.9: the app's service principal is an application user."""
    sim = make_sim()
    caller = app(sim)
    assert caller.application_itself
    assert caller.user["applicationid"] == sim.fixture.application.client_id.lower()


def test_impersonation_with_the_delegate_role() -> None:
    """Reference §6.7: the Delegate role holds prvActOnBehalfOfAnotherUser."""
    sim = make_sim()
    caller = app(sim, as_user="alice")
    assert caller.impersonating and caller.user is user_row(sim, "alice")
    assert caller.real["applicationid"]


@pytest.mark.parametrize("real", ["sam", "gina", "alice"])
def test_impersonation_without_the_privilege(real: str) -> None:
    """Reference §6.7 / §6.1: CannotActOnBehalfOfAnotherUser 0x8004A110, even for SA."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        who(sim, real, as_user="una")
    assert (refused.value.status, refused.value.code) == (
        403,
        CANNOT_ACT_ON_BEHALF_OF_ANOTHER_USER,
    )
    assert (
        refused.value.message == "User does not have the privilege to act on behalf another user."
    )


def test_act_on_behalf_through_a_team_does_not_count() -> None:
    """Impersonate another user ("Direct assignment required"): never through a team."""
    sim = make_sim()
    team = team_id(sim, "Mailbox Operations")
    sim.state.associations["teamroles_association"].add((team, role_id(sim, "Delegate")))
    assert (person(sim, "tess").systemuser_id.lower(), team) in sim.state.associations[
        "teammembership_association"
    ]
    with pytest.raises(DataverseFault) as refused:
        who(sim, "tess", as_user="una")
    assert refused.value.code == CANNOT_ACT_ON_BEHALF_OF_ANOTHER_USER


def test_impersonating_an_unknown_object_id() -> None:
    """Reference §6.7: CallerObjectId must map to a system user."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        rules.resolve_caller(sim, sim.fixture.application.object_id, STRANGER)
    assert refused.value.code == USER_NOT_MEMBER_OF_ORGANIZATION
    with pytest.raises(DataverseFault) as bad:
        rules.resolve_caller(sim, sim.fixture.application.object_id, "not-a-guid")
    assert (bad.value.status, bad.value.code) == (400, INVALID_ARGUMENT)


def test_naming_oneself_is_no_impersonation() -> None:
    """powerapps-docs issue 2088: CallerObjectId equal to the caller impersonates nobody."""
    sim = make_sim()
    caller = who(sim, "sam", as_user="sam")
    assert not caller.impersonating


def test_impersonation_intersects_privileges() -> None:
    """Reference §6.7: the app (SA) acting as alice sees only what alice sees."""
    sim = make_sim()
    caller = app(sim, as_user="alice")
    assert rules.can_read(sim, caller, "mailboxes", mailbox(sim, "alice"))
    assert not rules.can_read(sim, caller, "mailboxes", mailbox(sim, "gina"))
    assert rules.can_read(sim, app(sim), "mailboxes", mailbox(sim, "gina"))


def test_user_depth_reaches_own_rows_only() -> None:
    """Reference §8: Basic User's user-level mailbox privileges."""
    sim = make_sim()
    alice = who(sim, "alice")
    _, queue_mailbox = queue(sim)
    assert rules.can_read(sim, alice, "mailboxes", mailbox(sim, "alice"))
    assert not rules.can_read(sim, alice, "mailboxes", mailbox(sim, "bob"))
    assert not rules.can_read(sim, alice, "mailboxes", queue_mailbox)
    assert rules.can_read(sim, alice, "systemusers", user_row(sim, "bob"))  # organization
    assert not rules.can_read(
        sim, alice, "organizations", next(iter(sim.state.tables["organizations"].values()))
    )


def test_team_roles_count_for_privileges() -> None:
    """Reference §8: tess holds System Administrator through her team."""
    sim = make_sim()
    assert rules.can_read(sim, who(sim, "tess"), "mailboxes", mailbox(sim, "gina"))


def test_privilege_denied_names_the_privilege() -> None:
    """Reference §6.2: 0x80040220 PrivilegeDenied, with the platform's message shape."""
    sim = make_sim()
    profile = next(iter(sim.state.tables["emailserverprofiles"].values()))
    with pytest.raises(DataverseFault) as refused:
        patch(sim, who(sim, "alice"), "emailserverprofiles", profile, {"name": "x"})
    fault = refused.value
    assert (fault.status, fault.code) == (403, PRIVILEGE_DENIED)
    uid = person(sim, "alice").systemuser_id
    assert fault.message.startswith(f"Principal user (Id={uid}, type=8, roleCount=1, ")
    assert "is missing prvWriteEmailServerProfile privilege (Id=" in fault.message
    assert "on OTC=9605 for entity 'emailserverprofile'" in fault.message


def test_depth_too_narrow_is_an_access_check_failure() -> None:
    """Reference §6.1 (403): user-level Write on someone else's row fails the access check."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        patch(sim, who(sim, "una"), "mailboxes", mailbox(sim, "bob"), {"name": "x"})
    assert refused.value.code == ACCESS_CHECK_FAILED
    assert "ObjectTypeCode: 9606" in refused.value.message
    assert "AccessRights: WriteAccess" in refused.value.message


def test_require_read_for_a_single_row() -> None:
    """Reference §6.2: a retrieve without read privilege is refused, not empty."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        rules.require_read(sim, who(sim, "alice"), "mailboxes", mailbox(sim, "bob"))
    assert refused.value.code == ACCESS_CHECK_FAILED
    rules.require_read(sim, who(sim, "alice"), "mailboxes", mailbox(sim, "alice"))


def test_create_and_delete_privileges() -> None:
    """Reference §8: prvCreate<Table> and prvDelete<Table>."""
    sim = make_sim()
    values = {"name": "Another profile", "servertype": 0}
    stored = rules.before_create(sim, who(sim, "sam"), "emailserverprofiles", values)
    assert stored == {**values, "emailservertypename": "Exchange Online"}
    with pytest.raises(DataverseFault) as refused:
        rules.before_create(sim, who(sim, "alice"), "emailserverprofiles", values)
    assert "prvCreateEmailServerProfile" in refused.value.message
    with pytest.raises(DataverseFault):
        rules.before_delete(sim, who(sim, "alice"), "mailboxes", mailbox(sim, "alice"))
    rules.before_delete(sim, who(sim, "sam"), "mailboxes", mailbox(sim, "alice"))


def test_a_created_address_is_never_approved() -> None:
    """Seed "Menyetujui kotak pesan secara terprogram": a create carries other attributes."""
    sim = make_sim()
    stored = rules.before_create(
        sim, who(sim, "gina"), "mailboxes", {"name": "n", "emailrouteraccessapproval": 1}
    )
    assert stored["emailrouteraccessapproval"] == 2
