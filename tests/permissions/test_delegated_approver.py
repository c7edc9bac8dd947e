"""Assigning and removing the Delegated Mailbox Approver role (seed "Mendelegasikan
persetujuan kotak pesan"; reference §4.1)."""

from __future__ import annotations

import pytest

from permissions import (
    Action,
    EntraRoleRequirement,
    Environment,
    MailboxKind,
    PersonRequirement,
    PrincipalKind,
    PrivilegeRequirement,
    RoleAssignmentTarget,
    decide,
    rules,
)
from permissions.identifiers import PRV_ASSIGN_ROLE, PRV_READ_MAILBOX
from permissions.model import Depth
from tests.permissions.builders import (
    DELEGATED_APPROVER,
    EA,
    GA,
    SERVICE_ADMIN,
    SYSTEM_ADMIN,
    mailbox,
    online,
    onprem,
    person,
)

ROLE_ACTIONS = [Action.ASSIGN_DELEGATED_APPROVER, Action.REMOVE_DELEGATED_APPROVER]
TO_USER = RoleAssignmentTarget(PrincipalKind.USER, "5e000000-0000-4000-8000-000000000009")
TO_TEAM = RoleAssignmentTarget(PrincipalKind.TEAM, "7e000000-0000-4000-8000-000000000001")


@pytest.mark.parametrize("action", ROLE_ACTIONS)
@pytest.mark.parametrize(
    ("entra", "rule"), [(GA, rules.ASSIGN_BY_GLOBAL_ADMIN), (EA, rules.ASSIGN_BY_EXCHANGE_ADMIN)]
)
def test_global_or_exchange_admin_may_assign(action: Action, entra: str, rule: rules.Rule) -> None:
    """Seed: users with the Global or Exchange admin role can delegate by assigning the
    role (with prvAssignRole, which System Administrator has)."""
    decision = decide(action, person(entra=[entra], direct=[SYSTEM_ADMIN]), online(), TO_USER)
    assert decision.allowed
    assert decision.rule == rule
    assert decision.error_code is None


@pytest.mark.parametrize("action", ROLE_ACTIONS)
@pytest.mark.parametrize(
    "entra", [(), (SERVICE_ADMIN,)], ids=["system-admin-only", "service-admin"]
)
def test_others_get_0x80090904(action: Action, entra: tuple[str, ...]) -> None:
    """Seed "Penting": not a Global or Exchange admin → error 0x80090904, whatever
    Dataverse roles they hold (a Delegated Mailbox Approver cannot pass it on either)."""
    actor = person(entra=entra, direct=[SYSTEM_ADMIN, DELEGATED_APPROVER])
    decision = decide(action, actor, online(), TO_USER)
    assert not decision.allowed
    assert decision.error_code == "0x80090904"
    assert decision.rule == rules.ASSIGN_NOT_ADMIN
    assert decision.missing == (EntraRoleRequirement(GA),)
    assert [a.rule for a in decision.alternatives] == [
        rules.ASSIGN_BY_GLOBAL_ADMIN,
        rules.ASSIGN_BY_EXCHANGE_ADMIN,
    ]
    assert "0x80090904" in decision.explain()


@pytest.mark.parametrize("action", ROLE_ACTIONS)
def test_never_to_a_team(action: Action) -> None:
    """Seed: the role cannot be assigned to a team → 0x80090905,
    CannotAssignDelegatedMailboxApproverRoleToTeam; nobody else could either."""
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    decision = decide(action, gina, online(), TO_TEAM)
    assert not decision.allowed
    assert decision.error_code == "0x80090905"
    assert decision.rule == rules.ASSIGN_TO_TEAM
    assert decision.alternatives == ()
    assert "CannotAssignDelegatedMailboxApproverRoleToTeam" in decision.explain()


def test_team_check_comes_before_the_admin_check() -> None:
    """A team target can never succeed, so that is what a non-admin is told first."""
    decision = decide(Action.ASSIGN_DELEGATED_APPROVER, person(), online(), TO_TEAM)
    assert decision.error_code == "0x80090905"


def test_prv_assign_role_is_needed() -> None:
    """Brief: assigning a security role needs prvAssignRole as well."""
    gary = person(entra=[GA], privileges={PRV_READ_MAILBOX: Depth.USER})
    decision = decide(Action.ASSIGN_DELEGATED_APPROVER, gary, online(), TO_USER)
    assert not decision.allowed
    assert decision.error_code is None
    assert decision.missing == (PrivilegeRequirement(PRV_ASSIGN_ROLE),)
    assert decision.rule == rules.ASSIGN_BY_GLOBAL_ADMIN


@pytest.mark.parametrize(
    "environment",
    [online("9.2.22104.00169"), online("9.2.3.1"), online(None), onprem()],
    ids=["below-gate", "numeric-compare", "unknown-version", "onprem"],
)
def test_role_exists_only_online_from_the_gate(environment: Environment) -> None:
    """Seed: the role is available in Dynamics 365 online from 9.2.22104.00170."""
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    decision = decide(Action.ASSIGN_DELEGATED_APPROVER, gina, environment, TO_USER)
    assert not decision.allowed
    assert decision.rule == rules.ASSIGN_UNAVAILABLE
    assert decision.alternatives == ()


def test_application_identity_cannot_assign() -> None:
    """Brief: an application identity is denied where a person's Entra roles are needed."""
    app = person(entra=[GA], direct=[SYSTEM_ADMIN], application=True, upn=None)
    decision = decide(Action.ASSIGN_DELEGATED_APPROVER, app, online(), TO_USER)
    assert not decision.allowed
    assert decision.error_code == "0x80090904"
    assert PersonRequirement() in decision.missing


def test_unknown_entra_roles_are_missing_facts() -> None:
    """Brief: missing facts deny with a clear reason rather than guess an error code."""
    actor = person(direct=[SYSTEM_ADMIN], entra_known=False)
    decision = decide(Action.ASSIGN_DELEGATED_APPROVER, actor, online(), TO_USER)
    assert not decision.allowed
    assert decision.rule == rules.MISSING_FACTS
    assert decision.error_code is None


def test_role_actions_need_a_role_target() -> None:
    """Brief: deny by default."""
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    assert decide(Action.ASSIGN_DELEGATED_APPROVER, gina, online()).rule == rules.MISSING_FACTS
    target = mailbox(kind=MailboxKind.PERSON)
    wrong = decide(Action.REMOVE_DELEGATED_APPROVER, gina, online(), target)
    assert wrong.rule == rules.WRONG_TARGET
