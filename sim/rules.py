"""Rules Dataverse enforces itself, enforced here too.

The Web API face (`sim.webapi`) calls these hooks around every read and write. They are
written from the seed (connect-exchange-online) and reference/dataverse.md alone, and share
no code with the bot's `permissions/` package: the sim is the judge of that code.

Contract with the Web API face:

- `resolve_caller` once per request (per `$batch` part is fine); every other hook gets its
  result. Faults are `sim.errors.DataverseFault`; answer them as they are.
- `before_create` / `before_update` return the values to store. They may drop columns (the
  approval rule below) and may add system-maintained ones (`_emailaddressapprovedby_value`,
  `emailaddressapprovedon`, `isemailaddressapprovedbyo365admin`, a profile's
  `emailservertypename`); store what they return, as given. An empty dict means "nothing
  to change": answer 204 and store nothing.
- `after_update` gets what was stored (the dict `before_update` returned) once the row is
  saved: it keeps sibling rows in step and queues Test & Enable.

What is enforced, and where:

- The caller (§6.7, S18): the token's identity must be an enabled system user;
  `CallerObjectId` or `MSCRMCallerID` needs `prvActOnBehalfOfAnotherUser` from a directly
  assigned role, and privileges are then the intersection of both identities. Here, with
  `sim.privileges`.
- Privileges with depth (§8, §6.2): read/write/create/delete per table; user depth reaches
  only the caller's own rows. `sim.privileges`.
- Approving (1) or rejecting (3) an address (seed "Model izin", §4.1): the permission table,
  the version gate, `prvApproveRejectEmailAddress`, the four self-approval conditions.
  Here, with `sim.approval`.
- Programmatic approval (seed "Menyetujui kotak pesan secara terprogram", §4.2): a PATCH
  with other attributes applies only those; an approved row is not approved again. Here.
- Delegated Mailbox Approver (seed "Mendelegasikan persetujuan kotak pesan"): assigned only
  by a Global or Exchange admin, never to a team. Here.
- `requireapprovalforuseremail` / `requireapprovalforqueueemail` (seed "Hapus persyaratan
  untuk menyetujui kotak pesan"): only the table's admins. Here.
- Test & Enable after `testemailconfigurationscheduled: true` (§5): `sim.testenable`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sim.approval import (
    APPROVAL_VALUES,
    APPROVED,
    CRM_SECURITY_INNER,
    CRM_SECURITY_OUTER,
    PENDING,
    REJECTED,
    ExchangeKind,
    Facts,
    RefusalShape,
    Verdict,
    exchange_kind,
    facts_of,
    table_allows,
    version_at_least,
)
from sim.approval import scenario as approval_scenario
from sim.context import Sim
from sim.errors import (
    ACCESS_CHECK_FAILED,
    ASSIGN_DMA_REQUIRES_ADMIN,
    ASSIGN_DMA_TO_TEAM,
    CANNOT_ACT_ON_BEHALF_OF_ANOTHER_USER,
    INVALID_ARGUMENT,
    O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL,
    OBJECT_DOES_NOT_EXIST,
    USER_DISABLED,
    USER_NOT_MEMBER_OF_ORGANIZATION,
    DataverseFault,
)
from sim.privileges import (
    ACT_ON_BEHALF,
    APPROVE_EMAIL,
    ASSIGN_ROLE,
    TABLES,
    PrivilegeSet,
    acting_privileges,
    denied,
    is_delegated_mailbox_approver_role,
    privilege_name,
    privileges_of,
    reaches,
)
from sim.state import Row, SimState, iso, now_utc, server_type_name

APPROVAL: Final = "emailrouteraccessapproval"
APPROVAL_SETS: Final = frozenset({"mailboxes", "systemusers", "queues"})
REQUIRE_APPROVAL_COLUMNS: Final = ("requireapprovalforuseremail", "requireapprovalforqueueemail")
_SELF_APPROVE_SETTING: Final = re.compile(
    r"<RequirePrivilegeToSelfApproveEmailAddress>\s*(\w+)\s*</RequirePrivilegeToSelfApproveEmailAddress>",
    re.IGNORECASE,
)
_INDEX_KEY: Final = "rules.object_id_index"
# The codes a permission-table refusal answers with, in every `RefusalShape`.
_TABLE_REFUSAL_CODES: Final = frozenset(
    {O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL, CRM_SECURITY_INNER, CRM_SECURITY_OUTER}
)
# emailserverprofile's read-only "Email Server Type Name", kept in step with `servertype`.
SERVER_TYPE_NAME: Final = "emailservertypename"


# ---- who is calling -----------------------------------------------------------------------


@dataclass(frozen=True)
class EffectiveCaller:
    """Who a Web API call acts as.

    `user` is the system user whose privileges apply (the impersonated person when the
    `CallerObjectId` or `MSCRMCallerID` header is used); `real` is the identity that holds
    the token.
    """

    user: Row
    real: Row
    # Per-request memo (privileges); never compared or shown.
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    @property
    def impersonating(self) -> bool:
        return self.user is not self.real

    @property
    def object_id(self) -> str:
        return str(self.user.get("azureactivedirectoryobjectid") or "")

    @property
    def user_id(self) -> str:
        return str(self.user.get("systemuserid") or "")

    @property
    def application_itself(self) -> bool:
        """An application user calling as itself, without impersonating anyone."""
        return not self.impersonating and bool(self.user.get("applicationid"))


def _systemuser_by_object_id(sim: Sim, object_id: str) -> Row | None:
    """O(1) lookup of `azureactivedirectoryobjectid`; the index is checked on every hit."""
    state = sim.state
    oid = object_id.lower()
    cached = sim.extras.get(_INDEX_KEY)
    if cached is None or cached[0] is not state:
        index: dict[str, str] = {}
        for user_key, user in state.tables.get("systemusers", {}).items():
            found = str(user.get("azureactivedirectoryobjectid") or "").lower()
            if found:
                index.setdefault(found, user_key)
        sim.extras[_INDEX_KEY] = (state, index)
    else:
        index = cached[1]
    key = index.get(oid)
    hit = state.row("systemusers", key) if key is not None else None
    if hit is not None and str(hit.get("azureactivedirectoryobjectid") or "").lower() == oid:
        return hit
    row = state.systemuser_for_object_id(oid)  # a row added or changed since the index
    if row is not None:
        index[oid] = str(row["systemuserid"]).lower()
    return row


def _not_a_member() -> DataverseFault:
    return DataverseFault(
        403, USER_NOT_MEMBER_OF_ORGANIZATION, "The user is not a member of the organization."
    )


def _refuse_disabled(sim: Sim, user: Row) -> None:
    if user.get("isdisabled"):
        org = _organization(sim.state)
        org_id = org.get("organizationid") if org else ""
        raise DataverseFault(
            403,
            USER_DISABLED,
            f"The user with SystemUserId={user.get('systemuserid')} in "
            f"OrganizationContext={org_id} is disabled. Disabled users cannot access the "
            "system. Consider enabling this user. Also, users are disabled if they don't have "
            "a license assigned to them.",
        )


CALLER_OBJECT_ID: Final = "CallerObjectId"
MSCRM_CALLER_ID: Final = "MSCRMCallerID"


@dataclass(frozen=True)
class Impersonation:
    """The impersonation headers of a request (reference §6.7; S18
    impersonate-another-user-web-api.md, "How to impersonate a user").

    `CallerObjectId` (preferred) carries the user's Entra object id; `MSCRMCallerID`
    (legacy) the user's `systemuserid`. Both are honoured alike: the same privilege rule,
    the same intersection of privileges, in single requests and in `$batch` parts.

    Unconfirmed (the page says nothing about it): when a request carries both, the sim
    follows `CallerObjectId`, the one the page calls preferred, and ignores `MSCRMCallerID`.
    A `$batch` part that carries either header uses its own; otherwise the batch's apply.
    """

    caller_object_id: str | None = None
    mscrm_caller_id: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Impersonation:
        return cls(headers.get(CALLER_OBJECT_ID), headers.get(MSCRM_CALLER_ID))

    @classmethod
    def of(cls, value: Impersonation | str | None) -> Impersonation:
        """A plain string is a `CallerObjectId` value (what hook-level callers pass)."""
        return value if isinstance(value, Impersonation) else cls(caller_object_id=value)

    def __bool__(self) -> bool:
        return self.header() is not None

    def or_else(self, outer: Impersonation) -> Impersonation:
        """A `$batch` part's own headers when it has any, else the batch's."""
        return self if self else outer

    def header(self) -> tuple[str, str] | None:
        """(header name, value) that decides who is impersonated, or None."""
        for name, value in (
            (CALLER_OBJECT_ID, self.caller_object_id),
            (MSCRM_CALLER_ID, self.mscrm_caller_id),
        ):
            if value is not None and value.strip():
                return name, value
        return None


def _impersonated(sim: Sim, real: Row, impersonation: Impersonation) -> Row | None:
    """The system user a request impersonates; None when it impersonates nobody.

    A malformed id is 400 0x80040203, as for `CallerObjectId` before. A header naming the
    caller itself is no impersonation (powerapps-docs issue 2088). The real caller needs
    `prvActOnBehalfOfAnotherUser` before anyone is looked up. An unknown Entra object id is
    answered like an unknown token identity (403 0x80072560); an unknown `systemuserid` as
    the missing row it is (404 0x80040217 "systemuser With Id = … Does Not Exist"; the page
    gives no code for either, unconfirmed).
    """
    found = impersonation.header()
    if found is None:
        return None
    name, value = found
    wanted = value.strip().strip("{}").lower()
    try:
        uuid.UUID(wanted)
    except ValueError:
        raise DataverseFault(
            400, INVALID_ARGUMENT, f"Invalid {name} header value '{value}'."
        ) from None
    by_object_id = name == CALLER_OBJECT_ID
    own = real.get("azureactivedirectoryobjectid") if by_object_id else real.get("systemuserid")
    if wanted == str(own or "").lower():
        return None
    if privileges_of(sim.state, str(real["systemuserid"])).depth(ACT_ON_BEHALF) is None:
        raise DataverseFault(
            403,
            CANNOT_ACT_ON_BEHALF_OF_ANOTHER_USER,
            "User does not have the privilege to act on behalf another user.",
        )
    if by_object_id:
        target = _systemuser_by_object_id(sim, wanted)
        if target is None:
            raise _not_a_member()
        return target
    target = sim.state.row("systemusers", wanted)
    if target is None:
        raise _does_not_exist("systemuser", wanted)
    return target


def resolve_caller(
    sim: Sim, token_object_id: str, impersonation: Impersonation | str | None = None
) -> EffectiveCaller:
    """Map a validated token (and its impersonation headers) to the effective caller.

    - The token's `oid` must be some system user's `azureactivedirectoryobjectid`
      (application users included); otherwise 403 0x80072560 "The user is not a member of
      the organization." (what Dataverse answers a token whose identity has no system user).
    - A disabled system user is refused: 403 0x80040225.
    - `CallerObjectId` or `MSCRMCallerID` (reference §6.7, `Impersonation`): the real caller
      needs `prvActOnBehalfOfAnotherUser` from a directly assigned role, else 403 0x8004A110
      CannotActOnBehalfOfAnotherUser "User does not have the privilege to act on behalf
      another user."; a disabled impersonated user 403 0x80040225.
    """
    real = _systemuser_by_object_id(sim, token_object_id)
    if real is None:
        raise _not_a_member()
    _refuse_disabled(sim, real)
    target = _impersonated(sim, real, Impersonation.of(impersonation))
    if target is None:
        return EffectiveCaller(user=real, real=real)
    _refuse_disabled(sim, target)
    return EffectiveCaller(user=target, real=real)


# ---- privileges -------------------------------------------------------------------------


def _stamp(state: SimState) -> tuple[int, ...]:
    """Changes whenever role or team assignments do (for the per-request memo)."""
    return (id(state), *(len(pairs) for pairs in state.associations.values()))


def caller_privileges(sim: Sim, caller: EffectiveCaller) -> PrivilegeSet:
    """The privileges that apply: the user's, intersected with the real caller's (§6.7)."""
    stamp = _stamp(sim.state)
    memo = caller.memo.get("privileges")
    if memo is not None and memo[0] == stamp:
        held: PrivilegeSet = memo[1]
        return held
    if caller.impersonating:
        real_id = str(caller.real.get("systemuserid"))
        held = acting_privileges(sim.state, caller.user_id, real_id)
    else:
        held = privileges_of(sim.state, caller.user_id)
    caller.memo["privileges"] = (stamp, held)
    return held


def _access_check_failed(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, rights: str
) -> DataverseFault:
    table = TABLES[entity_set]
    key = row.get(f"{table.logical_name}id")
    bu = caller.user.get("_businessunitid_value")
    return DataverseFault(
        403,
        ACCESS_CHECK_FAILED,
        "SecLib::AccessCheckEx failed. Returned hr = -2147187962, "
        f"ObjectID: {key}, OwnerId: {row.get('_ownerid_value')}, OwnerIdType: 8 and "
        f"CallingUser: {caller.user_id}. ObjectTypeCode: {table.otc}, "
        f"objectBusinessUnitId: {bu}, AccessRights: {rights}",
    )


def require(
    sim: Sim,
    caller: EffectiveCaller,
    privilege: str,
    entity_set: str | None,
    row: Row | None = None,
    *,
    rights: str = "",
) -> None:
    """Raise unless the caller holds `privilege` at a depth that reaches `row`.

    No privilege at all: 403 0x80040220 PrivilegeDenied naming it. Held, but at a depth
    that does not reach the row (user depth on someone else's row): 403 0x80048306, the
    platform's SecLib::AccessCheckEx answer.
    """
    held = caller_privileges(sim, caller)
    depth = held.depth(privilege)
    if depth is None:
        principal, principal_set = caller.user, privileges_of(sim.state, caller.user_id)
        if caller.impersonating and principal_set.depth(privilege) is not None:
            principal = caller.real  # the impersonated user has it; the real caller does not
            principal_set = privileges_of(sim.state, str(caller.real.get("systemuserid")))
        raise denied(principal, principal_set, privilege, entity_set, context_caller=caller.real)
    if entity_set is not None and not reaches(depth, entity_set, row, caller.user_id):
        assert row is not None
        raise _access_check_failed(sim, caller, entity_set, row, rights or "AccessRights")


def _require_verb(
    sim: Sim, caller: EffectiveCaller, verb: str, entity_set: str, row: Row | None
) -> None:
    if entity_set not in TABLES:
        return  # not a table these rules know; the Web API face answers unknown tables
    require(
        sim,
        caller,
        privilege_name(verb, entity_set),
        entity_set,
        row,
        rights=f"{verb}Access",
    )


def can_read(sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row) -> bool:
    """Whether `caller` may see `row` (read privilege at a depth that reaches it).

    In an online environment older than 9.2.22104.00170 the Delegated Mailbox Approver role
    does not exist yet (seed "Mendelegasikan persetujuan kotak pesan"), so its row is hidden.
    """
    table = TABLES.get(entity_set)
    if table is None:
        return False
    if entity_set == "roles" and _hidden_role(sim.state, row):
        return False
    depth = caller_privileges(sim, caller).depth(privilege_name("Read", entity_set))
    return reaches(depth, entity_set, row, caller.user_id)


def reader(sim: Sim, caller: EffectiveCaller, entity_set: str) -> Callable[[Row], bool]:
    """`can_read` for many rows of one table in one request: the caller's read depth is
    looked up once (nothing changes it while a request reads), the rest per row."""
    table = TABLES.get(entity_set)
    if table is None:
        return lambda row: False
    depth = caller_privileges(sim, caller).depth(privilege_name("Read", entity_set))
    user_id = caller.user_id
    if entity_set == "roles":
        state = sim.state
        return lambda row: (
            not _hidden_role(state, row) and reaches(depth, entity_set, row, user_id)
        )
    return lambda row: reaches(depth, entity_set, row, user_id)


def require_read(sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row) -> None:
    """`can_read` for a single-row retrieve, raising the platform's fault instead."""
    if entity_set == "roles" and _hidden_role(sim.state, row):
        raise _does_not_exist("role", str(row.get("roleid")))
    _require_verb(sim, caller, "Read", entity_set, row)


def _does_not_exist(logical: str, key: str) -> DataverseFault:
    return DataverseFault(404, OBJECT_DOES_NOT_EXIST, f"{logical} With Id = {key} Does Not Exist")


# ---- linked rows ------------------------------------------------------------------------


def _organization(state: SimState) -> Row | None:
    return next(iter(state.tables.get("organizations", {}).values()), None)


def _primary_key(entity_set: str, row: Row) -> str:
    return str(row.get(f"{TABLES[entity_set].logical_name}id") or "").lower()


def mailbox_of(state: SimState, entity_set: str, row: Row) -> Row | None:
    """The mailbox whose address an approval on `row` approves."""
    if entity_set == "mailboxes":
        return row
    key = row.get("_defaultmailbox_value")
    return state.row("mailboxes", str(key)) if key else None


def owner_of(state: SimState, mailbox: Row) -> tuple[str, Row] | None:
    """The user or queue row a mailbox belongs to (its `regardingobjectid`)."""
    kind = mailbox.get("regardingobjecttypecode")
    key = mailbox.get("_regardingobjectid_value")
    if not key or kind not in ("systemuser", "queue"):
        return None
    entity_set = "systemusers" if kind == "systemuser" else "queues"
    owner = state.row(entity_set, str(key))
    return (entity_set, owner) if owner is not None else None


def exchange_of(state: SimState, mailbox: Row | None) -> ExchangeKind:
    """Exchange Online or on-premises for this mailbox: its profile, else the org default."""
    profile_id = mailbox.get("_emailserverprofile_value") if mailbox else None
    if not profile_id:
        org = _organization(state)
        profile_id = org.get("_defaultemailserverprofileid_value") if org else None
    profile = state.row("emailserverprofiles", str(profile_id)) if profile_id else None
    servertype = profile.get("servertype") if profile else None
    return exchange_kind(state.deployment, servertype if isinstance(servertype, int) else None)


def _dma_exists(state: SimState) -> bool:
    return state.deployment != "online" or version_at_least(state.version)


def _hidden_role(state: SimState, row: Row) -> bool:
    """The Delegated Mailbox Approver role before it exists (online, before the version)."""
    return not _dma_exists(state) and is_delegated_mailbox_approver_role(
        state, str(row.get("roleid") or "")
    )


# ---- approving an address -------------------------------------------------------------------


def approver_facts(sim: Sim, caller: EffectiveCaller) -> Facts:
    """The permission table's facts about the effective caller.

    The single place that decides whose roles the table looks at. When a call impersonates
    (`CallerObjectId`), the Entra roles and the Dataverse roles (System Administrator,
    Delegated Mailbox Approver) are the impersonated person's: issue 2 says "the effective
    rights are the impersonated person's". Whether the platform really carries the
    impersonated user's Entra roles into this check is unconfirmed (reference §4.3, §12.5).
    Privileges, by contrast, are the intersection of both identities (§6.7; `require`).
    An application user calling as itself holds no Entra admin role for this check: the app
    is no Global or Exchange admin, and approval as the app identity is reported to fail
    (reference §4.3, S43).
    """
    return facts_of(sim.state, caller.user, entra_roles_count=not caller.application_itself)


def require_privilege_to_self_approve(state: SimState) -> bool:
    """The OrgDbOrgSetting RequirePrivilegeToSelfApproveEmailAddress (default disabled).

    `SimState.require_privilege_to_self_approve` is the value; a PATCH of
    `organization.orgdborgsettings` updates it (`after_update`).
    """
    return state.require_privilege_to_self_approve


def _upn_of(state: SimState, user: Row) -> str:
    directory = state.users.get(str(user.get("azureactivedirectoryobjectid") or "").lower())
    if directory is not None:
        return directory.user_principal_name
    return str(user.get("domainname") or "")


def self_approval_failures(sim: Sim, caller: EffectiveCaller, mailbox: Row | None) -> list[str]:
    """Which of the four self-approval conditions (reference §4.1, seed) do not hold.

    Empty: the caller may approve this mailbox as their own. The conditions:
    1. the caller's UPN matches the address on their own mailbox record;
    2. RequirePrivilegeToSelfApproveEmailAddress is disabled, or the caller holds
       prvApproveRejectEmailAddress;
    3. the caller has at least user-level Write on the Mailbox table (reaching this row);
    4. the mailbox is no queue mailbox.
    """
    if mailbox is None:
        return ["there is no mailbox"]
    state = sim.state
    failures: list[str] = []
    own = (
        mailbox.get("regardingobjecttypecode") == "systemuser"
        and str(mailbox.get("_regardingobjectid_value") or "").lower() == caller.user_id.lower()
    )
    address = str(mailbox.get("emailaddress") or "").strip().lower()
    upn = _upn_of(state, caller.user).strip().lower()
    if mailbox.get("regardingobjecttypecode") == "queue":
        failures.append("the mailbox is a queue mailbox")
    elif not own:
        failures.append("the mailbox is not the caller's own")
    elif not address or address != upn:
        failures.append("the caller's UPN does not match the mailbox's email address")
    held = caller_privileges(sim, caller)
    if require_privilege_to_self_approve(state) and held.depth(APPROVE_EMAIL) is None:
        failures.append(
            "RequirePrivilegeToSelfApproveEmailAddress is enabled and the caller lacks "
            "prvApproveRejectEmailAddress"
        )
    write = held.depth("prvWriteMailbox")
    if not reaches(write, "mailboxes", mailbox, caller.user_id):
        failures.append("the caller lacks user-level Write on the Mailbox table")
    return failures


def approval_verdict(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, *, approving: bool = True
) -> tuple[Verdict, DataverseFault | None]:
    """May `caller` approve (or reject) the address of `row`? With the fault to raise if not.

    Order: the write privilege on the row itself; then, for an approval only, the
    self-approval conditions (which allow it outright: the seed speaks of approving your
    own mailbox, not of rejecting it); then the permission table (0x8009000B); then the
    privilege prvApproveRejectEmailAddress (0x80040220).
    """
    try:
        _require_verb(sim, caller, "Write", entity_set, row)
    except DataverseFault as fault:
        return Verdict(False, fault.message), fault
    state = sim.state
    mailbox = mailbox_of(state, entity_set, row)
    if approving and not self_approval_failures(sim, caller, mailbox):
        return Verdict(True, "self-approval: all four conditions hold"), None
    exchange = exchange_of(state, mailbox)
    verdict = table_allows(state.deployment, exchange, state.version, approver_facts(sim, caller))
    if not verdict.allowed:
        return verdict, _role_refusal(sim, caller, exchange, verdict, mailbox or row)
    try:
        require(sim, caller, APPROVE_EMAIL, entity_set)
    except DataverseFault as fault:
        return Verdict(False, fault.message), fault
    return verdict, None


def _role_refusal(
    sim: Sim, caller: EffectiveCaller, exchange: ExchangeKind, verdict: Verdict, row: Row
) -> DataverseFault:
    state = sim.state
    org = _organization(state)
    org_id = org.get("organizationid") if org else ""
    shape = approval_scenario(sim.extras, state).refusal
    if shape is not RefusalShape.DOCUMENTED:
        # S40: the text names the row's kind, its address and the caller (reference §4.3).
        kind = "Queue" if row.get("regardingobjecttypecode") == "queue" else "User"
        owner = row.get("_regardingobjectid_value") or row.get("mailboxid") or ""
        message = (
            f"The {kind}: {owner} email `{row.get('emailaddress') or ''}` doesn't match with "
            f"UPN. User {caller.user_id} should be a global administrator to approve mailbox "
            f"in organization {org_id}."
        )
        if shape is RefusalShape.CRM_SECURITY:
            return DataverseFault(403, CRM_SECURITY_INNER, message)
        return DataverseFault(500, CRM_SECURITY_OUTER, message)
    if state.deployment == "online" and exchange == "online":
        message = (
            f"User {caller.user_id} should be a global administrator or exchange administrator "
            f"to approve mailbox in organization {org_id}. This email address can only be "
            "approved by a user with the Global Administrator or Exchange Administrator role "
            "in Office 365 or the Delegated Mailbox Approver role in Dynamics 365, together "
            f"with the System Administrator role ({verdict.reason})."
        )
    else:
        message = (
            f"User {caller.user_id} should be a System Administrator to approve mailbox in "
            f"organization {org_id} ({verdict.reason})."
        )
    return DataverseFault(403, O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL, message)


def _approval_columns(sim: Sim, caller: EffectiveCaller, value: int) -> dict[str, Any]:
    """What an approval sets on the mailbox row besides `emailrouteraccessapproval`."""
    if value != APPROVED:
        return {"isemailaddressapprovedbyo365admin": False}
    facts = approver_facts(sim, caller)
    return {
        "isemailaddressapprovedbyo365admin": facts.global_admin or facts.exchange_admin,
        "_emailaddressapprovedby_value": caller.user_id,
        "emailaddressapprovedon": iso(now_utc()),
    }


def _approval_value(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in APPROVAL_VALUES:
        raise DataverseFault(
            400,
            INVALID_ARGUMENT,
            f"A validation error occurred. The value {value!r} of '{APPROVAL}' is outside the "
            "valid range: 0 Empty, 1 Approved, 2 Pending Approval, 3 Rejected.",
        )
    return value


def _update_approval(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, value: int
) -> dict[str, Any]:
    """A PATCH whose only attribute is `emailrouteraccessapproval`."""
    if value in (APPROVED, REJECTED):
        _, fault = approval_verdict(sim, caller, entity_set, row, approving=value == APPROVED)
        if fault is not None and _ignored_for_the_app(sim, caller, fault):
            return {}  # S43: 204, and the row stays as it was
        if fault is not None:
            raise fault
    else:
        # Back to Empty or Pending takes no approval authority, only the write itself.
        _require_verb(sim, caller, "Write", entity_set, row)
    if row.get(APPROVAL) == value:
        # Seed: approval happens only "if the row isn't already approved": no new
        # approver, no new date, nothing stored (the Web API answers 204).
        return {}
    changes: dict[str, Any] = {APPROVAL: value}
    if entity_set == "mailboxes":
        changes.update(_approval_columns(sim, caller, value))
    return changes


def _ignored_for_the_app(sim: Sim, caller: EffectiveCaller, fault: DataverseFault) -> bool:
    """The `app_write_ignored` scenario (reference §4.3, S43): an application user approving
    as itself, refused by the permission table (not by a missing privilege), sees 204."""
    return (
        caller.application_itself
        and approval_scenario(sim.extras, sim.state).app_write_ignored
        and fault.code in _TABLE_REFUSAL_CODES
    )


def _stamp_row(state: SimState, row: Row, caller: EffectiveCaller) -> None:
    state.touch(
        row,
        by=caller.user_id or None,
        on_behalf_of=str(caller.real.get("systemuserid")) if caller.impersonating else None,
    )


def sync_approval(sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row) -> None:
    """Keep a mailbox and its owner's user/queue row at the same approval value.

    Both routes are seen in the field (reference §4.2): the mailbox row (the modern UI) and
    the systemuser/queue row (Microsoft.Xrm.Data.PowerShell, the older developer page). The
    sim treats them as one address: approving through either row approves it, and the other
    row follows. The owner row follows only when the mailbox is its default mailbox.
    """
    state = sim.state
    value = row.get(APPROVAL)
    if entity_set == "mailboxes":
        found = owner_of(state, row)
        if found is None:
            return
        owner = found[1]
        if str(owner.get("_defaultmailbox_value") or "").lower() != _primary_key(entity_set, row):
            return
        if owner.get(APPROVAL) != value:
            owner[APPROVAL] = value
            _stamp_row(state, owner, caller)
        return
    mailbox = mailbox_of(state, entity_set, row)
    if mailbox is None or mailbox.get(APPROVAL) == value:
        return
    mailbox[APPROVAL] = value
    if isinstance(value, int):
        mailbox.update(_approval_columns(sim, caller, value))
    _stamp_row(state, mailbox, caller)


def approve_address(sim: Sim, caller: EffectiveCaller, mailbox: Row) -> None:
    """Approve a mailbox's address on behalf of `caller` (Test & Enable self-approval)."""
    if mailbox.get(APPROVAL) == APPROVED:
        return
    mailbox[APPROVAL] = APPROVED
    mailbox.update(_approval_columns(sim, caller, APPROVED))
    sync_approval(sim, caller, "mailboxes", mailbox)


# ---- organization settings ------------------------------------------------------------------


def _update_organization(
    sim: Sim, caller: EffectiveCaller, row: Row, changes: dict[str, Any]
) -> dict[str, Any]:
    """Organization columns need prvWriteOrganization; the two approval switches more.

    Seed "Hapus persyaratan untuk menyetujui kotak pesan": only the admins of the permission
    table may turn off "Process emails only for approved users/queues". For an online
    environment the sim applies the table's Exchange Online row (GA+SA, EA+SA, DMA+SA from
    the version gate): the setting is environment-wide and the environment's default is an
    Exchange Online profile. For an on-premises environment both rows say System
    Administrator. A switch sent with its current value is no change and needs no authority.
    """
    changes = {
        key: value
        for key, value in changes.items()
        if not (key in REQUIRE_APPROVAL_COLUMNS and row.get(key) == value)
    }
    if not changes:
        return changes
    _require_verb(sim, caller, "Write", "organizations", row)
    if any(key in changes for key in REQUIRE_APPROVAL_COLUMNS):
        state = sim.state
        exchange: ExchangeKind = "online" if state.deployment == "online" else "onprem"
        verdict = table_allows(
            state.deployment, exchange, state.version, approver_facts(sim, caller)
        )
        if not verdict.allowed:
            org_id = row.get("organizationid")
            raise DataverseFault(
                403,
                O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL,
                f"User {caller.user_id} may not change whether email must be approved in "
                f"organization {org_id}: only the administrators of the mailbox approval "
                f"permission model may ({verdict.reason}).",
            )
    return changes


def _sync_self_approve_setting(state: SimState, row: Row) -> None:
    match = _SELF_APPROVE_SETTING.search(str(row.get("orgdborgsettings") or ""))
    if match:
        state.require_privilege_to_self_approve = match.group(1).lower() in ("true", "1")


# ---- the hooks ------------------------------------------------------------------------------


def _unsupported(message: str, entity_set: str) -> DataverseFault:
    logical = TABLES[entity_set].logical_name
    return DataverseFault(
        400,
        INVALID_ARGUMENT,
        f"The '{message}' method does not support entities of type '{logical}'.",
    )


def before_create(
    sim: Sim, caller: EffectiveCaller, entity_set: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Check a create; return the values to store. Raises DataverseFault.

    Needs prvCreate<Table>. The organization table supports no Create (reference §3). An
    address cannot be created approved: a create always carries other attributes, so
    (seed "Menyetujui kotak pesan secara terprogram") a requested 1 or 3 is stored as 2
    Pending Approval.
    """
    if entity_set == "organizations":
        raise _unsupported("Create", entity_set)
    _require_verb(sim, caller, "Create", entity_set, None)
    values = dict(values)
    if entity_set in APPROVAL_SETS and values.get(APPROVAL) in (APPROVED, REJECTED):
        values[APPROVAL] = PENDING
    if entity_set == "emailserverprofiles":
        values[SERVER_TYPE_NAME] = server_type_name(sim.state.deployment, values.get("servertype"))
    return values


def before_update(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, changes: dict[str, Any]
) -> dict[str, Any]:
    """Check an update; return the changes to apply (may drop some). Raises DataverseFault."""
    changes = dict(changes)
    if not changes:
        return changes
    if entity_set == "organizations":
        return _update_organization(sim, caller, row, changes)
    if entity_set in APPROVAL_SETS and APPROVAL in changes:
        value = _approval_value(changes[APPROVAL])
        if len(changes) == 1:
            return _update_approval(sim, caller, entity_set, row, value)
        # Seed: "if the request includes additional attributes, the row's address may not
        # be approved": the other attributes are applied, the approval stays as it was.
        del changes[APPROVAL]
    _require_verb(sim, caller, "Write", entity_set, row)
    if entity_set == "emailserverprofiles" and "servertype" in changes:
        changes[SERVER_TYPE_NAME] = server_type_name(sim.state.deployment, changes["servertype"])
    return changes


def after_update(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, applied: dict[str, Any]
) -> None:
    """Side effects once an update is stored (e.g. queue Test & Enable)."""
    state = sim.state
    stored = row
    if entity_set in TABLES:
        stored = state.row(entity_set, _primary_key(entity_set, row)) or row
    if entity_set in APPROVAL_SETS and APPROVAL in applied:
        sync_approval(sim, caller, entity_set, stored)
    if entity_set == "mailboxes" and applied.get("testemailconfigurationscheduled") is True:
        from sim import testenable  # imports this module

        testenable.schedule(sim, caller, _primary_key(entity_set, stored))
    if entity_set == "organizations" and "orgdborgsettings" in applied:
        _sync_self_approve_setting(state, stored)


def before_delete(sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row) -> None:
    """Needs prvDelete<Table> reaching the row; organizations cannot be deleted."""
    if entity_set == "organizations":
        raise _unsupported("Delete", entity_set)
    _require_verb(sim, caller, "Delete", entity_set, row)


def _role_change_target(
    sim: Sim, relationship: str, first_id: str, second_id: str
) -> tuple[str, Row] | None:
    """(principal entity set, role row) for a role assignment; None for other relationships."""
    if relationship == "systemuserroles_association":
        principal_set = "systemusers"
    elif relationship == "teamroles_association":
        principal_set = "teams"
    else:
        return None
    state = sim.state
    if state.row(principal_set, first_id) is None:
        raise _does_not_exist(TABLES[principal_set].logical_name, first_id)
    role = state.row("roles", second_id)
    if role is None:
        raise _does_not_exist("role", second_id)
    return principal_set, role


def _check_role_change(
    sim: Sim,
    caller: EffectiveCaller,
    relationship: str,
    first_id: str,
    second_id: str,
    *,
    adding: bool,
) -> None:
    if relationship == "teammembership_association":
        team = sim.state.row("teams", second_id)
        if team is None:
            raise _does_not_exist("team", second_id)
        _require_verb(sim, caller, "Write", "teams", team)
        return
    target = _role_change_target(sim, relationship, first_id, second_id)
    if target is None:
        return
    principal_set, role = target
    state = sim.state
    if is_delegated_mailbox_approver_role(state, str(role["roleid"])):
        if not _dma_exists(state):
            # Online, before 9.2.22104.00170: the role does not exist yet (seed).
            raise _does_not_exist("role", second_id)
        if adding and principal_set == "teams":
            raise DataverseFault(
                400,
                ASSIGN_DMA_TO_TEAM,
                "The Delegated Mailbox Approver role can't be assigned to a team.",
            )
        facts = approver_facts(sim, caller)
        if not (facts.global_admin or facts.exchange_admin):
            verb = "assign" if adding else "remove"
            raise DataverseFault(
                403,
                ASSIGN_DMA_REQUIRES_ADMIN,
                "You must be an Office 365 Global Administrator or an Exchange Administrator "
                f"to {verb} the Delegated Mailbox Approver role.",
            )
        return
    require(sim, caller, ASSIGN_ROLE, "roles", role, rights="AssignAccess")


def before_associate(
    sim: Sim, caller: EffectiveCaller, relationship: str, first_id: str, second_id: str
) -> None:
    """Check an associate on an N:N relationship (e.g. assigning a security role).

    - Delegated Mailbox Approver (by name): never to a team, 0x80090905; only a Global or
      Exchange admin (the effective caller's Entra roles) may assign it, 0x80090904 (seed
      "Mendelegasikan persetujuan kotak pesan"). Being one of those admins is what the seed
      asks; prvAssignRole is not asked on top. In an online environment older than
      9.2.22104.00170 the role does not exist (404).
    - Any other role: prvAssignRole.
    - Team membership: prvWriteTeam on the team.
    """
    _check_role_change(sim, caller, relationship, first_id, second_id, adding=True)


def before_disassociate(
    sim: Sim, caller: EffectiveCaller, relationship: str, first_id: str, second_id: str
) -> None:
    """Removing a role: as assigning it. Removing Delegated Mailbox Approver takes the same
    Global or Exchange admin who may assign it (the seed names no one else who manages the
    role); other roles prvAssignRole; team membership prvWriteTeam."""
    _check_role_change(sim, caller, relationship, first_id, second_id, adding=False)
