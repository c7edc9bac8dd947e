"""Rules: the named reasons a decision cites. Table cells are rules too
(:attr:`permissions.table.Cell.rule`); the rest are listed here so the bot can translate
them by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Rule:
    """A stable ``id`` (used for localization and audit), a short ``title`` and an English
    ``description``."""

    id: str
    title: str
    description: str


UNKNOWN_ACTION: Final = Rule(
    "deny/unknown-action",
    "Unknown action",
    "The action is not one the permission model knows, so it is denied.",
)
MISSING_FACTS: Final = Rule(
    "deny/missing-facts",
    "Missing facts",
    "A fact the decision depends on is not known, so the action is denied.",
)
WRONG_TARGET: Final = Rule(
    "deny/wrong-target",
    "Wrong kind of target",
    "The action needs another kind of target (a mailbox, a server profile or a role "
    "assignee), so it is denied.",
)
SELF_APPROVAL: Final = Rule(
    "approve/own-mailbox",
    "Approve your own mailbox",
    "You may approve your own user mailbox when all four conditions hold: your UPN matches "
    "the mailbox's email address; RequirePrivilegeToSelfApproveEmailAddress is disabled or "
    "you hold Approve Email Addresses for Users or Queues; you have at least user-level Write "
    "on Mailbox; it is not a queue mailbox.",
)
MAILBOX_WRITE_ALL: Final = Rule(
    "mailbox/read-write-all",
    "Mailbox Read and Write, business unit or wider",
    "Read and Write on the Mailbox table at business-unit depth or wider reach every mailbox.",
)
MAILBOX_WRITE_OWN: Final = Rule(
    "mailbox/read-write-own",
    "Mailbox Read and Write on your own mailbox",
    "Read and Write on the Mailbox table at user depth reach only the mailboxes you own.",
)
MAILBOX_READ_ALL: Final = Rule(
    "mailbox/read-all",
    "Mailbox Read, business unit or wider",
    "Read on the Mailbox table at business-unit depth or wider shows every mailbox.",
)
MAILBOX_READ_OWN: Final = Rule(
    "mailbox/read-own",
    "Mailbox Read on your own mailbox",
    "Read on the Mailbox table at user depth shows only the mailboxes you own.",
)
PROFILE_CREATE: Final = Rule(
    "profile/create",
    "Create email server profiles",
    "Creating an email server profile needs prvCreateEmailServerProfile.",
)
PROFILE_WRITE_ALL: Final = Rule(
    "profile/write-all",
    "Change any email server profile",
    "Changing a profile you do not own needs prvWriteEmailServerProfile at business-unit "
    "depth or wider.",
)
PROFILE_WRITE_OWN: Final = Rule(
    "profile/write-own",
    "Change your own email server profile",
    "Changing a profile you own needs prvWriteEmailServerProfile at user depth or wider.",
)
ORGANIZATION_WRITE: Final = Rule(
    "organization/write",
    "Change organization email settings",
    "The default server profile and the organization's email settings are columns of the "
    "organization row, which needs prvWriteOrganization.",
)
ASSIGN_BY_GLOBAL_ADMIN: Final = Rule(
    "delegated-approver/global-admin",
    "Global admin assigns the Delegated Mailbox Approver",
    "A Global Administrator with prvAssignRole may assign or remove the Delegated Mailbox "
    "Approver role for a user (online, version 9.2.22104.00170 or later).",
)
ASSIGN_BY_EXCHANGE_ADMIN: Final = Rule(
    "delegated-approver/exchange-admin",
    "Exchange admin assigns the Delegated Mailbox Approver",
    "An Exchange Administrator with prvAssignRole may assign or remove the Delegated Mailbox "
    "Approver role for a user (online, version 9.2.22104.00170 or later).",
)
ASSIGN_NOT_ADMIN: Final = Rule(
    "delegated-approver/not-admin",
    "Only Global or Exchange admins assign the Delegated Mailbox Approver",
    "You must be an Office 365 Global Administrator or an Exchange Administrator to assign "
    "the Delegated Mailbox Approver role (0x80090904).",
)
ASSIGN_TO_TEAM: Final = Rule(
    "delegated-approver/team",
    "The Delegated Mailbox Approver cannot be given to a team",
    "The Delegated Mailbox Approver role can't be assigned to a team (0x80090905, "
    "CannotAssignDelegatedMailboxApproverRoleToTeam).",
)
ASSIGN_UNAVAILABLE: Final = Rule(
    "delegated-approver/unavailable",
    "The Delegated Mailbox Approver role is not available here",
    "The role exists only in online environments from version 9.2.22104.00170.",
)
