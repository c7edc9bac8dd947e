"""`why can't I …` through the router, against the sim: the permission model's answer, never
the action (the seed's "Model izin" table and "Setujui kotak pesan pengguna Anda sendiri";
reference/dataverse.md §4.1, §8)."""

from __future__ import annotations

from typing import Any

import pytest

from cards.common import Card
from dialogs import explain
from dialogs.commands import CommandKind
from dialogs.context import Ctx, Services
from dialogs.router import Router
from dialogs.signing import CardSigner
from tests.cards.checks import check_card
from tests.dialogs.kit import click, say, text_of
from tests.simharness import RunningSim


def _writes(sim: RunningSim) -> list[dict[str, Any]]:
    return [
        r for r in sim.requests() if r["path"].startswith("/api/data/") and r["method"] != "GET"
    ]


def _approval(sim: RunningSim, name: str) -> int:
    mailbox_id = sim.person(name).mailbox.id
    value: int = next(
        m["emailrouteraccessapproval"]
        for m in sim.state()["mailboxes"]
        if m["mailboxid"] == mailbox_id
    )
    return value


async def test_denied_approval_gets_the_real_attempts_card(
    router: Router, sim: RunningSim
) -> None:
    """Seed table, online + Exchange Online: System admin alone → No. The explanation is the
    card a real attempt gets, and nothing is approved."""
    why = await say(router, sim, "sam", "why can't I approve alice")
    attempt = await say(router, sim, "sam", "approve alice")

    check_card(why)
    text = text_of(why)
    assert "You can't do this: Approve email" in text
    assert "System admin alone" in text and "Request approval" in text
    assert why["body"] == attempt["body"]
    assert _approval(sim, "alice") == 2
    assert _writes(sim) == []


async def test_allowed_approval_names_the_rule(router: Router, sim: RunningSim) -> None:
    """Seed table, online + Exchange Online: Exchange admin and System admin → Yes."""
    card = await say(router, sim, "eddie", "why can't I approve alice")

    check_card(card)
    text = text_of(card)
    assert "Approve email · Alice Anders" in text
    assert "Exchange admin and System admin: Yes, can approve email" in text
    assert "Try it" not in text  # explaining never offers to run it
    assert _approval(sim, "alice") == 2
    assert _writes(sim) == []


async def test_own_mailbox_approval_is_explained(router: Router, sim: RunningSim) -> None:
    """Seed "Setujui kotak pesan pengguna Anda sendiri": Una meets the four conditions."""
    card = await say(router, sim, "una", "why can't I approve una")

    assert "Approve your own mailbox" in text_of(card)
    assert _approval(sim, "una") == 2


@pytest.mark.parametrize(
    "request_text",
    [
        "why can't I test bob",
        "why can't I apply default settings to bob",
        "why can't I set outgoing email for bob to none",
        'why can\'t I use profile "Microsoft Exchange Online" for bob',
        "why can't I sync bob from this org only",
    ],
)
async def test_mailbox_settings_need_write_on_the_mailbox(
    router: Router, sim: RunningSim, request_text: str
) -> None:
    """Someone else's mailbox needs Mailbox Read and Write at business-unit depth."""
    denied = await say(router, sim, "alice", request_text)
    allowed = await say(router, sim, "eddie", request_text)

    assert "You can't do this" in text_of(denied)
    assert "Mailbox Read and Write, business unit or wider" in text_of(denied)
    assert "What I can do for you" in text_of(allowed)
    assert "Mailbox Read and Write, business unit or wider" in text_of(allowed)
    assert _writes(sim) == []


async def test_several_mailboxes_stop_at_the_first_refused(
    router: Router, sim: RunningSim
) -> None:
    """Una may test her own mailbox, not Bob's."""
    card = await say(router, sim, "una", "why can't I test una and bob")

    assert "You can't do this" in text_of(card) and "Bob Brown" in text_of(card)


async def test_indonesian_explanation(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "sam", "kenapa saya tidak bisa menyetujui alice", locale="id-ID")

    assert "Anda tidak dapat melakukan ini" in text_of(card)
    assert _approval(sim, "alice") == 2


async def test_nothing_matches(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "why can't I approve zqxwv")

    assert "I didn't understand that" in text_of(card)


async def test_a_prefix_asks_which_one_then_explains(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "why can't I approve O")
    assert "Otto Onprem" in text_of(card) and "Olga Onprem" in text_of(card)

    picked = await click(router, sim, "eddie", card, "Choose")

    text = text_of(picked)
    assert "Otto Onprem" in text or "Olga Onprem" in text
    assert "What I can do for you" in text or "You can't do this" in text
    assert _approval(sim, "otto") == 2 and _approval(sim, "olga") == 2
    assert _writes(sim) == []


async def test_unavailable_reads_are_an_error_card(router: Router, sim: RunningSim) -> None:
    sim.fault(r"^GET /api/data/v9\.2/mailboxes", 503, times=10)

    card = await say(router, sim, "sam", "why can't I approve alice")

    check_card(card)
    assert "Dataverse is not available" in text_of(card)


async def test_throttled_reads_say_when_to_retry(router: Router, sim: RunningSim) -> None:
    sim.fault(r"^GET /api/data/v9\.2/mailboxes", 429, retry_after=3600, times=10)

    card = await say(router, sim, "sam", "why can't I approve alice")

    assert "Dataverse is busy" in text_of(card)


# ---- commands of other families: a router with stand-in handlers ----------------------------


@pytest.fixture
def explaining(services: Services) -> Router:
    """Only the explanation and stand-ins for the commands it is asked about, so these tests
    do not depend on the other families being written yet."""
    router = Router(services, CardSigner(b"test-signing-secret-0123456789"))
    explain.register(router)

    async def stand_in(ctx: Ctx, command: Any) -> Card:
        raise AssertionError("an explanation must not run the command")

    for kind in (
        CommandKind.ADD_DELEGATED_APPROVER,
        CommandKind.CREATE_PROFILE,
        CommandKind.SET_APPROVAL_REQUIREMENT,
        CommandKind.TEST_PROFILE,
        CommandKind.POINT_PROFILE_TO_CHINA,
    ):
        router.command(kind)(stand_in)
    return router


async def test_delegated_approver_needs_a_global_or_exchange_admin(
    explaining: Router, sim: RunningSim
) -> None:
    """Seed: only a Global or Exchange admin assigns Delegated Mailbox Approver (0x80090904)."""
    denied = await say(explaining, sim, "sam", "why can't I make dana a delegated approver")
    allowed = await say(explaining, sim, "eddie", "why can't I make dana a delegated approver")

    assert "Only Global or Exchange admins assign" in text_of(denied)
    assert "0x80090904" in text_of(denied)
    assert "Exchange admin assigns the Delegated Mailbox Approver role" in text_of(allowed)
    assert "Dana Delegate" in text_of(allowed)


async def test_delegated_approver_is_for_users_not_teams(
    explaining: Router, sim: RunningSim
) -> None:
    """Seed: the role cannot be given to a team (0x80090905), whoever asks."""
    card = await say(
        explaining, sim, "eddie", 'why can\'t I make "Mailbox Operations" a delegated approver'
    )

    assert "cannot be given to a team" in text_of(card) and "0x80090905" in text_of(card)


async def test_turning_approval_on_is_reported_as_changing_settings(
    explaining: Router, sim: RunningSim
) -> None:
    """Turning it on needs prvWriteOrganization and the table's admins; Sam has the first
    only, and the refusal is reported as "Change email settings" (as org_settings does)."""
    card = await say(explaining, sim, "sam", "why can't I require approval for queues")

    assert "You can't do this: Change email settings" in text_of(card)
    assert "System admin alone" in text_of(card)


async def test_organization_and_profile_commands(explaining: Router, sim: RunningSim) -> None:
    created = await say(explaining, sim, "alice", "why can't I create exchange online profile X")
    approval_off = await say(explaining, sim, "sam", "why can't I turn off approval for users")
    profile_test = await say(
        explaining,
        sim,
        "eddie",
        "why can't I test all mailboxes in profile Microsoft Exchange Online",
    )
    china = await say(
        explaining, sim, "eddie", "why can't I point profile Microsoft Exchange Online to china"
    )

    assert "Privilege: Create Email Server Profile" in text_of(created)
    assert "System admin alone" in text_of(approval_off)
    assert "Test & Enable mailbox · Microsoft Exchange Online" in text_of(profile_test)
    assert "Change any email server profile" in text_of(china)
    assert _writes(sim) == []


async def test_a_command_not_available_here_is_said_so(
    explaining: Router, sim: RunningSim
) -> None:
    """Asking about a command this router does not answer gets the "not available" card a
    real attempt gets, not a permission verdict."""
    why = await say(explaining, sim, "eddie", "why can't I approve alice")
    attempt = await say(explaining, sim, "eddie", "approve alice")

    assert why["body"][0] == attempt["body"][0]
    assert "approve" in text_of(why)
    assert _writes(sim) == []
