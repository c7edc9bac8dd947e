"""Test & Enable: the asynchronous test queued by `testemailconfigurationscheduled: true`.

Reference/dataverse.md §5.1 (trigger), §5.2 (statuses, alerts on success and failure, retry
or disable), §5.3 (tracelog alerts; a repeat updates the row), §1.2 (delivery methods,
status values), §3 (generatealertsfor*, requireapprovalfor*); seed "Menguji konfigurasi kotak
pesan" and "Setujui kotak pesan pengguna Anda sendiri" (approved as part of Test & Enable).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sim import rules, testenable
from sim.context import Sim
from sim.errors import ACCESS_CHECK_FAILED, DataverseFault
from sim.fixture import TestFailure as ScriptedFailure
from sim.state import Row
from sim.testenable import (
    LEVEL_ERROR,
    LEVEL_INFORMATION,
    TRACECODE_APPROVAL_REQUIRED,
    TRACECODE_NO_PROFILE,
    TRACECODE_SUCCESS,
)
from tests.sim.rules_kit import (
    app,
    mailbox,
    make_sim,
    organization,
    patch,
    person,
    queue,
    user_row,
    who,
)

SCHEDULE = {"testemailconfigurationscheduled": True}


def _alerts(sim: Sim, row: Row) -> list[dict[str, Any]]:
    return [
        alert
        for alert in sim.state.tables["tracelogs"].values()
        if alert["_regardingobjectid_value"] == row["mailboxid"]
    ]


def _statuses(row: Row) -> tuple[int, int, int, int]:
    return (
        row["incomingemailstatus"],
        row["outgoingemailstatus"],
        row["actstatus"],
        row["mailboxstatus"],
    )


def _schedule(sim: Sim, caller: rules.EffectiveCaller, row: Row) -> None:
    assert patch(sim, caller, "mailboxes", row, SCHEDULE) == SCHEDULE
    assert row["mailboxid"] in testenable.pending(sim)


async def test_success_with_self_approval() -> None:
    """Seed: una's Test & Enable approves her address as part of it; §5.2 success alert."""
    sim = make_sim()
    una = who(sim, "una")
    row = mailbox(sim, "una")
    _schedule(sim, una, row)
    assert row["incomingemailstatus"] == 0  # nothing yet: the test is asynchronous (§5.1)
    assert await testenable.run_pending(sim) == 1
    assert _statuses(row) == (1, 1, 1, 1)
    assert row["testemailconfigurationscheduled"] is False
    assert row["testemailconfigurationretrycount"] == 1
    assert row["testmailboxaccesscompletedon"] and row["testandenablelastattemptedon"]
    assert row["_testandenablelastattemptedby_value"] == una.user_id
    assert row["processingstatecode"] == 0
    assert row["emailrouteraccessapproval"] == 1
    assert row["_emailaddressapprovedby_value"] == una.user_id
    assert user_row(sim, "una")["emailrouteraccessapproval"] == 1
    [alert] = _alerts(sim, row)
    assert alert["level"] == LEVEL_INFORMATION
    assert alert["tracecode"] == TRACECODE_SUCCESS
    assert alert["tracestatus"] is True
    assert alert["regardingobjecttypecode"] == "mailbox"
    assert alert["createdon"] and alert["modifiedon"]


async def test_unapproved_address_fails_with_an_approval_alert() -> None:
    """Reference §4.2/§3: with approval required, sam's test of alice's mailbox fails."""
    sim = make_sim()
    row = mailbox(sim, "alice")
    _schedule(sim, who(sim, "sam"), row)
    await testenable.run_pending(sim)
    assert _statuses(row) == (2, 2, 2, 2)
    assert row["emailrouteraccessapproval"] == 2
    assert row["processingstatecode"] == 0  # not permanent: fixed by approving
    [alert] = _alerts(sim, row)
    assert (alert["level"], alert["tracecode"]) == (LEVEL_ERROR, TRACECODE_APPROVAL_REQUIRED)
    assert "requires an approval by an Office 365 administrator" in alert["text"]
    assert "Alice Anders" in alert["text"]
    assert alert["tracestatus"] is False


async def test_no_approval_needed_when_the_org_does_not_require_it() -> None:
    """Reference §3: requireapprovalforuseremail off: an unapproved user mailbox passes."""
    sim = make_sim()
    organization(sim)["requireapprovalforuseremail"] = False
    row = mailbox(sim, "alice")
    _schedule(sim, who(sim, "sam"), row)
    await testenable.run_pending(sim)
    assert _statuses(row) == (1, 1, 1, 1)
    assert row["emailrouteraccessapproval"] == 2  # sam cannot self-approve alice's


async def test_queue_mailbox_follows_the_queue_setting() -> None:
    """Reference §3: requireapprovalforqueueemail decides for queue mailboxes."""
    sim = make_sim()
    _, row = queue(sim)
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert row["mailboxstatus"] == 2
    organization(sim)["requireapprovalforqueueemail"] = False
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert row["mailboxstatus"] == 1


async def test_bob_fails_with_the_fixtures_alert() -> None:
    """Issue 2 / §5.2: the error alert carries the code and text the fixture scripts."""
    sim = make_sim()
    row = mailbox(sim, "bob")
    scripted = sim.state.test_outcomes[row["mailboxid"]]
    assert isinstance(scripted, ScriptedFailure)
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert _statuses(row) == (2, 2, 2, 2)
    [alert] = _alerts(sim, row)
    assert (alert["level"], alert["tracecode"], alert["text"]) == (
        LEVEL_ERROR,
        scripted.code,
        scripted.text,
    )
    assert alert["errortypedisplay"] == "Error"
    # Not permanent: the platform retries later; processing stays enabled (§5.2).
    assert row["enabledforincomingemail"] is True
    assert row["enabledforoutgoingemail"] is True and row["enabledforact"] is True
    assert row["emailrouteraccessapproval"] == 1


async def test_permanent_failure_disables_processing() -> None:
    """Reference §5.2: "… or disables the mailbox for processing" after a permanent failure.
    The documented switch goes off for the failed direction: `enabledforincomingemail` ("whether
    the mailbox is enabled for receiving email", mailbox.md), as the alert of "Troubleshooting
    and monitoring server-side synchronization" says ("The mailbox has been disabled for
    receiving email"). `processingstatecode` is no "disabled" flag (§1.1) and is left alone."""
    sim = make_sim()
    row = mailbox(sim, "bob")
    sim.state.test_outcomes[row["mailboxid"]] = ScriptedFailure(
        code=4,
        text="No user was found with the email address.",
        permanent=True,
        directions=["incoming"],
    )
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert _statuses(row) == (2, 1, 1, 2)
    assert row["enabledforincomingemail"] is False
    assert (row["processingstatecode"], row["hostid"]) == (0, None)
    assert row["enabledforoutgoingemail"] is True and row["enabledforact"] is True


async def test_success_enables_again() -> None:
    """Seed "Menguji konfigurasi kotak pesan": the test enables the mailbox for processing,
    i.e. turns the switches of the tested directions back on (mailbox.md `enabledfor*`)."""
    sim = make_sim()
    row = mailbox(sim, "gina")
    row.update(enabledforincomingemail=False, enabledforact=False)
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert row["enabledforincomingemail"] is True and row["enabledforact"] is True


async def test_a_host_processing_the_mailbox_is_left_alone() -> None:
    """Reference §1.1: `processingstatecode` 1 with `hostid` says an asynchronous host is
    processing the mailbox right now (mailbox.md `hostid`; CRM in the Field, 2019-02-14),
    not whether the mailbox may be processed: Test & Enable, passing or failing, does not
    write either column."""
    sim = make_sim()
    row = mailbox(sim, "bob")
    sim.state.process_mailbox(row["mailboxid"], "CRM-ASYNC-07")
    sim.state.test_outcomes[row["mailboxid"]] = ScriptedFailure(
        code=4, text="No user was found with the email address.", permanent=True
    )
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert row["enabledforincomingemail"] is False
    assert (row["processingstatecode"], row["hostid"]) == (1, "CRM-ASYNC-07")
    sim.state.test_outcomes[row["mailboxid"]] = "success"
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert row["enabledforincomingemail"] is True
    assert (row["processingstatecode"], row["hostid"]) == (1, "CRM-ASYNC-07")


async def test_direction_without_server_side_sync_is_not_run() -> None:
    """Reference §1.2: only server-side sync directions are tested; others stay 0 Not Run."""
    sim = make_sim()
    row = mailbox(sim, "gina")
    row.update(outgoingemaildeliverymethod=0, actdeliverymethod=2, incomingemailstatus=0)
    row.update(outgoingemailstatus=0, actstatus=0)
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert _statuses(row) == (1, 0, 0, 1)


async def test_failing_directions_only_where_server_side_sync() -> None:
    """Reference §1.2 + fixture `directions`: a scripted failure of a direction not run."""
    sim = make_sim()
    row = mailbox(sim, "bob")
    row["actdeliverymethod"] = 0  # Outlook: not server-side sync
    sim.state.test_outcomes[row["mailboxid"]] = ScriptedFailure(
        code=9, text="ACT failed", directions=["act"]
    )
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert _statuses(row) == (1, 1, 0, 1)


async def test_a_repeated_alert_updates_its_row() -> None:
    """Reference §5.3: modifiedon = "updated and logged for the same regarding object"."""
    sim = make_sim()
    row = mailbox(sim, "bob")
    gina = who(sim, "gina")
    _schedule(sim, gina, row)
    await testenable.run_pending(sim)
    [first] = _alerts(sim, row)
    version = first["versionnumber"]
    _schedule(sim, gina, row)
    await testenable.run_pending(sim)
    [again] = _alerts(sim, row)
    assert again["tracelogid"] == first["tracelogid"]
    assert again["versionnumber"] > version
    assert row["testemailconfigurationretrycount"] == 2


async def test_alert_settings_are_honoured() -> None:
    """Reference §3/§5.3: generatealertsforerrors and …forinformation choose what is written."""
    sim = make_sim()
    organization(sim).update(generatealertsforerrors=False, generatealertsforinformation=False)
    bob, gina_box = mailbox(sim, "bob"), mailbox(sim, "gina")
    gina = who(sim, "gina")
    _schedule(sim, gina, bob)
    _schedule(sim, gina, gina_box)
    assert await testenable.run_pending(sim) == 2
    assert bob["mailboxstatus"] == 2 and gina_box["mailboxstatus"] == 1
    assert sim.state.tables["tracelogs"] == {}


async def test_mailbox_without_a_profile() -> None:
    """Reference §2: EmailServerProfileNotAssociated, as an error alert."""
    sim = make_sim()
    row = mailbox(sim, "gina")
    row["_emailserverprofile_value"] = None
    _schedule(sim, who(sim, "gina"), row)
    await testenable.run_pending(sim)
    assert row["mailboxstatus"] == 2
    [alert] = _alerts(sim, row)
    assert alert["tracecode"] == TRACECODE_NO_PROFILE


async def test_the_app_acting_for_una_self_approves_her() -> None:
    """Seed + reference §6.7: scheduled while impersonating una, the test approves for her."""
    sim = make_sim()
    row = mailbox(sim, "una")
    _schedule(sim, app(sim, as_user="una"), row)
    await testenable.run_pending(sim)
    assert row["emailrouteraccessapproval"] == 1
    assert row["_emailaddressapprovedby_value"] == person(sim, "una").systemuser_id.lower()


async def test_scheduling_needs_write_on_the_mailbox() -> None:
    """Reference §1.1/§8: the trigger is an ordinary mailbox update."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        patch(sim, who(sim, "una"), "mailboxes", mailbox(sim, "gina"), SCHEDULE)
    assert refused.value.code == ACCESS_CHECK_FAILED
    assert testenable.pending(sim) == []


async def test_runs_on_its_own_after_the_delay() -> None:
    """Reference §5.1: an asynchronous job; await_idle waits without sleeping a fixed time."""
    sim = make_sim()
    sim.state.test_enable_delay_ms = 20
    row = mailbox(sim, "una")
    _schedule(sim, who(sim, "una"), row)
    await asyncio.sleep(0)
    assert row["mailboxstatus"] == 0
    await testenable.await_idle(sim)
    assert row["mailboxstatus"] == 1
    assert testenable.pending(sim) == []


async def test_a_second_request_joins_the_queued_test() -> None:
    """Reference §5.1: the flag is already set; one test runs."""
    sim = make_sim()
    row = mailbox(sim, "gina")
    gina = who(sim, "gina")
    _schedule(sim, gina, row)
    rules.after_update(sim, gina, "mailboxes", row, SCHEDULE)
    assert await testenable.run_pending(sim) == 1
    assert row["testemailconfigurationretrycount"] == 1


async def test_unscheduled_before_it_ran() -> None:
    """Reference §1.1: a test no longer scheduled when its turn comes does not run."""
    sim = make_sim()
    row = mailbox(sim, "gina")
    gina = who(sim, "gina")
    _schedule(sim, gina, row)
    patch(sim, gina, "mailboxes", row, {"testemailconfigurationscheduled": False})
    await testenable.run_pending(sim)
    assert row["testemailconfigurationretrycount"] == 0


async def test_reset_cancels_queued_tests() -> None:
    """Issue 2 (POST /_sim/reset): back to the fixture, nothing left running."""
    sim = make_sim()
    sim.state.test_enable_delay_ms = 60_000
    _schedule(sim, who(sim, "una"), mailbox(sim, "una"))
    sim.reset()
    assert testenable.pending(sim) == []
    await testenable.await_idle(sim)
    assert mailbox(sim, "una")["mailboxstatus"] == 0
