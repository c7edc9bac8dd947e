"""Mailbox settings through the router, against the sim: apply the default email settings,
delivery methods, server profile, and "sync from this org only" (the seed's "Konfigurasikan
kotak pesan" and its tip on "Sinkronisasikan item dengan Exchange hanya dari organisasi ini";
reference/dataverse.md §1.1, §1.2, §3)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from dialogs.router import Router
from tests.cards.checks import check_card
from tests.dataverse.opskit import patches_of, set_row
from tests.dialogs.kit import ONPREM, click, say, text_of
from tests.simharness import RunningSim

ONLINE = "e5000000-0000-4000-8000-000000000001"  # "Microsoft Exchange Online", the default
ORG = "0a000000-0000-4000-8000-000000000001"
BATCH = r"^POST /api/data/v9\.2/\$batch"


def _mailbox(sim: RunningSim, name: str) -> dict[str, Any]:
    mailbox_id = sim.person(name).mailbox.id
    found: dict[str, Any] = next(
        m for m in sim.state()["mailboxes"] if m["mailboxid"] == mailbox_id
    )
    return found


_WRITE_PART = re.compile(r"^(PATCH|POST|DELETE|PUT) ", re.M)


def _writes(sim: RunningSim) -> list[dict[str, Any]]:
    """Requests that write: a `$batch` carrying a PATCH, POST or DELETE (the operations write
    through it) and any direct write on the Web API. Reads in a `$batch` are left out."""
    found = []
    for r in sim.requests():
        if not r["path"].startswith("/api/data/") or r["method"] == "GET":
            continue
        if r["path"].endswith("$batch") and not _WRITE_PART.search(str(r["body"])):
            continue
        found.append(r)
    return found


def _patch_bodies(sim: RunningSim, name: str) -> list[dict[str, Any]]:
    """The JSON of every PATCH of `name`'s mailbox that went out inside a `$batch`."""
    marker = f"PATCH {sim.origin}/api/data/v9.2/mailboxes({sim.person(name).mailbox.id})"
    bodies = []
    for request in _writes(sim):
        text = str(request["body"])
        if marker in text:
            part = text[text.index(marker) :]
            bodies.append(json.loads(part[part.index("{") : part.index("}") + 1]))
    return bodies


def _snapshot(sim: RunningSim) -> list[dict[str, Any]]:
    return sorted(sim.state()["mailboxes"], key=lambda m: str(m["mailboxid"]))


@dataclass(frozen=True)
class Form:
    """One command of the family: its request for a mailbox name, and what it writes."""

    request: str  # "{}" stands for the mailbox names
    column: str
    value: Any

    def text(self, names: str) -> str:
        return self.request.format(names)


FORMS = {
    "apply-defaults": Form("apply default settings to {}", "_emailserverprofile_value", ONLINE),
    "delivery": Form("set outgoing email for {} to outlook", "outgoingemaildeliverymethod", 1),
    "profile": Form(
        'use profile "Contoso Exchange (on-premises)" for {}', "_emailserverprofile_value", ONPREM
    ),
    "org-only": Form("sync {} from this org only", "orgmarkedasprimaryforexchangesync", True),
}
ALL_FORMS = pytest.mark.parametrize("form", FORMS.values(), ids=list(FORMS))


# ---- one mailbox ---------------------------------------------------------------------------


async def test_apply_default_settings_sets_profile_methods_and_tests(
    router: Router, sim: RunningSim
) -> None:
    """Seed "Terapkan pengaturan E-mail Default": the default profile and the delivery methods
    of `defaultemailsettings` (§3), and "secara default … akan diuji" (a Test & Enable)."""
    card = await say(router, sim, "eddie", "apply default settings to otto")

    check_card(card)
    assert "Done" in text_of(card) and "Otto Onprem" in text_of(card)
    assert _mailbox(sim, "otto")["_emailserverprofile_value"] == ONLINE
    assert _patch_bodies(sim, "otto") == [
        {
            "emailserverprofile@odata.bind": f"/emailserverprofiles({ONLINE})",
            "incomingemaildeliverymethod": 2,
            "outgoingemaildeliverymethod": 2,
            "actdeliverymethod": 1,
            "testemailconfigurationscheduled": True,
        }
    ]
    eddie = sim.person("eddie").object_id
    assert [w["caller_object_id"] for w in _writes(sim)] == [eddie]


async def test_set_a_delivery_method(router: Router, sim: RunningSim) -> None:
    """§1.2: outgoing "Microsoft Dynamics 365 for Outlook" is 1; only that column is sent."""
    card = await say(router, sim, "eddie", "set outgoing email for alice to outlook")

    assert "Done" in text_of(card)
    assert _mailbox(sim, "alice")["outgoingemaildeliverymethod"] == 1
    assert _patch_bodies(sim, "alice") == [{"outgoingemaildeliverymethod": 1}]
    assert {w["caller_object_id"] for w in _writes(sim)} == {sim.person("eddie").object_id}


async def test_act_uses_its_own_option_values(router: Router, sim: RunningSim) -> None:
    """§1.2: for appointments, contacts and tasks, Outlook is 0 (the order differs)."""
    await say(router, sim, "eddie", "set appointments, contacts and tasks for bob to outlook")

    assert _mailbox(sim, "bob")["actdeliverymethod"] == 0
    assert _patch_bodies(sim, "bob") == [{"actdeliverymethod": 0}]


async def test_the_same_method_again_changes_nothing(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "set incoming email for alice to server-side sync")

    assert "Nothing changed" in text_of(card) and "already has this value" in text_of(card)
    assert patches_of(sim, sim.person("alice").mailbox.id) == []


async def test_a_person_may_change_their_own_mailbox(router: Router, sim: RunningSim) -> None:
    """Mailbox Read and Write at user depth reach one's own mailbox (Basic User)."""
    card = await say(router, sim, "una", "set outgoing email for una to none")

    assert "Done" in text_of(card)
    assert _mailbox(sim, "una")["outgoingemaildeliverymethod"] == 0
    assert {w["caller_object_id"] for w in _writes(sim)} == {sim.person("una").object_id}


async def test_use_a_profile(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", FORMS["profile"].text("alice"))

    assert "Done" in text_of(card)
    assert _mailbox(sim, "alice")["_emailserverprofile_value"] == ONPREM
    assert _patch_bodies(sim, "alice") == [
        {"emailserverprofile@odata.bind": f"/emailserverprofiles({ONPREM})"}
    ]


async def test_an_unknown_profile_is_not_guessed(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "use profile Microsoft Exchange Onlnie for alice")

    assert "Did you mean" in text_of(card) and "Microsoft Exchange Online" in text_of(card)
    assert _writes(sim) == []


async def test_sync_from_this_org_only_and_back(router: Router, sim: RunningSim) -> None:
    """The admin checkbox "Sync items with Exchange from this org only" (§1.1 note)."""
    on = await say(router, sim, "eddie", "sync alice from this org only")
    assert "Done" in text_of(on)
    assert _mailbox(sim, "alice")["orgmarkedasprimaryforexchangesync"] is True

    off = await say(router, sim, "eddie", "don't sync alice from this org only")
    assert "Done" in text_of(off)
    assert _mailbox(sim, "alice")["orgmarkedasprimaryforexchangesync"] is False


async def test_indonesian_request_gets_an_indonesian_result(
    router: Router, sim: RunningSim
) -> None:
    card = await say(
        router, sim, "eddie", "sinkronkan alice hanya dari organisasi ini", locale="id-ID"
    )

    assert "Selesai" in text_of(card)
    assert _mailbox(sim, "alice")["orgmarkedasprimaryforexchangesync"] is True


# ---- denied, not found, ambiguous ----------------------------------------------------------


@ALL_FORMS
async def test_denied_without_mailbox_write(router: Router, sim: RunningSim, form: Form) -> None:
    """Alice reads and writes nothing but her own mailbox (Read-only User): someone else's
    mailbox needs Mailbox Read and Write at business-unit depth; nothing is sent."""
    before = _snapshot(sim)

    card = await say(router, sim, "alice", form.text("bob"))

    check_card(card)
    text = text_of(card)
    assert "You can't do this" in text
    assert "Mailbox Read and Write, business unit or wider" in text
    assert "Request approval" not in text  # only approvals are routed
    assert _writes(sim) == []
    assert _snapshot(sim) == before


@ALL_FORMS
async def test_nothing_matches(router: Router, sim: RunningSim, form: Form) -> None:
    card = await say(router, sim, "eddie", form.text("zqxwv"))

    assert "I didn't understand that" in text_of(card)
    assert _writes(sim) == []


@ALL_FORMS
async def test_a_prefix_asks_which_one(router: Router, sim: RunningSim, form: Form) -> None:
    """ "O" starts Otto's and Olga's names: a choice, then the pick runs on that mailbox."""
    card = await say(router, sim, "eddie", form.text("O"))

    assert "Otto Onprem" in text_of(card) and "Olga Onprem" in text_of(card)
    assert _writes(sim) == []

    picked = await click(router, sim, "eddie", card, "Choose")

    text = text_of(picked)
    assert "Otto Onprem" in text or "Olga Onprem" in text
    assert "Done" in text or "Nothing changed" in text  # Otto is on that profile already


# ---- Dataverse failures --------------------------------------------------------------------


@ALL_FORMS
async def test_throttled_write_is_a_clear_failure(
    router: Router, sim: RunningSim, form: Form
) -> None:
    """§6.3: a 429 whose Retry-After passes the turn's budget is not waited for."""
    sim.fault(BATCH, 429, retry_after=3600, times=10)
    before = _snapshot(sim)

    card = await say(router, sim, "eddie", form.text("alice"))

    text = text_of(card)
    assert "Failed" in text and "Dataverse was busy" in text
    assert _snapshot(sim) == before


@ALL_FORMS
async def test_unavailable_write_is_a_clear_failure(
    router: Router, sim: RunningSim, form: Form
) -> None:
    """A 503 on the write: the ETag-guarded write is repeated once, then reported failed."""
    sim.fault(BATCH, 503, times=10)
    before = _snapshot(sim)

    card = await say(router, sim, "eddie", form.text("alice"))

    check_card(card)
    assert "Failed" in text_of(card)
    assert _snapshot(sim) == before


async def test_unavailable_write_names_the_cause(router: Router, sim: RunningSim) -> None:
    sim.fault(BATCH, 503, times=10)

    card = await say(router, sim, "eddie", "sync alice from this org only")

    assert "Dataverse did not answer" in text_of(card)


@ALL_FORMS
async def test_unavailable_reads_are_an_error_card(
    router: Router, sim: RunningSim, form: Form
) -> None:
    sim.fault(r"^GET /api/data/v9\.2/mailboxes", 503, times=10)

    card = await say(router, sim, "eddie", form.text("alice"))

    check_card(card)
    assert "Dataverse is not available" in text_of(card)
    assert _writes(sim) == []


async def test_throttled_reads_say_when_to_retry(router: Router, sim: RunningSim) -> None:
    sim.fault(r"^GET /api/data/v9\.2/mailboxes", 429, retry_after=3600, times=10)

    card = await say(router, sim, "eddie", "sync alice from this org only")

    assert "Dataverse is busy" in text_of(card) and "3600" in text_of(card).replace(",", "")
    assert _writes(sim) == []


async def test_no_default_profile_means_nothing_is_applied(
    router: Router, sim: RunningSim
) -> None:
    """§3: without `defaultemailserverprofileid` there is no default to apply."""
    set_row(sim, "organizations", ORG, _defaultemailserverprofileid_value=None)

    card = await say(router, sim, "eddie", "apply default settings to otto")

    assert "Error" in text_of(card)
    assert _writes(sim) == []


# ---- several mailboxes: preview, confirm ---------------------------------------------------


async def test_bulk_defaults_preview_then_confirm(router: Router, sim: RunningSim) -> None:
    """Several mailboxes: current → new per mailbox first; nothing runs before Confirm."""
    preview = await say(router, sim, "eddie", "apply default settings to otto and olga")

    check_card(preview)
    text = text_of(preview)
    assert "2 mailboxes will change" in text
    assert "Contoso Exchange (on-premises)" in text and "Microsoft Exchange Online" in text
    assert _writes(sim) == []

    result = await click(router, sim, "eddie", preview, "Confirm")

    assert "Done" in text_of(result) and "Succeeded" in text_of(result)
    for name in ("otto", "olga"):
        assert _mailbox(sim, name)["_emailserverprofile_value"] == ONLINE
    eddie = sim.person("eddie").object_id
    assert {w["caller_object_id"] for w in _writes(sim)} == {eddie}


@ALL_FORMS
async def test_bulk_skips_a_mailbox_changed_after_the_preview(
    router: Router, sim: RunningSim, form: Form
) -> None:
    preview = await say(router, sim, "eddie", form.text("alice and una"))
    assert "2 mailboxes will change" in text_of(preview)
    set_row(sim, "mailboxes", sim.person("una").mailbox.id, name="Una (renamed)")

    result = await click(router, sim, "eddie", preview, "Confirm")

    text = text_of(result)
    assert "It changed since the preview" in text and "Finished" not in text
    assert _mailbox(sim, "alice")[form.column] == form.value
    assert patches_of(sim, sim.person("una").mailbox.id) == []


async def test_bulk_leaves_out_mailboxes_already_set(router: Router, sim: RunningSim) -> None:
    preview = await say(router, sim, "eddie", "set incoming email for alice and bob to none")
    assert "2 mailboxes will change" in text_of(preview)

    again = await say(
        router, sim, "eddie", "set incoming email for alice and bob to server-side sync"
    )

    assert "0 mailboxes will change" in text_of(again)
    assert "2 more already have these values" in text_of(again)


async def test_bulk_is_denied_when_one_mailbox_is_out_of_reach(
    router: Router, sim: RunningSim
) -> None:
    """Una may change her own mailbox, not Bob's: the whole request is refused up front."""
    card = await say(router, sim, "una", "sync una and bob from this org only")

    assert "You can't do this" in text_of(card) and "Bob Brown" in text_of(card)
    assert _writes(sim) == []


async def test_bulk_confirm_is_for_the_asker_only(router: Router, sim: RunningSim) -> None:
    preview = await say(router, sim, "eddie", "sync alice and bob from this org only")

    stolen = await click(router, sim, "sam", preview, "Confirm")

    assert "out of date" in text_of(stolen)
    assert _writes(sim) == []


async def test_bulk_write_failure_is_per_item(router: Router, sim: RunningSim) -> None:
    preview = await say(router, sim, "eddie", "sync alice and bob from this org only")
    sim.fault(BATCH, 200, times=1)  # the confirm's re-read goes through
    sim.fault(BATCH, 503, times=10)  # the write does not

    result = await click(router, sim, "eddie", preview, "Confirm")

    text = text_of(result)
    assert "Failed" in text and "Succeeded" in text
    assert _mailbox(sim, "alice")["orgmarkedasprimaryforexchangesync"] is False
    assert _mailbox(sim, "bob")["orgmarkedasprimaryforexchangesync"] is False
