"""Table metadata of the eight tables the sim serves, from reference/dataverse.md §1–§3, §5.3, §8.

Each column carries its Dataverse type, whether it is valid for create / update / read
(IsValidForCreate, IsValidForUpdate, IsValidForRead), its limits (string MaxLength, integer
range, choice values with their English labels) and, for lookups, the entity sets it points
to with the single-valued navigation property for each target.

Names follow the Web API: a lookup column `emailserverprofile` appears in JSON as
`_emailserverprofile_value` and is written with `emailserverprofile@odata.bind`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from sim.state import ASSOCIATIONS


class Kind(Enum):
    """Attribute types (AttributeTypeCode), each shown in the Web API as an Edm type."""

    GUID = "uniqueidentifier"
    STRING = "string"
    MEMO = "memo"
    INT = "integer"
    BIGINT = "bigint"
    BOOL = "boolean"
    PICKLIST = "picklist"  # Picklist / State / Status: stored as integers (§0)
    DATETIME = "datetime"
    LOOKUP = "lookup"  # Lookup / Owner: `_<name>_value`
    ENTITYNAME = "entityname"

    @property
    def edm(self) -> str:
        return _EDM[self]


_EDM: Final[dict[Kind, str]] = {
    Kind.GUID: "Edm.Guid",
    Kind.STRING: "Edm.String",
    Kind.MEMO: "Edm.String",
    Kind.INT: "Edm.Int32",
    Kind.BIGINT: "Edm.Int64",
    Kind.BOOL: "Edm.Boolean",
    Kind.PICKLIST: "Edm.Int32",
    Kind.DATETIME: "Edm.DateTimeOffset",
    Kind.LOOKUP: "Edm.Guid",
    Kind.ENTITYNAME: "Edm.String",
}


@dataclass(frozen=True)
class Column:
    name: str  # logical attribute name
    kind: Kind
    create: bool = True  # IsValidForCreate
    update: bool = True  # IsValidForUpdate
    read: bool = True  # IsValidForRead
    max_length: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    options: dict[int, str] = field(default_factory=dict)
    # Lookups: entity set of each target -> single-valued navigation property name.
    targets: dict[str, str] = field(default_factory=dict)
    default: Any = None  # the value a created row gets when the client sends none
    owner: bool = False  # Owner type: its one navigation property binds any of its targets

    @property
    def json_name(self) -> str:
        """The property name in Web API JSON (`_<name>_value` for lookups)."""
        return f"_{self.name}_value" if self.kind is Kind.LOOKUP else self.name


@dataclass(frozen=True)
class OneToMany:
    """A collection-valued navigation property backed by a lookup on the child table."""

    child_set: str
    child_column: str  # JSON name of the lookup on the child, e.g. `_regardingobjectid_value`


@dataclass(frozen=True)
class ManyToMany:
    """A collection-valued navigation property backed by an N:N relationship in the state."""

    relationship: str
    target_set: str
    forward: bool  # True when this table is the first member of the stored pair


@dataclass
class Table:
    logical_name: str
    entity_set: str
    primary_key: str
    primary_name: str
    columns: dict[str, Column]  # by JSON name
    can_create: bool = True
    can_update: bool = True
    can_delete: bool = True
    can_upsert: bool = True
    collections: dict[str, OneToMany | ManyToMany] = field(default_factory=dict)
    # single-valued navigation property -> (lookup column, target entity set)
    navigations: dict[str, tuple[Column, str]] = field(default_factory=dict)
    # logical attribute name -> column (for `<name>@odata.bind` and `$select` errors)
    by_logical: dict[str, Column] = field(default_factory=dict)
    _readable: list[Column] = field(default_factory=list, repr=False)
    _readable_names: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._readable = [c for c in self.columns.values() if c.read]
        self._readable_names = [c.json_name for c in self._readable]
        for col in self.columns.values():
            self.by_logical[col.name] = col
            for target, nav in col.targets.items():
                self.navigations.setdefault(nav, (col, target))

    @property
    def type_name(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"

    def readable(self) -> list[Column]:
        """Columns shown when no `$select` is given (IsValidForRead)."""
        return self._readable

    def readable_names(self) -> list[str]:
        return self._readable_names


# ---- column helpers ----------------------------------------------------------------------

YES_NO: Final = {0: "No", 1: "Yes"}  # labels of Yes/No columns (read as JSON booleans)


def _guid(name: str, **kw: Any) -> Column:
    return Column(name, Kind.GUID, **kw)


def _str(name: str, max_length: int, **kw: Any) -> Column:
    return Column(name, Kind.STRING, max_length=max_length, **kw)


def _memo(name: str, max_length: int = 1_048_576, **kw: Any) -> Column:
    return Column(name, Kind.MEMO, max_length=max_length, **kw)


def _int(name: str, lo: int = -2_147_483_648, hi: int = 2_147_483_647, **kw: Any) -> Column:
    return Column(name, Kind.INT, min_value=lo, max_value=hi, **kw)


def _bool(name: str, **kw: Any) -> Column:
    return Column(name, Kind.BOOL, **kw)


def _pick(name: str, options: dict[int, str], **kw: Any) -> Column:
    return Column(name, Kind.PICKLIST, options=options, **kw)


def _dt(name: str, **kw: Any) -> Column:
    return Column(name, Kind.DATETIME, **kw)


def _lookup(name: str, targets: dict[str, str], **kw: Any) -> Column:
    return Column(name, Kind.LOOKUP, targets=targets, **kw)


def _system_columns(logical: str, *, owned: bool) -> list[Column]:
    """Audit and version columns every table has; the owner for user/team-owned tables."""
    cols = [
        _dt("createdon", create=False, update=False),
        _dt("modifiedon", create=False, update=False),
        _lookup("createdby", {"systemusers": f"createdby_{logical}"}, create=False, update=False),
        _lookup(
            "modifiedby", {"systemusers": f"modifiedby_{logical}"}, create=False, update=False
        ),
        _lookup(
            "createdonbehalfby",
            {"systemusers": f"createdonbehalfby_{logical}"},
            create=False,
            update=False,
        ),
        _lookup(
            "modifiedonbehalfby",
            {"systemusers": f"modifiedonbehalfby_{logical}"},
            create=False,
            update=False,
        ),
        Column("versionnumber", Kind.BIGINT, create=False, update=False),
    ]
    if owned:
        cols.append(_lookup("ownerid", {"systemusers": "ownerid", "teams": "ownerid"}, owner=True))
    return cols


def _table(
    logical: str,
    entity_set: str,
    primary_key: str,
    primary_name: str,
    cols: list[Column],
    *,
    owned: bool = True,
    **kw: Any,
) -> Table:
    all_cols = [_guid(primary_key, update=False), *cols, *_system_columns(logical, owned=owned)]
    return Table(
        logical_name=logical,
        entity_set=entity_set,
        primary_key=primary_key,
        primary_name=primary_name,
        columns={c.json_name: c for c in all_cols},
        **kw,
    )


# ---- option sets (reference §1.2, §2, §3, §5.3, §8) ---------------------------------------

APPROVAL: Final = {0: "Empty", 1: "Approved", 2: "Pending Approval", 3: "Rejected"}
# Value 2 of the two email delivery columns: the current generated mailbox.md labels it
# "Server-Side Synchronization" (as issue 13 point 8 quotes it; the copies of the page that
# could be read here, 2021 and 2023, still say "Server-Side Synchronization or Email
# Router", from before the Email Router was retired).
SERVER_SIDE_SYNC: Final = "Server-Side Synchronization"
INCOMING_DELIVERY: Final = {
    0: "None",
    1: "Microsoft Dynamics 365 for Outlook",
    2: SERVER_SIDE_SYNC,
    3: "Forward Mailbox",
}
OUTGOING_DELIVERY: Final = {
    0: "None",
    1: "Microsoft Dynamics 365 for Outlook",
    2: SERVER_SIDE_SYNC,
}
ACT_DELIVERY: Final = {
    0: "Microsoft Dynamics 365 for Outlook",
    1: SERVER_SIDE_SYNC,
    2: "None",
}
TEST_STATUS: Final = {0: "Not Run", 1: "Success", 2: "Failure"}
STATE: Final = {0: "Active", 1: "Inactive"}
STATUS: Final = {1: "Active", 2: "Inactive"}
SERVER_TYPE: Final = {
    0: "Exchange Server",
    1: "Other (POP3/SMTP)",
    2: "Exchange Server (Hybrid)",
    3: "Exchange Online (Hybrid)",
    4: "IMAP/SMTP",
}
CREDENTIAL_RETRIEVAL: Final = {
    0: "Credentials Specified by a User or Queue",
    1: "Credentials Specified in Email Server Profile",
    2: "Server to Server Authentication",
    3: "Windows Integrated Authentication",
    4: "Without Credentials (Anonymous)",
    5: "Gmail OAuth",
    6: "Exchange Hybrid Modern Auth (HMA)",
    7: "OAuth with Microsoft Entra ID",
}
AUTH_PROTOCOL: Final = {0: "Auto Detect", 1: "Negotiate", 2: "NTLM", 3: "Basic", 4: "OAuth"}
SERVER_AUTHORITY: Final = {
    0: "Public (+GCC) login.microsoftonline.com",
    1: "US Gov (GCC High/DoD) login.microsoftonline.us",
    2: "China (21Vianet) login.chinacloudapi.cn",
    3: "Automatic",
}
EXCHANGE_VERSION: Final = {
    0: "Exchange 2007",
    1: "Exchange 2007 SP1",
    2: "Exchange 2010",
    3: "Exchange 2010 SP1",
    4: "Exchange 2010 SP2",
    5: "Exchange 2013",
}
TEST_EXECUTION_STATUS: Final = {0: "Failure", 1: "Success", 2: "Warning"}
PASS_FAIL: Final = {0: "Failure", 1: "Success"}
TRACE_LEVEL: Final = {1: "Information", 2: "Warning", 3: "Error"}
CONTACTS_IMPORT: Final = {0: "NotImported", 1: "Imported", 2: "ImportFailed"}
OFFICE_APPS: Final = {
    0: "NotInstalled",
    1: "Installed",
    2: "InstallFailed",
    3: "UninstallFailed",
    4: "UpgradeRequired",
}
EMAIL_CHANNEL: Final = {0: "Server-Side Synchronization", 1: "Microsoft Dynamics 365 Email Router"}
ACCESS_MODE: Final = {
    0: "Read-Write",
    1: "Administrative",
    2: "Read",
    3: "Support User",
    4: "Non-interactive",
    5: "Delegated Admin",
}
QUEUE_VIEW: Final = {0: "Public", 1: "Private"}
TEAM_TYPE: Final = {0: "Owner", 1: "Access", 2: "Security Group", 3: "Office Group"}

# ---- the tables ------------------------------------------------------------------------

MAILBOX = _table(
    "mailbox",
    "mailboxes",
    "mailboxid",
    "name",
    [
        _str("name", 200),
        _str("emailaddress", 100),
        _pick("emailrouteraccessapproval", APPROVAL, default=0),
        _bool("isemailaddressapprovedbyo365admin", create=False, default=False),
        _lookup("emailserverprofile", {"emailserverprofiles": "emailserverprofile"}),
        _pick("incomingemaildeliverymethod", INCOMING_DELIVERY, default=0),
        _pick("outgoingemaildeliverymethod", OUTGOING_DELIVERY, default=0),
        _pick("actdeliverymethod", ACT_DELIVERY, default=2),
        _pick("incomingemailstatus", TEST_STATUS, create=False, default=0),
        _pick("outgoingemailstatus", TEST_STATUS, create=False, default=0),
        _pick("actstatus", TEST_STATUS, create=False, default=0),
        _pick("mailboxstatus", TEST_STATUS, create=False, update=False, default=0),
        _bool("enabledforincomingemail", create=False, default=True),
        _bool("enabledforoutgoingemail", create=False, default=True),
        _bool("enabledforact", create=False, default=True),
        _bool("testemailconfigurationscheduled", default=False),
        _int("testemailconfigurationretrycount", 0, default=0),
        _dt("postponetestemailconfigurationuntil"),
        _dt("testmailboxaccesscompletedon", create=False),
        _lookup(
            "testandenablelastattemptedby",
            {"systemusers": "testandenablelastattemptedby"},
            create=False,
            update=False,
        ),
        _dt("testandenablelastattemptedon", create=False, update=False),
        _lookup(
            "emailaddressapprovedby",
            {"systemusers": "emailaddressapprovedby_mailbox"},
            create=False,
            update=False,
        ),
        _dt("emailaddressapprovedon", create=False, update=False),
        _bool("orgmarkedasprimaryforexchangesync", default=False),
        _bool("isactsyncorgflagset", default=False),
        # Metadata default Yes, read-only (reference §1.1).
        _bool("isforwardmailbox", create=False, update=False, default=True),
        _bool("isserviceaccount", create=False, update=False, default=False),
        # Read-only, 0 idle / 1 while the async host named by `hostid` processes the
        # mailbox (reference §1.1; the reading is sim/state.py's processing_columns).
        _int("processingstatecode", 0, create=False, update=False, default=0),
        _str("hostid", 256, create=False, update=False),
        _dt("postponemailboxprocessinguntil", create=False),
        _dt("postponesendinguntil"),
        _dt("processemailreceivedafter"),
        _dt("processinglastattemptedon"),
        _str("lastsyncerror", 2048),
        _int("lastsyncerrorcode"),
        _int("lastsyncerrorcount", 0),
        _str("lastsyncerrormachinename", 100),
        _dt("lastsyncerroroccurredon"),
        _dt("lastsuccessfulsynccompletedon"),
        _dt("lastsyncstartedon", create=False, update=False),
        _int("itemsprocessedforlastsync", 0),
        _int("itemsfailedforlastsync", 0),
        _str("ewsurl", 2084),
        _int("verboseloggingenabled", 0, 100, default=0),
        _lookup(
            "regardingobjectid",
            {"systemusers": "regardingobjectid", "queues": "regardingobjectid_queue"},
            create=False,
            update=False,
        ),
        Column("regardingobjecttypecode", Kind.ENTITYNAME, create=False, update=False),
        _pick("exchangecontactsimportstatus", CONTACTS_IMPORT),
        _pick("officeappsdeploymentstatus", OFFICE_APPS),
        _pick("statecode", STATE, create=False, default=0),
        _pick("statuscode", STATUS, default=1),
    ],
    collections={
        "tracelog_Mailbox": OneToMany("tracelogs", "_regardingobjectid_value"),
    },
)

EMAIL_SERVER_PROFILE = _table(
    "emailserverprofile",
    "emailserverprofiles",
    "emailserverprofileid",
    "name",
    [
        _str("name", 100),
        _pick("servertype", SERVER_TYPE),
        # Read-only and filled by the platform from `servertype`: `sim.rules` keeps it.
        _str("emailservertypename", 250, create=False, update=False),
        _pick("incomingcredentialretrieval", CREDENTIAL_RETRIEVAL),
        _pick("outgoingcredentialretrieval", CREDENTIAL_RETRIEVAL),
        _pick("incomingauthenticationprotocol", AUTH_PROTOCOL),
        _pick("outgoingauthenticationprotocol", AUTH_PROTOCOL),
        _str("defaultserverlocation", 2084),
        _str("incomingserverlocation", 2084),
        _str("outgoingserverlocation", 2084),
        _bool("useautodiscover", default=False),
        _str("exchangeonlinetenantid", 36),
        _bool("usedefaulttenantid", default=True),
        _str("aadresourceid", 2084),
        _str("oauthclientid", 2084),
        _str("oauthclientsecret", 2084, read=False),
        _bool("isoauthclientsecretset", create=False, update=False, default=False),
        # SystemRequired with default 0 Public (emailserverprofile.md, newest version; §2):
        # a profile created without it reads back 0, never null.
        _pick("serverauthority", SERVER_AUTHORITY, default=0),
        _pick("exchangeversion", EXCHANGE_VERSION),
        _int("maxconcurrentconnections", 1, 300),
        _int("minpollingintervalinminutes", 0, 1440),
        _bool("timeoutmailboxconnection", default=True),
        _int("timeoutmailboxconnectionafteramount", 0, 100_000),
        _bool("sendemailalert", default=False),
        _pick("lasttestexecutionstatus", TEST_EXECUTION_STATUS),
        _pick("lasttestvalidationstatus", PASS_FAIL),
        _pick("lastauthorizationstatus", PASS_FAIL),
        _memo("lastcrmmessage"),
        _memo("lasttestrequest"),
        _memo("lasttestresponse"),
        _dt("lastteststarttime"),
        _str("description", 2000),
        _pick("statecode", STATE, create=False, default=0),
        _pick("statuscode", STATUS, default=1),
    ],
    collections={
        "emailserverprofile_mailbox": OneToMany("mailboxes", "_emailserverprofile_value"),
    },
)

SYSTEM_USER = _table(
    "systemuser",
    "systemusers",
    "systemuserid",
    "fullname",
    [
        _str("fullname", 200, create=False, update=False),
        _str("firstname", 64),
        _str("lastname", 64),
        _str("domainname", 1024),
        _str("internalemailaddress", 100),
        _guid("azureactivedirectoryobjectid"),
        _guid("applicationid"),
        _bool("isdisabled", default=False),
        _pick("accessmode", ACCESS_MODE, default=0),
        _lookup("businessunitid", {"businessunits": "businessunitid"}),
        _lookup("defaultmailbox", {"mailboxes": "defaultmailbox"}, create=False),
        _pick("emailrouteraccessapproval", APPROVAL, default=0),
        _bool("isemailaddressapprovedbyo365admin", create=False, update=False, default=False),
        _pick("incomingemaildeliverymethod", INCOMING_DELIVERY),
        _pick("outgoingemaildeliverymethod", OUTGOING_DELIVERY),
        _str("title", 128),
    ],
    owned=False,
    can_delete=False,  # system users are disabled, never deleted
    collections={
        "systemuserroles_association": ManyToMany(
            "systemuserroles_association", "roles", forward=True
        ),
        "teammembership_association": ManyToMany(
            "teammembership_association", "teams", forward=True
        ),
        # mailbox.md's one-to-many relationships from systemuser: `mailbox_regarding_systemuser`
        # is the mailbox's `regardingobjectid` (the user the mailbox belongs to);
        # `user_mailbox` is the owner (`owninguser`, here `ownerid`), not the regarding user.
        "mailbox_regarding_systemuser": OneToMany("mailboxes", "_regardingobjectid_value"),
        "user_mailbox": OneToMany("mailboxes", "_ownerid_value"),
    },
)

QUEUE = _table(
    "queue",
    "queues",
    "queueid",
    "name",
    [
        _str("name", 400),
        _str("emailaddress", 100),
        _lookup("defaultmailbox", {"mailboxes": "defaultmailbox"}, create=False),
        _pick("emailrouteraccessapproval", APPROVAL, default=0),
        _bool("isemailaddressapprovedbyo365admin", create=False, update=False, default=False),
        _pick("incomingemaildeliverymethod", INCOMING_DELIVERY),
        _pick("outgoingemaildeliverymethod", OUTGOING_DELIVERY),
        _pick("queueviewtype", QUEUE_VIEW, default=0),
        _lookup("businessunitid", {"businessunits": "businessunitid"}),
        _str("description", 2000),
        _pick("statecode", STATE, create=False, default=0),
        _pick("statuscode", STATUS, default=1),
    ],
    collections={
        # mailbox.md / queue.md: relationship `mailbox_regarding_queue`, whose partner on the
        # mailbox is the navigation property `regardingobjectid_queue` (reference §1.1).
        "mailbox_regarding_queue": OneToMany("mailboxes", "_regardingobjectid_value"),
    },
)

ORGANIZATION = _table(
    "organization",
    "organizations",
    "organizationid",
    "name",
    [
        _str("name", 160),
        _lookup(
            "defaultemailserverprofileid",
            {"emailserverprofiles": "defaultemailserverprofileid"},
        ),
        _memo("defaultemailsettings", 1_073_741_823),
        _bool("requireapprovalforuseremail"),
        _bool("requireapprovalforqueueemail"),
        _pick("emailconnectionchannel", EMAIL_CHANNEL),
        _bool("generatealertsforerrors"),
        _bool("generatealertsforwarnings"),
        _bool("generatealertsforinformation"),
        _bool("notifymailboxownerofemailserverlevelalerts"),
        _memo("orgdborgsettings", 1_073_741_823),
        _int("expirechangetrackingindays", 0),
    ],
    owned=False,
    # Messages: Retrieve, RetrieveMultiple and Update only (reference §3).
    can_create=False,
    can_delete=False,
    can_upsert=False,
)

TRACE_LOG = _table(
    "tracelog",
    "tracelogs",
    "tracelogid",
    "text",
    [
        _lookup(
            "regardingobjectid",
            {
                "mailboxes": "regardingobjectid_mailbox",
                "emailserverprofiles": "regardingobjectid_emailserverprofile",
            },
            update=False,
        ),
        Column("regardingobjecttypecode", Kind.ENTITYNAME, create=False, update=False),
        _pick("level", TRACE_LEVEL),
        _str("text", 2000),
        _int("tracecode", 0, 1_000_000_000),
        _bool("tracestatus"),
        _str("errordetails", 2048),
        _str("errortypedisplay", 320),
        _str("machinename", 100),
        _memo("traceactionxml"),
        _memo("tracedetailxml"),
        _memo("traceparameterxml"),
        _bool("isunique", default=False),
        _bool("canbedeleted", default=True),
        _lookup("parenttracelogid", {"tracelogs": "parenttracelogid"}),
        _int("collationlevel", 0),
        _guid("regardingobjectownerid", create=False, update=False),
    ],
    owned=False,  # OrganizationOwned (reference §5.3)
    # Messages: Create, Delete, Retrieve, RetrieveMultiple.
    can_update=False,
    can_upsert=False,
)

ROLE = _table(
    "role",
    "roles",
    "roleid",
    "name",
    [
        _str("name", 100),
        _lookup("roletemplateid", {"roletemplates": "roletemplateid"}, update=False),
        _lookup("businessunitid", {"businessunits": "businessunitid"}, update=False),
        _bool("ismanaged", create=False, update=False, default=False),
        _str("description", 2000),
    ],
    owned=False,
    collections={
        "systemuserroles_association": ManyToMany(
            "systemuserroles_association", "systemusers", forward=False
        ),
        "teamroles_association": ManyToMany("teamroles_association", "teams", forward=False),
    },
)

TEAM = _table(
    "team",
    "teams",
    "teamid",
    "name",
    [
        _str("name", 160),
        _pick("teamtype", TEAM_TYPE, default=0),
        _lookup("businessunitid", {"businessunits": "businessunitid"}),
        _bool("isdefault", create=False, update=False, default=False),
        _guid("azureactivedirectoryobjectid"),
        _str("emailaddress", 100),
        _str("description", 2000),
    ],
    owned=False,
    collections={
        "teamroles_association": ManyToMany("teamroles_association", "roles", forward=True),
        "teammembership_association": ManyToMany(
            "teammembership_association", "systemusers", forward=False
        ),
    },
)

TABLES: Final[dict[str, Table]] = {
    t.entity_set: t
    for t in (
        MAILBOX,
        EMAIL_SERVER_PROFILE,
        SYSTEM_USER,
        QUEUE,
        ORGANIZATION,
        TRACE_LOG,
        ROLE,
        TEAM,
    )
}
BY_LOGICAL_NAME: Final[dict[str, Table]] = {t.logical_name: t for t in TABLES.values()}

# The N:N relationships the state keeps, with the entity sets of their two members.
RELATIONSHIPS: Final = ASSOCIATIONS


def table(entity_set: str) -> Table | None:
    """The table served under `entity_set` (names are case-sensitive, like Dataverse's)."""
    return TABLES.get(entity_set)
