"""Table metadata the sim must serve as Microsoft documents it (issue 13, points 3, 4 and 8).

Each test names its source; the sim is the judge of the bot, so these pin the sim to the
documentation rather than to what the bot sends.
"""

from __future__ import annotations

from typing import Any

from tests.sim.webapi_kit import (
    MAILBOX_ALICE,
    MAILBOX_GINA,
    PROFILE_EXO,
    PROFILE_ONPREM,
    USER_ALICE,
    dv,
    error_of,
)
from tests.simharness import RunningSim

FV = "@OData.Community.Display.V1.FormattedValue"
QUEUE_SUPPORT = "9e000000-0000-4000-8000-000000000001"
MAILBOX_SUPPORT = "3b000000-0000-4000-8000-0000000000f1"


def _json(resp: Any) -> dict[str, Any]:
    assert resp.status_code in (200, 201), resp.text
    body: dict[str, Any] = resp.json()
    return body


# ---- point 3: server profiles -------------------------------------------------------------


def test_profile_created_without_server_authority_reads_back_zero(sim: RunningSim) -> None:
    """emailserverprofile.md (newest version, reference §2): `serverauthority` is
    SystemRequired with default 0 Public; a profile created without it reads back 0."""
    with dv(sim) as client:
        created = client.post(
            "emailserverprofiles",
            json={"name": "No authority given", "servertype": 0},
            headers={"Prefer": "return=representation"},
        )
        row = _json(created)
        assert row["serverauthority"] == 0
        again = _json(
            client.get(
                f"emailserverprofiles({row['emailserverprofileid']})",
                params={"$select": "serverauthority"},
                headers={"Prefer": 'odata.include-annotations="*"'},
            )
        )
        assert again["serverauthority"] == 0
        assert again[f"serverauthority{FV}"] == "Public (+GCC) login.microsoftonline.com"
        seeded = _json(
            client.get(
                f"emailserverprofiles({PROFILE_EXO})", params={"$select": "serverauthority"}
            )
        )
        assert seeded["serverauthority"] == 0


def test_email_server_type_name_is_filled_and_read_only(sim: RunningSim) -> None:
    """emailserverprofile.md (reference §2): `emailservertypename` ("Email Server Type Name")
    is a read-only String the platform fills. The seed's "Membuat profil server email untuk
    Exchange Online" step 4 names the type "Exchange Online"; which `servertype` that is, and
    the exact text, are unconfirmed (reference §12.1): the sim reads 0 in an online
    environment as "Exchange Online" and every other value as its documented option label."""
    with dv(sim) as client:
        exo = _json(
            client.get(
                f"emailserverprofiles({PROFILE_EXO})",
                params={"$select": "servertype,emailservertypename"},
            )
        )
        assert (exo["servertype"], exo["emailservertypename"]) == (0, "Exchange Online")
        onprem = _json(
            client.get(
                f"emailserverprofiles({PROFILE_ONPREM})",
                params={"$select": "servertype,emailservertypename"},
            )
        )
        assert (onprem["servertype"], onprem["emailservertypename"]) == (
            2,
            "Exchange Server (Hybrid)",
        )
        created = _json(
            client.post(
                "emailserverprofiles",
                json={"name": "Made as Exchange Online", "servertype": 0},
                headers={"Prefer": "return=representation"},
            )
        )
        assert created["emailservertypename"] == "Exchange Online"
        key = created["emailserverprofileid"]
        changed = client.patch(
            f"emailserverprofiles({key})", json={"servertype": 4}, headers={"If-Match": "*"}
        )
        assert changed.status_code == 204, changed.text
        row = _json(
            client.get(f"emailserverprofiles({key})", params={"$select": "emailservertypename"})
        )
        assert row["emailservertypename"] == "IMAP/SMTP"
        refused = client.patch(
            f"emailserverprofiles({key})",
            json={"emailservertypename": "Anything"},
            headers={"If-Match": "*"},
        )
        assert refused.status_code == 400, refused.text
        assert error_of(refused)["code"]


# ---- point 4: queue -> mailbox navigation ------------------------------------------------


def test_queue_mailboxes_through_mailbox_regarding_queue(sim: RunningSim) -> None:
    """mailbox.md / queue.md (reference §1.1): the queue's mailboxes are the one-to-many
    relationship `mailbox_regarding_queue` (partner `regardingobjectid_queue` on the
    mailbox); `queue_mailbox` is no documented name and is not served."""
    with dv(sim) as client:
        path = f"queues({QUEUE_SUPPORT})/mailbox_regarding_queue"
        rows = _json(client.get(path, params={"$select": "name"}))["value"]
        assert [r["mailboxid"] for r in rows] == [MAILBOX_SUPPORT]
        expanded = _json(
            client.get(
                f"queues({QUEUE_SUPPORT})",
                params={"$select": "name", "$expand": "mailbox_regarding_queue($select=name)"},
            )
        )
        assert [r["mailboxid"] for r in expanded["mailbox_regarding_queue"]] == [MAILBOX_SUPPORT]
        back = _json(
            client.get(
                f"mailboxes({MAILBOX_SUPPORT})",
                params={"$select": "name", "$expand": "regardingobjectid_queue($select=name)"},
            )
        )
        assert back["regardingobjectid_queue"]["queueid"] == QUEUE_SUPPORT
        gone = client.get(f"queues({QUEUE_SUPPORT})/queue_mailbox")
        assert gone.status_code in (400, 404), gone.text


def test_user_mailboxes_through_mailbox_regarding_systemuser(sim: RunningSim) -> None:
    """mailbox.md (reference §1.1): a user's mailbox is `mailbox_regarding_systemuser`
    (navigation property `regardingobjectid` on the mailbox)."""
    with dv(sim) as client:
        rows = _json(
            client.get(
                f"systemusers({USER_ALICE})/mailbox_regarding_systemuser",
                params={"$select": "name"},
            )
        )["value"]
        assert [r["mailboxid"] for r in rows] == [MAILBOX_ALICE]


# ---- point 8: labels ----------------------------------------------------------------------


def test_delivery_method_two_is_server_side_synchronization(sim: RunningSim) -> None:
    """mailbox.md, current generated version (issue 13 point 8): value 2 of
    `incomingemaildeliverymethod` and `outgoingemaildeliverymethod` is labelled
    "Server-Side Synchronization" (older versions added "or Email Router")."""
    with dv(sim) as client:
        body = _json(
            client.get(
                f"mailboxes({MAILBOX_GINA})",
                params={"$select": "incomingemaildeliverymethod,outgoingemaildeliverymethod"},
                headers={"Prefer": 'odata.include-annotations="*"'},
            )
        )
    assert body["incomingemaildeliverymethod"] == 2
    assert body[f"incomingemaildeliverymethod{FV}"] == "Server-Side Synchronization"
    assert body["outgoingemaildeliverymethod"] == 2
    assert body[f"outgoingemaildeliverymethod{FV}"] == "Server-Side Synchronization"
