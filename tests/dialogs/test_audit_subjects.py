"""`audit for X` through the router against the sim, whatever X names: a server profile, a
person (their mailbox and the role changes made to them), the organization's email settings
(by keyword, in English and Indonesian); a name that fits a person and a profile asks which,
a name that fits nothing gets "did you mean", and the log stays closed to those who may not
read it."""

from __future__ import annotations

from typing import Any, Final

import pytest

from cards import verbs
from dialogs.router import Router
from dialogs.turn import Card
from store import Store
from tests.cards.checks import check_card, walk
from tests.dialogs.kit import ONPREM, text_of
from tests.dialogs.routing_kit import press, say, turn_of
from tests.simharness import RunningSim

ONPREM_NAME: Final = "Contoso Exchange (on-premises)"


def _subject(card: Card) -> str:
    """The subtitle under the card's title: what the entries were searched for."""
    subtitle: str = card["body"][0]["items"][1]["text"]
    return subtitle


async def _audit(
    routed: Router, sim: RunningSim, text: str, *, locale: str = "en-US", caller: str = "gina"
) -> Card:
    turn = turn_of(sim, caller, text, locale=locale)
    await routed.on_message(turn)
    (card,) = turn.replies
    check_card(card)
    return card


def _chooser(card: Card, candidate: str) -> dict[str, Any]:
    """The data of the "Choose" button of one candidate (by its record id)."""
    (data,) = (
        node["data"]
        for node in walk(card)
        if node.get("type") == "Action.Execute"
        and node.get("data", {}).get(verbs.CANDIDATE_ID) == candidate
    )
    return dict(data)


def _profile_id(sim: RunningSim, name: str) -> str:
    key: str = next(
        p["emailserverprofileid"] for p in sim.state()["emailserverprofiles"] if p["name"] == name
    )
    return key


# ---- server profiles --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["contoso", f'"{ONPREM_NAME}"', ONPREM])
async def test_audit_for_a_profile_shows_its_changes(
    routed: Router, sim: RunningSim, store: Store, name: str
) -> None:
    """By a unique prefix, its full name or its id."""
    await say(routed, sim, store, "eddie", f'point profile "{ONPREM_NAME}" to china')
    await say(routed, sim, store, "eddie", "approve mailbox for alice")

    card = await _audit(routed, sim, f"audit for {name}")
    assert _subject(card) == f"Email server profile: {ONPREM_NAME}"
    shown = text_of(card)
    assert f"Change email server profile · Email server profile: {ONPREM_NAME}" in shown
    assert "Alice Anders" not in shown


async def test_a_profile_keeps_the_entries_from_before_it_existed(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    """A refused creation names the profile by the name asked for; once it exists, its
    entries are found under that name as well as under its id."""
    await say(routed, sim, store, "una", "create exchange online profile Contoso EXO")
    await say(routed, sim, store, "eddie", "create exchange online profile Contoso EXO")

    card = await _audit(routed, sim, "audit for Contoso EXO")
    assert _subject(card) == "Email server profile: Contoso EXO"
    shown = text_of(card)
    assert shown.count("Create email server profile · Email server profile: Contoso EXO") == 2
    assert "Una User" in shown and "Denied" in shown
    assert "Profile name: Not set → Contoso EXO" in shown


async def test_a_profile_never_created_is_found_in_the_log(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "create profile Fabrikam cross tenant")
    card = await _audit(routed, sim, "audit for Fabrikam")
    assert _subject(card) == "Email server profile: Fabrikam"
    assert "profile/cross-tenant-in-chat" in text_of(card)


# ---- people -----------------------------------------------------------------------------


async def test_audit_for_a_person_shows_their_mailbox_and_their_roles(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "make sam a delegated approver")
    await say(routed, sim, store, "eddie", "set outgoing email for sam to outlook")
    await say(routed, sim, store, "eddie", "make tess a delegated approver")

    card = await _audit(routed, sim, "audit for sam")
    assert _subject(card) == "Sam Sysadmin"
    shown = text_of(card)
    assert "Assign the Delegated Mailbox Approver role · User: Sam Sysadmin" in shown
    assert "Delegated Mailbox Approver role: No → Yes" in shown
    assert (
        "Outgoing email: Server-side synchronization → Microsoft Dynamics 365 for Outlook"
    ) in shown
    assert "Tess Teamadmin" not in shown


async def test_a_role_taken_away_is_shown_for_the_person(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "remove dana as delegated approver")
    shown = text_of(await _audit(routed, sim, "audit for dana@contoso.com"))
    assert "Remove the Delegated Mailbox Approver role · User: Dana Delegate" in shown


async def test_a_name_of_a_person_and_a_profile_asks_which(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "create exchange online profile Alice Anders")
    await say(routed, sim, store, "eddie", "approve mailbox for alice")
    choice = await _audit(routed, sim, "audit for Alice Anders")
    shown = text_of(choice)
    assert "Which one did you mean?" in shown
    assert "alice@contoso.com" in shown and "Email server profile" in shown

    profile = await press(
        routed,
        sim,
        store,
        "gina",
        choice,
        "Choose",
        data=_chooser(choice, _profile_id(sim, "Alice Anders")),
    )
    assert isinstance(profile, dict)
    assert _subject(profile) == "Email server profile: Alice Anders"
    assert "Create email server profile" in text_of(profile)
    assert "Approve email" not in text_of(profile)

    mailbox = str(sim.person("alice").mailbox.id)
    person = await press(
        routed, sim, store, "gina", choice, "Choose", data=_chooser(choice, mailbox)
    )
    assert isinstance(person, dict)
    assert _subject(person) == "Alice Anders"
    assert "Approve email · Alice Anders" in text_of(person)
    assert "Create email server profile" not in text_of(person)


# ---- the organization ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["audit for organization", "audit for org settings", "audit org last 5"]
)
async def test_audit_for_the_organization(
    routed: Router, sim: RunningSim, store: Store, text: str
) -> None:
    await say(routed, sim, store, "eddie", "turn off approval for users")
    await say(routed, sim, store, "eddie", "approve mailbox for alice")
    await say(routed, sim, store, "eddie", f'point profile "{ONPREM_NAME}" to china')

    card = await _audit(routed, sim, text)
    assert _subject(card) == "Organization: Contoso (prod)"
    shown = text_of(card)
    assert "Turn off the approval requirement · Organization: Contoso (prod)" in shown
    assert "Process emails only for approved users: Yes → No" in shown
    assert "Alice Anders" not in shown
    assert "Change email server profile" not in shown


# ---- Indonesian -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "subject", "expected"),
    [
        (
            "audit untuk organisasi",
            "Organisasi: Contoso (prod)",
            "Proses email hanya untuk pengguna yang disetujui: Ya → Tidak",
        ),
        (
            "tampilkan log audit pengaturan email organisasi",
            "Organisasi: Contoso (prod)",
            "Proses email hanya untuk pengguna yang disetujui: Ya → Tidak",
        ),
        (
            "audit untuk sam",
            "Sam Sysadmin",
            "Peran Pemberi Persetujuan Kotak Pesan Terdelegasi: Tidak → Ya",
        ),
        ("audit untuk contoso", f"Profil server email: {ONPREM_NAME}", "Profil server email"),
    ],
)
async def test_audit_for_in_indonesian(
    routed: Router, sim: RunningSim, store: Store, text: str, subject: str, expected: str
) -> None:
    await say(routed, sim, store, "eddie", "turn off approval for users")
    await say(routed, sim, store, "eddie", "make sam a delegated approver")
    await say(routed, sim, store, "eddie", f'point profile "{ONPREM_NAME}" to china')

    card = await _audit(routed, sim, text, locale="id-ID")
    assert _subject(card) == subject
    assert expected in text_of(card)


# ---- nothing, and who may not ----------------------------------------------------------------


async def test_an_unknown_name_gets_did_you_mean(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "approve mailbox for alice")
    for text, suggestion in [
        ("audit for zzqx", None),
        ("audit for Microsft Exchange Online", "audit for Microsoft Exchange Online"),
    ]:
        shown = text_of(await _audit(routed, sim, text))
        assert "I didn't understand that" in shown
        assert "Audit log" not in shown and "Approve email" not in shown
        if suggestion:
            assert suggestion in shown


@pytest.mark.parametrize("text", ["audit for organization", "audit for contoso", "audit for sam"])
async def test_a_caller_who_may_not_read_the_log_is_refused(
    routed: Router, sim: RunningSim, store: Store, text: str
) -> None:
    await say(routed, sim, store, "eddie", "turn off approval for users")
    await say(routed, sim, store, "eddie", "make sam a delegated approver")
    await say(routed, sim, store, "eddie", f'point profile "{ONPREM_NAME}" to china')
    shown = text_of(await _audit(routed, sim, text, caller="una"))
    assert "You can't read the audit log" in shown
    assert "Eddie Exchange" not in shown
