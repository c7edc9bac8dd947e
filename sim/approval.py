"""Who may approve an email address: the seed's permission model, written for the sim.

Sources: the seed `connect-exchange-online.id.txt` ("Setujui email", "Model izin",
"Mendelegasikan persetujuan kotak pesan", "Setujui kotak pesan pengguna Anda sendiri",
"Menyetujui kotak pesan secara terprogram") and reference/dataverse.md §4.

The permission table (seed "Model izin", reference §4.1); "Yes" = may approve:

| CE apps / Exchange   | GA+SA | EA+SA | DMA+SA | SA  | service admin | EA | GA |
|----------------------|-------|-------|--------|-----|---------------|----|----|
| online / online      | Yes   | Yes   | Yes¹   | No  | No            | No | No |
| online / on-premises | n/a   | n/a   | n/a    | Yes | No            | n/a| n/a|
| on-prem / online     | n/a   | n/a   | n/a    | Yes | n/a           | n/a| n/a|
| on-prem / on-prem    | n/a   | n/a   | n/a    | Yes | n/a           | n/a| n/a|

¹ from version 9.2.22104.00170. In the rows where only "SA" is Yes, holding System
Administrator is what counts (the n/a columns add nothing and take nothing away). The
Dynamics 365 administrator Entra role ("service admin") grants nothing by itself.

This module is pure where it can be (`table_allows`, `exchange_kind`, `version_at_least`) and
reads the sim's state for the facts about a principal (`facts_of`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal

from sim.fixture import ENTRA_ROLE_TEMPLATE_IDS, EntraRole
from sim.privileges import (
    all_roles,
    direct_roles,
    is_delegated_mailbox_approver_role,
    is_system_administrator_role,
)
from sim.state import (
    SERVERTYPE_EXCHANGE,
    SERVERTYPE_EXCHANGE_HYBRID,
    SERVERTYPE_EXCHANGE_ONLINE_HYBRID,
    Row,
    SimState,
)

DMA_MIN_VERSION: Final = "9.2.22104.00170"

APPROVED: Final = 1
PENDING: Final = 2
REJECTED: Final = 3
APPROVAL_VALUES: Final = frozenset({0, 1, 2, 3})

GLOBAL_ADMIN: Final = ENTRA_ROLE_TEMPLATE_IDS[EntraRole.GLOBAL_ADMIN]
EXCHANGE_ADMIN: Final = ENTRA_ROLE_TEMPLATE_IDS[EntraRole.EXCHANGE_ADMIN]
SERVICE_ADMIN: Final = ENTRA_ROLE_TEMPLATE_IDS[EntraRole.DYNAMICS_ADMIN]

Deployment = Literal["online", "onprem"]
ExchangeKind = Literal["online", "onprem"]


def version_tuple(version: str) -> tuple[int, ...]:
    """'9.2.22104.00170' -> (9, 2, 22104, 170): versions compare numerically, part by part."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def version_at_least(version: str, minimum: str = DMA_MIN_VERSION) -> bool:
    return version_tuple(version) >= version_tuple(minimum)


def exchange_kind(deployment: str, servertype: int | None) -> ExchangeKind:
    """Which Exchange a server profile connects to, from its `servertype` and the deployment.

    reference §2 (S32): the legacy profile form names the values ExchangeServer 0,
    Pop3smtp 1, ExchangeOnpremOnCrmOnline 2, ExchangeOnlineOnCrmOnPrem 3 (4 IMAP/SMTP).
    So in an online environment 0 is its Exchange Online profile (the "safest reading" of
    §12.1) and 2 is an on-premises Exchange; in an on-premises environment 3 is Exchange
    Online and 0 (or 2) an on-premises Exchange. A value that names the other deployment's
    hybrid (3 seen online) still says which Exchange it is: 3 is always Exchange Online.
    POP3/SMTP, IMAP/SMTP or no profile at all is no Exchange Online, so it falls under the
    table's "Exchange (on-premises)" rows, whose rule (System Administrator) is the only one
    that does not depend on Office 365 roles.
    """
    if servertype == SERVERTYPE_EXCHANGE_ONLINE_HYBRID:
        return "online"
    if servertype == SERVERTYPE_EXCHANGE_HYBRID:
        return "onprem"
    if servertype == SERVERTYPE_EXCHANGE:
        return "online" if deployment == "online" else "onprem"
    return "onprem"


@dataclass(frozen=True)
class Facts:
    """What the table looks at for one principal."""

    global_admin: bool = False
    exchange_admin: bool = False
    service_admin: bool = False
    delegated_approver: bool = False  # the Dataverse role, held directly
    system_admin: bool = False  # the Dataverse role, directly or through a team


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def table_allows(deployment: str, exchange: ExchangeKind, version: str, facts: Facts) -> Verdict:
    """One cell of the permission table (module docstring)."""
    if deployment == "online" and exchange == "online":
        if not facts.system_admin:
            return Verdict(
                False,
                "Customer engagement apps with Exchange Online need the System Administrator "
                "role together with Global admin, Exchange admin or Delegated Mailbox Approver",
            )
        if facts.global_admin:
            return Verdict(True, "Global admin and System Administrator")
        if facts.exchange_admin:
            return Verdict(True, "Exchange admin and System Administrator")
        if facts.delegated_approver:
            if version_at_least(version):
                return Verdict(True, "Delegated Mailbox Approver and System Administrator")
            return Verdict(
                False,
                f"Delegated Mailbox Approver counts only from version {DMA_MIN_VERSION} "
                f"(this environment runs {version})",
            )
        return Verdict(
            False,
            "System Administrator alone cannot approve email for Exchange Online: also needs "
            "Global admin, Exchange admin or Delegated Mailbox Approver",
        )
    if facts.system_admin:
        return Verdict(True, "System Administrator")
    return Verdict(False, "needs the System Administrator role")


def facts_of(state: SimState, user: Row, *, entra_roles_count: bool = True) -> Facts:
    """The table's facts about one system user.

    `entra_roles_count=False` gives an identity no Entra admin roles (an application user
    calling as itself, reference §4.3 / §12.5). The Delegated Mailbox Approver role counts
    only when assigned directly (the version gate is `table_allows`' business); System
    Administrator counts through teams too.
    """
    uid = str(user.get("systemuserid") or "")
    oid = str(user.get("azureactivedirectoryobjectid") or "")
    entra = state.entra_role_templates_of(oid) if (entra_roles_count and oid) else set()
    return Facts(
        global_admin=GLOBAL_ADMIN in entra,
        exchange_admin=EXCHANGE_ADMIN in entra,
        service_admin=SERVICE_ADMIN in entra,
        delegated_approver=any(
            is_delegated_mailbox_approver_role(state, r) for r in direct_roles(state, uid)
        ),
        system_admin=any(is_system_administrator_role(state, r) for r in all_roles(state, uid)),
    )


# ---- how a refusal looks: the shapes seen in the field (reference §4.3) --------------------


class RefusalShape(Enum):
    """How the sim answers an approval that the permission table refuses.

    - DOCUMENTED: 403 0x8009000B O365RoleUnsupportedForEmailApproval, the one code in the
      documented error list (S12). The default.
    - CRM_SECURITY: 403 with 0x80040256 (-2147220906), "The Queue: … email … doesn't match
      with UPN. User … should be a global administrator to approve mailbox in organization
      …", the inner fault the support article shows (S40, a-failure-occurred-crmsecurity.md).
    - CRM_SECURITY_WRAPPED: the same text under the outer fault 0x80040216 (-2147220970) of
      that article, answered 500 as an unexpected error.
    The HTTP statuses are unconfirmed: the article shows the admin UI's fault, not the Web
    API's answer.
    """

    DOCUMENTED = "documented"
    CRM_SECURITY = "crm-security"
    CRM_SECURITY_WRAPPED = "crm-security-wrapped"


# S40's fault codes (reference §4.3; the name of 0x80040256 is unknown, §12.11).
CRM_SECURITY_INNER: Final = "0x80040256"
CRM_SECURITY_OUTER: Final = "0x80040216"


@dataclass
class ApprovalScenario:
    """Field behaviours of approval the sim can be asked to show (default: the documented).

    `app_write_ignored` (S43, Microsoft.Xrm.Data.PowerShell issues 454 and 504): an
    application user approving as itself "ran with no error but the mailbox stayed
    unapproved": the write answers 204 and nothing is stored, where the default refuses it
    like any caller the permission table says no to.
    """

    refusal: RefusalShape = RefusalShape.DOCUMENTED
    app_write_ignored: bool = False


_SCENARIO_KEY: Final = "approval.scenario"


def scenario(extras: dict[str, Any], state: SimState) -> ApprovalScenario:
    """The scenario of the sim's current state (a reset state starts from the default)."""
    held = extras.get(_SCENARIO_KEY)
    if held is None or held[0] is not state:
        held = (state, ApprovalScenario())
        extras[_SCENARIO_KEY] = held
    found: ApprovalScenario = held[1]
    return found


def set_scenario(extras: dict[str, Any], state: SimState, chosen: ApprovalScenario) -> None:
    """Show `chosen` until the sim is reset."""
    extras[_SCENARIO_KEY] = (state, chosen)
