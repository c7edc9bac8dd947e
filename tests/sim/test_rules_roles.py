"""Security role assignment: Delegated Mailbox Approver and the rest.

Seed "Mendelegasikan persetujuan kotak pesan" and reference/dataverse.md §4.1: only a Global
or Exchange admin assigns the Delegated Mailbox Approver role (0x80090904), never to a team
(0x80090905); it exists from 9.2.22104.00170. Other roles need prvAssignRole (§8).
"""

from __future__ import annotations

import pytest

from sim import rules
from sim.context import Sim
from sim.errors import (
    ASSIGN_DMA_REQUIRES_ADMIN,
    ASSIGN_DMA_TO_TEAM,
    OBJECT_DOES_NOT_EXIST,
    PRIVILEGE_DENIED,
    DataverseFault,
)
from sim.fixture import Deployment
from tests.sim.rules_kit import app, contoso, make_sim, person, role_id, team_id, who

USERS = "systemuserroles_association"
TEAMS = "teamroles_association"
MEMBERS = "teammembership_association"


def _uid(sim: Sim, name: str) -> str:
    return person(sim, name).systemuser_id.lower()


@pytest.mark.parametrize("assigner", ["gina", "eddie", "gary", "xena", "tess"])
def test_global_or_exchange_admin_assigns_the_delegated_approver(assigner: str) -> None:
    """Seed: users with the Global or Exchange admin role can delegate (tess: EA via group)."""
    sim = make_sim()
    dma = role_id(sim, "Delegated Mailbox Approver")
    rules.before_associate(sim, who(sim, assigner), USERS, _uid(sim, "alice"), dma)


@pytest.mark.parametrize("assigner", ["sam", "dana", "steve", "alice", "pria"])
def test_anyone_else_gets_0x80090904(assigner: str) -> None:
    """Seed "Penting": "You must be an Office 365 Global Administrator or an Exchange…"."""
    sim = make_sim()
    dma = role_id(sim, "Delegated Mailbox Approver")
    with pytest.raises(DataverseFault) as refused:
        rules.before_associate(sim, who(sim, assigner), USERS, _uid(sim, "alice"), dma)
    assert (refused.value.status, refused.value.code) == (403, ASSIGN_DMA_REQUIRES_ADMIN)
    assert refused.value.message == (
        "You must be an Office 365 Global Administrator or an Exchange Administrator to "
        "assign the Delegated Mailbox Approver role."
    )


def test_the_application_itself_cannot_assign_it() -> None:
    """Reference §4.3/§12.5: the app identity holds no Entra admin role."""
    sim = make_sim()
    dma = role_id(sim, "Delegated Mailbox Approver")
    with pytest.raises(DataverseFault) as refused:
        rules.before_associate(sim, app(sim), USERS, _uid(sim, "alice"), dma)
    assert refused.value.code == ASSIGN_DMA_REQUIRES_ADMIN
    rules.before_associate(sim, app(sim, as_user="eddie"), USERS, _uid(sim, "alice"), dma)


def test_never_to_a_team() -> None:
    """Seed: "The Delegated Mailbox Approver role can't be assigned to a team." 0x80090905."""
    sim = make_sim()
    dma = role_id(sim, "Delegated Mailbox Approver")
    with pytest.raises(DataverseFault) as refused:
        rules.before_associate(
            sim, who(sim, "gina"), TEAMS, team_id(sim, "Mailbox Operations"), dma
        )
    assert refused.value.code == ASSIGN_DMA_TO_TEAM
    assert (
        refused.value.message == "The Delegated Mailbox Approver role can't be assigned to a team."
    )


def test_removing_it_takes_the_same_admins() -> None:
    """Seed "Mendelegasikan…" (the sim's reading): removal as assignment."""
    sim = make_sim()
    dma = role_id(sim, "Delegated Mailbox Approver")
    with pytest.raises(DataverseFault) as refused:
        rules.before_disassociate(sim, who(sim, "sam"), USERS, _uid(sim, "dana"), dma)
    assert refused.value.code == ASSIGN_DMA_REQUIRES_ADMIN
    assert "remove" in refused.value.message
    rules.before_disassociate(sim, who(sim, "eddie"), USERS, _uid(sim, "dana"), dma)


def test_before_the_version_the_role_does_not_exist() -> None:
    """Seed: the role is available from 9.2.22104.00170 (online)."""
    sim = make_sim(contoso(version="9.2.22103.00001"))
    dma_row = sim.state.row("roles", role_id(sim, "Delegated Mailbox Approver"))
    assert dma_row is not None
    with pytest.raises(DataverseFault) as refused:
        rules.before_associate(
            sim, who(sim, "gina"), USERS, _uid(sim, "alice"), str(dma_row["roleid"])
        )
    assert (refused.value.status, refused.value.code) == (404, OBJECT_DOES_NOT_EXIST)
    assert not rules.can_read(sim, who(sim, "gina"), "roles", dma_row)


def test_on_premises_the_role_is_not_version_gated() -> None:
    """Seed: the version note is about the online service."""
    sim = make_sim(contoso(deployment=Deployment.ONPREM, version="9.1.0.0"))
    dma = role_id(sim, "Delegated Mailbox Approver")
    rules.before_associate(sim, who(sim, "gina"), USERS, _uid(sim, "alice"), dma)


def test_other_roles_need_prv_assign_role() -> None:
    """Reference §8: assigning any other role is prvAssignRole's business."""
    sim = make_sim()
    basic = role_id(sim, "Basic User")
    rules.before_associate(sim, who(sim, "sam"), USERS, _uid(sim, "steve"), basic)
    with pytest.raises(DataverseFault) as refused:
        rules.before_associate(sim, who(sim, "gary"), USERS, _uid(sim, "steve"), basic)
    assert refused.value.code == PRIVILEGE_DENIED
    assert "prvAssignRole" in refused.value.message and "OTC=1036" in refused.value.message
    with pytest.raises(DataverseFault):
        rules.before_disassociate(sim, who(sim, "alice"), USERS, _uid(sim, "alice"), basic)


def test_unknown_role_or_principal() -> None:
    """Reference §6.2: ObjectDoesNotExist 0x80040217."""
    sim = make_sim()
    missing = "70000000-0000-4000-8000-00000000dead"
    with pytest.raises(DataverseFault) as refused:
        rules.before_associate(sim, who(sim, "sam"), USERS, _uid(sim, "alice"), missing)
    assert refused.value.code == OBJECT_DOES_NOT_EXIST
    with pytest.raises(DataverseFault):
        rules.before_associate(sim, who(sim, "sam"), USERS, missing, role_id(sim, "Basic User"))


def test_team_membership_needs_write_on_the_team() -> None:
    """Reference §8 (teammembership_association): a team member list is the team's row."""
    sim = make_sim()
    team = team_id(sim, "Mailbox Operations")
    rules.before_associate(sim, who(sim, "sam"), MEMBERS, _uid(sim, "alice"), team)
    with pytest.raises(DataverseFault) as refused:
        rules.before_associate(sim, who(sim, "alice"), MEMBERS, _uid(sim, "alice"), team)
    assert "prvWriteTeam" in refused.value.message


def test_assignment_changes_privileges_at_once() -> None:
    """Reference §8: a new role counts for the next check (no stale privileges)."""
    sim = make_sim()
    caller = who(sim, "alice")
    gina_mailbox = sim.state.row("mailboxes", person(sim, "gina").mailbox.id)  # type: ignore[union-attr]
    assert gina_mailbox is not None
    assert not rules.can_read(sim, caller, "mailboxes", gina_mailbox)
    sim.state.associations[USERS].add((_uid(sim, "alice"), role_id(sim, "System Administrator")))
    assert rules.can_read(sim, caller, "mailboxes", gina_mailbox)


def test_hidden_role_reads_as_missing_only_itself() -> None:
    """Seed: before 9.2.22104.00170 the DMA role is not there; other roles read as usual."""
    sim = make_sim(contoso(version="9.2.22103.00001"))
    gina = who(sim, "gina")
    dma_row = sim.state.row("roles", role_id(sim, "Delegated Mailbox Approver"))
    basic_row = sim.state.row("roles", role_id(sim, "Basic User"))
    assert dma_row is not None and basic_row is not None
    with pytest.raises(DataverseFault) as missing:
        rules.require_read(sim, gina, "roles", dma_row)
    assert missing.value.status == 404
    rules.require_read(sim, gina, "roles", basic_row)
    with pytest.raises(DataverseFault) as refused:
        rules.require_read(sim, who(sim, "alice"), "roles", basic_row)
    assert refused.value.code == PRIVILEGE_DENIED
