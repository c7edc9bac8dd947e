"""The sim's whole mutable world: Entra directory, Dataverse rows, associations, recordings.

Rows are plain dicts keyed by Dataverse logical attribute names (lookups as `_<name>_value`),
stored per entity-set name and primary key (lower-case GUID string). Every write goes through
`SimState.touch`, which bumps `versionnumber` and `modifiedon`; the ETag is derived from it.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sim.fixture import (
    APPROVAL_VALUES,
    ENTRA_ROLE_TEMPLATE_IDS,
    TEST_STATUS_VALUES,
    Approval,
    Depth,
    Fixture,
    MailboxSpec,
    ProfileSpec,
    TestFailure,
    TestStatus,
)

Row = dict[str, Any]

# Relationship name -> (entity set of the first id, entity set of the second id).
ASSOCIATIONS: dict[str, tuple[str, str]] = {
    "systemuserroles_association": ("systemusers", "roles"),
    "teamroles_association": ("teams", "roles"),
    "teammembership_association": ("systemusers", "teams"),
}

# Which `servertype` option value a profile stores. reference/dataverse.md §2 and §12.1:
# the value an online environment's Exchange Online profile carries is unconfirmed; the
# safest reading is 0 ("Exchange Server") with server-to-server credentials (2). An
# on-premises Exchange seen from an online environment is 2 ("Exchange Server (Hybrid)",
# ExchangeOnpremOnCrmOnline); Exchange Online seen from an on-premises environment is 3
# ("Exchange Online (Hybrid)", ExchangeOnlineOnCrmOnPrem); on-premises both sides is 0.
SERVERTYPE_EXCHANGE = 0
SERVERTYPE_EXCHANGE_HYBRID = 2
SERVERTYPE_EXCHANGE_ONLINE_HYBRID = 3

# `emailservertypename` ("Email Server Type Name", String(250), read-only; reference §2) is
# filled by the platform; what text it holds is not documented. The reading taken here is
# the server type as the admin UI names it when the profile is made: the seed's "Membuat
# profil server email untuk Exchange Online" step 4 picks Email Server Type "Exchange
# Online", which (per the note above) is stored as 0 in an online environment; every other
# value reads as its documented option label. Unconfirmed: this is the one place it is kept.
_SERVER_TYPE_NAMES: dict[int, str] = {
    0: "Exchange Server",
    1: "Other (POP3/SMTP)",
    2: "Exchange Server (Hybrid)",
    3: "Exchange Online (Hybrid)",
    4: "IMAP/SMTP",
}


def server_type_name(deployment: str, servertype: object) -> str | None:
    """What `emailservertypename` reads for a profile of `servertype` in `deployment`."""
    if isinstance(servertype, bool) or not isinstance(servertype, int):
        return None
    if servertype == SERVERTYPE_EXCHANGE and deployment == "online":
        return "Exchange Online"
    return _SERVER_TYPE_NAMES.get(servertype)


# `mailbox.processingstatecode` and `hostid` (reference §1.1, §12.2). The table reference
# (powerapps-docs reference/entities/mailbox.md) lists processingstatecode without values
# and describes hostid as "Unique identifier of the async host that is processing this
# mailbox". The sim follows the reading of Microsoft's field engineers (CRM in the Field,
# "How to read the Dynamics 365 Mailbox details file", 2019-02-14): 0 with hostid null
# normally, 1 with the host's name in hostid while an asynchronous host is processing the
# mailbox. It never means "disabled": server-side synchronization stops a mailbox through
# its enabledfor* switches (sim/testenable.py). Unconfirmed value by value; kept here only.
PROCESSING_IDLE = 0
PROCESSING_BY_HOST = 1


def processing_columns(host: str | None) -> Row:
    """The two columns for a mailbox that `host` is processing (None: no host is)."""
    return {
        "processingstatecode": PROCESSING_BY_HOST if host else PROCESSING_IDLE,
        "hostid": host or None,
    }


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class DirectoryUser:
    id: str
    display_name: str
    user_principal_name: str
    mail: str
    account_enabled: bool = True


@dataclass
class DirectoryGroup:
    id: str
    display_name: str
    members: set[str] = field(default_factory=set)


@dataclass
class RoleAssignment:
    id: str
    principal_id: str
    role_definition_id: str
    directory_scope_id: str = "/"


@dataclass
class ServicePrincipal:
    app_id: str
    object_id: str
    client_secret: str
    app_roles: set[str] = field(default_factory=set)  # Graph application permissions


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    caller_object_id: str | None
    body: Any
    status: int


@dataclass
class SimState:
    """Everything the sim knows; reset by rebuilding it from the fixture."""

    fixture: Fixture
    tenant_id: str
    tenant_name: str
    domain: str
    deployment: str
    version: str
    test_enable_delay_ms: int
    require_privilege_to_self_approve: bool
    application: ServicePrincipal
    users: dict[str, DirectoryUser] = field(default_factory=dict)
    groups: dict[str, DirectoryGroup] = field(default_factory=dict)
    role_assignments: list[RoleAssignment] = field(default_factory=list)
    # role id -> privilege name -> depth (the sim's stand-in for roleprivileges); set when
    # the state is built and never changed afterwards
    role_privileges: dict[str, dict[str, Depth]] = field(default_factory=dict)
    # A derived index for `sim.privileges.privileges_of`: the privilege set that a
    # combination of held roles gives (see there for the key). Never shown or compared.
    privilege_sets: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)
    tables: dict[str, dict[str, Row]] = field(default_factory=dict)
    associations: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    # mailbox id -> what its next Test & Enable reports
    test_outcomes: dict[str, str | TestFailure] = field(
        default_factory=dict
    )  # "success" or a failure
    requests: list[RecordedRequest] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    version_counter: int = 1000
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # ---- writes -------------------------------------------------------------------------

    def touch(self, row: Row, *, by: str | None = None, on_behalf_of: str | None = None) -> None:
        """Record that `row` changed: new versionnumber (the ETag) and modifiedon."""
        self.version_counter += 1
        row["versionnumber"] = self.version_counter
        row["modifiedon"] = iso(now_utc())
        if by is not None:
            row["_modifiedby_value"] = by
            row["_modifiedonbehalfby_value"] = on_behalf_of

    def insert(
        self,
        entity_set: str,
        key: str,
        row: Row,
        *,
        by: str | None = None,
        on_behalf_of: str | None = None,
    ) -> Row:
        row.setdefault("createdon", iso(now_utc()))
        self.touch(row, by=by, on_behalf_of=on_behalf_of)
        self.tables.setdefault(entity_set, {})[key] = row
        return row

    def process_mailbox(self, mailbox_id: str, host: str | None) -> Row:
        """An asynchronous host picks the mailbox up (`host`) or lets it go (None): the
        platform's own update of `processingstatecode` and `hostid`. It counts as a change
        of the row (new version and `modifiedon`); whether the platform's update moves
        `modifiedon` is unconfirmed, and moving it is the harder case for a reader that
        follows `modifiedon`."""
        row = self.row("mailboxes", mailbox_id)
        if row is None:
            raise KeyError(mailbox_id)
        row.update(processing_columns(host))
        self.touch(row)
        return row

    # ---- reads --------------------------------------------------------------------------

    def row(self, entity_set: str, key: str) -> Row | None:
        return self.tables.get(entity_set, {}).get(key.lower())

    def systemuser_for_object_id(self, object_id: str) -> Row | None:
        oid = object_id.lower()
        for row in self.tables["systemusers"].values():
            if (row.get("azureactivedirectoryobjectid") or "").lower() == oid:
                return row
        return None

    def roles_of_user(self, systemuser_id: str, *, through_teams: bool) -> set[str]:
        """Role ids held directly, and (if asked) through team membership."""
        uid = systemuser_id.lower()
        held = {r for (u, r) in self.associations["systemuserroles_association"] if u == uid}
        if through_teams:
            teams = {t for (u, t) in self.associations["teammembership_association"] if u == uid}
            held |= {r for (t, r) in self.associations["teamroles_association"] if t in teams}
        return held

    def entra_role_templates_of(self, object_id: str) -> set[str]:
        """Active Entra role template ids, direct and through groups."""
        oid = object_id.lower()
        principals = {oid} | {g.id for g in self.groups.values() if oid in g.members}
        return {
            a.role_definition_id for a in self.role_assignments if a.principal_id in principals
        }

    # ---- building ---------------------------------------------------------------------

    @classmethod
    def from_fixture(cls, fx: Fixture) -> SimState:
        env = fx.environment
        app = fx.application
        state = cls(
            fixture=fx,
            tenant_id=fx.tenant_id.lower(),
            tenant_name=fx.tenant_name,
            domain=fx.domain,
            deployment=env.deployment.value,
            version=env.version,
            test_enable_delay_ms=env.test_enable_delay_ms,
            require_privilege_to_self_approve=env.settings.require_privilege_to_self_approve,
            application=ServicePrincipal(
                app_id=app.client_id.lower(),
                object_id=app.object_id.lower(),
                client_secret=app.client_secret,
                app_roles=set(app.graph_permissions),
            ),
        )
        state.tables = {
            name: {}
            for name in (
                "mailboxes",
                "systemusers",
                "queues",
                "emailserverprofiles",
                "organizations",
                "tracelogs",
                "roles",
                "teams",
            )
        }
        state.associations = {name: set() for name in ASSOCIATIONS}
        _seed_directory(state, fx)
        _seed_dataverse(state, fx)
        return state


def _seed_directory(state: SimState, fx: Fixture) -> None:
    for group in fx.groups:
        state.groups[group.id.lower()] = DirectoryGroup(group.id.lower(), group.name)
        for role in group.entra_roles:
            state.role_assignments.append(
                RoleAssignment(str(uuid.uuid4()), group.id.lower(), ENTRA_ROLE_TEMPLATE_IDS[role])
            )
    by_name = {g.name: g.id.lower() for g in fx.groups}
    for person in fx.people:
        oid = person.object_id.lower()
        upn = person.upn or f"{person.name}@{fx.domain}"
        state.users[oid] = DirectoryUser(
            oid, person.display_name, upn, upn, account_enabled=not person.disabled
        )
        for role in person.entra_roles:
            state.role_assignments.append(
                RoleAssignment(str(uuid.uuid4()), oid, ENTRA_ROLE_TEMPLATE_IDS[role])
            )
        for group_name in person.groups:
            state.groups[by_name[group_name]].members.add(oid)


def _profile_row(state: SimState, spec: ProfileSpec) -> Row:
    if spec.servertype is not None:
        servertype = spec.servertype
    elif state.deployment == "online":
        servertype = (
            SERVERTYPE_EXCHANGE if spec.exchange == "online" else SERVERTYPE_EXCHANGE_HYBRID
        )
    else:
        servertype = (
            SERVERTYPE_EXCHANGE_ONLINE_HYBRID if spec.exchange == "online" else SERVERTYPE_EXCHANGE
        )
    return {
        "emailserverprofileid": spec.id.lower(),
        "name": spec.name,
        "servertype": servertype,
        "emailservertypename": server_type_name(state.deployment, servertype),
        "serverauthority": 0,  # SystemRequired, default 0 (reference §2)
        "incomingcredentialretrieval": spec.credential_retrieval,
        "outgoingcredentialretrieval": spec.credential_retrieval,
        "useautodiscover": spec.server_location is None,
        "defaultserverlocation": spec.server_location,
        "incomingserverlocation": spec.server_location,
        "outgoingserverlocation": spec.server_location,
        "exchangeonlinetenantid": state.tenant_id if spec.exchange == "online" else None,
        "usedefaulttenantid": True,
        "statecode": 0,
        "statuscode": 1,
        "_ownerid_value": None,
    }


def _mailbox_row(
    state: SimState,
    spec: MailboxSpec,
    *,
    name: str,
    email: str,
    regarding: tuple[str, str],
    profiles: dict[str, str],
) -> Row:
    def status(s: TestStatus) -> int:
        return TEST_STATUS_VALUES[s]

    statuses = (spec.incoming_status, spec.outgoing_status, spec.act_status)
    if TestStatus.FAILURE in statuses:
        overall = TestStatus.FAILURE
    elif all(s == TestStatus.SUCCESS for s in statuses):
        overall = TestStatus.SUCCESS
    else:
        overall = TestStatus.NOT_RUN
    return {
        "mailboxid": spec.id.lower(),
        "name": name,
        "emailaddress": spec.email or email,
        "emailrouteraccessapproval": APPROVAL_VALUES[spec.approval],
        "isemailaddressapprovedbyo365admin": spec.approval == Approval.APPROVED,
        "_emailserverprofile_value": profiles.get(spec.profile) if spec.profile else None,
        "incomingemaildeliverymethod": spec.incoming_delivery,
        "outgoingemaildeliverymethod": spec.outgoing_delivery,
        "actdeliverymethod": spec.act_delivery,
        "incomingemailstatus": status(spec.incoming_status),
        "outgoingemailstatus": status(spec.outgoing_status),
        "actstatus": status(spec.act_status),
        "mailboxstatus": status(overall),
        "enabledforincomingemail": spec.enabled_incoming,
        "enabledforoutgoingemail": spec.enabled_outgoing,
        "enabledforact": spec.enabled_act,
        "testemailconfigurationscheduled": False,
        "testemailconfigurationretrycount": 0,
        "testmailboxaccesscompletedon": None,
        "testandenablelastattemptedon": None,
        "_testandenablelastattemptedby_value": None,
        "_emailaddressapprovedby_value": None,
        "emailaddressapprovedon": None,
        "orgmarkedasprimaryforexchangesync": spec.org_marked_primary,
        "isforwardmailbox": False,
        "isserviceaccount": False,
        **processing_columns(spec.processing_host),
        "_regardingobjectid_value": regarding[1],
        "regardingobjecttypecode": regarding[0],
        "_ownerid_value": regarding[1] if regarding[0] == "systemuser" else None,
        "statecode": 0,
        "statuscode": 1,
    }


def _seed_dataverse(state: SimState, fx: Fixture) -> None:
    env = fx.environment
    s = env.settings
    profiles = {p.name: p.id.lower() for p in fx.profiles}
    for spec in fx.profiles:
        state.insert("emailserverprofiles", spec.id.lower(), _profile_row(state, spec))
    default_profile = next((p.id.lower() for p in fx.profiles if p.default), None)
    state.insert(
        "organizations",
        env.organization_id.lower(),
        {
            "organizationid": env.organization_id.lower(),
            "name": env.name,
            "_defaultemailserverprofileid_value": default_profile,
            "defaultemailsettings": (
                "<EmailSettings>"
                f"<IncomingEmailDeliveryMethod>{s.default_incoming_delivery}</IncomingEmailDeliveryMethod>"
                f"<OutgoingEmailDeliveryMethod>{s.default_outgoing_delivery}</OutgoingEmailDeliveryMethod>"
                f"<ACTDeliveryMethod>{s.default_act_delivery}</ACTDeliveryMethod>"
                "</EmailSettings>"
            ),
            "requireapprovalforuseremail": s.require_approval_for_user_email,
            "requireapprovalforqueueemail": s.require_approval_for_queue_email,
            "emailconnectionchannel": 0,
            "generatealertsforerrors": s.generate_alerts_for_errors,
            "generatealertsforwarnings": s.generate_alerts_for_warnings,
            "generatealertsforinformation": s.generate_alerts_for_information,
            "notifymailboxownerofemailserverlevelalerts": False,
            # Element name from the seed (connect-exchange-online); unconfirmed live (§12.7).
            "orgdborgsettings": (
                "<OrgSettings><RequirePrivilegeToSelfApproveEmailAddress>"
                f"{str(s.require_privilege_to_self_approve).lower()}"
                "</RequirePrivilegeToSelfApproveEmailAddress></OrgSettings>"
            ),
            "expirechangetrackingindays": 7,
        },
    )
    role_ids: dict[str, str] = {}
    for role in fx.roles:
        rid = role.id.lower()
        role_ids[role.name] = rid
        state.role_privileges[rid] = dict(role.privileges)
        state.insert(
            "roles",
            rid,
            {
                "roleid": rid,
                "name": role.name,
                "_roletemplateid_value": role.template_id.lower() if role.template_id else None,
                "_businessunitid_value": env.business_unit_id.lower(),
                "ismanaged": True,
            },
        )
    team_ids: dict[str, str] = {}
    for team in fx.teams:
        tid = team.id.lower()
        team_ids[team.name] = tid
        state.insert(
            "teams",
            tid,
            {
                "teamid": tid,
                "name": team.name,
                "teamtype": 0,
                "_businessunitid_value": env.business_unit_id.lower(),
                "isdefault": False,
            },
        )
        for role_name in team.roles:
            state.associations["teamroles_association"].add((tid, role_ids[role_name]))

    app = fx.application
    state.insert(
        "systemusers",
        app.systemuser_id.lower(),
        {
            "systemuserid": app.systemuser_id.lower(),
            "fullname": "# MailOps",
            "domainname": f"{app.client_id.lower()}@{fx.domain}",
            "internalemailaddress": None,
            "azureactivedirectoryobjectid": app.object_id.lower(),
            "applicationid": app.client_id.lower(),
            "isdisabled": False,
            "accessmode": 4,  # 4 = Non-interactive (application users)
            "_businessunitid_value": env.business_unit_id.lower(),
            "_defaultmailbox_value": None,
            "emailrouteraccessapproval": 0,
        },
    )
    for role_name in app.dataverse_roles:
        state.associations["systemuserroles_association"].add(
            (app.systemuser_id.lower(), role_ids[role_name])
        )

    for person in fx.people:
        if not person.in_dataverse:
            continue
        uid = person.systemuser_id.lower()
        upn = person.upn or f"{person.name}@{fx.domain}"
        mailbox = person.mailbox
        state.insert(
            "systemusers",
            uid,
            {
                "systemuserid": uid,
                "fullname": person.display_name,
                "firstname": person.display_name.split(" ")[0],
                "domainname": upn,
                "internalemailaddress": (mailbox.email if mailbox and mailbox.email else upn),
                "azureactivedirectoryobjectid": person.object_id.lower(),
                "applicationid": None,
                "isdisabled": person.disabled,
                "accessmode": 0,
                "_businessunitid_value": env.business_unit_id.lower(),
                "_defaultmailbox_value": mailbox.id.lower() if mailbox else None,
                "emailrouteraccessapproval": APPROVAL_VALUES[mailbox.approval] if mailbox else 0,
            },
        )
        for role_name in person.dataverse_roles:
            state.associations["systemuserroles_association"].add((uid, role_ids[role_name]))
        for team_name in person.teams:
            state.associations["teammembership_association"].add((uid, team_ids[team_name]))
        if mailbox:
            state.insert(
                "mailboxes",
                mailbox.id.lower(),
                _mailbox_row(
                    state,
                    mailbox,
                    name=person.display_name,
                    email=upn,
                    regarding=("systemuser", uid),
                    profiles=profiles,
                ),
            )
            state.test_outcomes[mailbox.id.lower()] = mailbox.test_outcome

    for queue in fx.queues:
        qid = queue.id.lower()
        state.insert(
            "queues",
            qid,
            {
                "queueid": qid,
                "name": queue.name,
                "emailaddress": queue.email,
                "_defaultmailbox_value": queue.mailbox.id.lower(),
                "emailrouteraccessapproval": APPROVAL_VALUES[queue.mailbox.approval],
                "queueviewtype": 0,
                "statecode": 0,
            },
        )
        state.insert(
            "mailboxes",
            queue.mailbox.id.lower(),
            _mailbox_row(
                state,
                queue.mailbox,
                name=queue.name,
                email=queue.email,
                regarding=("queue", qid),
                profiles=profiles,
            ),
        )
        state.test_outcomes[queue.mailbox.id.lower()] = queue.mailbox.test_outcome

    if fx.generated:
        _seed_generated(state, fx, profiles)


_GENERATED_FAILURES = [
    (
        (3, "Authentication failure: the credentials for the mailbox were rejected by Exchange."),
        False,
    ),
    (
        (
            4,
            "Test and Enable failed because no user was found with the email address in the "
            "Microsoft 365 tenant associated with this mailbox's Email Server Profile.",
        ),
        True,
    ),
]


def _seed_generated(state: SimState, fx: Fixture, profiles: dict[str, str]) -> None:
    gen = fx.generated
    assert gen is not None
    rng = random.Random(gen.seed)  # deterministic: same fixture, same rows
    namespace = uuid.UUID(fx.tenant_id)
    for i in range(gen.count):
        name = f"{gen.name_prefix}{i:05d}"
        uid = str(uuid.uuid5(namespace, f"systemuser:{name}"))
        mid = str(uuid.uuid5(namespace, f"mailbox:{name}"))
        upn = f"{name}@{fx.domain}"
        approved = rng.random() < gen.approved_rate
        tested = rng.random() < 0.6
        failing = rng.random() < gen.failure_rate
        outcome: str | TestFailure = "success"
        if failing:
            (code, text), permanent = rng.choice(_GENERATED_FAILURES)
            outcome = TestFailure(code=code, text=text, permanent=permanent)
        status = TestStatus.NOT_RUN
        if tested:
            status = TestStatus.FAILURE if failing else TestStatus.SUCCESS
        # Some failed mailboxes were stopped (every direction switched off); a few of the
        # others are being synchronized right now (by position, not by the random stream,
        # so that the other columns stay what they were).
        stopped = bool(tested and failing and rng.random() < 0.3)
        syncing = not stopped and gen.syncing_every > 0 and i % gen.syncing_every == 0
        spec = MailboxSpec(
            id=mid,
            profile=gen.profile,
            approval=Approval.APPROVED if approved else Approval.PENDING,
            incoming_status=status,
            outgoing_status=status,
            act_status=status,
            enabled_incoming=not stopped,
            enabled_outgoing=not stopped,
            enabled_act=not stopped,
            processing_host=f"async-host-{i % 3 + 1}" if syncing else None,
            test_outcome=outcome,
        )
        state.insert(
            "systemusers",
            uid,
            {
                "systemuserid": uid,
                "fullname": f"Generated {name}",
                "firstname": "Generated",
                "domainname": upn,
                "internalemailaddress": upn,
                "azureactivedirectoryobjectid": str(uuid.uuid5(namespace, f"oid:{name}")),
                "applicationid": None,
                "isdisabled": False,
                "accessmode": 0,
                "_businessunitid_value": fx.environment.business_unit_id.lower(),
                "_defaultmailbox_value": mid,
                "emailrouteraccessapproval": 1 if approved else 2,
            },
        )
        state.insert(
            "mailboxes",
            mid,
            _mailbox_row(
                state,
                spec,
                name=f"Generated {name}",
                email=upn,
                regarding=("systemuser", uid),
                profiles=profiles,
            ),
        )
        state.test_outcomes[mid] = outcome
