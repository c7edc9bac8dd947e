"""Every cell of the seed's permission table, for all four deployment rows, and the version gate.

Seed `connect-exchange-online.id.txt`, "Model izin"; reference/dataverse.md §4.1 (the
English table) and §4.4 (version gate). The people per column: gina GA+SA, eddie EA+SA,
dana DMA+SA, sam SA, serv (Dynamics 365 admin), exie (Exchange admin), gabe (Global admin);
serv, exie and gabe hold every approval privilege without System Administrator, so a
refusal of theirs is the table's own.
"""

from __future__ import annotations

import pytest

from sim.approval import Facts, exchange_kind, table_allows, version_at_least
from sim.errors import O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL, DataverseFault
from sim.fixture import Deployment
from sim.rules import exchange_of
from tests.sim.rules_kit import GATE, approve, contoso, mailbox, make_sim, who

COLUMNS = {
    "GA+SA": "gina",
    "EA+SA": "eddie",
    "DMA+SA": "dana",
    "SA": "sam",
    "service admin": "serv",
    "EA": "exie",
    "GA": "gabe",
}

# (Customer engagement deployment, Exchange kind) -> column -> may approve. The "n/a" cells
# of the on-premises rows: holding System Administrator is what counts.
TABLE: dict[tuple[str, str], dict[str, bool]] = {
    ("online", "online"): {
        "GA+SA": True,
        "EA+SA": True,
        "DMA+SA": True,
        "SA": False,
        "service admin": False,
        "EA": False,
        "GA": False,
    },
    ("online", "onprem"): {
        "GA+SA": True,
        "EA+SA": True,
        "DMA+SA": True,
        "SA": True,
        "service admin": False,
        "EA": False,
        "GA": False,
    },
    ("onprem", "online"): {
        "GA+SA": True,
        "EA+SA": True,
        "DMA+SA": True,
        "SA": True,
        "service admin": False,
        "EA": False,
        "GA": False,
    },
    ("onprem", "onprem"): {
        "GA+SA": True,
        "EA+SA": True,
        "DMA+SA": True,
        "SA": True,
        "service admin": False,
        "EA": False,
        "GA": False,
    },
}

# A pending mailbox on each kind of profile: alice on "Microsoft Exchange Online", otto on
# the on-premises Exchange profile.
TARGET = {"online": "alice", "onprem": "otto"}

CELLS = [
    pytest.param(dep, exo, column, allowed, id=f"CE-{dep}/Exchange-{exo}/{column}")
    for (dep, exo), row in TABLE.items()
    for column, allowed in row.items()
]


@pytest.mark.parametrize(("deployment", "exchange", "column", "allowed"), CELLS)
def test_every_cell_of_the_permission_table(
    deployment: str, exchange: str, column: str, allowed: bool
) -> None:
    """Seed "Model izin" / reference §4.1: approving an address, one cell at a time."""
    sim = make_sim(contoso(deployment=Deployment(deployment), extra_people=True))
    target = TARGET[exchange]
    assert exchange_of(sim.state, mailbox(sim, target)) == exchange
    caller = who(sim, COLUMNS[column])
    if allowed:
        stored = approve(sim, caller, target)
        assert stored["emailrouteraccessapproval"] == 1
        assert mailbox(sim, target)["emailrouteraccessapproval"] == 1
    else:
        with pytest.raises(DataverseFault) as refused:
            approve(sim, caller, target)
        assert refused.value.status == 403
        assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL
        assert mailbox(sim, target)["emailrouteraccessapproval"] == 2


@pytest.mark.parametrize(("deployment", "exchange", "column", "allowed"), CELLS)
def test_rejecting_takes_the_same_authority(
    deployment: str, exchange: str, column: str, allowed: bool
) -> None:
    """Seed "Model izin": setting 3 Rejected is judged like approving (reference §1.2)."""
    sim = make_sim(contoso(deployment=Deployment(deployment), extra_people=True))
    target = TARGET[exchange]
    caller = who(sim, COLUMNS[column])
    if allowed:
        assert approve(sim, caller, target, 3)["emailrouteraccessapproval"] == 3
    else:
        with pytest.raises(DataverseFault):
            approve(sim, caller, target, 3)


@pytest.mark.parametrize(
    ("version", "allowed"),
    [
        ("9.2.22104.00169", False),
        ("9.2.22103.99999", False),
        ("9.2.9999.99999", False),  # a string comparison would call this newer
        ("9.1.30000.00000", False),
        ("9.2.22104.00170", True),
        ("9.2.22104.170", True),
        ("9.2.22105.00001", True),
        ("9.3.0.0", True),
        ("10.0.0.0", True),
    ],
)
def test_delegated_mailbox_approver_version_gate(version: str, allowed: bool) -> None:
    """Seed footnote 1 / reference §4.4: DMA+SA approves only from 9.2.22104.00170."""
    sim = make_sim(contoso(version=version))
    caller = who(sim, "dana")
    if allowed:
        assert approve(sim, caller, "alice")["emailrouteraccessapproval"] == 1
    else:
        with pytest.raises(DataverseFault) as refused:
            approve(sim, caller, "alice")
        assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL
        assert GATE in refused.value.message


def test_version_gate_binds_only_the_delegated_approver() -> None:
    """Seed footnote 1: Global and Exchange admins (with SA) approve below the gate too."""
    sim = make_sim(contoso(version="9.2.21000.00100"))
    assert approve(sim, who(sim, "gina"), "alice")["emailrouteraccessapproval"] == 1
    assert approve(sim, who(sim, "eddie"), "una")["emailrouteraccessapproval"] == 1


def test_version_gate_does_not_apply_on_premises() -> None:
    """Seed table, Customer Engagement (on-premises) rows: System Administrator is the rule."""
    sim = make_sim(contoso(deployment=Deployment.ONPREM, version="9.1.0.0"))
    assert approve(sim, who(sim, "dana"), "alice")["emailrouteraccessapproval"] == 1


def test_version_comparison_is_numeric() -> None:
    """Reference §4.4: versions compare part by part as numbers."""
    assert version_at_least("9.2.22104.00170", GATE)
    assert not version_at_least("9.2.9999.99999", GATE)
    assert version_at_least("9.10.0.0", "9.9.99999.99999")


@pytest.mark.parametrize(
    ("deployment", "servertype", "kind"),
    [
        ("online", 0, "online"),  # the online environment's Exchange Online profile (§12.1)
        ("online", 2, "onprem"),  # ExchangeOnpremOnCrmOnline (S32)
        ("online", 3, "online"),
        ("onprem", 3, "online"),  # ExchangeOnlineOnCrmOnPrem (S32)
        ("onprem", 0, "onprem"),
        ("onprem", 2, "onprem"),
        ("online", 1, "onprem"),  # POP3/SMTP: no Exchange Online
        ("online", 4, "onprem"),  # IMAP/SMTP
        ("online", None, "onprem"),
    ],
)
def test_exchange_kind_from_servertype(deployment: str, servertype: int | None, kind: str) -> None:
    """Reference §2 (servertype values, S32) and sim/state.py's reading of them."""
    assert exchange_kind(deployment, servertype) == kind


def test_table_function_names_its_reason() -> None:
    """Seed "Model izin": the service admin role grants nothing by itself."""
    verdict = table_allows("online", "online", GATE, Facts(service_admin=True))
    assert not verdict.allowed
    assert "System Administrator" in verdict.reason
