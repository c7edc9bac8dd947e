"""Every cell of the seed's table, judged by ``decide``: what does a person holding exactly
that column's roles get in that row?"""

from __future__ import annotations

import pytest

from permissions import (
    Action,
    Cell,
    Column,
    Decision,
    Flag,
    PersonRequirement,
    PrivilegeRequirement,
    RoleRef,
    all_cells,
    decide,
    merge_privileges,
)
from permissions.identifiers import PRV_APPROVE_REJECT_EMAIL
from permissions.model import Depth
from tests.permissions.builders import (
    DELEGATED_APPROVER,
    EA,
    GA,
    ROLE_PRIVILEGES,
    ROW_PLACEMENT,
    SERVICE_ADMIN,
    SYSTEM_ADMIN,
    mailbox,
    person,
)

COLUMN_HOLDINGS: dict[Column, tuple[tuple[str, ...], tuple[RoleRef, ...]]] = {
    Column.GLOBAL_ADMIN_AND_SYSTEM_ADMIN: ((GA,), (SYSTEM_ADMIN,)),
    Column.EXCHANGE_ADMIN_AND_SYSTEM_ADMIN: ((EA,), (SYSTEM_ADMIN,)),
    Column.DELEGATED_APPROVER_AND_SYSTEM_ADMIN: ((), (DELEGATED_APPROVER, SYSTEM_ADMIN)),
    Column.SYSTEM_ADMIN: ((), (SYSTEM_ADMIN,)),
    Column.SERVICE_ADMIN: ((SERVICE_ADMIN,), ()),
    Column.EXCHANGE_ADMIN: ((EA,), ()),
    Column.GLOBAL_ADMIN: ((GA,), ()),
}

# Which cell grants approval to a holder of each column's roles (None: denied). Worked out
# by hand from the seed: Yes cells grant; n/a cells in rows 2–4 fall to "System admin
# alone: Yes" when the column includes System admin, and grant nothing otherwise.
_ROW1 = "online/exchange-online"
_SA_ROWS = ("online/exchange-onprem", "onprem/exchange-online", "onprem/exchange-onprem")
EXPECTED_GRANT: dict[str, str | None] = {
    f"{_ROW1}/ga+sa": f"{_ROW1}/ga+sa",
    f"{_ROW1}/ea+sa": f"{_ROW1}/ea+sa",
    f"{_ROW1}/dma+sa": f"{_ROW1}/dma+sa",
    f"{_ROW1}/sa": None,
    f"{_ROW1}/service-admin": None,
    f"{_ROW1}/ea": None,
    f"{_ROW1}/ga": None,
}
for _row in _SA_ROWS:
    for _column in ("ga+sa", "ea+sa", "dma+sa", "sa"):
        EXPECTED_GRANT[f"{_row}/{_column}"] = f"{_row}/sa"
    for _column in ("service-admin", "ea", "ga"):
        EXPECTED_GRANT[f"{_row}/{_column}"] = None

CELLS = all_cells()


def _holder(c: Cell, *, with_privilege: bool) -> Decision:
    entra, roles = COLUMN_HOLDINGS[c.column]
    privileges = merge_privileges(*(ROLE_PRIVILEGES[r] for r in roles))
    if with_privilege:
        privileges[PRV_APPROVE_REJECT_EMAIL] = Depth.ORGANIZATION
    else:
        privileges.pop(PRV_APPROVE_REJECT_EMAIL, None)
    actor = person(entra=entra, direct=roles, privileges=privileges, upn="admin@contoso.com")
    environment, servertype = ROW_PLACEMENT[c.row]
    return decide(Action.APPROVE_EMAIL, actor, environment, mailbox(servertype=servertype))


def test_expectations_cover_all_28_cells() -> None:
    """Seed "Model izin": the expectations below name every one of the 28 cells."""
    assert set(EXPECTED_GRANT) == {c.id for c in CELLS}


@pytest.mark.parametrize("c", CELLS, ids=lambda c: c.id)
def test_each_cell_for_a_holder_of_exactly_its_column(c: Cell) -> None:
    """Seed "Model izin" (reference §4.1 English table): Yes grants, No denies; n/a in rows
    2–4 means holding System admin suffices. The holder also has the Approve Email Addresses
    privilege, so that only the table decides."""
    decision = _holder(c, with_privilege=True)
    grant = EXPECTED_GRANT[c.id]
    assert decision.allowed is (grant is not None)
    assert decision.row is c.row
    if grant is None:
        # The cell that applied is the column's own cell, and it is shown as such.
        assert decision.rule.id == c.id
        assert decision.cell == c
        assert decision.missing
    else:
        assert decision.rule.id == grant
        assert decision.cell is not None
        assert decision.missing == ()
        assert (Flag.INCLUDE_EXCHANGE_ADMIN in decision.flags) is (c.row.id != _ROW1)


@pytest.mark.parametrize("c", CELLS, ids=lambda c: c.id)
def test_each_cell_needs_the_approve_privilege(c: Cell) -> None:
    """Seed "Setujui email": approving needs the privilege Approve Email Addresses for Users
    or Queues *and* the table's permission; without it no cell allows."""
    decision = _holder(c, with_privilege=False)
    assert not decision.allowed
    if EXPECTED_GRANT[c.id] is not None:
        assert decision.missing == (PrivilegeRequirement(PRV_APPROVE_REJECT_EMAIL),)


@pytest.mark.parametrize(
    "c",
    [c for c in CELLS if EXPECTED_GRANT[c.id] is not None and c.row.id == _ROW1],
    ids=lambda c: c.id,
)
def test_application_identity_in_row_one(c: Cell) -> None:
    """Reference §4.3 and §12.5: the Global/Exchange admin check is about a person's Entra
    roles; an application identity is denied where those are needed (brief: deny by
    default). The Delegated Mailbox Approver column needs no Entra role."""
    entra, roles = COLUMN_HOLDINGS[c.column]
    actor = person(entra=entra, direct=roles, application=True, upn=None)
    environment, servertype = ROW_PLACEMENT[c.row]
    decision = decide(Action.APPROVE_EMAIL, actor, environment, mailbox(servertype=servertype))
    if entra:
        assert not decision.allowed
        assert PersonRequirement() in decision.missing
    else:
        assert decision.allowed
