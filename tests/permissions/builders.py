"""Builders for the permission tests: people, environments and mailboxes from the seed's
vocabulary. Roles carry the privileges the fixture's roles carry (sim/fixtures/contoso.yaml),
written out here so that the tests do not depend on the sim."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from permissions import (
    Actor,
    ApprovalState,
    Deployment,
    Depth,
    Environment,
    MailboxKind,
    MailboxTarget,
    RoleRef,
    Row,
    merge_privileges,
)
from permissions.identifiers import (
    DYNAMICS_SERVICE_ADMIN,
    EXCHANGE_ADMIN,
    GLOBAL_ADMIN,
    PRV_APPROVE_REJECT_EMAIL,
    PRV_ASSIGN_ROLE,
    PRV_CREATE_EMAIL_SERVER_PROFILE,
    PRV_READ_MAILBOX,
    PRV_WRITE_EMAIL_SERVER_PROFILE,
    PRV_WRITE_MAILBOX,
    PRV_WRITE_ORGANIZATION,
    SYSTEM_ADMINISTRATOR_TEMPLATE,
)

GA: Final = GLOBAL_ADMIN
EA: Final = EXCHANGE_ADMIN
SERVICE_ADMIN: Final = DYNAMICS_SERVICE_ADMIN

SYSTEM_ADMIN: Final = RoleRef("System Administrator", SYSTEM_ADMINISTRATOR_TEMPLATE)
DELEGATED_APPROVER: Final = RoleRef("Delegated Mailbox Approver")
BASIC_USER: Final = RoleRef("Basic User")
EMAIL_APPROVER: Final = RoleRef("Email Address Approver")

ROLE_PRIVILEGES: Final[dict[RoleRef, dict[str, Depth]]] = {
    SYSTEM_ADMIN: {
        PRV_APPROVE_REJECT_EMAIL: Depth.ORGANIZATION,
        PRV_READ_MAILBOX: Depth.ORGANIZATION,
        PRV_WRITE_MAILBOX: Depth.ORGANIZATION,
        PRV_CREATE_EMAIL_SERVER_PROFILE: Depth.ORGANIZATION,
        PRV_WRITE_EMAIL_SERVER_PROFILE: Depth.ORGANIZATION,
        PRV_WRITE_ORGANIZATION: Depth.ORGANIZATION,
        PRV_ASSIGN_ROLE: Depth.ORGANIZATION,
    },
    DELEGATED_APPROVER: {},
    BASIC_USER: {PRV_READ_MAILBOX: Depth.USER, PRV_WRITE_MAILBOX: Depth.USER},
    EMAIL_APPROVER: {
        PRV_APPROVE_REJECT_EMAIL: Depth.ORGANIZATION,
        PRV_READ_MAILBOX: Depth.ORGANIZATION,
        PRV_WRITE_MAILBOX: Depth.ORGANIZATION,
    },
}

RECENT: Final = "9.2.25093.00214"
ME: Final = "me@contoso.com"
MY_ID: Final = "5e000000-0000-4000-8000-000000000001"


def person(
    *,
    entra: Iterable[str] = (),
    direct: Iterable[RoleRef] = (BASIC_USER,),
    team: Iterable[RoleRef] = (),
    privileges: Mapping[str, Depth] | None = None,
    upn: str | None = ME,
    application: bool = False,
    entra_known: bool = True,
) -> Actor:
    """An actor whose privileges are those of their roles unless ``privileges`` is given."""
    direct_roles, team_roles = frozenset(direct), frozenset(team)
    if privileges is None:
        privileges = merge_privileges(*(ROLE_PRIVILEGES[r] for r in direct_roles | team_roles))
    return Actor(
        object_id="aa000000-0000-4000-8000-000000000001",
        upn=upn,
        entra_role_template_ids=frozenset(entra) if entra_known else None,
        direct_roles=direct_roles,
        team_roles=team_roles,
        privileges=privileges,
        is_application=application,
        systemuser_id=MY_ID,
    )


def online(version: str | None = RECENT, *, require_privilege: bool | None = False) -> Environment:
    return Environment(Deployment.ONLINE, version, require_privilege)


def onprem(version: str | None = RECENT) -> Environment:
    return Environment(Deployment.ONPREM, version, False)


def mailbox(
    email: str | None = "alice@contoso.com",
    *,
    kind: MailboxKind = MailboxKind.PERSON,
    servertype: int | None = 0,
    approval: ApprovalState | None = ApprovalState.PENDING,
    own: bool | None = False,
) -> MailboxTarget:
    return MailboxTarget(
        kind=kind,
        email=email,
        owner_systemuser_id=None,
        is_actors_own=own,
        servertype=servertype,
        approval=approval,
    )


# How each row of the table is reached: a deployment and a profile's servertype
# (reference §2 note; the reading under test in test_table.py).
ROW_PLACEMENT: Final[dict[Row, tuple[Environment, int]]] = {
    Row.ONLINE_WITH_EXCHANGE_ONLINE: (online(), 0),
    Row.ONLINE_WITH_EXCHANGE_ONPREM: (online(), 2),
    Row.ONPREM_WITH_EXCHANGE_ONLINE: (onprem(), 3),
    Row.ONPREM_WITH_EXCHANGE_ONPREM: (onprem(), 0),
}
