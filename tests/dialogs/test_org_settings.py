"""Organization email settings through the router, against the sim.

Seed: "Konfigurasi pengolahan email default dan sinkronisasi" (Server profile Microsoft
Exchange Online, incoming/outgoing server-side sync, appointments/contacts/tasks server-side
sync) and "Hapus persyaratan untuk menyetujui kotak pesan" (only the permission table's
admins turn off "Process emails only for approved users / queues"); reference/dataverse.md
§3 (organization columns, the defaultemailsettings XML), §4.1, §6.3 (429), §8 (privileges).
"""

from __future__ import annotations

import re
from typing import Any, Final

import pytest

from dataverse import DataverseClient, ops
from dialogs.router import Router
from tests.cards.checks import check_card
from tests.dialogs.kit import EXO, ONPREM, click, say, text_of
from tests.simharness import FAST_RETRY, RunningSim
from tests.waits import Backoff, RecordedWaits

ALICE_USER: Final = "5e000000-0000-4000-8000-000000000009"
SET_DEFAULTS: Final = (
    "set default email settings incoming server-side sync outgoing outlook "
    'act server-side sync profile "Contoso Exchange (on-premises)"'
)


def _org(sim: RunningSim) -> dict[str, Any]:
    org: dict[str, Any] = sim.state()["organizations"][0]
    return org


def _xml(org: dict[str, Any]) -> dict[str, str]:
    return dict(re.findall(r"<(\w+)>([^<]*)</\1>", str(org["defaultemailsettings"] or "")))


def _org_writes(sim: RunningSim) -> list[dict[str, Any]]:
    return [
        r
        for r in sim.requests()
        if r["method"] == "PATCH" and r["path"].startswith("/api/data/v9.2/organizations")
    ]


def _applied(sim: RunningSim) -> list[dict[str, Any]]:
    return [r for r in _org_writes(sim) if r["status"] < 300]


async def _ask(router: Router, sim: RunningSim, name: str, text: str, **kw: Any) -> str:
    card = await say(router, sim, name, text, **kw)
    check_card(card)
    return text_of(card)


def _fact(title: str, value: str) -> str:
    return f'"title": "{title}", "value": "{value}"'


# ---- show email settings ------------------------------------------------------------------


async def test_show_email_settings(router: Router, sim: RunningSim) -> None:
    """Seed "Pengaturan email": the defaults new users get, the approval switches (§3)."""
    shown = await _ask(router, sim, "sam", "show email settings")
    assert _fact("Server profile", "Microsoft Exchange Online") in shown
    assert _fact("Incoming email", "Server-side synchronization") in shown
    assert _fact("Appointments, contacts, and tasks", "Server-side synchronization") in shown
    assert _fact("Process emails only for approved users", "Yes") in shown
    assert _fact("Process emails only for approved queues", "Yes") in shown
    assert not _org_writes(sim)


async def test_show_email_settings_in_indonesian(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "sam", "tampilkan pengaturan email", locale="id-ID")
    assert '"lang": "id"' in shown
    assert "Microsoft Exchange Online" in shown


async def test_show_email_settings_denied_to_someone_without_access(
    router: Router, sim: RunningSim
) -> None:
    """Reference §8: a disabled Dataverse user holds no privilege, so not even Read."""

    def disable() -> None:
        sim.sim.state.tables["systemusers"][ALICE_USER]["isdisabled"] = True

    sim.thread.call(disable)
    shown = await _ask(router, sim, "alice", "show email settings")
    assert "You can't do this: View mailboxes and alerts" in shown
    assert "Privilege: Read Mailbox" in shown
    assert "Process emails only" not in shown


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [(503, None, "Dataverse is not available"), (429, 60, "Dataverse is busy")],
)
async def test_show_email_settings_dataverse_failure(
    router: Router, sim: RunningSim, status: int, retry_after: int | None, expected: str
) -> None:
    sim.fault(r"^GET /api/data/v9\.2/organizations", status, retry_after=retry_after, times=10)
    shown = await _ask(router, sim, "sam", "show email settings")
    assert expected in shown
    assert "Process emails only" not in shown


# ---- set default email settings -----------------------------------------------------------


async def test_set_default_email_settings(router: Router, sim: RunningSim) -> None:
    """Reference §3: the delivery methods live in the defaultemailsettings XML, the profile
    in defaultemailserverprofileid; both go in one PATCH of the organization row."""
    shown = await _ask(router, sim, "sam", SET_DEFAULTS)
    assert "Done" in shown and '"Succeeded", "value": "4"' in shown
    assert "Outgoing email: Microsoft Dynamics 365 for Outlook" in shown
    assert "Default server profile: Contoso Exchange (on-premises)" in shown
    assert "Incoming email: Server-side synchronization" in shown
    org = _org(sim)
    assert org["_defaultemailserverprofileid_value"] == ONPREM
    assert _xml(org) == {
        "IncomingEmailDeliveryMethod": "2",
        "OutgoingEmailDeliveryMethod": "1",
        "ACTDeliveryMethod": "1",
    }
    writes = _applied(sim)
    assert len(writes) == 1
    assert writes[0]["caller_object_id"] == sim.person("sam").object_id


async def test_set_default_email_settings_already_so_writes_nothing(
    router: Router, sim: RunningSim
) -> None:
    shown = await _ask(router, sim, "sam", "set default email settings incoming server-side sync")
    assert "Nothing changed" in shown
    assert not _org_writes(sim)


async def test_set_default_email_settings_denied(router: Router, sim: RunningSim) -> None:
    """Reference §3, §8: the organization row needs prvWriteOrganization."""
    before = _org(sim)
    shown = await _ask(router, sim, "una", SET_DEFAULTS)
    assert "You can't do this: Change email settings" in shown
    assert "Privilege: Write Organization" in shown
    assert _org(sim) == before
    assert not _org_writes(sim)


async def test_set_default_email_settings_unknown_or_ambiguous_profile(
    router: Router, sim: RunningSim, dv: DataverseClient
) -> None:
    await ops.create_exchange_online_profile(dv, "Contoso EXO")
    shown = await _ask(router, sim, "sam", "set default email settings profile Fabrikam")
    assert "I didn't understand that" in shown
    shown = await _ask(router, sim, "sam", "set default email settings profile Contoso")
    assert "Which one did you mean?" in shown
    assert "Contoso EXO" in shown and "Contoso Exchange (on-premises)" in shown
    assert _org(sim)["_defaultemailserverprofileid_value"] == EXO
    assert not _org_writes(sim)


async def test_set_default_profile_by_a_prefix_is_confirmed_first(
    router: Router, sim: RunningSim
) -> None:
    choice = await say(router, sim, "sam", "set default email settings profile Contoso")
    assert "Which one did you mean?" in text_of(choice)
    assert not _org_writes(sim)
    picked = await click(router, sim, "sam", choice, "Choose")
    assert "Done" in text_of(picked)
    assert _org(sim)["_defaultemailserverprofileid_value"] == ONPREM


@pytest.mark.parametrize(
    ("status", "retry_after", "times", "expected", "waited"),
    [
        # Within the client's budget (tests: 8 retries, 10 s) every try is refused, each
        # after the 1 s its Retry-After asked for (§6.3).
        (429, 1, 20, "Dataverse is busy", [1.0] * 8),
        # The PATCH carries If-Match (idempotent): a 503 is retried after jittered backoffs.
        (503, None, 10, "Dataverse is not available", [Backoff(FAST_RETRY.backoff_cap)] * 2),
    ],
)
async def test_set_default_email_settings_dataverse_failure(
    router: Router,
    sim: RunningSim,
    waits: RecordedWaits,
    status: int,
    retry_after: int | None,
    times: int,
    expected: str,
    waited: list[float | Backoff],
) -> None:
    """Nothing half-applied: the profile and the XML are one PATCH of the organization row."""
    before = _org(sim)
    sim.fault("^PATCH /api/data/v9.2/organizations", status, retry_after=retry_after, times=times)
    shown = await _ask(router, sim, "sam", SET_DEFAULTS)
    assert expected in shown
    assert waits.waits == waited
    assert _org(sim) == before
    assert not _applied(sim)


# ---- turn off / require approval ----------------------------------------------------------


@pytest.mark.parametrize("admin", ["gina", "eddie", "dana"])
async def test_table_admins_turn_approval_off(router: Router, sim: RunningSim, admin: str) -> None:
    """Seed "Hapus persyaratan …": GA+SA, EA+SA, DMA+SA (from 9.2.22104.00170) may."""
    shown = await _ask(router, sim, admin, "turn off approval for both")
    assert "Turn off the approval requirement" in shown and "Done" in shown
    org = _org(sim)
    assert org["requireapprovalforuseremail"] is False
    assert org["requireapprovalforqueueemail"] is False
    writes = _applied(sim)
    assert len(writes) == 1
    assert writes[0]["caller_object_id"] == sim.person(admin).object_id


async def test_turn_off_approval_for_users_only(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "turn off approval for users")
    assert "Process emails only for approved users: No" in shown
    org = _org(sim)
    assert org["requireapprovalforuseremail"] is False
    assert org["requireapprovalforqueueemail"] is True
    again = await _ask(router, sim, "eddie", "turn off approval for users")
    assert "Nothing changed" in again
    assert len(_org_writes(sim)) == 1


@pytest.mark.parametrize(
    ("caller", "missing"),
    [
        ("sam", "System admin alone: No, cannot approve email"),
        ("gary", "Global admin alone: No, cannot approve email"),
        ("xena", "Exchange admin alone: No, cannot approve email"),
        ("steve", "Service admin: No, cannot approve email"),
    ],
)
async def test_turning_approval_off_is_denied_outside_the_table(
    router: Router, sim: RunningSim, caller: str, missing: str
) -> None:
    """Seed permission table, online + Exchange Online: the "No" columns."""
    shown = await _ask(router, sim, caller, "turn off approval for users")
    assert "You can't do this: Turn off the approval requirement" in shown
    assert missing in shown
    assert _org(sim)["requireapprovalforuseremail"] is True
    assert not _org_writes(sim)


async def test_require_approval_again(router: Router, sim: RunningSim) -> None:
    """Turning it back on: organization write plus the table's admins (module docstring)."""
    await _ask(router, sim, "eddie", "turn off approval for both")
    shown = await _ask(router, sim, "dana", "require approval for queues")
    assert "Change email settings" in shown and "Done" in shown
    assert "Process emails only for approved queues: Yes" in shown
    org = _org(sim)
    assert org["requireapprovalforqueueemail"] is True
    assert org["requireapprovalforuseremail"] is False
    assert _applied(sim)[-1]["caller_object_id"] == sim.person("dana").object_id


@pytest.mark.parametrize(
    ("caller", "rule"),
    [
        # The sim refuses a System admin alone either way (0x8009000B); the bot says why.
        ("sam", "System admin alone: No, cannot approve email"),
        ("una", "Privilege: Write Organization"),
    ],
)
async def test_require_approval_denied(
    router: Router, sim: RunningSim, caller: str, rule: str
) -> None:
    await _ask(router, sim, "eddie", "turn off approval for users")
    shown = await _ask(router, sim, caller, "require approval for users")
    assert "You can't do this: Change email settings" in shown
    assert rule in shown
    assert _org(sim)["requireapprovalforuseremail"] is False
    assert len(_org_writes(sim)) == 1


async def test_approval_scope_that_does_not_exist(router: Router, sim: RunningSim) -> None:
    shown = await _ask(router, sim, "eddie", "turn off approval for managers")
    assert "I didn't understand that" in shown
    assert not _org_writes(sim)


@pytest.mark.parametrize(
    ("status", "retry_after", "times", "expected", "waited"),
    [
        (429, 1, 20, "Dataverse is busy", [1.0] * 8),
        (503, None, 10, "Dataverse is not available", [Backoff(FAST_RETRY.backoff_cap)] * 2),
    ],
)
async def test_turn_off_approval_dataverse_failure(
    router: Router,
    sim: RunningSim,
    waits: RecordedWaits,
    status: int,
    retry_after: int | None,
    times: int,
    expected: str,
    waited: list[float | Backoff],
) -> None:
    """Both switches are one PATCH: neither is left changed."""
    sim.fault("^PATCH /api/data/v9.2/organizations", status, retry_after=retry_after, times=times)
    shown = await _ask(router, sim, "eddie", "turn off approval for both")
    assert expected in shown
    assert waits.waits == waited
    org = _org(sim)
    assert org["requireapprovalforuseremail"] is True
    assert org["requireapprovalforqueueemail"] is True
    assert not _applied(sim)
