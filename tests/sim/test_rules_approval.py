"""Programmatic approval: the rules around the table.

Seed "Menyetujui kotak pesan secara terprogram" (approval only if not yet approved; extra
attributes leave the approval as it was), reference/dataverse.md §4.2 (mailbox and user/queue
routes), §4.1 (Delegated Mailbox Approver held directly; System Administrator through a
team), §4.3 and §6.7 (impersonation, application identity).
"""

from __future__ import annotations

import pytest

from sim.errors import (
    ACCESS_CHECK_FAILED,
    INVALID_ARGUMENT,
    O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL,
    PRIVILEGE_DENIED,
    DataverseFault,
)
from sim.fixture import Deployment, Depth, PersonSpec, RoleSpec
from sim.rules import approval_verdict
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
    team_id,
    user_row,
    who,
)


def test_extra_attributes_apply_but_leave_the_approval() -> None:
    """Seed: "if the request includes additional attributes, the address may not be approved"."""
    sim = make_sim()
    stored = patch(
        sim,
        who(sim, "gina"),
        "mailboxes",
        mailbox(sim, "alice"),
        {"emailrouteraccessapproval": 1, "name": "Alice (sales)"},
    )
    assert stored == {"name": "Alice (sales)"}
    assert mailbox(sim, "alice")["name"] == "Alice (sales)"
    assert mailbox(sim, "alice")["emailrouteraccessapproval"] == 2
    assert mailbox(sim, "alice")["_emailaddressapprovedby_value"] is None


def test_extra_attributes_still_need_the_write_privilege() -> None:
    """Seed + reference §8: the other attributes are an ordinary update."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        patch(
            sim,
            who(sim, "una"),
            "mailboxes",
            mailbox(sim, "gina"),
            {"emailrouteraccessapproval": 1, "name": "x"},
        )
    assert refused.value.code == ACCESS_CHECK_FAILED


def test_already_approved_is_not_approved_again() -> None:
    """Seed: approval happens "if the row isn't already approved": a no-op, nothing stored."""
    sim = make_sim()
    first = approve(sim, who(sim, "gina"), "alice")
    row = mailbox(sim, "alice")
    version, approved_on = row["versionnumber"], row["emailaddressapprovedon"]
    assert first["_emailaddressapprovedby_value"] == person(sim, "gina").systemuser_id
    assert approve(sim, who(sim, "eddie"), "alice") == {}
    assert row["_emailaddressapprovedby_value"] == person(sim, "gina").systemuser_id
    assert (row["versionnumber"], row["emailaddressapprovedon"]) == (version, approved_on)


def test_already_approved_still_checks_the_caller() -> None:
    """Seed ("and if the caller is authorized"): no free 204 for someone who may not approve."""
    sim = make_sim()
    with pytest.raises(DataverseFault):
        approve(sim, who(sim, "sam"), "gina")


def test_approval_stamps_approver_and_office365_flag() -> None:
    """Reference §1.1: isemailaddressapprovedbyo365admin, emailaddressapprovedby/on."""
    sim = make_sim()
    by_ga = approve(sim, who(sim, "gina"), "alice")
    assert by_ga["isemailaddressapprovedbyo365admin"] is True
    assert by_ga["emailaddressapprovedon"]
    by_dma = approve(sim, who(sim, "dana"), "una")
    assert by_dma["isemailaddressapprovedbyo365admin"] is False
    assert by_dma["_emailaddressapprovedby_value"] == person(sim, "dana").systemuser_id


def test_mailbox_route_brings_the_user_row_along() -> None:
    """Reference §4.2: approving the mailbox row approves the address; the user row follows."""
    sim = make_sim()
    approve(sim, who(sim, "gina"), "alice")
    assert user_row(sim, "alice")["emailrouteraccessapproval"] == 1


def test_user_route_brings_the_mailbox_along() -> None:
    """Reference §4.2 (S9, S30): PATCH systemusers {emailrouteraccessapproval: 1}."""
    sim = make_sim()
    gina = who(sim, "gina")
    stored = patch(
        sim, gina, "systemusers", user_row(sim, "alice"), {"emailrouteraccessapproval": 1}
    )
    assert stored == {"emailrouteraccessapproval": 1}
    row = mailbox(sim, "alice")
    assert row["emailrouteraccessapproval"] == 1
    assert row["_emailaddressapprovedby_value"] == gina.user_id
    assert row["isemailaddressapprovedbyo365admin"] is True


def test_user_route_is_judged_on_the_users_mailbox() -> None:
    """Seed "Model izin": the user row of an on-premises Exchange mailbox takes SA alone."""
    sim = make_sim()
    patch(
        sim,
        who(sim, "sam"),
        "systemusers",
        user_row(sim, "otto"),
        {"emailrouteraccessapproval": 1},
    )
    assert mailbox(sim, "otto")["emailrouteraccessapproval"] == 1
    with pytest.raises(DataverseFault):
        patch(
            sim,
            who(sim, "sam"),
            "systemusers",
            user_row(sim, "alice"),
            {"emailrouteraccessapproval": 1},
        )


def test_queue_route_and_mailbox_route() -> None:
    """Reference §4.2 (S37): the queue row and its mailbox are one address."""
    sim = make_sim()
    queue_row, queue_mailbox = queue(sim)
    patch(sim, who(sim, "eddie"), "queues", queue_row, {"emailrouteraccessapproval": 1})
    assert queue_mailbox["emailrouteraccessapproval"] == 1
    patch(sim, who(sim, "gina"), "mailboxes", queue_mailbox, {"emailrouteraccessapproval": 3})
    assert queue_row["emailrouteraccessapproval"] == 3
    assert queue_mailbox["isemailaddressapprovedbyo365admin"] is False


def test_queue_mailbox_refused_to_system_administrator_alone() -> None:
    """Seed "Model izin" (online + Exchange Online, SA alone: No) for a queue mailbox."""
    sim = make_sim()
    _, queue_mailbox = queue(sim)
    with pytest.raises(DataverseFault) as refused:
        patch(sim, who(sim, "sam"), "mailboxes", queue_mailbox, {"emailrouteraccessapproval": 1})
    assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL


def test_back_to_pending_needs_only_write() -> None:
    """Reference §1.2: 2 Pending Approval is no approval; the row write is what it takes."""
    sim = make_sim()
    stored = patch(
        sim, who(sim, "sam"), "mailboxes", mailbox(sim, "gina"), {"emailrouteraccessapproval": 2}
    )
    assert stored["emailrouteraccessapproval"] == 2
    assert user_row(sim, "gina")["emailrouteraccessapproval"] == 2


@pytest.mark.parametrize("value", [5, -1, "1", True, None])
def test_approval_value_outside_the_choice(value: object) -> None:
    """Reference §1.2: 0 Empty, 1 Approved, 2 Pending Approval, 3 Rejected only."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        patch(
            sim,
            who(sim, "gina"),
            "mailboxes",
            mailbox(sim, "alice"),
            {"emailrouteraccessapproval": value},
        )
    assert (refused.value.status, refused.value.code) == (400, INVALID_ARGUMENT)


def test_system_administrator_through_a_team_counts() -> None:
    """Reference §4.1/§8: tess, Exchange admin through a group and SA through a team."""
    sim = make_sim()
    assert approve(sim, who(sim, "tess"), "alice")["emailrouteraccessapproval"] == 1


def test_delegated_mailbox_approver_through_a_team_does_not_count() -> None:
    """Seed "Mendelegasikan…": the DMA role cannot be a team's, and a team's does not count."""
    sim = make_sim()
    dma = role_id(sim, "Delegated Mailbox Approver")
    team = team_id(sim, "Mailbox Operations")  # holds System Administrator; sam is not in it
    sim.state.associations["teamroles_association"].add((team, dma))
    sim.state.associations["teammembership_association"].add(
        (person(sim, "sam").systemuser_id.lower(), team)
    )
    with pytest.raises(DataverseFault) as refused:
        approve(sim, who(sim, "sam"), "alice")
    assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL


def test_application_itself_is_no_office365_admin() -> None:
    """Reference §4.3 / §12.5 (S43): the app identity (SA, no Entra role) cannot approve."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        approve(sim, app(sim), "alice")
    assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL


def test_application_itself_approves_on_premises_exchange() -> None:
    """Seed "Model izin", online + Exchange (on-premises): System Administrator suffices."""
    sim = make_sim()
    assert approve(sim, app(sim), "otto")["emailrouteraccessapproval"] == 1


def test_application_itself_in_an_on_premises_environment() -> None:
    """Seed "Model izin", Customer Engagement (on-premises) rows: SA suffices."""
    sim = make_sim(contoso(deployment=Deployment.ONPREM))
    assert approve(sim, app(sim), "alice")["emailrouteraccessapproval"] == 1


def test_impersonating_an_admin_carries_their_roles() -> None:
    """Issue 2 ("the effective rights are the impersonated person's"); reference §12.5."""
    sim = make_sim()
    stored = approve(sim, app(sim, as_user="gina"), "alice")
    assert stored["_emailaddressapprovedby_value"] == person(sim, "gina").systemuser_id
    assert stored["isemailaddressapprovedbyo365admin"] is True


def test_impersonating_someone_who_may_not() -> None:
    """Reference §6.7: acting as sam, the app has sam's standing in the table."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        approve(sim, app(sim, as_user="sam"), "alice")
    assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL


def test_impersonation_intersects_the_approval_privilege() -> None:
    """Reference §6.7: the real caller must hold prvApproveRejectEmailAddress too."""
    writer = RoleSpec(
        name="Mailbox Writer",
        id="70000000-0000-4000-8000-0000000000b0",
        privileges={"prvReadMailbox": Depth.ORGANIZATION, "prvWriteMailbox": Depth.ORGANIZATION},
    )
    deli = PersonSpec(
        name="deli",
        display_name="Deli Delegate",
        object_id="aa000000-0000-4000-8000-0000000002d0",
        systemuser_id="5e000000-0000-4000-8000-0000000002d0",
        dataverse_roles=["Delegate", "Mailbox Writer"],
    )
    sim = make_sim(contoso(extra_roles=[writer], people=[deli]))
    caller = who(sim, "deli", as_user="gina")
    verdict, fault = approval_verdict(sim, caller, "mailboxes", mailbox(sim, "alice"))
    assert not verdict.allowed and fault is not None
    assert fault.code == PRIVILEGE_DENIED
    assert "prvApproveRejectEmailAddress" in fault.message
    assert f"Id={person(sim, 'deli').systemuser_id}" in fault.message


def test_many_approvals_stay_cheap() -> None:
    """Benchmark guard: an approval costs O(1) in the number of mailboxes."""
    import time

    sim = make_sim(contoso(generated=True))
    gina = who(sim, "gina")
    pending = [
        row
        for row in sim.state.tables["mailboxes"].values()
        if row["emailrouteraccessapproval"] == 2
    ]
    assert len(pending) > 100
    started = time.perf_counter()
    for _ in range(10):
        for row in pending:
            row["emailrouteraccessapproval"] = 2
            patch(sim, gina, "mailboxes", row, {"emailrouteraccessapproval": 1})
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, f"{10 * len(pending)} approvals took {elapsed:.2f}s"
