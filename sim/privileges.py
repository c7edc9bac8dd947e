"""Dataverse security privileges as the sim enforces them (reference/dataverse.md §6.2, §6.7, §8).

Privileges come from security roles (`SimState.role_privileges`: role id -> privilege ->
depth), held directly (`systemuserroles_association`) or through team membership
(`teammembership_association` + `teamroles_association`); team roles count for privileges.

Two rules of the platform that the fixture's privilege lists do not spell out:

- The System Administrator role (template 627090ff-…, reference §8) holds every privilege at
  organization depth, whether or not the fixture lists it, except
  `prvActOnBehalfOfAnotherUser` (see the next point). A fixture lists only "the privileges
  the sim's rules look at"; a System Administrator who could not, say, add a team member
  would be no System Administrator.
- `prvActOnBehalfOfAnotherUser` counts only from roles assigned directly to the user, never
  through a team ("Direct assignment required", learn.microsoft.com impersonate-another-user).

When a caller impersonates (`CallerObjectId`), the privileges that apply are the
intersection of the real caller's and the impersonated user's (§6.7): a privilege counts
only when both hold it, at the narrower of the two depths.

A missing privilege is answered 403 `0x80040220` PrivilegeDenied with the message shape the
platform uses ("Principal user (Id=…, type=8, roleCount=…, privilegeCount=…, accessMode=…),
is missing prvWriteMailbox privilege (Id=…) on OTC=9606 for entity 'mailbox' …").
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Final

from sim.errors import PRIVILEGE_DENIED, DataverseFault
from sim.fixture import Depth
from sim.state import Row, SimState

SYSTEM_ADMINISTRATOR_TEMPLATE: Final = "627090ff-40a3-4053-8790-584edc5be201"
SYSTEM_ADMINISTRATOR_NAME: Final = "System Administrator"
DELEGATED_MAILBOX_APPROVER_NAME: Final = "Delegated Mailbox Approver"

ACT_ON_BEHALF: Final = "prvActOnBehalfOfAnotherUser"
APPROVE_EMAIL: Final = "prvApproveRejectEmailAddress"
ASSIGN_ROLE: Final = "prvAssignRole"

# Narrowest first; a depth reaches everything a narrower one does.
DEPTH_RANK: Final[dict[Depth, int]] = {
    Depth.USER: 0,
    Depth.BUSINESS_UNIT: 1,
    Depth.PARENT_CHILD: 2,
    Depth.ORGANIZATION: 3,
}


@dataclass(frozen=True)
class Table:
    """What the privilege checks need to know about one entity set."""

    logical_name: str
    otc: int  # ObjectTypeCode
    localized_name: str
    privilege_stem: str  # prv<Verb><stem>
    user_owned: bool  # user depth reaches only the caller's own rows


TABLES: Final[dict[str, Table]] = {
    "mailboxes": Table("mailbox", 9606, "Mailbox", "Mailbox", True),
    "systemusers": Table("systemuser", 8, "User", "User", True),
    "queues": Table("queue", 2020, "Queue", "Queue", True),
    "emailserverprofiles": Table(
        "emailserverprofile", 9605, "Email Server Profile", "EmailServerProfile", True
    ),
    "organizations": Table("organization", 1019, "Organization", "Organization", False),
    "tracelogs": Table("tracelog", 8050, "Trace", "TraceLog", False),
    "roles": Table("role", 1036, "Security Role", "Role", False),
    "teams": Table("team", 9, "Team", "Team", False),
}

_PRIVILEGE_NAMESPACE: Final = uuid.UUID("5e1f0000-0000-4000-8000-00000000beef")


def privilege_id(name: str) -> str:
    """A stable id for a privilege name (the real ids are per-environment metadata)."""
    return str(uuid.uuid5(_PRIVILEGE_NAMESPACE, name))


def privilege_name(verb: str, entity_set: str) -> str:
    """`prv<Verb><Table>`, e.g. ("Write", "mailboxes") -> "prvWriteMailbox"."""
    return f"prv{verb}{TABLES[entity_set].privilege_stem}"


# ---- roles ------------------------------------------------------------------------------


def is_system_administrator_role(state: SimState, role_id: str) -> bool:
    row = state.row("roles", role_id)
    if row is None:
        return False
    template = str(row.get("_roletemplateid_value") or "").lower()
    return (
        template == SYSTEM_ADMINISTRATOR_TEMPLATE or row.get("name") == SYSTEM_ADMINISTRATOR_NAME
    )


def is_delegated_mailbox_approver_role(state: SimState, role_id: str) -> bool:
    """The role is identified by name (its template id is unconfirmed, reference §4.1, §8)."""
    row = state.row("roles", role_id)
    return row is not None and row.get("name") == DELEGATED_MAILBOX_APPROVER_NAME


def direct_roles(state: SimState, systemuser_id: str) -> set[str]:
    return state.roles_of_user(systemuser_id, through_teams=False)


def all_roles(state: SimState, systemuser_id: str) -> set[str]:
    return state.roles_of_user(systemuser_id, through_teams=True)


# ---- privilege sets ----------------------------------------------------------------------


@dataclass(frozen=True)
class PrivilegeSet:
    """The privileges a principal holds, each at its widest depth."""

    depths: dict[str, Depth]
    all_privileges: bool  # System Administrator: every privilege at organization depth
    role_count: int

    def depth(self, privilege: str) -> Depth | None:
        if privilege in self.depths:
            return self.depths[privilege]
        if self.all_privileges and privilege != ACT_ON_BEHALF:
            return Depth.ORGANIZATION
        return None

    def count(self) -> int:
        return len(self.depths)


def _merge(into: dict[str, Depth], privileges: dict[str, Depth]) -> None:
    for name, depth in privileges.items():
        held = into.get(name)
        if held is None or DEPTH_RANK[depth] > DEPTH_RANK[held]:
            into[name] = depth


_MAX_PRIVILEGE_SETS: Final = 4096  # distinct role combinations remembered per state


def privileges_of(state: SimState, systemuser_id: str) -> PrivilegeSet:
    """Privileges of one system user: direct roles, and team roles (not for act-on-behalf).

    The set follows from the roles held and from the role privileges, which do not change
    once the state is built; so it is computed once per combination of direct roles, all
    roles and which of them are System Administrator (`SimState.privilege_sets`), while the
    roles themselves are looked up on every call, as assignments change at any time.
    """
    key = _roles_key(state, systemuser_id)
    known: PrivilegeSet | None = state.privilege_sets.get(key)
    if known is None:
        direct, everything, admin_roles = key
        known = _remember(state, key, _privilege_set(state, direct, everything, bool(admin_roles)))
    return known


def acting_privileges(state: SimState, user_id: str, real_id: str) -> PrivilegeSet:
    """`intersect(privileges_of(real), privileges_of(user))` (§6.7), remembered per pair of
    role combinations like `privileges_of`."""
    key = ("acting", _roles_key(state, real_id), _roles_key(state, user_id))
    known: PrivilegeSet | None = state.privilege_sets.get(key)
    if known is None:
        held = intersect(privileges_of(state, real_id), privileges_of(state, user_id))
        known = _remember(state, key, held)
    return known


_RolesKey = tuple[frozenset[str], frozenset[str], frozenset[str]]


def _roles_key(state: SimState, systemuser_id: str) -> _RolesKey:
    """What a user's privilege set follows from: direct roles, all roles, and which of them
    are System Administrator."""
    direct = frozenset(direct_roles(state, systemuser_id))
    everything = frozenset(all_roles(state, systemuser_id))
    admin_roles = frozenset(r for r in everything if is_system_administrator_role(state, r))
    return direct, everything, admin_roles


def _remember(state: SimState, key: Hashable, held: PrivilegeSet) -> PrivilegeSet:
    if len(state.privilege_sets) >= _MAX_PRIVILEGE_SETS:
        state.privilege_sets.clear()
    state.privilege_sets[key] = held
    return held


def _privilege_set(
    state: SimState, direct: frozenset[str], everything: frozenset[str], admin: bool
) -> PrivilegeSet:
    depths: dict[str, Depth] = {}
    for role_id in everything:
        privileges = dict(state.role_privileges.get(role_id, {}))
        if role_id not in direct:
            privileges.pop(ACT_ON_BEHALF, None)
        _merge(depths, privileges)
    return PrivilegeSet(depths, admin, len(everything))


_VERBS: Final = ("Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share")


def known_privileges(state: SimState) -> set[str]:
    """Every privilege the sim can name: the table privileges plus those roles mention."""
    names = {privilege_name(v, s) for v in _VERBS for s in TABLES}
    names |= {APPROVE_EMAIL, ASSIGN_ROLE, ACT_ON_BEHALF}
    for privileges in state.role_privileges.values():
        names |= set(privileges)
    return names


def listed_privileges(state: SimState, systemuser_id: str) -> dict[str, Depth]:
    """What `RetrieveUserPrivileges` lists: System Administrator's implicit ones spelled out."""
    held = privileges_of(state, systemuser_id)
    listed = dict(held.depths)
    if held.all_privileges:
        for name in known_privileges(state) - {ACT_ON_BEHALF}:
            listed[name] = Depth.ORGANIZATION
    return listed


def intersect(a: PrivilegeSet, b: PrivilegeSet) -> PrivilegeSet:
    """What both hold, at the narrower depth (reference §6.7)."""
    names = set(a.depths) | set(b.depths)
    depths: dict[str, Depth] = {}
    for name in names:
        da, db = a.depth(name), b.depth(name)
        if da is not None and db is not None:
            depths[name] = da if DEPTH_RANK[da] <= DEPTH_RANK[db] else db
    return PrivilegeSet(depths, a.all_privileges and b.all_privileges, b.role_count)


# ---- reach ------------------------------------------------------------------------------


def owns(entity_set: str, row: Row, systemuser_id: str) -> bool:
    """Whether a user-depth privilege on `entity_set` reaches `row` for this user."""
    uid = systemuser_id.lower()
    if entity_set == "systemusers":
        return str(row.get("systemuserid") or "").lower() == uid
    if str(row.get("_ownerid_value") or "").lower() == uid:
        return True
    if entity_set == "mailboxes":
        return (
            row.get("regardingobjecttypecode") == "systemuser"
            and str(row.get("_regardingobjectid_value") or "").lower() == uid
        )
    return False


def reaches(depth: Depth | None, entity_set: str, row: Row | None, systemuser_id: str) -> bool:
    """Whether a privilege held at `depth` covers `row` (None: a create, no row yet).

    The sim has one business unit, so business-unit, parent-child and organization depth
    reach every row; user depth reaches the caller's own rows of user-owned tables.
    """
    if depth is None:
        return False
    if depth is not Depth.USER or row is None:
        return True
    table = TABLES.get(entity_set)
    if table is None or not table.user_owned:
        return True
    return owns(entity_set, row, systemuser_id)


def denied(
    principal: Row,
    held: PrivilegeSet,
    privilege: str,
    entity_set: str | None,
    *,
    context_caller: Row,
) -> DataverseFault:
    """The 403 PrivilegeDenied fault, worded as the platform words it."""
    table = TABLES.get(entity_set) if entity_set else None
    otc = table.otc if table else 0
    logical = table.logical_name if table else ""
    localized = table.localized_name if table else ""
    uid = principal.get("systemuserid")
    message = (
        f"Principal user (Id={uid}, type=8, roleCount={held.role_count}, "
        f"privilegeCount={held.count()}, accessMode={principal.get('accessmode', 0)}), "
        f"is missing {privilege} privilege (Id={privilege_id(privilege)}) on OTC={otc} "
        f"for entity '{logical}' (LocalizedName='{localized}'). "
        f"context.Caller={context_caller.get('systemuserid')}"
    )
    return DataverseFault(403, PRIVILEGE_DENIED, message)
