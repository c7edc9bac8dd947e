"""Typed requirements: what a path to "allowed" needs, and what a denied actor lacks.

Each requirement is a frozen value with a :attr:`~Requirement.scope` (does the person, the
environment or the target have to change?) and an English :meth:`~Requirement.describe`.
The bot localizes from the fields; the English text is a fallback and for logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from permissions.identifiers import ERROR_ROLE_TO_TEAM, ERROR_ROLE_TO_TEAM_NAME, entra_role_name
from permissions.model import Deployment, Depth


class Scope(StrEnum):
    """Whose fact a requirement is about; only person-level gaps can be fixed by asking
    someone else, so alternatives leave out paths blocked by the environment or target."""

    PERSON = "person"
    ENVIRONMENT = "environment"
    TARGET = "target"


class Fact(StrEnum):
    """A fact the decision needed but was not given."""

    ACTION = "action"
    ACTOR_UPN = "actor.upn"
    ACTOR_ENTRA_ROLES = "actor.entra_role_template_ids"
    DEPLOYMENT = "environment.deployment"
    SELF_APPROVE_SETTING = "environment.require_privilege_to_self_approve"
    TARGET = "target"
    MAILBOX_EMAIL = "target.email"
    SERVER_TYPE = "target.servertype"

    @property
    def scope(self) -> Scope:
        if self.value.startswith("actor."):
            return Scope.PERSON
        if self.value.startswith("environment."):
            return Scope.ENVIRONMENT
        return Scope.TARGET


class SelfApprovalCondition(IntEnum):
    """The four conditions for approving your own mailbox (seed "Setujui kotak pesan
    pengguna Anda sendiri"; reference §4.1), numbered as there."""

    UPN_MATCHES_MAILBOX = 1
    SETTING_DISABLED_OR_PRIVILEGE = 2
    USER_LEVEL_WRITE = 3
    NOT_A_QUEUE = 4

    @property
    def text(self) -> str:
        return _SELF_APPROVAL_TEXT[self]


_SELF_APPROVAL_TEXT = {
    SelfApprovalCondition.UPN_MATCHES_MAILBOX: (
        "your user principal name matches the mailbox's email address"
    ),
    SelfApprovalCondition.SETTING_DISABLED_OR_PRIVILEGE: (
        "RequirePrivilegeToSelfApproveEmailAddress is disabled, or you hold "
        "Approve Email Addresses for Users or Queues"
    ),
    SelfApprovalCondition.USER_LEVEL_WRITE: "at least user-level Write on the Mailbox table",
    SelfApprovalCondition.NOT_A_QUEUE: "the mailbox is not a queue's mailbox",
}


@dataclass(frozen=True)
class Requirement:
    """Base of all requirements."""

    @property
    def scope(self) -> Scope:
        return Scope.PERSON

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class EntraRoleRequirement(Requirement):
    """An active Entra (Microsoft 365) directory role, direct or through a group."""

    template_id: str

    @property
    def name(self) -> str:
        return entra_role_name(self.template_id)

    def describe(self) -> str:
        return f"Entra role {self.name}"


@dataclass(frozen=True)
class DataverseRoleRequirement(Requirement):
    """A Dataverse security role; ``direct_only`` when a team's role does not count."""

    name: str
    template_id: str | None = None
    direct_only: bool = False

    def describe(self) -> str:
        how = "assigned to you directly (not through a team)" if self.direct_only else ""
        return f"Dataverse role {self.name} {how}".rstrip()


@dataclass(frozen=True)
class PrivilegeRequirement(Requirement):
    """A Dataverse privilege at ``min_depth`` or wider; ``held`` is what the actor has."""

    privilege: str
    min_depth: Depth = Depth.USER
    held: Depth | None = None

    def describe(self) -> str:
        text = f"privilege {self.privilege}"
        if self.min_depth is not Depth.USER:
            text += f" at {self.min_depth.value} depth or wider"
        if self.held is not None:
            text += f" (you hold {self.held.value} depth)"
        return text


@dataclass(frozen=True)
class VersionRequirement(Requirement):
    """The environment's version must be at least ``minimum``."""

    minimum: str
    actual: str | None = None

    @property
    def scope(self) -> Scope:
        return Scope.ENVIRONMENT

    def describe(self) -> str:
        actual = self.actual if self.actual is not None else "unknown"
        return f"environment version {self.minimum} or later (it is {actual})"


@dataclass(frozen=True)
class DeploymentRequirement(Requirement):
    """The environment must run as ``deployment``."""

    deployment: Deployment

    @property
    def scope(self) -> Scope:
        return Scope.ENVIRONMENT

    def describe(self) -> str:
        where = "online" if self.deployment is Deployment.ONLINE else "on-premises"
        return f"an {where} environment"


@dataclass(frozen=True)
class PersonRequirement(Requirement):
    """A person's Entra roles are checked: an application identity cannot stand in."""

    def describe(self) -> str:
        return "a person's account (not an application identity)"


@dataclass(frozen=True)
class SelfApprovalRequirement(Requirement):
    """One of the four own-mailbox approval conditions; ``unknown`` names the fact that was
    missing when the condition could not be checked."""

    condition: SelfApprovalCondition
    unknown: Fact | None = None

    @property
    def scope(self) -> Scope:
        if self.condition is SelfApprovalCondition.NOT_A_QUEUE:
            return Scope.TARGET
        return Scope.PERSON

    def describe(self) -> str:
        text = f"own-mailbox condition {int(self.condition)}: {self.condition.text}"
        if self.unknown is not None:
            text += f" ({self.unknown.value} is not known)"
        return text


@dataclass(frozen=True)
class OwnRecordRequirement(Requirement):
    """The actor owns the target row (``table`` is ``mailbox`` or ``emailserverprofile``);
    user-depth privileges reach only such rows."""

    table: str
    unknown: bool = False

    def describe(self) -> str:
        text = f"ownership of the {self.table} row"
        return text + " (ownership is not known)" if self.unknown else text


@dataclass(frozen=True)
class UserPrincipalRequirement(Requirement):
    """The Delegated Mailbox Approver role can only be given to users, never to teams."""

    error_code: str = ERROR_ROLE_TO_TEAM
    error_name: str = ERROR_ROLE_TO_TEAM_NAME

    @property
    def scope(self) -> Scope:
        return Scope.TARGET

    def describe(self) -> str:
        return f"a user, not a team ({self.error_code} {self.error_name})"


@dataclass(frozen=True)
class KnownFactRequirement(Requirement):
    """A fact the decision needs was not supplied, so it is treated as unmet."""

    fact: Fact

    @property
    def scope(self) -> Scope:
        return self.fact.scope

    def describe(self) -> str:
        return f"a known value for {self.fact.value}"


@dataclass(frozen=True)
class KnownServerTypeRequirement(Requirement):
    """The mailbox's profile has a ``servertype`` value this model does not know."""

    servertype: int

    @property
    def scope(self) -> Scope:
        return Scope.TARGET

    def describe(self) -> str:
        return f"a known email server profile type (servertype {self.servertype} is not)"
