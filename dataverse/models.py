"""Typed rows and values the bot reads from Dataverse and Microsoft Graph.

Field names are Pythonic; aliases are the Dataverse logical names (lookups as
`_<name>_value`) or Graph property names, so `Model.model_validate(row_json)` maps a
Web API row directly. Every row keeps its `@odata.etag`. Option sets are `IntEnum`s
(reference/dataverse.md §1.2, §2, §3, §5.3); a value this code does not know yet stays a
plain `int` rather than failing the whole row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from functools import cache, total_ordering
from typing import Annotated, Any, ClassVar, Final, TypeAlias, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from dataverse._xml import flat_settings
from dataverse.errors import InvalidInput

# ---- option sets -----------------------------------------------------------------------


class EmailApproval(IntEnum):
    """`emailrouteraccessapproval` on mailbox, systemuser and queue ("Email Address Status")."""

    EMPTY = 0
    APPROVED = 1
    PENDING_APPROVAL = 2
    REJECTED = 3


class IncomingDelivery(IntEnum):
    """`mailbox.incomingemaildeliverymethod`."""

    NONE = 0
    OUTLOOK = 1
    SERVER_SIDE_SYNC = 2
    FORWARD_MAILBOX = 3


class OutgoingDelivery(IntEnum):
    """`mailbox.outgoingemaildeliverymethod`."""

    NONE = 0
    OUTLOOK = 1
    SERVER_SIDE_SYNC = 2


class ActDelivery(IntEnum):
    """`mailbox.actdeliverymethod` (appointments, contacts, tasks): note the other order."""

    OUTLOOK = 0
    SERVER_SIDE_SYNC = 1
    NONE = 2


class TestStatus(IntEnum):
    """`incomingemailstatus`, `outgoingemailstatus`, `actstatus` and `mailboxstatus`."""

    __test__ = False  # not a pytest test class, whatever its name says

    NOT_RUN = 0
    SUCCESS = 1
    FAILURE = 2


class RowState(IntEnum):
    """`statecode` of mailbox, queue and emailserverprofile."""

    ACTIVE = 0
    INACTIVE = 1


class ServerType(IntEnum):
    """`emailserverprofile.servertype`; no value is labelled plain "Exchange Online" (§2)."""

    EXCHANGE_SERVER = 0
    OTHER_POP3_SMTP = 1
    EXCHANGE_SERVER_HYBRID = 2
    EXCHANGE_ONLINE_HYBRID = 3
    IMAP_SMTP = 4


class CredentialRetrieval(IntEnum):
    """`emailserverprofile.incomingcredentialretrieval` / `outgoingcredentialretrieval`."""

    USER_OR_QUEUE = 0
    PROFILE = 1
    SERVER_TO_SERVER = 2
    WINDOWS_INTEGRATED = 3
    ANONYMOUS = 4
    GMAIL_OAUTH = 5
    EXCHANGE_HYBRID_MODERN_AUTH = 6
    ENTRA_ID_OAUTH = 7


class EmailConnectionChannel(IntEnum):
    """`organization.emailconnectionchannel`."""

    SERVER_SIDE_SYNC = 0
    EMAIL_ROUTER = 1


class AlertLevel(IntEnum):
    """`tracelog.level`."""

    INFORMATION = 1
    WARNING = 2
    ERROR = 3


class TeamType(IntEnum):
    """`team.teamtype`."""

    OWNER = 0
    ACCESS = 1
    ENTRA_SECURITY_GROUP = 2
    ENTRA_OFFICE_GROUP = 3


# A known value becomes the enum member; an unknown one stays an int (left-to-right union).
Approval: TypeAlias = Annotated[EmailApproval | int, Field(union_mode="left_to_right")]
Incoming: TypeAlias = Annotated[IncomingDelivery | int, Field(union_mode="left_to_right")]
Outgoing: TypeAlias = Annotated[OutgoingDelivery | int, Field(union_mode="left_to_right")]
Act: TypeAlias = Annotated[ActDelivery | int, Field(union_mode="left_to_right")]
Status: TypeAlias = Annotated[TestStatus | int, Field(union_mode="left_to_right")]
State: TypeAlias = Annotated[RowState | int, Field(union_mode="left_to_right")]
Server: TypeAlias = Annotated[ServerType | int, Field(union_mode="left_to_right")]
Credentials: TypeAlias = Annotated[CredentialRetrieval | int, Field(union_mode="left_to_right")]
Channel: TypeAlias = Annotated[EmailConnectionChannel | int, Field(union_mode="left_to_right")]
Level: TypeAlias = Annotated[AlertLevel | int, Field(union_mode="left_to_right")]
TeamKind: TypeAlias = Annotated[TeamType | int, Field(union_mode="left_to_right")]

E = TypeVar("E", bound=IntEnum)

LOOKUP_LOGICAL_NAME: Final = "Microsoft.Dynamics.CRM.lookuplogicalname"

# ---- rows ------------------------------------------------------------------------------


class DataverseRow(BaseModel):
    """A row of one Dataverse table. Subclasses name the table and the columns they read."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    entity_set: ClassVar[str]
    primary_key: ClassVar[str]
    # Columns known only from the annotation they come with; never put in $select.
    _not_selectable: ClassVar[frozenset[str]] = frozenset()

    etag: str | None = Field(default=None, alias="@odata.etag")

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """The logical names to `$select` so that every field of the model is filled."""
        return _columns(cls)


@cache
def _columns(model: type[DataverseRow]) -> tuple[str, ...]:
    # A model's fields do not change once the class exists: worked out once per class.
    names: list[str] = []
    for name, info in model.model_fields.items():
        alias = info.alias or name
        if alias.startswith("@") or name in model._not_selectable:
            continue
        names.append(alias)
    return tuple(names)


# ---- when server-side synchronization has stopped processing a mailbox --------------------
#
# The one place that says which columns mean "stopped". Microsoft documents the signal in
# two halves that use the same words:
# - "Troubleshooting and monitoring server-side synchronization" (MicrosoftDocs/power-platform
#   admin/troubleshooting-monitoring-server-side-synchronization.md, 2023-02-27), "Common
#   alerts": processing stops with an alert saying the mailbox "has been disabled for
#   receiving email", "for sending/receiving email" or "for synchronizing appointments,
#   contacts, and tasks"; "Mailbox deliveries regularly disabled": a permanent error, or a
#   transient one still failing after 10 retries, disables the mailbox until it is enabled
#   again. "Connect to Exchange Online" says the same of Test & Enable: depending on the
#   error the platform retries later or disables the mailbox for email processing;
# - the mailbox table reference (MicrosoftDocs/powerapps-docs reference/entities/mailbox.md)
#   has the three switches those alerts turn off: `enabledforincomingemail` "whether the
#   mailbox is enabled for receiving email", `enabledforoutgoingemail` "… for sending email",
#   `enabledforact` "… for Appointments, Contacts, and Tasks" (SystemRequired, default Yes).
# So a direction has stopped when its switch reads No. Only directions whose delivery method
# is server-side synchronization count (incoming 2, outgoing 2, ACT 1; mailbox.md): what
# the switch says about a direction that server-side sync does not process is not
# documented, so it is not read as "stopped" (our reading, unconfirmed).
#
# `processingstatecode` is NOT this signal. mailbox.md gives no value by value; a Microsoft
# field engineer's guide to the mailbox details file (CRM in the Field blog, 2019-02-14)
# reads it as 0 normally and 1 while an asynchronous host is processing the mailbox, with
# `hostid` ("Unique identifier of the async host that is processing this mailbox",
# mailbox.md) set meanwhile. A mailbox in the middle of a sync is healthy.


@dataclass(frozen=True, slots=True)
class SyncDirection:
    """One direction server-side synchronization processes, with its on/off switch."""

    name: str
    delivery_column: str
    server_side_sync: int
    enabled_column: str


SYNC_DIRECTIONS: Final = (
    SyncDirection(
        "incoming",
        "incomingemaildeliverymethod",
        IncomingDelivery.SERVER_SIDE_SYNC,
        "enabledforincomingemail",
    ),
    SyncDirection(
        "outgoing",
        "outgoingemaildeliverymethod",
        OutgoingDelivery.SERVER_SIDE_SYNC,
        "enabledforoutgoingemail",
    ),
    SyncDirection(
        "act",
        "actdeliverymethod",
        ActDelivery.SERVER_SIDE_SYNC,
        "enabledforact",
    ),
)
STOPPED_SIGNAL_COLUMNS: Final = tuple(
    column for d in SYNC_DIRECTIONS for column in (d.delivery_column, d.enabled_column)
)
"""What a read must `$select` for :attr:`Mailbox.stopped_directions` to be right."""
PROCESSING_BY_HOST: Final = 1
"""`processingstatecode` while an asynchronous host processes the mailbox (see above)."""


class Mailbox(DataverseRow):
    """A `mailbox` row with the columns the bot shows (reference/dataverse.md §1.1)."""

    entity_set: ClassVar[str] = "mailboxes"
    primary_key: ClassVar[str] = "mailboxid"
    _not_selectable: ClassVar[frozenset[str]] = frozenset({"regarding_type"})

    id: uuid.UUID = Field(alias="mailboxid")
    name: str | None = Field(default=None, alias="name")
    email_address: str | None = Field(default=None, alias="emailaddress")
    approval: Approval | None = Field(default=None, alias="emailrouteraccessapproval")
    approved_by_o365_admin: bool | None = Field(
        default=None, alias="isemailaddressapprovedbyo365admin"
    )
    server_profile_id: uuid.UUID | None = Field(default=None, alias="_emailserverprofile_value")
    incoming_delivery: Incoming | None = Field(default=None, alias="incomingemaildeliverymethod")
    outgoing_delivery: Outgoing | None = Field(default=None, alias="outgoingemaildeliverymethod")
    act_delivery: Act | None = Field(default=None, alias="actdeliverymethod")
    incoming_status: Status | None = Field(default=None, alias="incomingemailstatus")
    outgoing_status: Status | None = Field(default=None, alias="outgoingemailstatus")
    act_status: Status | None = Field(default=None, alias="actstatus")
    mailbox_status: Status | None = Field(default=None, alias="mailboxstatus")
    enabled_for_incoming: bool | None = Field(default=None, alias="enabledforincomingemail")
    enabled_for_outgoing: bool | None = Field(default=None, alias="enabledforoutgoingemail")
    enabled_for_act: bool | None = Field(default=None, alias="enabledforact")
    test_scheduled: bool | None = Field(default=None, alias="testemailconfigurationscheduled")
    test_retry_count: int | None = Field(default=None, alias="testemailconfigurationretrycount")
    test_completed_on: datetime | None = Field(default=None, alias="testmailboxaccesscompletedon")
    test_last_attempted_on: datetime | None = Field(
        default=None, alias="testandenablelastattemptedon"
    )
    test_last_attempted_by: uuid.UUID | None = Field(
        default=None, alias="_testandenablelastattemptedby_value"
    )
    approved_by: uuid.UUID | None = Field(default=None, alias="_emailaddressapprovedby_value")
    approved_on: datetime | None = Field(default=None, alias="emailaddressapprovedon")
    org_marked_primary: bool | None = Field(
        default=None, alias="orgmarkedasprimaryforexchangesync"
    )
    is_act_sync_org: bool | None = Field(default=None, alias="isactsyncorgflagset")
    is_forward_mailbox: bool | None = Field(default=None, alias="isforwardmailbox")
    is_service_account: bool | None = Field(default=None, alias="isserviceaccount")
    # 1 while an async host processes the mailbox, named by `hostid` (see SYNC_DIRECTIONS).
    processing_state: int | None = Field(default=None, alias="processingstatecode")
    host_id: str | None = Field(default=None, alias="hostid")
    processing_last_attempted_on: datetime | None = Field(
        default=None, alias="processinglastattemptedon"
    )
    postpone_test_until: datetime | None = Field(
        default=None, alias="postponetestemailconfigurationuntil"
    )
    # Documented "for internal use only" (§1.1), but they are what an admin needs to see.
    last_sync_error: str | None = Field(default=None, alias="lastsyncerror")
    last_sync_error_code: int | None = Field(default=None, alias="lastsyncerrorcode")
    last_sync_error_count: int | None = Field(default=None, alias="lastsyncerrorcount")
    last_sync_error_on: datetime | None = Field(default=None, alias="lastsyncerroroccurredon")
    last_successful_sync_on: datetime | None = Field(
        default=None, alias="lastsuccessfulsynccompletedon"
    )
    regarding_id: uuid.UUID | None = Field(default=None, alias="_regardingobjectid_value")
    # "systemuser" or "queue": from the lookup annotation (§0), or the type code column.
    regarding_type: str | None = Field(
        default=None,
        alias="regardingobjecttypecode",
        validation_alias=AliasChoices(
            f"_regardingobjectid_value@{LOOKUP_LOGICAL_NAME}", "regardingobjecttypecode"
        ),
    )
    owner_id: uuid.UUID | None = Field(default=None, alias="_ownerid_value")
    state: State | None = Field(default=None, alias="statecode")
    status_reason: int | None = Field(default=None, alias="statuscode")
    modified_on: datetime | None = Field(default=None, alias="modifiedon")
    version_number: int | None = Field(default=None, alias="versionnumber")

    @property
    def is_queue_mailbox(self) -> bool:
        return self.regarding_type == "queue"

    @property
    def is_approved(self) -> bool:
        return self.approval == EmailApproval.APPROVED

    @property
    def stopped_directions(self) -> tuple[SyncDirection, ...]:
        """The directions server-side synchronization has stopped processing: synced through
        it, with their enabled-for switch at No (see SYNC_DIRECTIONS for the sources)."""
        return tuple(
            d
            for d in SYNC_DIRECTIONS
            if getattr(self, _mailbox_field(d.delivery_column)) == d.server_side_sync
            and getattr(self, _mailbox_field(d.enabled_column)) is False
        )

    @property
    def processing_host(self) -> str | None:
        """The asynchronous host processing the mailbox right now, if one is."""
        if self.processing_state == PROCESSING_BY_HOST:
            return self.host_id or None
        return None


@cache
def _mailbox_field(column: str) -> str:
    return next(name for name, info in Mailbox.model_fields.items() if info.alias == column)


class SystemUser(DataverseRow):
    """A `systemuser` row: a person (or an application user) in the environment."""

    entity_set: ClassVar[str] = "systemusers"
    primary_key: ClassVar[str] = "systemuserid"

    id: uuid.UUID = Field(alias="systemuserid")
    full_name: str | None = Field(default=None, alias="fullname")
    domain_name: str | None = Field(default=None, alias="domainname")
    email: str | None = Field(default=None, alias="internalemailaddress")
    object_id: uuid.UUID | None = Field(default=None, alias="azureactivedirectoryobjectid")
    application_id: uuid.UUID | None = Field(default=None, alias="applicationid")
    is_disabled: bool | None = Field(default=None, alias="isdisabled")
    access_mode: int | None = Field(default=None, alias="accessmode")
    business_unit_id: uuid.UUID | None = Field(default=None, alias="_businessunitid_value")
    default_mailbox_id: uuid.UUID | None = Field(default=None, alias="_defaultmailbox_value")
    approval: Approval | None = Field(default=None, alias="emailrouteraccessapproval")


Person: TypeAlias = SystemUser


class Queue(DataverseRow):
    """A `queue` row; shared mailboxes such as support@ belong to queues."""

    entity_set: ClassVar[str] = "queues"
    primary_key: ClassVar[str] = "queueid"

    id: uuid.UUID = Field(alias="queueid")
    name: str | None = Field(default=None, alias="name")
    email_address: str | None = Field(default=None, alias="emailaddress")
    default_mailbox_id: uuid.UUID | None = Field(default=None, alias="_defaultmailbox_value")
    approval: Approval | None = Field(default=None, alias="emailrouteraccessapproval")
    state: State | None = Field(default=None, alias="statecode")


class ServerProfile(DataverseRow):
    """An `emailserverprofile` row (reference/dataverse.md §2)."""

    entity_set: ClassVar[str] = "emailserverprofiles"
    primary_key: ClassVar[str] = "emailserverprofileid"

    id: uuid.UUID = Field(alias="emailserverprofileid")
    name: str | None = Field(default=None, alias="name")
    server_type: Server | None = Field(default=None, alias="servertype")
    server_type_name: str | None = Field(default=None, alias="emailservertypename")
    incoming_credential_retrieval: Credentials | None = Field(
        default=None, alias="incomingcredentialretrieval"
    )
    outgoing_credential_retrieval: Credentials | None = Field(
        default=None, alias="outgoingcredentialretrieval"
    )
    use_autodiscover: bool | None = Field(default=None, alias="useautodiscover")
    default_server_location: str | None = Field(default=None, alias="defaultserverlocation")
    incoming_server_location: str | None = Field(default=None, alias="incomingserverlocation")
    outgoing_server_location: str | None = Field(default=None, alias="outgoingserverlocation")
    exchange_online_tenant_id: str | None = Field(default=None, alias="exchangeonlinetenantid")
    use_default_tenant_id: bool | None = Field(default=None, alias="usedefaulttenantid")
    state: State | None = Field(default=None, alias="statecode")


@dataclass(frozen=True)
class DefaultEmailSettings:
    """`organization.defaultemailsettings`: delivery methods applied to new users and queues."""

    incoming: IncomingDelivery | int | None
    outgoing: OutgoingDelivery | int | None
    act: ActDelivery | int | None


def _option(text: str | None, kind: type[E]) -> E | int | None:
    if text is None or not text.strip():
        return None
    try:
        number = int(text)
    except ValueError as exc:
        msg = f"not an option value: {text!r}"
        raise InvalidInput(msg) from exc
    try:
        return kind(number)
    except ValueError:
        return number


def parse_default_email_settings(document: str) -> DefaultEmailSettings:
    """Parse `<EmailSettings>…</EmailSettings>` (reference/dataverse.md §3)."""
    values = flat_settings(document, root="EmailSettings")
    return DefaultEmailSettings(
        incoming=_option(values.get("IncomingEmailDeliveryMethod"), IncomingDelivery),
        outgoing=_option(values.get("OutgoingEmailDeliveryMethod"), OutgoingDelivery),
        act=_option(values.get("ACTDeliveryMethod"), ActDelivery),
    )


@dataclass(frozen=True)
class OrgDbSettings:
    """`organization.orgdborgsettings`: `<OrgSettings><Name>value</Name>…</OrgSettings>`."""

    values: dict[str, str]

    def flag(self, name: str, default: bool = False) -> bool:
        raw = self.values.get(name)
        if raw is None or not raw.strip():
            return default
        return raw.strip().lower() in ("true", "1", "yes")

    @property
    def require_privilege_to_self_approve(self) -> bool:
        """RequirePrivilegeToSelfApproveEmailAddress; disabled unless set (§3, §12.7)."""
        return self.flag("RequirePrivilegeToSelfApproveEmailAddress")


def parse_orgdb_settings(document: str) -> OrgDbSettings:
    return OrgDbSettings(values=flat_settings(document, root="OrgSettings"))


class OrgEmailSettings(DataverseRow):
    """The email settings of the `organization` row (reference/dataverse.md §3)."""

    entity_set: ClassVar[str] = "organizations"
    primary_key: ClassVar[str] = "organizationid"

    id: uuid.UUID = Field(alias="organizationid")
    name: str | None = Field(default=None, alias="name")
    default_profile_id: uuid.UUID | None = Field(
        default=None, alias="_defaultemailserverprofileid_value"
    )
    default_email_settings: DefaultEmailSettings | None = Field(
        default=None, alias="defaultemailsettings"
    )
    require_approval_for_user_email: bool | None = Field(
        default=None, alias="requireapprovalforuseremail"
    )
    require_approval_for_queue_email: bool | None = Field(
        default=None, alias="requireapprovalforqueueemail"
    )
    email_connection_channel: Channel | None = Field(default=None, alias="emailconnectionchannel")
    generate_alerts_for_errors: bool | None = Field(default=None, alias="generatealertsforerrors")
    generate_alerts_for_warnings: bool | None = Field(
        default=None, alias="generatealertsforwarnings"
    )
    generate_alerts_for_information: bool | None = Field(
        default=None, alias="generatealertsforinformation"
    )
    notify_owner_of_profile_alerts: bool | None = Field(
        default=None, alias="notifymailboxownerofemailserverlevelalerts"
    )
    org_db_settings: OrgDbSettings = Field(
        default_factory=lambda: OrgDbSettings(values={}), alias="orgdborgsettings"
    )

    @field_validator("default_email_settings", mode="before")
    @classmethod
    def _parse_default_email_settings(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_default_email_settings(value) if value.strip() else None
        return value

    @field_validator("org_db_settings", mode="before")
    @classmethod
    def _parse_orgdb_settings(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return OrgDbSettings(values={})
        if isinstance(value, str):
            return parse_orgdb_settings(value)
        return value

    @property
    def require_privilege_to_self_approve(self) -> bool:
        return self.org_db_settings.require_privilege_to_self_approve


# The mailbox's collection of its alerts: the one-to-many relationship of
# `tracelog.regardingobjectid` (reference/dataverse.md §1, §5.3).
ALERTS_OF_MAILBOX: Final = "tracelog_Mailbox"


class Alert(DataverseRow):
    """A mailbox or server-profile alert: a `tracelog` row (reference/dataverse.md §5.3)."""

    entity_set: ClassVar[str] = "tracelogs"
    primary_key: ClassVar[str] = "tracelogid"

    id: uuid.UUID = Field(alias="tracelogid")
    level: Level | None = Field(default=None, alias="level")
    text: str | None = Field(default=None, alias="text")
    trace_code: int | None = Field(default=None, alias="tracecode")
    trace_status: bool | None = Field(default=None, alias="tracestatus")
    error_details: str | None = Field(default=None, alias="errordetails")
    regarding_id: uuid.UUID | None = Field(default=None, alias="_regardingobjectid_value")
    created_on: datetime | None = Field(default=None, alias="createdon")
    modified_on: datetime | None = Field(default=None, alias="modifiedon")


class Role(DataverseRow):
    """A Dataverse security `role` (one row per business unit)."""

    entity_set: ClassVar[str] = "roles"
    primary_key: ClassVar[str] = "roleid"

    id: uuid.UUID = Field(alias="roleid")
    name: str | None = Field(default=None, alias="name")
    template_id: uuid.UUID | None = Field(default=None, alias="_roletemplateid_value")
    business_unit_id: uuid.UUID | None = Field(default=None, alias="_businessunitid_value")


class PrivilegeDepth(StrEnum):
    """`PrivilegeDepth` as the Web API spells it: how far a privilege reaches."""

    BASIC = "Basic"  # the user's own rows
    LOCAL = "Local"  # the user's business unit
    DEEP = "Deep"  # the business unit and its children
    GLOBAL = "Global"  # the whole organization


class HeldPrivilege(BaseModel):
    """One entry of `RetrieveUserPrivilegesResponse.RolePrivileges` (RolePrivilege type)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    name: str = Field(alias="PrivilegeName")
    depth: PrivilegeDepth = Field(alias="Depth")
    privilege_id: uuid.UUID | None = Field(default=None, alias="PrivilegeId")
    business_unit_id: uuid.UUID | None = Field(default=None, alias="BusinessUnitId")


class Team(DataverseRow):
    """A Dataverse `team`; its roles apply to its members."""

    entity_set: ClassVar[str] = "teams"
    primary_key: ClassVar[str] = "teamid"

    id: uuid.UUID = Field(alias="teamid")
    name: str | None = Field(default=None, alias="name")
    team_type: TeamKind | None = Field(default=None, alias="teamtype")
    business_unit_id: uuid.UUID | None = Field(default=None, alias="_businessunitid_value")


SYSTEM_ADMINISTRATOR_TEMPLATE: Final = uuid.UUID("627090ff-40a3-4053-8790-584edc5be201")


@dataclass(frozen=True)
class TeamRoles:
    """A team the user belongs to, and the roles it gives."""

    team: Team
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class UserRoles:
    """A user's Dataverse security roles: held directly and through teams (§8)."""

    direct: tuple[Role, ...]
    through_teams: tuple[TeamRoles, ...]

    def all(self) -> tuple[Role, ...]:
        seen: dict[uuid.UUID, Role] = {r.id: r for r in self.direct}
        for team in self.through_teams:
            for role in team.roles:
                seen.setdefault(role.id, role)
        return tuple(seen.values())

    def names(self) -> frozenset[str]:
        return frozenset(r.name for r in self.all() if r.name)

    def template_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(r.template_id for r in self.all() if r.template_id)


class WhoAmI(BaseModel):
    """The `WhoAmI` function's answer: who the request ran as (§6.8)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    user_id: uuid.UUID = Field(alias="UserId")
    business_unit_id: uuid.UUID = Field(alias="BusinessUnitId")
    organization_id: uuid.UUID = Field(alias="OrganizationId")


@total_ordering
@dataclass(frozen=True, eq=False)
class DataverseVersion:
    """A version such as 9.2.22104.00170, compared part by part as numbers (§4.4)."""

    parts: tuple[int, ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> DataverseVersion:
        try:
            parts = tuple(int(p) for p in text.strip().split("."))
        except ValueError as exc:
            msg = f"not a Dataverse version: {text!r}"
            raise InvalidInput(msg) from exc
        if not parts:
            msg = f"not a Dataverse version: {text!r}"
            raise InvalidInput(msg)
        return cls(parts=parts, text=text.strip())

    def _padded(self, other: DataverseVersion) -> tuple[tuple[int, ...], tuple[int, ...]]:
        width = max(len(self.parts), len(other.parts))
        return (
            self.parts + (0,) * (width - len(self.parts)),
            other.parts + (0,) * (width - len(other.parts)),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataverseVersion):
            return NotImplemented
        mine, theirs = self._padded(other)
        return mine == theirs

    def __hash__(self) -> int:
        trimmed = list(self.parts)
        while trimmed and trimmed[-1] == 0:
            trimmed.pop()
        return hash(tuple(trimmed))

    def __lt__(self, other: DataverseVersion) -> bool:
        mine, theirs = self._padded(other)
        return mine < theirs

    def __str__(self) -> str:
        return self.text


DELEGATED_APPROVER_MIN_VERSION: Final = DataverseVersion.parse("9.2.22104.00170")


class MailboxChanges(BaseModel):
    """Columns to write on a mailbox; only the fields you set are sent.

    `server_profile_id` is sent as the `emailserverprofile@odata.bind` reference.
    """

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=True)

    approval: EmailApproval | None = Field(default=None, alias="emailrouteraccessapproval")
    server_profile_id: uuid.UUID | None = None
    incoming_delivery: IncomingDelivery | None = Field(
        default=None, alias="incomingemaildeliverymethod"
    )
    outgoing_delivery: OutgoingDelivery | None = Field(
        default=None, alias="outgoingemaildeliverymethod"
    )
    act_delivery: ActDelivery | None = Field(default=None, alias="actdeliverymethod")
    enabled_for_incoming: bool | None = Field(default=None, alias="enabledforincomingemail")
    enabled_for_outgoing: bool | None = Field(default=None, alias="enabledforoutgoingemail")
    enabled_for_act: bool | None = Field(default=None, alias="enabledforact")
    org_marked_primary: bool | None = Field(
        default=None, alias="orgmarkedasprimaryforexchangesync"
    )
    test_scheduled: bool | None = Field(default=None, alias="testemailconfigurationscheduled")

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "server_profile_id":
                body["emailserverprofile@odata.bind"] = (
                    f"/{ServerProfile.entity_set}({value})" if value is not None else None
                )
                continue
            alias = type(self).model_fields[name].alias or name
            body[alias] = int(value) if isinstance(value, IntEnum) else value
        if not body:
            msg = "no mailbox column to change"
            raise InvalidInput(msg)
        return body


# ---- Microsoft Graph -------------------------------------------------------------------


class GraphModel(BaseModel):
    """Base of Graph objects: camelCase aliases, unknown properties ignored."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class DirectoryUser(GraphModel):
    """An Entra ID user (`GET users/{id}`)."""

    id: uuid.UUID
    display_name: str | None = Field(default=None, alias="displayName")
    user_principal_name: str | None = Field(default=None, alias="userPrincipalName")
    mail: str | None = Field(default=None, alias="mail")
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")

    SELECT: ClassVar[tuple[str, ...]] = (
        "id",
        "displayName",
        "userPrincipalName",
        "mail",
        "accountEnabled",
    )


class RoleAssignment(GraphModel):
    """An active Entra directory role assignment (`unifiedRoleAssignment`)."""

    id: str
    principal_id: uuid.UUID = Field(alias="principalId")
    # For built-in roles this is the role's template id (reference/dataverse.md §7).
    role_definition_id: str = Field(alias="roleDefinitionId")
    directory_scope_id: str | None = Field(default=None, alias="directoryScopeId")

    @property
    def tenant_wide(self) -> bool:
        return self.directory_scope_id in (None, "/")


class DirectoryPrincipal(GraphModel):
    """Who holds a role assignment (`$expand=principal`): a user, a group or an app."""

    id: uuid.UUID
    odata_type: str | None = Field(default=None, alias="@odata.type")
    display_name: str | None = Field(default=None, alias="displayName")
    user_principal_name: str | None = Field(default=None, alias="userPrincipalName")

    @property
    def is_user(self) -> bool:
        return (self.odata_type or "").lower() == "#microsoft.graph.user"

    @property
    def is_group(self) -> bool:
        return (self.odata_type or "").lower() == "#microsoft.graph.group"


class RoleMember(RoleAssignment):
    """A role assignment with its principal expanded (who holds one given role)."""

    principal: DirectoryPrincipal | None = None


class EntraRoleTemplate:
    """Built-in Entra role template ids the permission model uses (§7)."""

    GLOBAL_ADMINISTRATOR: Final = "62e90394-69f5-4237-9190-012177145e10"
    EXCHANGE_ADMINISTRATOR: Final = "29232cdf-9323-42fd-ade2-1d097af3e4de"
    DYNAMICS_365_ADMINISTRATOR: Final = "44367163-eba1-44c3-98af-f5787879f96a"
    POWER_PLATFORM_ADMINISTRATOR: Final = "11648597-926c-4cf3-9c36-bcebb0ba8dcc"


@dataclass(frozen=True)
class HeldRole:
    """One active role assignment of a person, and the group it comes through (if any)."""

    assignment: RoleAssignment
    via_group: uuid.UUID | None


@dataclass(frozen=True)
class EntraRoles:
    """A person's active Entra directory roles, direct and through groups."""

    user_id: uuid.UUID
    group_ids: tuple[uuid.UUID, ...]
    held: tuple[HeldRole, ...]

    @property
    def template_ids(self) -> frozenset[str]:
        """Role template ids held at any scope."""
        return frozenset(h.assignment.role_definition_id.lower() for h in self.held)

    @property
    def tenant_wide_template_ids(self) -> frozenset[str]:
        """Role template ids held for the whole directory (scope `/`)."""
        return frozenset(
            h.assignment.role_definition_id.lower() for h in self.held if h.assignment.tenant_wide
        )

    def has(self, template_id: str, *, tenant_wide: bool = True) -> bool:
        ids = self.tenant_wide_template_ids if tenant_wide else self.template_ids
        return template_id.lower() in ids
