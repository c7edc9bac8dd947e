"""The permission-model table as data, and how a mailbox's profile picks its row."""

from __future__ import annotations

import pytest

from permissions import (
    TABLE,
    Column,
    Deployment,
    ExchangeLocation,
    Footnote,
    Row,
    Verdict,
    all_cells,
    cell,
    read_server_type,
    row_for,
)

# The seed's table ("Model izin"), typed in again from the page: rows top to bottom,
# columns GA+SA, EA+SA, DMA+SA, SA, service admin, EA, GA.
SEED_TABLE = {
    "online/exchange-online": "Yes Yes Yes¹ No No No No",
    "online/exchange-onprem": "n/a n/a n/a Yes² No n/a n/a",
    "onprem/exchange-online": "n/a n/a n/a Yes² n/a n/a n/a",
    "onprem/exchange-onprem": "n/a n/a n/a Yes² n/a n/a n/a",
}


def test_table_has_four_rows_of_seven_cells() -> None:
    """Seed, "Model izin": 4 rows × 7 columns = 28 cells with unique ids."""
    cells = all_cells()
    assert len(TABLE) == 4
    assert all(len(row_cells) == 7 for row_cells in TABLE.values())
    assert len({c.id for c in cells}) == 28


@pytest.mark.parametrize("row", list(Row), ids=lambda r: r.id)
def test_table_matches_the_seed(row: Row) -> None:
    """Seed, "Model izin": every cell's value and footnote marker as printed."""
    assert " ".join(c.shown for c in TABLE[row]) == SEED_TABLE[row.id]


def test_cell_ids_are_stable() -> None:
    """The bot shows "which cell applied" by id, so the ids are part of the interface."""
    assert cell(
        Row.ONLINE_WITH_EXCHANGE_ONLINE, Column.DELEGATED_APPROVER_AND_SYSTEM_ADMIN
    ).id == ("online/exchange-online/dma+sa")
    assert [c.id for c in TABLE[Row.ONPREM_WITH_EXCHANGE_ONPREM]] == [
        "onprem/exchange-onprem/ga+sa",
        "onprem/exchange-onprem/ea+sa",
        "onprem/exchange-onprem/dma+sa",
        "onprem/exchange-onprem/sa",
        "onprem/exchange-onprem/service-admin",
        "onprem/exchange-onprem/ea",
        "onprem/exchange-onprem/ga",
    ]


def test_footnotes_and_descriptions() -> None:
    """Seed footnotes: ¹ version 9.2.22104.00170 or later; ² include the Exchange admin."""
    gated = cell(Row.ONLINE_WITH_EXCHANGE_ONLINE, Column.DELEGATED_APPROVER_AND_SYSTEM_ADMIN)
    assert gated.verdict is Verdict.YES
    assert gated.footnotes == (Footnote.VERSION_GATE,)
    assert "9.2.22104.00170" in gated.description
    assert "Delegated Mailbox Approver and System admin" in gated.description
    onprem_sa = cell(Row.ONPREM_WITH_EXCHANGE_ONLINE, Column.SYSTEM_ADMIN)
    assert onprem_sa.footnotes == (Footnote.INCLUDE_EXCHANGE_ADMIN,)
    assert "Exchange admin" in onprem_sa.description
    assert onprem_sa.rule.id == onprem_sa.id
    assert onprem_sa.rule.description == onprem_sa.description


@pytest.mark.parametrize(
    ("deployment", "servertype", "exchange", "is_exchange"),
    [
        (Deployment.ONLINE, 0, ExchangeLocation.ONLINE, True),
        (Deployment.ONLINE, 2, ExchangeLocation.ONPREM, True),
        (Deployment.ONLINE, 3, ExchangeLocation.ONLINE, True),
        (Deployment.ONLINE, 1, ExchangeLocation.ONPREM, False),
        (Deployment.ONLINE, 4, ExchangeLocation.ONPREM, False),
        (Deployment.ONLINE, None, ExchangeLocation.ONLINE, True),
        (Deployment.ONPREM, 0, ExchangeLocation.ONPREM, True),
        (Deployment.ONPREM, 3, ExchangeLocation.ONLINE, True),
        (Deployment.ONPREM, 2, ExchangeLocation.ONPREM, True),
        (Deployment.ONPREM, 1, ExchangeLocation.ONPREM, False),
        (Deployment.ONPREM, 4, ExchangeLocation.ONPREM, False),
        (Deployment.ONPREM, None, ExchangeLocation.ONPREM, True),
    ],
)
def test_servertype_reading(
    deployment: Deployment,
    servertype: int | None,
    exchange: ExchangeLocation,
    is_exchange: bool,
) -> None:
    """Reference §2 note (servertype 0–4, the enum names ExchangeOnpremOnCrmOnline = 2 and
    ExchangeOnlineOnCrmOnPrem = 3) and §12.1 (0 for the online Exchange Online profile is
    unconfirmed). POP3/SMTP and IMAP take the on-premises rows' System-admin rule; no profile
    takes the deployment's default reading."""
    reading = read_server_type(deployment, servertype)
    assert reading is not None
    assert (reading.exchange, reading.is_exchange) == (exchange, is_exchange)


@pytest.mark.parametrize("servertype", [-1, 5, 99])
def test_unknown_servertype_has_no_reading(servertype: int) -> None:
    """Reference §2: only 0–4 are defined; anything else is not guessed at."""
    assert read_server_type(Deployment.ONLINE, servertype) is None


def test_row_for() -> None:
    """Seed table: rows are (where customer engagement runs) × (where Exchange runs)."""
    assert row_for(Deployment.ONPREM, ExchangeLocation.ONLINE) is Row.ONPREM_WITH_EXCHANGE_ONLINE
    assert row_for(Deployment.ONLINE, ExchangeLocation.ONPREM).id == "online/exchange-onprem"
