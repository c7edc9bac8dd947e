"""Assigning and removing the Delegated Mailbox Approver security role (reference §4.1, §8;
the seed's "Mendelegasikan persetujuan kotak pesan").

The role exists once per business unit and has no confirmed template id, so it is found by
name in the principal's business unit. Only a Global or Exchange admin may assign or
remove it (`DelegatedApproverAssignDenied`, 0x80090904), and never to a team
(`DelegatedApproverNotForTeams`, 0x80090905).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final, Literal

from dataverse.client import DataverseClient
from dataverse.errors import Conflict, InvalidInput, PreconditionFailed
from dataverse.models import Role, SystemUser, Team
from dataverse.odata import Query, col, key_segment, parse_guid
from dataverse.ops._bulk import Caller, as_caller
from dataverse.ops.errors import UnknownName, refined

DELEGATED_MAILBOX_APPROVER: Final = "Delegated Mailbox Approver"
Principal = Literal["user", "team"]
_RELATIONSHIP: Final[dict[Principal, str]] = {
    "user": "systemuserroles_association",
    "team": "teamroles_association",
}


@dataclass(frozen=True)
class RoleChange:
    """What an assignment did; `changed` False when it was already so."""

    principal_id: uuid.UUID
    role: Role
    changed: bool
    reason: str = ""


async def _role_for(
    client: DataverseClient, principal: Principal, principal_id: uuid.UUID, name: str
) -> Role:
    holder: SystemUser | Team
    if principal == "user":
        holder = await client.get_row(
            SystemUser, principal_id, select=["systemuserid", "_businessunitid_value"]
        )
    else:
        holder = await client.get_row(
            Team, principal_id, select=["teamid", "_businessunitid_value"]
        )
    unit = holder.business_unit_id
    where = col("name").eq(name)
    if unit is not None:
        where = where & col("_businessunitid_value").eq(unit)
    roles = await client.list_rows(Role, Query(filter=where))
    if not roles:
        # Online environments before 9.2.22104.00170 do not have the role at all (§4.1).
        msg = f"no security role named {name!r} in the business unit of {principal} {principal_id}"
        raise UnknownName(msg)
    return roles[0]


async def _holds(
    client: DataverseClient, principal: Principal, principal_id: uuid.UUID, role: Role
) -> bool:
    entity_set = "systemusers" if principal == "user" else "teams"
    path = f"{key_segment(entity_set, principal_id)}/{_RELATIONSHIP[principal]}"
    held = await client.list_rows(
        Role, Query(select=("roleid",), filter=col("roleid").eq(role.id)), path=path
    )
    return bool(held)


def _principal(principal: str) -> Principal:
    if principal not in _RELATIONSHIP:
        msg = "principal must be 'user' or 'team'"
        raise InvalidInput(msg)
    return "user" if principal == "user" else "team"


async def assign_delegated_approver(
    client: DataverseClient,
    principal_id: str | uuid.UUID,
    *,
    principal: Principal = "user",
    acting_for: Caller = None,
) -> RoleChange:
    """Give a user the Delegated Mailbox Approver role (a team is refused by Dataverse)."""
    return await _change(client, principal_id, _principal(principal), acting_for, adding=True)


async def remove_delegated_approver(
    client: DataverseClient,
    principal_id: str | uuid.UUID,
    *,
    principal: Principal = "user",
    acting_for: Caller = None,
) -> RoleChange:
    """Take the Delegated Mailbox Approver role away from a user."""
    return await _change(client, principal_id, _principal(principal), acting_for, adding=False)


async def _change(
    client: DataverseClient,
    principal_id: str | uuid.UUID,
    principal: Principal,
    acting_for: Caller,
    *,
    adding: bool,
) -> RoleChange:
    key = parse_guid(principal_id)
    caller = as_caller(client, acting_for)
    role = await _role_for(caller, principal, key, DELEGATED_MAILBOX_APPROVER)
    held = await _holds(caller, principal, key, role)
    if held == adding:
        reason = "already holds the role" if adding else "does not hold the role"
        return RoleChange(key, role, False, reason)
    model = SystemUser if principal == "user" else Team
    try:
        with refined():
            if adding:
                await caller.associate(model, key, _RELATIONSHIP[principal], Role, role.id)
            else:
                await caller.disassociate(model, key, _RELATIONSHIP[principal], role.id)
    except (Conflict, PreconditionFailed):
        # Two assignments raced (a duplicate answers 412): the link is there once.
        if not adding or not await _holds(caller, principal, key, role):
            raise
        return RoleChange(key, role, False, "already holds the role")
    return RoleChange(key, role, True)
