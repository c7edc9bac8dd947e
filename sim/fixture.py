"""The YAML fixture format that seeds the sim: a tenant, its people, and one Dataverse environment.

The model is the documentation: `mailops sim --print-schema` (or `fixture_json_schema()`)
publishes it as JSON Schema. Names here are the fixture's own; the sim turns them into rows
with Dataverse logical attribute names (`sim.state.SimState.from_fixture`).

Everything that a test or the demo may refer to by name (people, queues, profiles, roles,
teams) is keyed by a short name, and every id is given explicitly so that a fixture always
produces the same rows.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

Guid = str  # validated as a GUID by the pattern below
_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntraRole(StrEnum):
    """Entra directory roles the permission model names (reference/dataverse.md §7)."""

    GLOBAL_ADMIN = "global_admin"
    EXCHANGE_ADMIN = "exchange_admin"
    DYNAMICS_ADMIN = "dynamics_admin"  # "service admin" in the seed's table
    POWER_PLATFORM_ADMIN = "power_platform_admin"
    EXCHANGE_RECIPIENT_ADMIN = "exchange_recipient_admin"


# Built-in role template ids (reference/dataverse.md §7, source S26).
ENTRA_ROLE_TEMPLATE_IDS: dict[EntraRole, str] = {
    EntraRole.GLOBAL_ADMIN: "62e90394-69f5-4237-9190-012177145e10",
    EntraRole.EXCHANGE_ADMIN: "29232cdf-9323-42fd-ade2-1d097af3e4de",
    EntraRole.DYNAMICS_ADMIN: "44367163-eba1-44c3-98af-f5787879f96a",
    EntraRole.POWER_PLATFORM_ADMIN: "11648597-926c-4cf3-9c36-bcebb0ba8dcc",
    EntraRole.EXCHANGE_RECIPIENT_ADMIN: "31392ffb-586c-42d1-9346-e59415a2cc4e",
}


class Deployment(StrEnum):
    """Where the Dataverse environment runs (the seed's table rows)."""

    ONLINE = "online"  # "Customer engagement apps" (Dynamics 365 online)
    ONPREM = "onprem"  # "Customer Engagement (on-premises)"


class Approval(StrEnum):
    """`emailrouteraccessapproval` (reference §1.2): 0 Empty, 1 Approved, 2 Pending, 3 Rejected."""

    EMPTY = "empty"
    APPROVED = "approved"
    PENDING = "pending"
    REJECTED = "rejected"


APPROVAL_VALUES: dict[Approval, int] = {
    Approval.EMPTY: 0,
    Approval.APPROVED: 1,
    Approval.PENDING: 2,
    Approval.REJECTED: 3,
}


class TestStatus(StrEnum):
    """`incomingemailstatus` and its siblings: 0 Not Run, 1 Success, 2 Failure."""

    NOT_RUN = "not_run"
    SUCCESS = "success"
    FAILURE = "failure"


TEST_STATUS_VALUES: dict[TestStatus, int] = {
    TestStatus.NOT_RUN: 0,
    TestStatus.SUCCESS: 1,
    TestStatus.FAILURE: 2,
}


class Depth(StrEnum):
    """Privilege depth, narrowest first."""

    USER = "user"
    BUSINESS_UNIT = "business_unit"
    PARENT_CHILD = "parent_child"
    ORGANIZATION = "organization"


Direction = Literal["incoming", "outgoing", "act"]
_ALL_DIRECTIONS: tuple[Direction, ...] = ("incoming", "outgoing", "act")


class TestFailure(_Model):
    """What the next Test & Enable of a mailbox reports when it fails."""

    code: int = Field(description="tracelog.tracecode written with the error alert")
    text: str = Field(description="tracelog.text: the alert text")
    permanent: bool = Field(
        default=False,
        description="a permanent failure also stops processing of the failed directions "
        "(their enabledfor* switches go to No)",
    )
    directions: list[Direction] = Field(
        default_factory=lambda: list(_ALL_DIRECTIONS),
        description="which of the three statuses fail; the others succeed",
    )


class MailboxSpec(_Model):
    """A mailbox row; every field has the value a freshly created mailbox would have."""

    id: Guid = Field(pattern=_GUID)
    email: str | None = Field(default=None, description="defaults to the owner's address")
    profile: str | None = Field(default=None, description="server profile name; None = no profile")
    approval: Approval = Approval.PENDING
    incoming_delivery: int = Field(default=2, ge=0, le=3)
    outgoing_delivery: int = Field(default=2, ge=0, le=2)
    act_delivery: int = Field(default=1, ge=0, le=2)
    incoming_status: TestStatus = TestStatus.NOT_RUN
    outgoing_status: TestStatus = TestStatus.NOT_RUN
    act_status: TestStatus = TestStatus.NOT_RUN
    enabled_incoming: bool = Field(
        default=True, description="false: server-side sync stopped processing incoming email"
    )
    enabled_outgoing: bool = Field(
        default=True, description="false: server-side sync stopped processing outgoing email"
    )
    enabled_act: bool = Field(
        default=True,
        description="false: server-side sync stopped processing appointments, contacts, tasks",
    )
    processing_host: str | None = Field(
        default=None,
        max_length=256,
        description="the asynchronous host processing the mailbox right now "
        "(processingstatecode 1, hostid); None = no host is (0, null)",
    )
    org_marked_primary: bool = False
    test_outcome: Literal["success"] | TestFailure = Field(
        default="success", description="what the next Test & Enable reports"
    )


class PersonSpec(_Model):
    """A person: an Entra user and, unless `in_dataverse` is false, a Dataverse system user."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$", description="short key, e.g. 'alice'")
    display_name: str
    object_id: Guid = Field(pattern=_GUID, description="Entra object id (oid)")
    systemuser_id: Guid = Field(pattern=_GUID)
    upn: str | None = Field(default=None, description="defaults to <name>@<tenant domain>")
    entra_roles: list[EntraRole] = Field(default_factory=list, description="active, direct")
    groups: list[str] = Field(default_factory=list, description="Entra group names")
    dataverse_roles: list[str] = Field(default_factory=list, description="security role names")
    teams: list[str] = Field(default_factory=list, description="Dataverse team names")
    in_dataverse: bool = True
    disabled: bool = False
    mailbox: MailboxSpec | None = None


class GroupSpec(_Model):
    """An Entra security group; its role assignments reach members transitively."""

    name: str
    id: Guid = Field(pattern=_GUID)
    entra_roles: list[EntraRole] = Field(default_factory=list)


class QueueSpec(_Model):
    name: str
    id: Guid = Field(pattern=_GUID)
    email: str
    mailbox: MailboxSpec


class ProfileSpec(_Model):
    """An email server profile (`emailserverprofile`, reference §2)."""

    name: str
    id: Guid = Field(pattern=_GUID)
    exchange: Literal["online", "onprem"] = Field(
        description="which Exchange the profile connects to; the sim stores `servertype` from it"
    )
    servertype: int | None = Field(
        default=None, description="override the stored servertype option value (reference §2)"
    )
    credential_retrieval: int = Field(default=2, ge=0, le=7)
    server_location: str | None = None
    default: bool = Field(default=False, description="organization.defaultemailserverprofileid")


class RoleSpec(_Model):
    """A Dataverse security role with the privileges the sim's rules look at."""

    name: str
    id: Guid = Field(pattern=_GUID)
    template_id: Guid | None = Field(default=None, pattern=_GUID)
    privileges: dict[str, Depth] = Field(
        default_factory=dict,
        description="privilege name (e.g. prvApproveRejectEmailAddress) -> depth",
    )


class TeamSpec(_Model):
    name: str
    id: Guid = Field(pattern=_GUID)
    roles: list[str] = Field(default_factory=list)


class ApplicationSpec(_Model):
    """The bot's app registration and its Dataverse application user."""

    client_id: Guid = Field(pattern=_GUID)
    client_secret: str = Field(min_length=16)
    object_id: Guid = Field(pattern=_GUID, description="service principal object id")
    systemuser_id: Guid = Field(pattern=_GUID)
    dataverse_roles: list[str] = Field(default_factory=list)
    graph_permissions: list[str] = Field(
        # GroupMember.Read.All: the members of a group that holds an admin role (approvers).
        default_factory=lambda: [
            "RoleManagement.Read.Directory",
            "User.Read.All",
            "GroupMember.Read.All",
        ]
    )


class OrgSettingsSpec(_Model):
    require_approval_for_user_email: bool = True
    require_approval_for_queue_email: bool = True
    require_privilege_to_self_approve: bool = Field(
        default=False, description="OrgDbOrgSetting RequirePrivilegeToSelfApproveEmailAddress"
    )
    default_incoming_delivery: int = 2
    default_outgoing_delivery: int = 2
    default_act_delivery: int = 1
    generate_alerts_for_errors: bool = True
    generate_alerts_for_warnings: bool = True
    generate_alerts_for_information: bool = True


class GeneratedMailboxes(_Model):
    """Bulk people generated deterministically, for paging, bulk and monitor tests."""

    count: int = Field(ge=0, le=200_000)
    seed: int = 1
    name_prefix: str = "user"
    profile: str
    failure_rate: float = Field(default=0.1, ge=0, le=1, description="share whose test fails")
    approved_rate: float = Field(default=0.5, ge=0, le=1)
    syncing_every: int = Field(
        default=0,
        ge=0,
        description="every Nth mailbox still processed is in the middle of a sync "
        "(processingstatecode 1 with a hostid); 0: none",
    )


class EnvironmentSpec(_Model):
    organization_id: Guid = Field(pattern=_GUID)
    business_unit_id: Guid = Field(pattern=_GUID)
    name: str
    deployment: Deployment
    version: str = Field(pattern=r"^\d+\.\d+\.\d+\.\d+$", description="RetrieveVersion")
    test_enable_delay_ms: int = Field(default=300, ge=0, description="async Test & Enable delay")
    settings: OrgSettingsSpec = OrgSettingsSpec()


class Fixture(_Model):
    """A whole simulated tenant with one Dataverse environment."""

    tenant_id: Guid = Field(pattern=_GUID)
    tenant_name: str
    domain: str = Field(description="UPN suffix, e.g. contoso.com")
    application: ApplicationSpec
    environment: EnvironmentSpec
    profiles: list[ProfileSpec] = Field(default_factory=list)
    roles: list[RoleSpec] = Field(default_factory=list)
    teams: list[TeamSpec] = Field(default_factory=list)
    groups: list[GroupSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)
    queues: list[QueueSpec] = Field(default_factory=list)
    generated: GeneratedMailboxes | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> Fixture:
        profiles = {p.name for p in self.profiles}
        roles = {r.name for r in self.roles}
        teams = {t.name for t in self.teams}
        groups = {g.name for g in self.groups}
        problems: list[str] = []
        for person in self.people:
            problems += [
                f"{person.name}: unknown role {r!r}"
                for r in person.dataverse_roles
                if r not in roles
            ]
            problems += [
                f"{person.name}: unknown team {t!r}" for t in person.teams if t not in teams
            ]
            problems += [
                f"{person.name}: unknown group {g!r}" for g in person.groups if g not in groups
            ]
            if (
                person.mailbox
                and person.mailbox.profile
                and person.mailbox.profile not in profiles
            ):
                problems.append(f"{person.name}: unknown profile {person.mailbox.profile!r}")
        for team in self.teams:
            problems += [
                f"team {team.name}: unknown role {r!r}" for r in team.roles if r not in roles
            ]
        problems += [
            f"application: unknown role {r!r}"
            for r in self.application.dataverse_roles
            if r not in roles
        ]
        if self.generated and self.generated.profile not in profiles:
            problems.append(f"generated: unknown profile {self.generated.profile!r}")
        if sum(p.default for p in self.profiles) > 1:
            problems.append("more than one default profile")
        names = [p.name for p in self.people]
        if len(names) != len(set(names)):
            problems.append("duplicate person names")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def load(cls, path: str | Path) -> Fixture:
        with Path(path).open(encoding="utf-8") as fh:
            data: Any = yaml.safe_load(fh)
        return cls.model_validate(data)


def fixture_json_schema() -> str:
    """The fixture format as JSON Schema, for editors and for review."""
    return json.dumps(Fixture.model_json_schema(), indent=2)


FIXTURES_DIR = Path(__file__).parent / "fixtures"
