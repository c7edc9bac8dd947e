"""The audit log beyond mailboxes, through the router against the sim: the organization's
email settings, server profiles and the Delegated Mailbox Approver role. Each command that
changes something writes one entry (before → after), a refusal writes a denied entry and
changes nothing, a Dataverse failure writes a failed one; `audit last 20` shows them in
English and Indonesian; none of them is offered to `undo`."""

from __future__ import annotations

from typing import Any, Final

import pytest

from dialogs.router import Router
from store import AuditEntry, AuditResult, Store
from tests.cards.checks import check_card
from tests.dialogs.kit import CHINA_EWS, EXO, ONPREM, text_of
from tests.dialogs.routing_kit import say, turn_of
from tests.simharness import FAST_RETRY, RunningSim
from tests.waits import Backoff, RecordedWaits

ORG: Final = "0a000000-0000-4000-8000-000000000001"
ONPREM_NAME: Final = '"Contoso Exchange (on-premises)"'
ONPREM_EWS: Final = "https://mail.contoso.com/EWS/Exchange.asmx"
ROLE: Final = "delegatedmailboxapproverrole"
SET_DEFAULTS: Final = f"set default email settings outgoing outlook profile {ONPREM_NAME}"
ASSOCIATE: Final = r"^POST /api/data/v9\.2/systemusers\([0-9a-f-]+\)/systemuserroles_association"
# Within the client's budget (tests: 8 retries, 10 s) every try is refused, each 429 after
# the 1 s its Retry-After asked for; the detail is the error and Dataverse's code
# (0x80072322: service protection, reference §6.3). The 429 runs for the organization's
# settings only: the other families record through the same `audit.changing`.
FAULTS: Final = [
    pytest.param(
        503, None, 10, "ServiceUnavailable 503", [Backoff(FAST_RETRY.backoff_cap)] * 2, id="503"
    ),
    pytest.param(429, 1, 20, "Throttled 0x80072322", [1.0] * 8, id="429"),
]


async def _entries(store: Store) -> list[AuditEntry]:
    return await store.audit.latest(50)


async def _only(store: Store) -> AuditEntry:
    (entry,) = await _entries(store)
    return entry


def _org(sim: RunningSim) -> dict[str, Any]:
    org: dict[str, Any] = sim.state()["organizations"][0]
    return org


def _profile(sim: RunningSim, key: str) -> dict[str, Any]:
    return next(p for p in sim.state()["emailserverprofiles"] if p["emailserverprofileid"] == key)


def _user(sim: RunningSim, name: str) -> str:
    user_id: str = sim.person(name).systemuser_id
    return user_id.lower()


def _holds(sim: RunningSim, name: str) -> bool:
    pairs = sim.state()["associations"]["systemuserroles_association"]
    return {
        "systemuserid": _user(sim, name),
        "roleid": "70000000-0000-4000-8000-000000000002",
    } in (pairs)


def _is(entry: AuditEntry, action: str, result: AuditResult, kind: str, key: str) -> None:
    assert (entry.action, entry.result) == (action, result)
    assert entry.target is not None
    assert (entry.target.kind, entry.target.id) == (kind, key)
    assert entry.environment == "prod"
    assert entry.correlation_id


# ---- the organization's email settings ----------------------------------------------------


async def test_default_email_settings_are_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "sam", SET_DEFAULTS)
    entry = await _only(store)
    _is(entry, "change-org-email-settings", AuditResult.OK, "organization", ORG)
    assert entry.target is not None and entry.target.display == "Contoso (prod)"
    assert entry.actor.object_id == sim.person("sam").object_id
    assert entry.on_behalf_of is None
    assert entry.before == {"defaultemailserverprofileid": EXO, "outgoingemaildeliverymethod": 2}
    assert entry.after == {"defaultemailserverprofileid": ONPREM, "outgoingemaildeliverymethod": 1}


async def test_settings_already_so_are_recorded_as_skipped(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "sam", "set default email settings incoming server-side sync")
    entry = await _only(store)
    _is(entry, "change-org-email-settings", AuditResult.OK, "organization", ORG)
    assert (entry.before, entry.after) == (None, None)
    assert entry.detail == "skipped: already set"


async def test_turning_approval_off_and_on_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "turn off approval for users")
    await say(routed, sim, store, "eddie", "require approval for users")
    on, off = await _entries(store)
    _is(off, "remove-approval-requirement", AuditResult.OK, "organization", ORG)
    assert off.before == {"requireapprovalforuseremail": True}
    assert off.after == {"requireapprovalforuseremail": False}
    _is(on, "change-org-email-settings", AuditResult.OK, "organization", ORG)
    assert (on.before, on.after) == (off.after, off.before)


@pytest.mark.parametrize(
    ("caller", "text", "action"),
    [
        ("una", SET_DEFAULTS, "change-org-email-settings"),
        ("sam", "turn off approval for users", "remove-approval-requirement"),
    ],
)
async def test_a_refused_settings_change_is_recorded(
    routed: Router, sim: RunningSim, store: Store, caller: str, text: str, action: str
) -> None:
    before = _org(sim)
    answer = text_of(await say(routed, sim, store, caller, text))
    assert "You can't do this" in answer
    assert _org(sim) == before
    entry = await _only(store)
    _is(entry, action, AuditResult.DENIED, "organization", ORG)
    assert entry.actor.object_id == sim.person(caller).object_id
    assert entry.detail is not None and entry.detail.startswith("rule ")
    assert (entry.before, entry.after) == (None, None)


@pytest.mark.parametrize(("status", "retry_after", "times", "detail", "waited"), FAULTS)
async def test_a_failed_settings_change_is_recorded(
    routed: Router,
    sim: RunningSim,
    store: Store,
    waits: RecordedWaits,
    status: int,
    retry_after: int | None,
    times: int,
    detail: str,
    waited: list[float | Backoff],
) -> None:
    before = _org(sim)
    sim.fault("^PATCH /api/data/v9.2/organizations", status, retry_after=retry_after, times=times)
    answer = text_of(await say(routed, sim, store, "sam", SET_DEFAULTS))
    assert "Dataverse is" in answer
    assert waits.waits == waited
    assert _org(sim) == before
    entry = await _only(store)
    _is(entry, "change-org-email-settings", AuditResult.FAILED, "organization", ORG)
    assert entry.detail == detail
    assert (entry.before, entry.after) == (None, None)


# ---- server profiles ------------------------------------------------------------------------


async def test_a_created_profile_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "create exchange online profile Contoso EXO")
    created = next(p for p in sim.state()["emailserverprofiles"] if p["name"] == "Contoso EXO")
    entry = await _only(store)
    _is(entry, "create-server-profile", AuditResult.OK, "profile", created["emailserverprofileid"])
    assert entry.target is not None and entry.target.display == "Contoso EXO"
    assert entry.before is None  # it did not exist
    assert entry.after == {
        "name": "Contoso EXO",
        "servertype": "Exchange Online",  # emailservertypename, not servertype 0's label
        "incomingcredentialretrieval": 2,
        "outgoingcredentialretrieval": 2,
    }


async def test_a_profile_that_exists_is_recorded_as_skipped(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(
        routed, sim, store, "eddie", "create exchange online profile Microsoft Exchange Online"
    )
    entry = await _only(store)
    _is(entry, "create-server-profile", AuditResult.OK, "profile", EXO)
    assert (entry.before, entry.after) == (None, None)
    assert entry.detail == "skipped: exists already"


async def test_making_a_profile_the_default_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", f"make {ONPREM_NAME} the default profile")
    entry = await _only(store)
    _is(entry, "set-default-server-profile", AuditResult.OK, "profile", ONPREM)
    assert entry.before == {"defaultemailserverprofileid": EXO}
    assert entry.after == {"defaultemailserverprofileid": ONPREM}


async def test_pointing_a_profile_to_china_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", f"point profile {ONPREM_NAME} to china")
    entry = await _only(store)
    _is(entry, "change-server-profile", AuditResult.OK, "profile", ONPREM)
    assert entry.before == {"defaultserverlocation": ONPREM_EWS}
    assert entry.after == {"defaultserverlocation": CHINA_EWS}


@pytest.mark.parametrize(
    ("text", "action", "key"),
    [
        ("create exchange online profile Contoso EXO", "create-server-profile", "Contoso EXO"),
        (f"make {ONPREM_NAME} the default profile", "set-default-server-profile", ONPREM),
        (f"point profile {ONPREM_NAME} to china", "change-server-profile", ONPREM),
    ],
)
async def test_a_refused_profile_change_is_recorded(
    routed: Router, sim: RunningSim, store: Store, text: str, action: str, key: str
) -> None:
    """A profile that was never created is named by the name asked for."""
    before = (_org(sim), sim.state()["emailserverprofiles"])
    answer = text_of(await say(routed, sim, store, "una", text))
    assert "You can't do this" in answer
    assert (_org(sim), sim.state()["emailserverprofiles"]) == before
    entry = await _only(store)
    _is(entry, action, AuditResult.DENIED, "profile", key)
    assert entry.actor.object_id == sim.person("una").object_id
    assert (entry.before, entry.after) == (None, None)


async def test_a_cross_tenant_profile_refused_in_chat_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "create profile Fabrikam cross tenant")
    entry = await _only(store)
    _is(entry, "create-server-profile", AuditResult.DENIED, "profile", "Fabrikam")
    assert entry.detail == "rule profile/cross-tenant-in-chat"


async def test_a_failed_profile_change_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    sim.fault(r"^PATCH /api/data/v9\.2/emailserverprofiles", 503, times=10)
    answer = text_of(
        await say(routed, sim, store, "eddie", f"point profile {ONPREM_NAME} to china")
    )
    assert "Dataverse is not available" in answer
    assert _profile(sim, ONPREM)["defaultserverlocation"] == ONPREM_EWS
    entry = await _only(store)
    _is(entry, "change-server-profile", AuditResult.FAILED, "profile", ONPREM)
    assert entry.detail == "ServiceUnavailable 503"
    assert (entry.before, entry.after) == (None, None)


async def test_a_failed_default_profile_change_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    sim.fault("^PATCH /api/data/v9.2/organizations", 503, times=10)
    await say(routed, sim, store, "eddie", f"make {ONPREM_NAME} the default profile")
    assert _org(sim)["_defaultemailserverprofileid_value"] == EXO
    entry = await _only(store)
    _is(entry, "set-default-server-profile", AuditResult.FAILED, "profile", ONPREM)
    assert entry.detail == "ServiceUnavailable 503"


# ---- the Delegated Mailbox Approver role --------------------------------------------------


async def test_giving_and_taking_the_role_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "make sam a delegated approver")
    await say(routed, sim, store, "eddie", "remove dana as delegated approver")
    removed, given = await _entries(store)
    _is(given, "assign-delegated-mailbox-approver", AuditResult.OK, "user", _user(sim, "sam"))
    assert given.target is not None and given.target.display == "Sam Sysadmin"
    assert (given.before, given.after) == ({ROLE: False}, {ROLE: True})
    _is(removed, "remove-delegated-mailbox-approver", AuditResult.OK, "user", _user(sim, "dana"))
    assert (removed.before, removed.after) == ({ROLE: True}, {ROLE: False})


async def test_someone_who_holds_the_role_is_recorded_as_skipped(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    await say(routed, sim, store, "eddie", "make dana a delegated approver")
    entry = await _only(store)
    _is(entry, "assign-delegated-mailbox-approver", AuditResult.OK, "user", _user(sim, "dana"))
    assert (entry.before, entry.after) == (None, None)
    assert entry.detail == "skipped: already holds the role"


async def test_a_refused_role_change_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    answer = text_of(await say(routed, sim, store, "sam", "make una a delegated approver"))
    assert "You can't do this" in answer
    assert not _holds(sim, "una")
    entry = await _only(store)
    _is(entry, "assign-delegated-mailbox-approver", AuditResult.DENIED, "user", _user(sim, "una"))
    assert entry.actor.object_id == sim.person("sam").object_id


async def test_a_failed_role_change_is_recorded(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    sim.fault(ASSOCIATE, 503, times=10)
    answer = text_of(await say(routed, sim, store, "eddie", "make sam a delegated approver"))
    assert "Dataverse is not available" in answer
    assert not _holds(sim, "sam")
    entry = await _only(store)
    _is(entry, "assign-delegated-mailbox-approver", AuditResult.FAILED, "user", _user(sim, "sam"))
    assert entry.detail == "ServiceUnavailable 503"


async def test_several_people_get_an_entry_each(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    sim.fault(
        rf"^POST /api/data/v9\.2/systemusers\({_user(sim, 'sam')}\)/systemuserroles", 503, times=5
    )
    await say(routed, sim, store, "eddie", "make sam and tess delegated approvers")
    by_target = {e.target.id: e for e in await _entries(store) if e.target is not None}
    assert by_target.keys() == {_user(sim, "sam"), _user(sim, "tess")}
    assert by_target[_user(sim, "sam")].result is AuditResult.FAILED
    assert by_target[_user(sim, "tess")].result is AuditResult.OK
    assert by_target[_user(sim, "tess")].after == {ROLE: True}


# ---- reading them, and undo -----------------------------------------------------------------


async def _everything(routed: Router, sim: RunningSim, store: Store) -> None:
    await say(routed, sim, store, "eddie", "turn off approval for users")
    await say(routed, sim, store, "eddie", f"make {ONPREM_NAME} the default profile")
    await say(routed, sim, store, "eddie", "create exchange online profile Contoso EXO")
    await say(routed, sim, store, "eddie", "make sam a delegated approver")
    await say(routed, sim, store, "una", f"point profile {ONPREM_NAME} to china")


async def test_audit_last_shows_the_entries(routed: Router, sim: RunningSim, store: Store) -> None:
    await _everything(routed, sim, store)
    card = await say(routed, sim, store, "gina", "audit last 20")
    check_card(card)
    shown = text_of(card)
    for text in (
        "Turn off the approval requirement · Organization: Contoso (prod)",
        "Process emails only for approved users: Yes → No",
        "Set the default server profile · Email server profile: Contoso Exchange (on-premises)",
        "Default server profile: Microsoft Exchange Online → Contoso Exchange (on-premises)",
        "Create email server profile · Email server profile: Contoso EXO",
        "Profile name: Not set → Contoso EXO",
        "Authentication, incoming: Not set → Server-to-server authentication",
        "Assign the Delegated Mailbox Approver role · User: Sam Sysadmin",
        "Delegated Mailbox Approver role: No → Yes",
        "Change email server profile · Email server profile: Contoso Exchange (on-premises)",
        "Denied",
    ):
        assert text in shown, text


async def test_audit_last_in_indonesian(routed: Router, sim: RunningSim, store: Store) -> None:
    await _everything(routed, sim, store)
    turn = turn_of(sim, "gina", "audit last 20", locale="id-ID")
    await routed.on_message(turn)
    (card,) = turn.replies
    check_card(card)
    shown = text_of(card)
    for text in (
        "Organisasi: Contoso (prod)",
        "Proses email hanya untuk pengguna yang disetujui: Ya → Tidak",
        "Profil server email: Contoso EXO",
        "Nama profil: Tidak diatur → Contoso EXO",
        "Pengguna: Sam Sysadmin",
        "Peran Pemberi Persetujuan Kotak Pesan Terdelegasi: Tidak → Ya",
    ):
        assert text in shown, text


async def test_undo_does_not_offer_other_changes(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    """`undo last change to sam` is about sam's mailbox: the role given to sam is a record,
    not something MailOps puts back."""
    await say(routed, sim, store, "eddie", "make sam a delegated approver")
    answer = text_of(await say(routed, sim, store, "eddie", "undo last change to sam"))
    assert "Nothing to undo" in answer
    assert _holds(sim, "sam")
    assert len(await _entries(store)) == 1
