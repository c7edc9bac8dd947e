"""Stable identifiers the permission model matches on: Entra role templates, Dataverse roles,
privilege names and the version gate.

Names shown to people live next to the ids so that one place says what an id means.
Sources: reference/dataverse.md §4.1 (privilege, version gate), §7 (Entra role template ids)
and §8 (System Administrator template id; Delegated Mailbox Approver found by name).
"""

from __future__ import annotations

from typing import Final

# Entra (Microsoft 365) directory role template ids, reference §7.
GLOBAL_ADMIN: Final = "62e90394-69f5-4237-9190-012177145e10"
EXCHANGE_ADMIN: Final = "29232cdf-9323-42fd-ade2-1d097af3e4de"
DYNAMICS_SERVICE_ADMIN: Final = "44367163-eba1-44c3-98af-f5787879f96a"

ENTRA_ROLE_NAMES: Final[dict[str, str]] = {
    GLOBAL_ADMIN: "Global Administrator",
    EXCHANGE_ADMIN: "Exchange Administrator",
    DYNAMICS_SERVICE_ADMIN: "Dynamics 365 Administrator (service admin)",
}

# Dataverse security roles. System Administrator is matched by its role template id only:
# built-in role names are localized, and a copied role keeps the name but has no template.
SYSTEM_ADMINISTRATOR_NAME: Final = "System Administrator"
SYSTEM_ADMINISTRATOR_TEMPLATE: Final = "627090ff-40a3-4053-8790-584edc5be201"
# The Delegated Mailbox Approver's template id is unconfirmed (reference §12.6), so the
# reference's advice is followed: find it by name.
DELEGATED_MAILBOX_APPROVER_NAME: Final = "Delegated Mailbox Approver"

# Privilege names (roleprivileges / privilege.name).
PRV_APPROVE_REJECT_EMAIL: Final = "prvApproveRejectEmailAddress"
PRV_READ_MAILBOX: Final = "prvReadMailbox"
PRV_WRITE_MAILBOX: Final = "prvWriteMailbox"
PRV_CREATE_EMAIL_SERVER_PROFILE: Final = "prvCreateEmailServerProfile"
PRV_WRITE_EMAIL_SERVER_PROFILE: Final = "prvWriteEmailServerProfile"
PRV_WRITE_ORGANIZATION: Final = "prvWriteOrganization"
PRV_ASSIGN_ROLE: Final = "prvAssignRole"

# Footnote ¹ of the seed's table and the Delegated Mailbox Approver's availability.
DELEGATED_APPROVER_MIN_VERSION: Final = "9.2.22104.00170"

# Dataverse error codes the seed names for assigning the Delegated Mailbox Approver role.
ERROR_NOT_GLOBAL_OR_EXCHANGE_ADMIN: Final = "0x80090904"
ERROR_ROLE_TO_TEAM: Final = "0x80090905"
ERROR_ROLE_TO_TEAM_NAME: Final = "CannotAssignDelegatedMailboxApproverRoleToTeam"


def entra_role_name(template_id: str) -> str:
    """The English name of an Entra role template id, or the id itself when unknown."""
    return ENTRA_ROLE_NAMES.get(template_id.lower(), template_id)
