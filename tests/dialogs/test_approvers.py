"""Delegated Mailbox Approver commands through the router, against the sim.

Seed "Mendelegasikan persetujuan kotak pesan": only a Global or Exchange admin assigns the
role (else 0x80090904), never to a team (0x80090905), per environment, from version
9.2.22104.00170; reference/dataverse.md §4.1, §8 (roles), §6.3 (429).
"""

from __future__ import annotations

from typing import Any, Final

import pytest

from dataverse import DataverseClient, ops
from dialogs.router import Router
from tests.cards.checks import check_card
from tests.dialogs.kit import click, say, text_of
from tests.simharness import RunningSim

DMA_ROLE: Final = "70000000-0000-4000-8000-000000000002"
TEAM: Final = "7e000000-0000-4000-8000-000000000001"  # Mailbox Operations
ASSOCIATE: Final = r"^POST /api/data/v9\.2/systemusers\([0-9a-f-]+\)/systemuserroles_association"


def _user(sim: RunningSim, name: str) -> str:
    user_id: str = sim.person(name).systemuser_id
    return user_id.lower()


def _holds(sim: RunningSim, name: str) -> bool:
    pairs = sim.state()["associations"]["systemuserroles_association"]
    return {"systemuserid": _user(sim, name), "roleid": DMA_ROLE} in pairs


def _team_holds(sim: RunningSim) -> bool:
    pairs = sim.state()["associations"]["teamroles_association"]
    return any(p["teamid"] == TEAM and p["roleid"] == DMA_ROLE for p in pairs)


def _role_writes(sim: RunningSim) -> list[dict[str, Any]]:
    return [
        r
        for r in sim.requests()
        if r["method"] in ("POST", "DELETE") and "roles_association" in r["path"]
    ]


def _applied(sim: RunningSim) -> list[dict[str, Any]]:
    return [r for r in _role_writes(sim) if r["status"] < 300]


async def _ask(router: Router, sim: RunningSim, name: str, text: str, **kw: Any) -> str:
    card = await say(router, sim, name, text, **kw)
    check_card(card)
    return text_of(card)


# ---- make X a delegated approver ----------------------------------------------------------


@pytest.mark.parametrize("admin", ["gina", "eddie"])
async def test_global_or_exchange_admin_assigns_the_role(
    router: Router, sim: RunningSim, admin: str
) -> None:
    """Seed: a Global or an Exchange admin may assign Delegated Mailbox Approver."""
    assert not _holds(sim, "sam")
    shown = await _ask(router, sim, admin, "make sam a delegated approver")
    assert "Assign the Delegated Mailbox Approver role" in shown
    assert "Done" in shown and "Sam Sysadmin" in shown
    assert _holds(sim, "sam")
    writes = _applied(sim)
    assert [w["method"] for w in writes] == ["POST"]
    assert writes[0]["caller_object_id"] == sim.person(admin).object_id


async def test_new_approver_can_approve_at_once(router: Router, sim: RunningSim) -> None:
    """Seed table: Delegated Mailbox Approver and System admin → Yes¹. Sam alone was "No";
    with the role his next request goes through (his cached facts were dropped)."""
    denied = await _ask(router, sim, "sam", "approve mailbox for alice")
    assert "System admin alone" in denied
    await _ask(router, sim, "eddie", "make sam a delegated approver")
    approved = await _ask(router, sim, "sam", "approve mailbox for alice")
    assert "Done" in approved


async def test_several_people_get_per_item_results(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "make sam, dana and tess delegated approvers")
    assert '"Succeeded", "value": "2"' in shown
    assert '"Skipped", "value": "1"' in shown  # dana holds it already
    assert _holds(sim, "sam") and _holds(sim, "tess") and _holds(sim, "dana")
    assert len(_applied(sim)) == 2


async def test_one_failure_among_several_is_reported_for_that_person(
    router: Router, sim: RunningSim
) -> None:
    sim.fault(
        rf"^POST /api/data/v9\.2/systemusers\({_user(sim, 'sam')}\)/systemuserroles", 503, times=5
    )
    shown = await _ask(router, sim, "eddie", "make sam and tess delegated approvers")
    assert "Finished with failures" in shown
    assert '"Succeeded", "value": "1"' in shown and '"Failed", "value": "1"' in shown
    assert not _holds(sim, "sam")
    assert _holds(sim, "tess")


async def test_someone_who_holds_it_is_skipped(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "make dana a delegated approver")
    assert "Skipped" in shown and "It already has this value." in shown
    assert not _role_writes(sim)


@pytest.mark.parametrize("caller", ["sam", "dana", "gary", "xena"])
async def test_assigning_is_denied_first_by_the_bot(
    router: Router, sim: RunningSim, caller: str
) -> None:
    """Seed: anyone but a Global or Exchange admin gets 0x80090904 from Dataverse; the bot's
    own decision says so first (gary and xena are admins without prvAssignRole, so for them
    the privilege is what is missing)."""
    shown = await _ask(router, sim, caller, "make una a delegated approver")
    assert "You can't do this: Assign the Delegated Mailbox Approver role" in shown
    if caller in ("sam", "dana"):
        assert "Only Global or Exchange admins assign the Delegated Mailbox Approver" in shown
        assert "0x80090904" in shown
    else:
        assert "Privilege: Assign Role" in shown
    assert not _holds(sim, "una")
    assert not _role_writes(sim)


async def test_the_sim_refuses_a_non_admin_with_0x80090904(
    sim: RunningSim, dv: DataverseClient
) -> None:
    """The same request sent anyway (lower level, as sam): Dataverse's answer is the seed's."""
    with pytest.raises(ops.DelegatedApproverAssignDenied) as refused:
        await ops.assign_delegated_approver(
            dv, _user(sim, "una"), acting_for=sim.person("sam").object_id
        )
    assert refused.value.code.lower() == "0x80090904"
    assert not _holds(sim, "una")


async def test_a_team_is_refused_with_its_rule(router: Router, sim: RunningSim) -> None:
    """Seed: the role cannot be assigned to a team (0x80090905); the name resolves to the
    team, and the permission model refuses it before anything is sent."""
    shown = await _ask(router, sim, "eddie", 'make "Mailbox Operations" a delegated approver')
    assert "The Delegated Mailbox Approver role cannot be given to a team" in shown
    assert "0x80090905" in shown
    assert "A user, not a team" in shown
    assert not _team_holds(sim)
    assert not _role_writes(sim)


async def test_the_sim_refuses_a_team_with_0x80090905(
    sim: RunningSim, dv: DataverseClient
) -> None:
    with pytest.raises(ops.DelegatedApproverNotForTeams) as refused:
        await ops.assign_delegated_approver(
            dv, TEAM, principal="team", acting_for=sim.person("eddie").object_id
        )
    assert refused.value.code.lower() == "0x80090905"
    assert not _team_holds(sim)


async def test_a_queue_is_not_a_person(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "make Support a delegated approver")
    assert "I didn't understand that" in shown
    assert not _role_writes(sim)


async def test_unknown_person_gets_did_you_mean(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "make danna a delegated approver")
    assert "I didn't understand that" in shown
    assert "make dana a delegated approver" in shown
    assert not _role_writes(sim)


async def test_a_prefix_asks_before_acting(router: Router, sim: RunningSim) -> None:
    """A name that only starts someone's ("sa") is confirmed by a choice first."""
    choice = await say(router, sim, "eddie", "make sa a delegated approver")
    shown = text_of(choice)
    assert "Which one did you mean?" in shown and "Sam Sysadmin" in shown
    assert not _role_writes(sim)
    picked = await click(router, sim, "eddie", choice, "Choose")
    assert "Done" in text_of(picked)
    assert _holds(sim, "sam")


async def test_odata_injection_is_only_a_strange_name(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", 'make "sam\' or 1 eq 1" a delegated approver')
    assert "I didn't understand that" in shown
    assert not _role_writes(sim)


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(503, None, "Dataverse is not available"), (429, 60, "Dataverse is busy")],
)
async def test_assign_dataverse_failure(
    router: Router, sim: RunningSim, status: int, retry_after: int | None, expected: str
) -> None:
    sim.fault(ASSOCIATE, status, retry_after=retry_after, times=10)
    shown = await _ask(router, sim, "eddie", "make sam a delegated approver")
    assert expected in shown
    assert not _holds(sim, "sam")
    assert not _applied(sim)


async def test_indonesian_request(router: Router, sim: RunningSim) -> None:
    shown = await _ask(
        router, sim, "eddie", "jadikan sam pemberi persetujuan kotak pesan", locale="id-ID"
    )
    assert '"lang": "id"' in shown
    assert _holds(sim, "sam")


# ---- remove X as delegated approver -------------------------------------------------------


async def test_admin_removes_the_role(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "remove dana as delegated approver")
    assert "Remove the Delegated Mailbox Approver role" in shown and "Done" in shown
    assert not _holds(sim, "dana")
    writes = _applied(sim)
    assert [w["method"] for w in writes] == ["DELETE"]
    assert writes[0]["caller_object_id"] == sim.person("eddie").object_id
    # Without the role dana is back to "System admin alone" for approvals.
    denied = await _ask(router, sim, "dana", "approve mailbox for alice")
    assert "You can't do this" in denied


async def test_removing_from_someone_without_it_is_skipped(
    router: Router, sim: RunningSim
) -> None:
    shown = await _ask(router, sim, "eddie", "remove sam as delegated approver")
    assert "Skipped" in shown
    assert not _role_writes(sim)


@pytest.mark.parametrize("caller", ["sam", "dana"])
async def test_removing_is_denied_to_non_admins(
    router: Router, sim: RunningSim, caller: str
) -> None:
    """The seed names no one but the admins who assign it; removing is held to the same."""
    shown = await _ask(router, sim, caller, "remove dana as delegated approver")
    assert "You can't do this: Remove the Delegated Mailbox Approver role" in shown
    assert "0x80090904" in shown
    assert _holds(sim, "dana")
    assert not _role_writes(sim)


async def test_remove_unknown_person(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "remove nobody as delegated approver")
    assert "I didn't understand that" in shown
    assert _holds(sim, "dana")


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(503, None, "Dataverse is not available"), (429, 60, "Dataverse is busy")],
)
async def test_remove_dataverse_failure(
    router: Router, sim: RunningSim, status: int, retry_after: int | None, expected: str
) -> None:
    sim.fault(
        r"^DELETE /api/data/v9\.2/systemusers\([0-9a-f-]+\)/systemuserroles_association",
        status,
        retry_after=retry_after,
        times=10,
    )
    shown = await _ask(router, sim, "eddie", "remove dana as delegated approver")
    assert expected in shown
    assert _holds(sim, "dana")
    assert not _applied(sim)
