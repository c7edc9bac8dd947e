"""The facts a permission decision is made from: who acts, in which environment, on what.

These are plain frozen values, filled in by whoever reads Graph and Dataverse; this package
never fetches them itself (see :mod:`permissions.facts` for the cache around a source).
``None`` in a field means "not known", and the decision treats an unknown fact as unmet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from types import MappingProxyType


class Depth(StrEnum):
    """Privilege depth (access level), narrowest first; values match Dataverse's names."""

    USER = "user"
    BUSINESS_UNIT = "business_unit"
    PARENT_CHILD = "parent_child"
    ORGANIZATION = "organization"

    @property
    def rank(self) -> int:
        """0 for user depth up to 3 for organization depth."""
        return _DEPTH_ORDER.index(self)

    def covers(self, needed: Depth) -> bool:
        """Whether holding this depth satisfies a need for ``needed``."""
        return self.rank >= needed.rank


_DEPTH_ORDER: tuple[Depth, ...] = tuple(Depth)


class Deployment(StrEnum):
    """Where the Dataverse / customer engagement environment runs."""

    ONLINE = "online"
    ONPREM = "onprem"


class MailboxKind(StrEnum):
    """Whose mailbox: a person's (systemuser) or a queue's."""

    PERSON = "person"
    QUEUE = "queue"


class PrincipalKind(StrEnum):
    """Who a security role is being assigned to."""

    USER = "user"
    TEAM = "team"


class ApprovalState(IntEnum):
    """``emailrouteraccessapproval`` option values (reference §1.2)."""

    EMPTY = 0
    APPROVED = 1
    PENDING = 2
    REJECTED = 3


@dataclass(frozen=True)
class RoleRef:
    """A Dataverse security role the actor holds: its name and its role template id."""

    name: str
    template_id: str | None = None

    def matches(self, name: str, template_id: str | None) -> bool:
        """Match by template id when the wanted role has one, else by name.

        A role with a template id is matched on the id only: built-in role names are
        localized, and a copy of a role keeps the name but loses the template.
        """
        if template_id is not None:
            return (self.template_id or "").lower() == template_id.lower()
        return self.name.strip().casefold() == name.strip().casefold()


def merge_privileges(*grants: Mapping[str, Depth]) -> dict[str, Depth]:
    """Merge the privileges of several roles, keeping the widest depth of each."""
    merged: dict[str, Depth] = {}
    for grant in grants:
        for name, depth in grant.items():
            held = merged.get(name)
            if held is None or depth.rank > held.rank:
                merged[name] = depth
    return merged


def _frozen_privileges(privileges: Mapping[str, Depth]) -> Mapping[str, Depth]:
    return MappingProxyType(dict(privileges))


@dataclass(frozen=True)
class Actor:
    """The person (or application) asking.

    Args:
        object_id: Entra object id.
        upn: User principal name (``systemuser.domainname``); ``None`` if unknown.
        entra_role_template_ids: active Entra role template ids, direct and through groups
            already merged; ``None`` when they could not be read.
        direct_roles: Dataverse roles assigned to the user.
        team_roles: Dataverse roles held through team membership.
        privileges: privilege name -> widest depth, merged from all roles (direct and team).
        is_application: an application user / service principal rather than a person.
        systemuser_id: the actor's Dataverse systemuser id, used to tell own mailboxes.
    """

    object_id: str
    upn: str | None
    entra_role_template_ids: frozenset[str] | None
    direct_roles: frozenset[RoleRef] = frozenset()
    team_roles: frozenset[RoleRef] = frozenset()
    privileges: Mapping[str, Depth] = field(default_factory=dict)
    is_application: bool = False
    systemuser_id: str | None = None

    def __post_init__(self) -> None:
        # A read-only copy: a caller mutating its dict must not change a decided actor.
        object.__setattr__(self, "privileges", _frozen_privileges(self.privileges))
        if self.entra_role_template_ids is not None:
            lowered = frozenset(t.lower() for t in self.entra_role_template_ids)
            object.__setattr__(self, "entra_role_template_ids", lowered)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Actor):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return (
            self.object_id,
            self.upn,
            self.entra_role_template_ids,
            self.direct_roles,
            self.team_roles,
            frozenset(self.privileges.items()),
            self.is_application,
            self.systemuser_id,
        )

    def privilege(self, name: str) -> Depth | None:
        """The depth at which the actor holds privilege ``name``, if at all."""
        return self.privileges.get(name)

    def has_entra_role(self, template_id: str) -> bool | None:
        """``None`` when the actor's Entra roles are unknown."""
        if self.entra_role_template_ids is None:
            return None
        return template_id.lower() in self.entra_role_template_ids

    def holds_role(
        self, name: str, template_id: str | None = None, *, direct_only: bool = False
    ) -> bool:
        """Whether the actor holds a Dataverse role, directly or (unless ``direct_only``)
        through a team."""
        pool = self.direct_roles if direct_only else self.direct_roles | self.team_roles
        return any(role.matches(name, template_id) for role in pool)


@dataclass(frozen=True)
class Environment:
    """The Dataverse environment.

    Args:
        deployment: online or on-premises; ``None`` if unknown.
        version: ``RetrieveVersion`` text such as ``9.2.22104.00170``; ``None`` if unknown.
        require_privilege_to_self_approve: the OrgDBOrgSetting
            RequirePrivilegeToSelfApproveEmailAddress (disabled by default); ``None`` if unknown.
    """

    deployment: Deployment | None
    version: str | None
    require_privilege_to_self_approve: bool | None = False


@dataclass(frozen=True)
class MailboxTarget:
    """The mailbox an action is about.

    Args:
        kind: a person's or a queue's mailbox.
        email: the mailbox's email address; ``None`` if unknown.
        owner_systemuser_id: the mailbox row's owner.
        is_actors_own: whether the actor owns the mailbox row; ``None`` means "work it out
            from ``owner_systemuser_id`` and the actor's systemuser id", unknown if it can't.
        servertype: the linked server profile's ``servertype``. ``None`` means no profile,
            read as the deployment's default (see :func:`permissions.table.read_server_type`);
            a caller that wants the organization's default profile to decide instead passes
            that profile's ``servertype``.
        approval: ``emailrouteraccessapproval``; ``None`` if unknown.
    """

    kind: MailboxKind
    email: str | None
    owner_systemuser_id: str | None = None
    is_actors_own: bool | None = None
    servertype: int | None = None
    approval: ApprovalState | None = None


@dataclass(frozen=True)
class ServerProfileTarget:
    """An existing email server profile to change (a user-owned row)."""

    profile_id: str | None = None
    owned_by_actor: bool | None = None


@dataclass(frozen=True)
class RoleAssignmentTarget:
    """Whom the Delegated Mailbox Approver role is assigned to or removed from."""

    principal_kind: PrincipalKind
    principal_id: str | None = None


Target = MailboxTarget | ServerProfileTarget | RoleAssignmentTarget
