"""The seed's permission model as data plus pure decision functions that explain themselves.

This package imports nothing else of the project: callers translate Graph and Dataverse
rows into the fact types of :mod:`permissions.model` and call :func:`decide`.
"""

from __future__ import annotations

from permissions.actions import Action
from permissions.decision import Alternative, Decision, Flag, PathCheck
from permissions.facts import (
    DataversePrincipalFacts,
    FactsCache,
    FactSource,
    FactsUnavailableError,
)
from permissions.model import (
    Actor,
    ApprovalState,
    Deployment,
    Depth,
    Environment,
    MailboxKind,
    MailboxTarget,
    PrincipalKind,
    RoleAssignmentTarget,
    RoleRef,
    ServerProfileTarget,
    Target,
    merge_privileges,
)
from permissions.policy import decide
from permissions.requirements import (
    DataverseRoleRequirement,
    DeploymentRequirement,
    EntraRoleRequirement,
    Fact,
    KnownFactRequirement,
    KnownServerTypeRequirement,
    OwnRecordRequirement,
    PersonRequirement,
    PrivilegeRequirement,
    Requirement,
    Scope,
    SelfApprovalCondition,
    SelfApprovalRequirement,
    UserPrincipalRequirement,
    VersionRequirement,
)
from permissions.rules import Rule
from permissions.table import (
    TABLE,
    Cell,
    Column,
    ExchangeLocation,
    Footnote,
    Row,
    ServerReading,
    Verdict,
    all_cells,
    cell,
    read_server_type,
    row_for,
)
from permissions.versions import Version, version_at_least

__all__ = [
    "TABLE",
    "Action",
    "Actor",
    "Alternative",
    "ApprovalState",
    "Cell",
    "Column",
    "DataversePrincipalFacts",
    "DataverseRoleRequirement",
    "Decision",
    "Deployment",
    "DeploymentRequirement",
    "Depth",
    "EntraRoleRequirement",
    "Environment",
    "ExchangeLocation",
    "Fact",
    "FactSource",
    "FactsCache",
    "FactsUnavailableError",
    "Flag",
    "Footnote",
    "KnownFactRequirement",
    "KnownServerTypeRequirement",
    "MailboxKind",
    "MailboxTarget",
    "OwnRecordRequirement",
    "PathCheck",
    "PersonRequirement",
    "PrincipalKind",
    "PrivilegeRequirement",
    "Requirement",
    "RoleAssignmentTarget",
    "RoleRef",
    "Row",
    "Rule",
    "Scope",
    "SelfApprovalCondition",
    "SelfApprovalRequirement",
    "ServerProfileTarget",
    "ServerReading",
    "Target",
    "UserPrincipalRequirement",
    "Verdict",
    "Version",
    "VersionRequirement",
    "all_cells",
    "cell",
    "decide",
    "merge_privileges",
    "read_server_type",
    "row_for",
    "version_at_least",
]
