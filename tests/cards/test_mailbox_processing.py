"""The status card's "Email processing" line, read from the documented columns only.

Sources (cited once in dataverse/models.py, `SYNC_DIRECTIONS`): server-side
synchronization stops a mailbox by switching off `enabledforincomingemail`,
`enabledforoutgoingemail` or `enabledforact` (mailbox.md; the alerts of "Troubleshooting and
monitoring server-side synchronization": "The mailbox has been disabled for receiving
email"); `processingstatecode` 1 with `hostid` set means an asynchronous host is processing
the mailbox right now (mailbox.md's `hostid`; CRM in the Field, 2019-02-14), which is not a
failure.
"""

from __future__ import annotations

from typing import Any

import pytest

from cards.common import Card
from cards.i18n import Strings
from cards.mailboxes import mailbox_status
from dataverse.models import Mailbox
from tests.cards import checks
from tests.cards.samples import ENV, mailbox

ALL_ON: dict[str, Any] = {
    "enabledforincomingemail": True,
    "enabledforoutgoingemail": True,
    "enabledforact": True,
}


def _facts(card: Card) -> dict[str, str]:
    return {f["title"]: f["value"] for n in checks.walk(card) for f in n.get("facts", [])}


def _processing(strings: Strings, row: Mailbox) -> str | None:
    card = mailbox_status(strings, row, environment=ENV)
    checks.check_card(card)
    return _facts(card).get(strings.gettext("Email processing"))


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        # Mid-sync: a host holds the mailbox. Healthy, and the host is named.
        (
            {**ALL_ON, "processingstatecode": 1, "hostid": "CRM-ASYNC-07"},
            "Being synchronized by CRM-ASYNC-07",
        ),
        ({**ALL_ON, "processingstatecode": 0, "hostid": None}, "On"),
        # A state of 1 without a host name says nothing more than "on".
        ({**ALL_ON, "processingstatecode": 1, "hostid": None}, "On"),
        # Stopped: a direction synced through server-side sync is switched off, whatever
        # host may be holding the mailbox at this moment.
        (
            {**ALL_ON, "enabledforincomingemail": False, "processingstatecode": 1},
            "Disabled",
        ),
        ({**ALL_ON, "enabledforact": False, "processingstatecode": 0}, "Disabled"),
        # The switch of a direction server-side sync does not process (ACT 2 None) is not
        # read as "stopped".
        ({**ALL_ON, "enabledforact": False, "actdeliverymethod": 2}, "On"),
        (
            {**ALL_ON, "enabledforoutgoingemail": False, "outgoingemaildeliverymethod": 0},
            "On",
        ),
    ],
)
def test_processing_follows_the_documented_columns(
    en: Strings, columns: dict[str, Any], expected: str
) -> None:
    assert _processing(en, mailbox(**columns)) == expected


def test_mid_sync_in_indonesian(id_: Strings) -> None:
    row = mailbox(**ALL_ON, processingstatecode=1, hostid="CRM-ASYNC-07")
    assert _processing(id_, row) == "Sedang disinkronkan oleh CRM-ASYNC-07"


def test_a_row_that_says_nothing_leaves_the_line_out(en: Strings) -> None:
    bare = Mailbox.model_validate({"mailboxid": "3b000000-0000-4000-8000-000000000077"})
    assert _processing(en, bare) is None


def test_the_host_name_is_outside_text_made_safe(en: Strings) -> None:
    row = mailbox(**ALL_ON, processingstatecode=1, hostid="**host**")
    assert _processing(en, row) == "Being synchronized by \\*\\*host\\*\\*"
