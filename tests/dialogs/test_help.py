"""`help` through the router, against the sim: the registry's commands in the caller's
language, filtered to what the router answers and the permission model lets the caller run
(the seed's "Model izin" table; reference/dataverse.md §4.1, §8)."""

from __future__ import annotations

from typing import Any

from cards.common import Card
from dialogs.commands import REGISTRY, CommandKind
from dialogs.context import Ctx, Services
from dialogs.explain import REQUIRES
from dialogs.help import register
from dialogs.router import Router
from dialogs.signing import CardSigner
from tests.cards.checks import check_card
from tests.dialogs.kit import click, say, text_of
from tests.simharness import RunningSim

K = CommandKind
VIEWS = {K.STATUS, K.ALERTS, K.PENDING_APPROVALS, K.FAILING_MAILBOXES, K.WHY, K.HELP}
MAILBOX_CHANGES = {
    K.TEST_AND_ENABLE,
    K.APPLY_DEFAULT_SETTINGS,
    K.SET_DELIVERY_METHODS,
    K.USE_PROFILE,
    K.SYNC_FROM_THIS_ORG_ONLY,
}
APPROVALS = {K.APPROVE, K.REJECT}


OWN_ONLY = ("(Your own mailbox only.)", "(Hanya kotak pesan Anda sendiri.)")


def _entries(card: Card) -> list[tuple[str, str]]:
    """The help card's entries, in order: (command line in bold, the help text below it)."""
    blocks: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock" and isinstance(node.get("text"), str):
                blocks.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return [
        (text[2:-2], blocks[i + 1] if i + 1 < len(blocks) else "")
        for i, text in enumerate(blocks)
        if text.startswith("**") and text.endswith("**")
    ]


def _commands(card: Card) -> list[str]:
    """The command lines of the help card's entries (bold text), in order."""
    return [command for command, _ in _entries(card)]


def _kinds(card: Card, language: str = "en", *, own_only: bool = False) -> set[CommandKind]:
    """The command kinds listed, recognised by their first usage line: those the caller may
    run on any mailbox, or (`own_only`) those listed for their own mailbox only."""
    lines = {command for command, text in _entries(card) if text.endswith(OWN_ONLY) == own_only}
    return {
        kind
        for kind, info in REGISTRY.items()
        if info.usage("id" if language == "id" else "en")[0] in lines
    }


def test_every_command_says_what_permission_it_needs() -> None:
    assert set(REQUIRES) == set(CommandKind)


async def test_help_is_filtered_per_person(router: Router, sim: RunningSim) -> None:
    """Eddie (Exchange admin + System admin) may approve; Sam (System admin alone) may not
    (table: No) but changes mailboxes; Alice (Read-only User) only reads."""
    eddie_card = await say(router, sim, "eddie", "help")
    sam_card = await say(router, sim, "sam", "help")
    alice_card = await say(router, sim, "alice", "help")
    eddie, sam, alice = _kinds(eddie_card), _kinds(sam_card), _kinds(alice_card)

    assert eddie >= VIEWS | MAILBOX_CHANGES | APPROVALS
    assert not _kinds(eddie_card, own_only=True)
    assert sam >= VIEWS | MAILBOX_CHANGES and not APPROVALS & sam
    # The seed's own-mailbox rule: sam may approve his own address (not reject it).
    assert _kinds(sam_card, own_only=True) == {K.APPROVE}
    assert alice >= VIEWS and not (MAILBOX_CHANGES | APPROVALS) & alice
    assert not _kinds(alice_card, own_only=True)
    assert alice < sam < eddie


async def test_help_lists_only_what_the_router_answers(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "gina", "help")

    listed = _kinds(card)
    assert listed and all(router.handles(kind) for kind in listed)
    assert not {kind for kind in CommandKind if not router.handles(kind)} & listed


async def test_help_lists_in_registry_order_with_examples(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "help")

    check_card(card)
    order = [k for k in REGISTRY if k in _kinds(card)]
    firsts = [REGISTRY[k].usage("en")[0] for k in order]
    assert [line for line in _commands(card) if line in firsts] == firsts
    assert "approve mailbox for alice" in text_of(card) and "Try it" in text_of(card)


async def test_indonesian_help(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "bantuan", locale="id-ID")

    check_card(card)
    assert "Yang dapat saya lakukan untuk Anda" in text_of(card)
    assert "setujui kotak pesan alice" in text_of(card)
    assert _kinds(card, "id") >= VIEWS | APPROVALS


async def test_help_on_one_command(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "help approve")

    check_card(card)
    info = REGISTRY[K.APPROVE]
    assert set(_commands(card)) == set(info.usage_en)
    for example in info.examples_en:
        assert example in text_of(card)
    assert "Approve the email address of mailboxes." in text_of(card)


async def test_help_on_a_command_one_may_not_run_lists_the_rest(
    router: Router, sim: RunningSim
) -> None:
    card = await say(router, sim, "sam", "help reject")

    listed = _kinds(card)
    assert K.REJECT not in listed and K.TEST_AND_ENABLE in listed


async def test_try_it_runs_the_example(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "alice", "help")

    status = await click(router, sim, "alice", card, "Try it")  # "status of alice"

    assert "Alice Anders" in text_of(status) and "Pending approval" in text_of(status)


async def test_someone_without_roles_gets_help_and_why(
    services: Services, sim: RunningSim
) -> None:
    """No Dataverse role at all: nothing to read or change, but help and why stay."""
    user = sim.person("alice").systemuser_id.lower()

    def strip() -> None:
        links = sim.sim.state.associations["systemuserroles_association"]
        links -= {link for link in links if link[0] == user}

    sim.thread.call(strip)
    router = Router(services, CardSigner(b"test-signing-secret-0123456789"))
    register(router)

    async def stand_in(ctx: Ctx, command: Any) -> Card:
        raise AssertionError("help must not run anything")

    for kind in (K.WHY, K.STATUS, K.APPROVE, K.PENDING_APPROVALS):
        router.command(kind)(stand_in)

    card = await say(router, sim, "alice", "help")

    assert _kinds(card) == {K.WHY, K.HELP}


async def test_unavailable_dataverse_is_an_error_card(router: Router, sim: RunningSim) -> None:
    sim.fault(r"^GET /api/data/v9\.2/organizations", 503, times=10)

    card = await say(router, sim, "eddie", "help")

    check_card(card)
    assert "Dataverse is not available" in text_of(card)


async def test_throttled_dataverse_is_an_error_card(router: Router, sim: RunningSim) -> None:
    sim.fault(r"^GET /api/data/v9\.2/organizations", 429, retry_after=3600, times=10)

    card = await say(router, sim, "eddie", "help")

    assert "Dataverse is busy" in text_of(card) or "Dataverse is not available" in text_of(card)
    assert _commands(card) == []


async def test_own_mailbox_commands_are_listed_as_such(router: Router, sim: RunningSim) -> None:
    """Una (Basic User: user-level Read and Write on mailboxes) may approve her own address
    (the seed's own-mailbox rule, when approval needs no privilege) and test her own
    mailbox, but nobody else's: help lists both, says so, and offers no "Try it" that
    names someone else."""
    card = await say(router, sim, "una", "help")
    eddie = await say(router, sim, "eddie", "help")

    check_card(card)
    own = _kinds(card, own_only=True)
    assert {K.APPROVE, K.TEST_AND_ENABLE} <= own <= MAILBOX_CHANGES | {K.APPROVE, K.UNDO}
    assert not (own | {K.REJECT}) & _kinds(card)
    assert "approve mailbox for alice" not in text_of(card)
    assert not _kinds(eddie, own_only=True)


async def test_help_on_an_own_mailbox_command_in_indonesian(
    router: Router, sim: RunningSim
) -> None:
    card = await say(router, sim, "una", "bantuan setujui", locale="id-ID")

    check_card(card)
    assert "(Hanya kotak pesan Anda sendiri.)" in text_of(card)
    assert "Coba" not in text_of(card)
