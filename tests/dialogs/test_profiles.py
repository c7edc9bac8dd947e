"""Server profile commands through the router, against the sim: parse → permit → act → card.

Seed: "Membuat profil server email untuk Exchange Online", "Pastikan Anda memiliki profil
Microsoft Exchange Online", "Menguji konfigurasi email untuk semua kotak pesan yang dikaitkan
dengan profil server email", "Mengaktifkan fungsi sinkronisasi sisi server untuk Exchange
Online di Tiongkok"; reference/dataverse.md §2 (profiles, the default profile), §5.1
(Test & Enable), §6.3 (429), §8 (privileges).
"""

from __future__ import annotations

import re
from typing import Any, Final

import pytest

from dataverse import DataverseClient, ops
from dialogs.router import Router
from tests.cards.checks import check_card
from tests.dialogs.kit import CHINA_EWS, EXO, ONPREM, click, say, text_of
from tests.simharness import FAST_RETRY, RunningSim
from tests.waits import Backoff, RecordedWaits

OTTO: Final = "3b000000-0000-4000-8000-00000000000c"
OLGA: Final = "3b000000-0000-4000-8000-00000000000d"
TEST_ONPREM: Final = 'test all mailboxes in profile "Contoso Exchange (on-premises)"'


def _rows(sim: RunningSim, entity_set: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = sim.state()[entity_set]
    return rows


def _row(sim: RunningSim, entity_set: str, key: str, column: str) -> dict[str, Any]:
    return next(r for r in _rows(sim, entity_set) if r[column] == key)


def _org(sim: RunningSim) -> dict[str, Any]:
    return _rows(sim, "organizations")[0]


def _writes(sim: RunningSim) -> list[dict[str, Any]]:
    """Requests that asked the Web API to change something (a $batch counts when it holds a
    write), whatever the answer."""
    out = []
    for r in sim.requests():
        if not r["path"].startswith("/api/data/") or r["method"] == "GET":
            continue
        if r["path"].endswith("$batch") and not re.search(
            r"^(PATCH|POST|DELETE) ", str(r["body"]), re.MULTILINE
        ):
            continue
        out.append(r)
    return out


def _applied(sim: RunningSim) -> list[dict[str, Any]]:
    return [r for r in _writes(sim) if r["status"] < 300]


def _by(sim: RunningSim, name: str) -> str:
    object_id: str = sim.person(name).object_id
    return object_id


async def _ask(router: Router, sim: RunningSim, name: str, text: str, **kw: Any) -> str:
    card = await say(router, sim, name, text, **kw)
    check_card(card)
    return text_of(card)


# ---- test all mailboxes in profile P ------------------------------------------------------


async def test_profile_test_previews_then_schedules_each_mailbox(
    router: Router, sim: RunningSim
) -> None:
    """Seed "Menguji konfigurasi email untuk semua kotak pesan …": Test & Enable on a profile
    tests every mailbox of it. Touching many mailboxes, it is a preview first (how many and
    which), and the tests are scheduled, not waited for, after Confirm (reference §5.1)."""
    preview = await say(router, sim, "eddie", TEST_ONPREM)
    check_card(preview)
    shown = text_of(preview)
    assert "2 mailboxes will change." in shown
    assert "Otto Onprem" in shown and "Olga Onprem" in shown
    assert not _writes(sim)

    done = await click(router, sim, "eddie", preview, "Confirm")
    assert isinstance(done, dict)
    check_card(done)
    result = text_of(done)
    assert "Done" in result and "Otto Onprem" in result and "Olga Onprem" in result
    writes = _applied(sim)
    assert writes and all(w["caller_object_id"] == _by(sim, "eddie") for w in writes)
    for mailbox_id in (OTTO, OLGA):
        row = _row(sim, "mailboxes", mailbox_id, "mailboxid")
        # Scheduled, or already run by the sim's background job (300 ms later).
        assert row["testemailconfigurationscheduled"] or row["testmailboxaccesscompletedon"]
        assert any(mailbox_id in str(w["body"]) for w in writes)


async def test_profile_test_preview_of_a_big_profile_counts_every_mailbox(
    router: Router, sim: RunningSim
) -> None:
    """The automatically created "Microsoft Exchange Online" profile holds the fixture's
    generated users too: the preview says how many, lists the first ones, and writes nothing."""
    expected = [
        m
        for m in _rows(sim, "mailboxes")
        if m["_emailserverprofile_value"] == EXO and m["statecode"] == 0
    ]
    shown = await _ask(
        router, sim, "eddie", "test all mailboxes in profile Microsoft Exchange Online"
    )
    assert f"{len(expected)} mailboxes will change." in shown
    assert "… and" in shown  # the card lists the first ones and counts the rest
    assert not _writes(sim)


async def test_profile_test_of_a_profile_without_mailboxes(
    router: Router, sim: RunningSim, dv: DataverseClient
) -> None:
    await ops.create_exchange_online_profile(dv, "Contoso EXO")
    before = len(_writes(sim))
    shown = await _ask(router, sim, "eddie", "test all mailboxes in profile Contoso EXO")
    assert "No mailbox matches." in shown
    assert len(_writes(sim)) == before


async def test_profile_test_when_every_test_is_queued_already(
    router: Router, sim: RunningSim
) -> None:
    """Reference §5.1: a queued test is not queued again; nothing to confirm."""

    def queue() -> None:
        for key in (OTTO, OLGA):
            sim.sim.state.tables["mailboxes"][key]["testemailconfigurationscheduled"] = True

    sim.thread.call(queue)
    shown = await _ask(router, sim, "eddie", TEST_ONPREM)
    assert "Nothing changed" in shown and "Confirm" not in shown
    assert not _writes(sim)


async def test_profile_test_cancel_changes_nothing(router: Router, sim: RunningSim) -> None:
    preview = await say(router, sim, "eddie", TEST_ONPREM)
    cancelled = await click(router, sim, "eddie", preview, "Cancel")
    assert "Nothing was changed." in text_of(cancelled)
    late = await click(router, sim, "eddie", preview, "Confirm")
    assert "out of date" in text_of(late)
    assert not _writes(sim)
    assert not _row(sim, "mailboxes", OTTO, "mailboxid")["testemailconfigurationscheduled"]


async def test_profile_test_replayed_confirm_runs_once(router: Router, sim: RunningSim) -> None:
    """A replayed click (Teams retries invokes) finds the preview used up: out of date."""
    preview = await say(router, sim, "eddie", TEST_ONPREM)
    first = await click(router, sim, "eddie", preview, "Confirm")
    assert "Done" in text_of(first)
    writes = len(_writes(sim))
    second = await click(router, sim, "eddie", preview, "Confirm")
    assert "out of date" in text_of(second)
    assert len(_writes(sim)) == writes


async def test_profile_test_confirm_by_someone_else_is_refused(
    router: Router, sim: RunningSim
) -> None:
    preview = await say(router, sim, "eddie", TEST_ONPREM)
    stolen = await click(router, sim, "gina", preview, "Confirm")
    assert "out of date" in text_of(stolen)
    assert not _writes(sim)


async def test_profile_test_denied_names_the_rule(router: Router, sim: RunningSim) -> None:
    """Reference §8: Test & Enable writes the mailbox; una's Basic User holds Mailbox Write
    at user depth, which reaches her own mailbox only."""
    shown = await _ask(router, sim, "una", TEST_ONPREM)
    assert "You can't do this: Test & Enable mailbox" in shown
    assert "Mailbox Read and Write, business unit or wider" in shown
    assert "Write Mailbox, at business unit depth or wider" in shown
    assert not _writes(sim)


async def test_profile_test_unknown_profile_suggests_names(
    router: Router, sim: RunningSim
) -> None:
    shown = await _ask(router, sim, "eddie", "test all mailboxes in profile Microsoft Exchange")
    # A unique prefix is enough for a profile: the preview comes straight away.
    assert "mailboxes will change" in shown
    shown = await _ask(router, sim, "eddie", "test all mailboxes in profile Microsfot Exchange")
    assert "I didn't understand that" in shown
    assert "test all mailboxes in profile Microsoft Exchange Online" in shown
    assert not _writes(sim)


async def test_profile_test_prefix_of_two_profiles_asks_which(
    router: Router, sim: RunningSim, dv: DataverseClient
) -> None:
    await ops.create_exchange_online_profile(dv, "Contoso EXO")
    before = len(_writes(sim))
    choice = await say(router, sim, "eddie", "test all mailboxes in profile Contoso")
    shown = text_of(choice)
    assert "Which one did you mean?" in shown
    assert "Contoso EXO" in shown and "Contoso Exchange (on-premises)" in shown
    buttons = re.findall(r'"tooltip": "Choose ([^"]+)"', shown)
    assert "Contoso Exchange (on-premises)" in buttons
    # Picking the on-premises profile runs the original request with its id.
    picked = await _pick(router, sim, "eddie", choice, "Contoso Exchange (on-premises)")
    assert "2 mailboxes will change." in text_of(picked)
    assert len(_writes(sim)) == before


async def _pick(router: Router, sim: RunningSim, name: str, card: Any, label: str) -> Any:
    """Click the "Choose" button of the candidate called `label`."""
    from dialogs.turn import CardAction
    from tests.dialogs.kit import turn_for

    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("tooltip") == f"Choose {label}":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    turn = turn_for(sim, name)
    turn.action = CardAction(found[0]["verb"], dict(found[0]["data"]), "activity-1", True)
    return await router.on_execute(turn)


@pytest.mark.parametrize(
    ("fault", "status", "retry_after", "expected"),
    [
        (r"^GET /api/data/v9\.2/mailboxes", 503, None, "Dataverse is not available"),
        (r"^GET /api/data/v9\.2/mailboxes", 429, 60, "Dataverse is busy"),
    ],
)
async def test_profile_test_dataverse_failure_while_previewing(
    router: Router,
    sim: RunningSim,
    fault: str,
    status: int,
    retry_after: int | None,
    expected: str,
) -> None:
    """Reference §6.3: a 429 whose Retry-After passes the client's budget is not waited for."""
    sim.fault(fault, status, retry_after=retry_after, times=10)
    shown = await _ask(router, sim, "eddie", TEST_ONPREM)
    assert expected in shown
    assert "Reference" in shown
    assert not _writes(sim)


async def test_profile_test_dataverse_failure_after_confirm_is_per_item(
    router: Router, sim: RunningSim
) -> None:
    """The confirmed run reports each mailbox; nothing is scheduled when Dataverse is down."""
    preview = await say(router, sim, "eddie", TEST_ONPREM)
    sim.fault(r"^POST /api/data/v9\.2/\$batch", 503, times=20)
    result = await click(router, sim, "eddie", preview, "Confirm")
    shown = text_of(result)
    assert "Failed" in shown and "Otto Onprem" in shown and "Olga Onprem" in shown
    assert not _applied(sim)
    for mailbox_id in (OTTO, OLGA):
        assert not _row(sim, "mailboxes", mailbox_id, "mailboxid")[
            "testemailconfigurationscheduled"
        ]


# ---- create exchange online profile P -----------------------------------------------------


async def test_create_same_tenant_profile(router: Router, sim: RunningSim) -> None:
    """Seed "Membuat profil server email": Exchange Online, server-to-server authentication
    for the same tenant (reference §2: servertype 0 with credential retrieval 2)."""
    shown = await _ask(router, sim, "eddie", "create exchange online profile Contoso EXO")
    assert "Contoso EXO" in shown
    # Created as Exchange Online, labelled Exchange Online: the service's read-only
    # emailservertypename, never the option label "Exchange Server" of servertype 0.
    assert '"Email server type", "value": "Exchange Online"' in shown
    assert "Exchange Server" not in shown
    assert "Server-to-server authentication" in shown
    assert "The same tenant as this environment" in shown
    assert "Make it the default" in shown
    row = _row(sim, "emailserverprofiles", "Contoso EXO", "name")
    assert row["servertype"] == 0
    assert row["incomingcredentialretrieval"] == row["outgoingcredentialretrieval"] == 2
    assert row["usedefaulttenantid"] is True
    writes = _applied(sim)
    assert [w["method"] for w in writes] == ["POST"]
    assert writes[0]["caller_object_id"] == _by(sim, "eddie")


async def test_created_profile_can_be_made_default_from_its_card(
    router: Router, sim: RunningSim
) -> None:
    """Seed step 5: "Atur sebagai profil default untuk kotak pesan baru"."""
    card = await say(router, sim, "eddie", "create exchange online profile Contoso EXO")
    made = await click(router, sim, "eddie", card, "Make it the default")
    assert isinstance(made, dict)
    check_card(made)
    profile = _row(sim, "emailserverprofiles", "Contoso EXO", "name")
    assert _org(sim)["_defaultemailserverprofileid_value"] == profile["emailserverprofileid"]
    assert '"Default profile for new mailboxes", "value": "Yes"' in text_of(made)


async def test_cross_tenant_profile_is_never_created_from_chat(
    router: Router, sim: RunningSim
) -> None:
    """Seed "Oauth (Cross Tenant)": it needs the other tenant's id, an app's client id and its
    secret. A secret must not travel in a chat message, so the bot says what is needed and
    where to enter it, and creates nothing."""
    shown = await _ask(router, sim, "eddie", "create profile Fabrikam cross tenant")
    assert "never takes secrets in chat" in shown
    assert "tenant id" in shown and "client) id" in shown and "client secret" in shown
    assert "Power Platform admin center" in shown
    assert not any(r["name"] == "Fabrikam" for r in _rows(sim, "emailserverprofiles"))
    assert not _writes(sim)


async def test_cross_tenant_request_is_checked_against_the_model_first(
    router: Router, sim: RunningSim
) -> None:
    shown = await _ask(router, sim, "una", "create exchange online profile Fabrikam oauth")
    assert "Create email server profiles" in shown
    assert "Privilege: Create Email Server Profile" in shown
    assert "secret" not in shown


async def test_create_profile_denied_without_the_privilege(
    router: Router, sim: RunningSim
) -> None:
    """Reference §8: creating a profile needs prvCreateEmailServerProfile."""
    shown = await _ask(router, sim, "gary", "create exchange online profile Contoso EXO")
    assert "You can't do this: Create email server profile" in shown
    assert "Privilege: Create Email Server Profile" in shown
    assert not any(r["name"] == "Contoso EXO" for r in _rows(sim, "emailserverprofiles"))
    assert not _writes(sim)


async def test_create_profile_that_exists_shows_it(router: Router, sim: RunningSim) -> None:
    """Seed "Pastikan Anda memiliki profil Microsoft Exchange Online": the automatically
    created profile is there and is the default; it is shown as it is, nothing is created."""
    shown = await _ask(
        router, sim, "eddie", "create exchange online profile Microsoft Exchange Online"
    )
    assert "Microsoft Exchange Online" in shown
    assert '"Email server type", "value": "Exchange Online"' in shown
    assert '"Server location", "value": "Found automatically (Autodiscover)"' in shown
    assert '"Default profile for new mailboxes", "value": "Yes"' in shown
    assert "Make it the default" not in shown
    assert "Test & Enable all its mailboxes" in shown
    assert not _writes(sim)


async def test_create_profile_that_exists_but_is_not_the_default(
    router: Router, sim: RunningSim
) -> None:
    """Seed: "if there are several profiles, select Microsoft Exchange Online and set it as
    default"; the card offers exactly that for a profile that is not the default."""
    card = await say(
        router, sim, "eddie", 'create exchange online profile "Contoso Exchange (on-premises)"'
    )
    shown = text_of(card)
    assert '"Default profile for new mailboxes", "value": "No"' in shown
    assert '"Mailboxes using it", "value": "2"' in shown
    assert not _writes(sim)
    await click(router, sim, "eddie", card, "Make it the default")
    assert _org(sim)["_defaultemailserverprofileid_value"] == ONPREM


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(503, None, "Dataverse is not available"), (429, 60, "Dataverse is busy")],
)
async def test_create_profile_dataverse_failure(
    router: Router, sim: RunningSim, status: int, retry_after: int | None, expected: str
) -> None:
    sim.fault(
        r"^POST /api/data/v9\.2/emailserverprofiles", status, retry_after=retry_after, times=10
    )
    shown = await _ask(router, sim, "eddie", "create exchange online profile Contoso EXO")
    assert expected in shown
    assert not any(r["name"] == "Contoso EXO" for r in _rows(sim, "emailserverprofiles"))
    assert not _applied(sim)


# ---- make P the default profile -----------------------------------------------------------


async def test_make_profile_the_default(router: Router, sim: RunningSim) -> None:
    """Reference §2: "Set as default profile for new mailboxes" is
    organization.defaultemailserverprofileid."""
    shown = await _ask(
        router, sim, "eddie", 'make "Contoso Exchange (on-premises)" the default profile'
    )
    assert "Contoso Exchange (on-premises)" in shown
    assert '"Default profile for new mailboxes", "value": "Yes"' in shown
    assert '"Mailboxes using it", "value": "2"' in shown
    assert "Make it the default" not in shown
    assert _org(sim)["_defaultemailserverprofileid_value"] == ONPREM
    writes = _applied(sim)
    assert [w["method"] for w in writes] == ["PATCH"]
    assert writes[0]["caller_object_id"] == _by(sim, "eddie")


async def test_profile_card_buttons_test_its_mailboxes(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", 'make "Contoso Exchange (on-premises)" the default')
    preview = await click(router, sim, "eddie", card, "Test & Enable all its mailboxes")
    assert "2 mailboxes will change." in text_of(preview)


async def test_make_default_denied_without_organization_write(
    router: Router, sim: RunningSim
) -> None:
    """Reference §2, §3: the default profile is a column of the organization row."""
    shown = await _ask(router, sim, "una", 'make "Contoso Exchange (on-premises)" the default')
    assert "You can't do this: Set the default server profile" in shown
    assert "Change organization email settings" in shown
    assert "Privilege: Write Organization" in shown
    assert _org(sim)["_defaultemailserverprofileid_value"] == EXO
    assert not _writes(sim)


async def test_make_default_unknown_and_ambiguous_profile(
    router: Router, sim: RunningSim, dv: DataverseClient
) -> None:
    await ops.create_exchange_online_profile(dv, "Contoso EXO")
    shown = await _ask(router, sim, "eddie", "make Fabrikam the default profile")
    assert "I didn't understand that" in shown
    shown = await _ask(router, sim, "eddie", "make Contoso the default profile")
    assert "Which one did you mean?" in shown
    assert _org(sim)["_defaultemailserverprofileid_value"] == EXO
    assert not [w for w in _writes(sim) if "organizations" in w["path"]]


async def test_make_default_by_a_prefix_is_confirmed_first(
    router: Router, sim: RunningSim
) -> None:
    """A unique prefix finds the profile, but changing it unasked needs its full name."""
    choice = await say(router, sim, "eddie", "make Contoso the default profile")
    assert "Which one did you mean?" in text_of(choice)
    assert _org(sim)["_defaultemailserverprofileid_value"] == EXO
    picked = await click(router, sim, "eddie", choice, "Choose")
    assert '"Default profile for new mailboxes", "value": "Yes"' in text_of(picked)
    assert _org(sim)["_defaultemailserverprofileid_value"] == ONPREM


async def test_make_default_forged_button_is_out_of_date(router: Router, sim: RunningSim) -> None:
    card = await say(router, sim, "eddie", "create exchange online profile Contoso EXO")
    forged = await click(router, sim, "eddie", card, "Make it the default", profileId=ONPREM)
    assert "out of date" in text_of(forged)
    assert _org(sim)["_defaultemailserverprofileid_value"] == EXO


@pytest.mark.parametrize(
    ("status", "retry_after", "times", "expected", "waited"),
    [
        # The client honours Retry-After within its budget (tests: 8 retries, 10 s); the
        # 20 refusals outlast it.
        (429, 1, 20, "Dataverse is busy", [1.0] * 8),
        # The PATCH carries If-Match (idempotent): a 503 is retried after jittered backoffs.
        (503, None, 10, "Dataverse is not available", [Backoff(FAST_RETRY.backoff_cap)] * 2),
    ],
)
async def test_make_default_dataverse_failure(
    router: Router,
    sim: RunningSim,
    waits: RecordedWaits,
    status: int,
    retry_after: int | None,
    times: int,
    expected: str,
    waited: list[float | Backoff],
) -> None:
    sim.fault("^PATCH /api/data/v9.2/organizations", status, retry_after=retry_after, times=times)
    shown = await _ask(
        router, sim, "eddie", 'make "Contoso Exchange (on-premises)" the default profile'
    )
    assert expected in shown
    assert waits.waits == waited
    assert _org(sim)["_defaultemailserverprofileid_value"] == EXO
    assert not _applied(sim)


# ---- point profile P to china -------------------------------------------------------------


async def test_point_profile_to_china(router: Router, sim: RunningSim) -> None:
    """Seed "Exchange Online di Tiongkok": the PowerShell script sets the profile's
    defaultserverlocation to the EWS endpoint of 21Vianet; the China server authority
    (reference §2, serverauthority 2) goes with it."""
    text = "point profile Microsoft Exchange Online to china"
    shown = await _ask(router, sim, "eddie", text)
    assert "Done" in shown and CHINA_EWS in shown
    row = _row(sim, "emailserverprofiles", EXO, "emailserverprofileid")
    assert row["defaultserverlocation"] == CHINA_EWS
    assert row["serverauthority"] == 2
    writes = _applied(sim)
    assert [w["method"] for w in writes] == ["PATCH"]
    assert writes[0]["caller_object_id"] == _by(sim, "eddie")
    again = await _ask(router, sim, "eddie", text)
    assert "Skipped" in again
    assert len(_applied(sim)) == 1


async def test_profile_pointed_to_china_shows_its_endpoint(
    router: Router, sim: RunningSim
) -> None:
    """Issue 15: once the seed's China script has set `defaultserverlocation`, the profile
    connects to that EWS endpoint; its card says so instead of "Found automatically
    (Autodiscover)", although `useautodiscover` is still true."""
    await _ask(router, sim, "eddie", "point profile Microsoft Exchange Online to china")
    assert _row(sim, "emailserverprofiles", EXO, "emailserverprofileid")["useautodiscover"]
    shown = await _ask(
        router, sim, "eddie", "create exchange online profile Microsoft Exchange Online"
    )
    assert f'"Server location", "value": "{CHINA_EWS}"' in shown
    assert "Autodiscover" not in shown
    assert '"Email server type", "value": "Exchange Online"' in shown


async def test_point_to_china_denied_without_profile_write(
    router: Router, sim: RunningSim
) -> None:
    """Reference §8: changing a profile someone else owns needs prvWriteEmailServerProfile
    at business-unit depth; Basic User has only Read."""
    shown = await _ask(router, sim, "una", "point profile Microsoft Exchange Online to china")
    assert "You can't do this: Change email server profile" in shown
    assert "Write Email Server Profile, at business unit depth or wider" in shown
    row = _row(sim, "emailserverprofiles", EXO, "emailserverprofileid")
    assert row["defaultserverlocation"] != CHINA_EWS
    assert not _writes(sim)


async def test_point_to_china_unknown_or_ambiguous_profile(
    router: Router, sim: RunningSim, dv: DataverseClient
) -> None:
    await ops.create_exchange_online_profile(dv, "Microsoft Exchange Online (China)")
    before = len(_writes(sim))
    shown = await _ask(router, sim, "eddie", "point profile Fabrikam to china")
    assert "I didn't understand that" in shown
    shown = await _ask(router, sim, "eddie", "point profile Microsoft to china")
    assert "Which one did you mean?" in shown
    assert "Microsoft Exchange Online (China)" in shown
    assert len(_writes(sim)) == before


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(503, None, "Dataverse is not available"), (429, 60, "Dataverse is busy")],
)
async def test_point_to_china_dataverse_failure(
    router: Router, sim: RunningSim, status: int, retry_after: int | None, expected: str
) -> None:
    sim.fault(
        r"^PATCH /api/data/v9\.2/emailserverprofiles", status, retry_after=retry_after, times=10
    )
    shown = await _ask(router, sim, "eddie", "point profile Microsoft Exchange Online to china")
    assert expected in shown
    row = _row(sim, "emailserverprofiles", EXO, "emailserverprofileid")
    assert row["defaultserverlocation"] != CHINA_EWS
    assert not _applied(sim)


async def test_indonesian_request_gets_an_indonesian_card(router: Router, sim: RunningSim) -> None:
    shown = await _ask(
        router,
        sim,
        "eddie",
        "arahkan profil Microsoft Exchange Online ke tiongkok",
        locale="id-ID",
    )
    assert '"lang": "id"' in shown
    assert CHINA_EWS in shown
