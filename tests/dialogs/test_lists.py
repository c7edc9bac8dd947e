"""Mailbox lists through the router, against the sim: pending approvals (addresses with
`emailrouteraccessapproval` 2, reference/dataverse.md §1.2) and failing mailboxes (a test or
sync status 2, or a direction disabled for processing: the seed's "menonaktifkan kotak pesan
untuk pemrosesan email", told by the documented switches `enabledfor*` of the directions
synced through server-side sync; a mailbox mid-sync, `processingstatecode` 1 with a `hostid`,
is not failing)."""

from __future__ import annotations

from typing import Any

from cards.health import HealthState, health_summary
from cards.i18n import translator
from dialogs.router import Router
from tests.cards.checks import check_card
from tests.dataverse.opskit import set_row
from tests.dialogs.kit import click, say, text_of, turn_for
from tests.simharness import RunningSim


def _dataverse_requests(sim: RunningSim) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["path"].startswith("/api/data/")]


def _list_reads(sim: RunningSim) -> list[dict[str, Any]]:
    return [
        r
        for r in _dataverse_requests(sim)
        if r["method"] == "GET" and r["path"] == "/api/data/v9.2/mailboxes"
    ]


def _strip_roles(sim: RunningSim, name: str) -> None:
    """Take every Dataverse security role away from `name` (no Mailbox Read at all)."""
    user = sim.person(name).systemuser_id.lower()

    def strip() -> None:
        links = sim.sim.state.associations["systemuserroles_association"]
        links -= {link for link in links if link[0] == user}

    sim.thread.call(strip)


def _only_named_people_pending(sim: RunningSim) -> None:
    """Approve the fixture's generated mailboxes, leaving a short list of named ones."""

    def approve() -> None:
        for row in sim.sim.state.tables["mailboxes"].values():
            if str(row.get("name", "")).startswith("Generated"):
                row["emailrouteraccessapproval"] = 1

    sim.thread.call(approve)


def _count(sim: RunningSim, **values: object) -> int:
    return sum(
        all(m.get(k) == v for k, v in values.items()) and m["statecode"] == 0
        for m in sim.state()["mailboxes"]
    )


async def test_pending_approvals_lists_pending_addresses(router: Router, sim: RunningSim) -> None:
    _only_named_people_pending(sim)

    card = await say(router, sim, "eddie", "pending approvals")

    check_card(card)
    text = text_of(card)
    for name in ("Alice Anders", "Una User", "Otto Onprem", "Support"):
        assert name in text
    for name in ("Bob Brown", "Eddie Exchange", "Gina Global"):
        assert name not in text
    [read] = _list_reads(sim)
    assert "emailrouteraccessapproval eq 2" in read["query"].replace("%20", " ")
    assert read["caller_object_id"] == sim.person("eddie").object_id
    assert not [r for r in _dataverse_requests(sim) if r["method"] != "GET"]


async def test_a_long_list_counts_every_row_and_fits(router: Router, sim: RunningSim) -> None:
    """The generated tenant has over a hundred pending addresses: all counted, the first
    shown, the card within the Teams budget once the router signed it."""
    pending = _count(sim, emailrouteraccessapproval=2)
    assert pending > 50

    card = await say(router, sim, "eddie", "pending approvals")

    check_card(card)
    assert f"{pending} mailboxes" in text_of(card) and "more" in text_of(card)


async def test_each_row_opens_the_mailbox(router: Router, sim: RunningSim) -> None:
    _only_named_people_pending(sim)
    card = await say(router, sim, "eddie", "pending approvals")

    opened = await click(router, sim, "eddie", card, "Open")

    assert "Pending approval" in text_of(opened) and "Approve" in text_of(opened)


async def test_user_depth_readers_see_only_their_own(router: Router, sim: RunningSim) -> None:
    """Alice reads Mailbox at user depth only (Read-only User): her own row, nobody else's."""
    card = await say(router, sim, "alice", "pending approvals")

    text = text_of(card)
    assert "Alice Anders" in text
    assert "Una User" not in text and "Support" not in text
    [read] = _list_reads(sim)
    assert read["caller_object_id"] == sim.person("alice").object_id


async def test_failing_mailboxes(router: Router, sim: RunningSim) -> None:
    """A failed status in any direction, or a direction disabled for processing; not a
    mailbox in the middle of a sync, nor a switch of a direction not synced server-side."""
    set_row(sim, "mailboxes", sim.person("bob").mailbox.id, outgoingemailstatus=2)
    set_row(sim, "mailboxes", sim.person("gina").mailbox.id, enabledforact=False)
    dana = sim.person("dana").mailbox.id
    sim.thread.call(lambda: sim.sim.state.process_mailbox(dana, "CRM-ASYNC-07"))
    set_row(sim, "mailboxes", sim.person("sam").mailbox.id, actdeliverymethod=2)
    set_row(sim, "mailboxes", sim.person("sam").mailbox.id, enabledforact=False)

    card = await say(router, sim, "eddie", "failing mailboxes")

    check_card(card)
    text = text_of(card)
    assert "Failing mailboxes" in text
    assert "Bob Brown" in text and "Gina Global" in text
    assert "Eddie Exchange" not in text and "Alice Anders" not in text
    assert "Dana Delegate" not in text and "Sam Sysadmin" not in text
    [read] = _list_reads(sim)
    assert "processingstatecode" not in read["query"]


async def test_nothing_failing_says_so(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "una", "failing mailboxes")  # una sees her own only

    assert "No mailbox is failing." in text_of(card)


async def test_failing_mailboxes_in_indonesian(router: Router, sim: RunningSim) -> None:
    set_row(sim, "mailboxes", sim.person("bob").mailbox.id, mailboxstatus=2)

    card = await say(router, sim, "eddie", "kotak pesan yang gagal", locale="id-ID")

    assert "Kotak pesan yang gagal" in text_of(card) and "Bob Brown" in text_of(card)


async def test_health_summary_buttons_open_the_lists(router: Router, sim: RunningSim) -> None:
    """The health summary's "Show …" buttons (cards/health.py) are answered here."""
    set_row(sim, "mailboxes", sim.person("bob").mailbox.id, mailboxstatus=2)
    summary = health_summary(
        translator("en-US"),
        {HealthState.FAILING: 1, HealthState.PENDING_APPROVAL: 4},
        environment="prod",
    )
    router.signer.sign(summary, turn_for(sim, "eddie").conversation.id)

    failing = await click(router, sim, "eddie", summary, "Show failing mailboxes")
    pending = await click(router, sim, "eddie", summary, "Show pending approvals")

    assert "Failing mailboxes" in text_of(failing) and "Bob Brown" in text_of(failing)
    assert "Pending approvals" in text_of(pending) and "Alice Anders" in text_of(pending)


async def test_denied_without_mailbox_read(router: Router, sim: RunningSim) -> None:
    """No Mailbox Read at any depth: the list is refused before it is read."""
    _strip_roles(sim, "alice")

    card = await say(router, sim, "alice", "pending approvals")

    check_card(card)
    assert "You can't do this" in text_of(card) and "View mailboxes and alerts" in text_of(card)
    assert _list_reads(sim) == []


async def test_throttled_list_says_when_to_retry(router: Router, sim: RunningSim) -> None:
    sim.fault(r"^GET /api/data/v9\.2/mailboxes", 429, retry_after=3600, times=10)

    card = await say(router, sim, "eddie", "failing mailboxes")

    check_card(card)
    assert "Dataverse is busy" in text_of(card)


async def test_unavailable_list_is_an_error_card(router: Router, sim: RunningSim) -> None:
    sim.fault(r"^GET /api/data/v9\.2/mailboxes", 503, times=10)

    card = await say(router, sim, "eddie", "pending approvals")

    check_card(card)
    assert "Dataverse is not available" in text_of(card)
