"""The four self-approval conditions, together and each failing alone.

Seed "Setujui kotak pesan pengguna Anda sendiri" and reference/dataverse.md §4.1:
1. the UPN matches the address on your own mailbox record; 2. RequirePrivilegeToSelfApprove-
EmailAddress is disabled, or you hold prvApproveRejectEmailAddress; 3. at least user-level
Write on Mailbox; 4. not a queue mailbox. una (Basic User, no admin role, pending) meets all.
"""

from __future__ import annotations

import pytest

from sim.errors import (
    ACCESS_CHECK_FAILED,
    O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL,
    PRIVILEGE_DENIED,
    DataverseFault,
)
from sim.rules import self_approval_failures
from tests.sim.rules_kit import (
    app,
    approve,
    contoso,
    mailbox,
    make_sim,
    patch,
    person,
    queue,
    role_id,
    user_row,
    who,
)


def test_all_four_conditions_hold_for_una() -> None:
    """Reference §4.1: una approves her own mailbox without any role of the table."""
    sim = make_sim()
    una = who(sim, "una")
    assert self_approval_failures(sim, una, mailbox(sim, "una")) == []
    stored = approve(sim, una, "una")
    assert stored["emailrouteraccessapproval"] == 1
    assert stored["_emailaddressapprovedby_value"] == person(sim, "una").systemuser_id
    assert stored["isemailaddressapprovedbyo365admin"] is False
    assert user_row(sim, "una")["emailrouteraccessapproval"] == 1


def test_condition_1_upn_must_match_the_mailbox_address() -> None:
    """Reference §4.1 condition 1: the UPN matches the email address on your mailbox."""
    sim = make_sim()
    mailbox(sim, "una")["emailaddress"] = "una.elsewhere@contoso.com"
    una = who(sim, "una")
    assert self_approval_failures(sim, una, mailbox(sim, "una")) == [
        "the caller's UPN does not match the mailbox's email address"
    ]
    with pytest.raises(DataverseFault) as refused:
        approve(sim, una, "una")
    assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL


def test_condition_1_the_mailbox_must_be_ones_own() -> None:
    """Reference §4.1 condition 1 ("your mailbox record"): someone else's never qualifies."""
    sim = make_sim()
    # una's UPN on alice's mailbox, and una able to write it: still not her own.
    mailbox(sim, "alice")["emailaddress"] = "una@contoso.com"
    mailbox(sim, "alice")["_ownerid_value"] = person(sim, "una").systemuser_id.lower()
    una = who(sim, "una")
    assert self_approval_failures(sim, una, mailbox(sim, "alice")) == [
        "the mailbox is not the caller's own"
    ]
    with pytest.raises(DataverseFault):
        approve(sim, una, "alice")


def test_condition_2_setting_enabled_without_the_privilege() -> None:
    """Reference §4.1 condition 2: with the setting on, the privilege is needed."""
    sim = make_sim()
    sim.state.require_privilege_to_self_approve = True
    una = who(sim, "una")
    failures = self_approval_failures(sim, una, mailbox(sim, "una"))
    assert len(failures) == 1 and "RequirePrivilegeToSelfApproveEmailAddress" in failures[0]
    with pytest.raises(DataverseFault):
        approve(sim, una, "una")
    assert mailbox(sim, "una")["emailrouteraccessapproval"] == 2


def test_condition_2_setting_enabled_with_the_privilege() -> None:
    """Reference §4.1 condition 2, second half: holding prvApproveRejectEmailAddress suffices."""
    sim = make_sim()
    sim.state.require_privilege_to_self_approve = True
    mailbox(sim, "pria")["emailrouteraccessapproval"] = 2
    pria = who(sim, "pria")
    assert self_approval_failures(sim, pria, mailbox(sim, "pria")) == []
    assert approve(sim, pria, "pria")["emailrouteraccessapproval"] == 1


def test_condition_2_setting_follows_orgdborgsettings() -> None:
    """Reference §3: the setting lives in organization.orgdborgsettings; a PATCH turns it on."""
    sim = make_sim()
    org = next(iter(sim.state.tables["organizations"].values()))
    xml = (
        "<OrgSettings><RequirePrivilegeToSelfApproveEmailAddress>true"
        "</RequirePrivilegeToSelfApproveEmailAddress></OrgSettings>"
    )
    patch(sim, who(sim, "sam"), "organizations", org, {"orgdborgsettings": xml})
    assert sim.state.require_privilege_to_self_approve is True
    with pytest.raises(DataverseFault):
        approve(sim, who(sim, "una"), "una")


def test_condition_3_user_level_write_on_mailbox() -> None:
    """Reference §4.1 condition 3: without Write on Mailbox there is no self-approval."""
    sim = make_sim()
    del sim.state.role_privileges[role_id(sim, "Basic User")]["prvWriteMailbox"]
    una = who(sim, "una")
    assert self_approval_failures(sim, una, mailbox(sim, "una")) == [
        "the caller lacks user-level Write on the Mailbox table"
    ]
    with pytest.raises(DataverseFault) as refused:
        approve(sim, una, "una")
    assert refused.value.code == PRIVILEGE_DENIED
    assert "prvWriteMailbox" in refused.value.message


def test_condition_4_not_a_queue_mailbox() -> None:
    """Reference §4.1 condition 4: a queue mailbox is never self-approved."""
    sim = make_sim()
    _, queue_mailbox = queue(sim)
    # Everything else as for una's own mailbox: her address, hers to write.
    queue_mailbox["emailaddress"] = "una@contoso.com"
    queue_mailbox["_ownerid_value"] = person(sim, "una").systemuser_id.lower()
    una = who(sim, "una")
    assert self_approval_failures(sim, una, queue_mailbox) == ["the mailbox is a queue mailbox"]
    with pytest.raises(DataverseFault) as refused:
        patch(sim, una, "mailboxes", queue_mailbox, {"emailrouteraccessapproval": 1})
    assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL


def test_someone_elses_mailbox_is_out_of_reach_at_user_depth() -> None:
    """Reference §8 / §4.1: una's user-level Write does not reach alice's mailbox."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        approve(sim, who(sim, "una"), "alice")
    assert refused.value.code == ACCESS_CHECK_FAILED


def test_self_approval_through_the_user_row_needs_write_on_users() -> None:
    """Reference §4.2: the systemuser route writes the user row, which Basic User may not."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        patch(
            sim,
            who(sim, "una"),
            "systemusers",
            user_row(sim, "una"),
            {"emailrouteraccessapproval": 1},
        )
    assert refused.value.code == PRIVILEGE_DENIED
    assert "prvWriteUser" in refused.value.message


def test_impersonated_self_approval_uses_the_persons_upn() -> None:
    """Reference §6.7 and §4.1: the app acting as una approves una's own mailbox."""
    sim = make_sim(contoso())
    caller = app(sim, as_user="una")
    assert approve(sim, caller, "una")["_emailaddressapprovedby_value"] == caller.user_id
