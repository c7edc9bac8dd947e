"""Mailbox commands through the router, against the sim: parse → permit → act → card."""

from __future__ import annotations

from dialogs.router import Router
from tests.cards.checks import walk
from tests.dataverse.opskit import set_row
from tests.dialogs.kit import click, say, text_of
from tests.simharness import RunningSim


def _mailbox(sim: RunningSim, name: str) -> dict[str, object]:
    mailbox_id = sim.person(name).mailbox.id
    return next(m for m in sim.state()["mailboxes"] if m["mailboxid"] == mailbox_id)


async def test_exchange_admin_approves_alice(router: Router, sim: RunningSim) -> None:
    """Seed table, online + Exchange Online: Exchange admin + System admin → Yes."""
    card = await say(router, sim, "eddie", "approve mailbox for alice")
    assert "Done" in text_of(card)
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 1
    patches = [r for r in sim.requests() if r["method"] in ("PATCH", "POST")]
    assert all(r["caller_object_id"] == sim.person("eddie").object_id for r in patches)


async def test_system_admin_alone_is_denied_with_the_rule(router: Router, sim: RunningSim) -> None:
    """Seed table, online + Exchange Online: System admin alone → No; nothing is written."""
    card = await say(router, sim, "sam", "approve mailbox for alice")
    text = text_of(card)
    assert "Request approval" in text
    assert "System admin alone" in text
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 2
    assert not [r for r in sim.requests() if r["method"] in ("PATCH", "POST")]


async def test_indonesian_request_gets_an_indonesian_card(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "setujui kotak pesan alice", locale="id-ID")
    assert "Selesai" in text_of(card)  # "Done" in Indonesian
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 1


async def test_test_mailbox_bob_shows_the_failure_alert(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "test mailbox bob")
    assert "Authentication failure" in text_of(card)


async def test_status_reads_the_mailbox_and_its_alerts_in_one_round_trip(
    router: Router, sim: RunningSim
) -> None:
    """The latest alerts come expanded with the mailbox row (`tracelog_Mailbox`, reference
    §5.3), not from a second query sent after the name is resolved."""
    await say(router, sim, "eddie", "test mailbox bob")  # an alert; the caller's facts
    before = len(sim.requests())

    card = await say(router, sim, "eddie", "status of bob")

    reads = [
        r for r in sim.requests()[before:] if r["path"].endswith(("/mailboxes", "/tracelogs"))
    ]
    assert [r["path"].rsplit("/", 1)[-1] for r in reads] == ["mailboxes"]
    assert "$expand=tracelog_Mailbox(" in reads[0]["query"]
    assert "Authentication failure" in text_of(card)


async def test_tampered_click_is_refused(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "status of alice")
    action_card = dict(card)
    forged = await click(
        router, sim, "eddie", action_card, "Approve", mailboxId=sim.person("bob").mailbox.id
    )
    assert "out of date" in text_of(forged)
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 2


async def test_a_prefix_alone_asks_before_acting(router: Router, sim: RunningSim) -> None:
    """A name that only starts another ("a") gets a choice card, and nothing is written."""
    card = await say(router, sim, "eddie", "approve al")
    assert "Alice Anders" in text_of(card)
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 2
    picked = await click(router, sim, "eddie", card, "Choose")
    assert "Done" in text_of(picked)
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 1


async def test_unknown_environment_offers_the_known_ones(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "approve alice in staging")
    assert "approve alice in prod" in text_of(card)
    assert _mailbox(sim, "alice")["emailrouteraccessapproval"] == 2


def _facts(card: dict[str, object]) -> dict[str, str]:
    return {f["title"]: f["value"] for n in walk(card) for f in n.get("facts", [])}


async def test_status_of_a_mailbox_mid_sync_names_its_host(
    router: Router, sim: RunningSim
) -> None:
    """Issue 13: `processingstatecode` 1 with `hostid` is an async host processing the mailbox
    right now (reference §1.1; mailbox.md `hostid`), not a disabled mailbox."""
    bob = sim.person("bob").mailbox.id
    sim.thread.call(lambda: sim.sim.state.process_mailbox(bob, "CRM-ASYNC-07"))

    card = await say(router, sim, "eddie", "status of bob")

    assert _facts(card)["Email processing"] == "Being synchronized by CRM-ASYNC-07"


async def test_status_of_a_stopped_mailbox_says_disabled(router: Router, sim: RunningSim) -> None:
    """The documented signal: a direction synced through server-side sync switched off
    (mailbox.md `enabledforoutgoingemail`), whatever host holds the mailbox."""
    bob = sim.person("bob").mailbox.id
    sim.thread.call(lambda: sim.sim.state.process_mailbox(bob, "CRM-ASYNC-07"))
    set_row(sim, "mailboxes", bob, enabledforoutgoingemail=False)

    card = await say(router, sim, "eddie", "status of bob")

    assert _facts(card)["Email processing"] == "Disabled"
