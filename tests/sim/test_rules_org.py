"""Who may stop requiring approval: `requireapprovalforuseremail` / `requireapprovalforqueueemail`.

Seed "Hapus persyaratan untuk menyetujui kotak pesan" ("admins, as described in the
permission model table") and reference/dataverse.md §3, §4.1. Online environments use the
table's Exchange Online row; on-premises ones its System Administrator rule.
"""

from __future__ import annotations

import pytest

from sim import rules
from sim.errors import (
    INVALID_ARGUMENT,
    O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL,
    PRIVILEGE_DENIED,
    DataverseFault,
)
from sim.fixture import Deployment
from tests.sim.rules_kit import app, contoso, make_sim, organization, patch, who

COLUMNS = ["requireapprovalforuseremail", "requireapprovalforqueueemail"]


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("admin", ["gina", "eddie", "dana", "tess"])
def test_table_admins_turn_it_off(admin: str, column: str) -> None:
    """Seed: GA+SA, EA+SA, DMA+SA (from the version) may remove the requirement."""
    sim = make_sim()
    assert patch(sim, who(sim, admin), "organizations", organization(sim), {column: False}) == {
        column: False
    }
    assert organization(sim)[column] is False


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("caller", ["sam", "gabe", "exie", "serv", "nora"])
def test_the_tables_no_columns_may_not(caller: str, column: str) -> None:
    """Seed table, online + Exchange Online: SA alone, GA alone, EA alone, service admin "No".

    gabe, exie, serv and nora hold prvWriteOrganization, so the refusal is the table's.
    """
    sim = make_sim(contoso(extra_people=True))
    with pytest.raises(DataverseFault) as refused:
        patch(sim, who(sim, caller), "organizations", organization(sim), {column: False})
    assert refused.value.code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL
    assert organization(sim)[column] is True


@pytest.mark.parametrize("caller", ["gary", "xena", "alice"])
def test_without_organization_write(caller: str) -> None:
    """Reference §8: organization columns need prvWriteOrganization first."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        patch(sim, who(sim, caller), "organizations", organization(sim), {COLUMNS[0]: False})
    assert refused.value.code == PRIVILEGE_DENIED
    assert "prvWriteOrganization" in refused.value.message


def test_delegated_approver_before_the_version() -> None:
    """Seed footnote 1: DMA+SA counts only from 9.2.22104.00170."""
    sim = make_sim(contoso(version="9.2.22104.00169"))
    with pytest.raises(DataverseFault):
        patch(sim, who(sim, "dana"), "organizations", organization(sim), {COLUMNS[0]: False})


def test_on_premises_system_administrator_may() -> None:
    """Seed table, Customer Engagement (on-premises): System Administrator."""
    sim = make_sim(contoso(deployment=Deployment.ONPREM))
    patch(sim, who(sim, "sam"), "organizations", organization(sim), {COLUMNS[1]: False})
    assert organization(sim)[COLUMNS[1]] is False


def test_the_application_itself_may_not_online() -> None:
    """Reference §4.3: the app identity is no Global or Exchange admin."""
    sim = make_sim()
    with pytest.raises(DataverseFault):
        patch(sim, app(sim), "organizations", organization(sim), {COLUMNS[0]: False})


def test_unchanged_value_needs_no_authority() -> None:
    """Seed: only a change is guarded; re-sending the current value stores nothing."""
    sim = make_sim()
    org = organization(sim)
    assert patch(sim, who(sim, "sam"), "organizations", org, {COLUMNS[0]: True}) == {}


def test_other_organization_columns_need_write_only() -> None:
    """Reference §3: other settings are ordinary organization writes."""
    sim = make_sim()
    org = organization(sim)
    stored = patch(
        sim, who(sim, "sam"), "organizations", org, {"generatealertsforwarnings": False}
    )
    assert stored == {"generatealertsforwarnings": False}


def test_organization_cannot_be_created_or_deleted() -> None:
    """Reference §3: organization messages are Retrieve, RetrieveMultiple and Update only."""
    sim = make_sim()
    with pytest.raises(DataverseFault) as refused:
        rules.before_create(sim, who(sim, "gina"), "organizations", {"name": "x"})
    assert refused.value.code == INVALID_ARGUMENT
    with pytest.raises(DataverseFault):
        rules.before_delete(sim, who(sim, "gina"), "organizations", organization(sim))
