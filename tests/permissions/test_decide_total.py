"""``decide`` is total, deterministic and denies by default; property checks over random
facts (a later test compares it with the sim's rules, so it must never raise)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from permissions import (
    Action,
    Actor,
    ApprovalState,
    Decision,
    Deployment,
    Environment,
    Fact,
    KnownFactRequirement,
    MailboxKind,
    MailboxTarget,
    PrincipalKind,
    RoleAssignmentTarget,
    RoleRef,
    Scope,
    ServerProfileTarget,
    Target,
    decide,
    merge_privileges,
    rules,
)
from permissions.identifiers import PRV_APPROVE_REJECT_EMAIL, SYSTEM_ADMINISTRATOR_TEMPLATE
from permissions.model import Depth
from tests.permissions.builders import (
    BASIC_USER,
    DELEGATED_APPROVER,
    EA,
    EMAIL_APPROVER,
    GA,
    ME,
    MY_ID,
    ROLE_PRIVILEGES,
    SERVICE_ADMIN,
    SYSTEM_ADMIN,
    online,
    person,
)

_PRIVILEGES = sorted({name for grants in ROLE_PRIVILEGES.values() for name in grants})
_ROLES = [
    SYSTEM_ADMIN,
    DELEGATED_APPROVER,
    BASIC_USER,
    EMAIL_APPROVER,
    RoleRef("System Administrator"),
]

actors = st.builds(
    Actor,
    object_id=st.just("aa000000-0000-4000-8000-000000000001"),
    upn=st.sampled_from([ME, ME.upper(), "other@contoso.com", None]),
    entra_role_template_ids=st.none()
    | st.frozensets(
        st.sampled_from([GA, EA, SERVICE_ADMIN, "11648597-926c-4cf3-9c36-bcebb0ba8dcc"])
    ),
    direct_roles=st.frozensets(st.sampled_from(_ROLES)),
    team_roles=st.frozensets(st.sampled_from(_ROLES)),
    privileges=st.dictionaries(st.sampled_from(_PRIVILEGES), st.sampled_from(list(Depth))),
    is_application=st.booleans(),
    systemuser_id=st.sampled_from([MY_ID, None]),
)
environments = st.builds(
    Environment,
    deployment=st.sampled_from([Deployment.ONLINE, Deployment.ONPREM, None]),
    version=st.sampled_from(
        [None, "9.2.22104.00169", "9.2.22104.00170", "9.2.3.1", "not-a-version", "9.2.25093.00214"]
    ),
    require_privilege_to_self_approve=st.sampled_from([True, False, None]),
)
mailbox_targets = st.builds(
    MailboxTarget,
    kind=st.sampled_from(list(MailboxKind)),
    email=st.sampled_from([ME, "alice@contoso.com", None]),
    owner_systemuser_id=st.sampled_from([MY_ID, "5e000000-0000-4000-8000-000000000002", None]),
    is_actors_own=st.sampled_from([True, False, None]),
    servertype=st.sampled_from([None, 0, 1, 2, 3, 4, 9]),
    approval=st.sampled_from([None, *ApprovalState]),
)
targets: st.SearchStrategy[Target | None] = st.one_of(
    st.none(),
    mailbox_targets,
    st.builds(ServerProfileTarget, owned_by_actor=st.sampled_from([True, False, None])),
    st.builds(RoleAssignmentTarget, principal_kind=st.sampled_from(list(PrincipalKind))),
)


def _check_invariants(decision: Decision) -> None:
    assert decision.allowed is (decision.missing == ())
    satisfied = [p.rule for p in decision.paths if p.satisfied]
    assert decision.allowed is bool(satisfied)
    if decision.allowed:
        assert decision.rule == satisfied[0]
    for alternative in decision.alternatives:
        assert all(r.scope is Scope.PERSON for r in alternative.requirements)
    assert decision.rule.id in decision.explain()


@settings(max_examples=400, deadline=None)
@given(action=st.sampled_from(list(Action)), actor=actors, env=environments, target=targets)
def test_decide_is_total_and_deterministic(
    action: Action, actor: Actor, env: Environment, target: Target | None
) -> None:
    """Brief: deterministic and total, for any combination of facts, known or not."""
    first = decide(action, actor, env, target)
    assert decide(action, actor, env, target) == first
    assert first.action is action
    _check_invariants(first)


@settings(max_examples=300, deadline=None)
@given(action=st.sampled_from(list(Action)), actor=actors, env=environments, target=targets)
def test_more_roles_never_take_permission_away(
    action: Action, actor: Actor, env: Environment, target: Target | None
) -> None:
    """Seed "Model izin": columns are role combinations a person *holds*; holding more
    (here: System Administrator and its privileges) never turns a Yes into a No."""
    richer = replace(
        actor,
        direct_roles=actor.direct_roles | {SYSTEM_ADMIN},
        privileges=merge_privileges(actor.privileges, ROLE_PRIVILEGES[SYSTEM_ADMIN]),
    )
    if decide(action, actor, env, target).allowed:
        assert decide(action, richer, env, target).allowed


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from([Action.APPROVE_EMAIL, Action.REJECT_EMAIL]),
    actor=actors,
    env=environments,
    target=mailbox_targets,
)
def test_table_approval_always_includes_system_admin_and_privilege(
    action: Action, actor: Actor, env: Environment, target: MailboxTarget
) -> None:
    """Seed: every Yes cell names System admin, and approving needs the privilege; only
    the own-mailbox rule (reference §4.1) approves without them."""
    decision = decide(action, actor, env, target)
    if decision.allowed and decision.rule != rules.SELF_APPROVAL:
        assert actor.privilege(PRV_APPROVE_REJECT_EMAIL) is not None
        assert any(
            r.template_id == SYSTEM_ADMINISTRATOR_TEMPLATE
            for r in actor.direct_roles | actor.team_roles
        )


def test_every_action_has_a_rule() -> None:
    """Brief: the Action enum is fully covered; none falls to "unknown action"."""
    for action in Action:
        decision = decide(action, person(direct=[SYSTEM_ADMIN]), online())
        assert decision.rule != rules.UNKNOWN_ACTION


def test_unknown_action_is_denied() -> None:
    """Brief and style §5: deny by default, an unknown action included."""
    gina = person(entra=[GA], direct=[SYSTEM_ADMIN])
    decision = decide("delete-tenant", gina, online())  # type: ignore[arg-type]
    assert not decision.allowed
    assert decision.action is None
    assert decision.rule == rules.UNKNOWN_ACTION
    assert decision.missing == (KnownFactRequirement(Fact.ACTION),)
    assert "unknown action" in decision.explain()


def test_nobody_gets_anything_by_default() -> None:
    """Style §5: an unknown user (no roles, no privileges, no Entra roles) gets nothing."""
    nobody = person(direct=[], privileges={})
    for action in Action:
        for target in (None, MailboxTarget(MailboxKind.PERSON, "alice@contoso.com")):
            assert not decide(action, nobody, online(), target).allowed


def test_actor_facts_are_frozen_copies() -> None:
    """Facts are values: mutating the caller's dict after building an Actor changes
    nothing already decided."""
    privileges = {PRV_APPROVE_REJECT_EMAIL: Depth.ORGANIZATION}
    actor = person(entra=[GA], direct=[SYSTEM_ADMIN], privileges=privileges)
    privileges.clear()
    assert actor.privilege(PRV_APPROVE_REJECT_EMAIL) is Depth.ORGANIZATION
    assert hash(actor) == hash(
        person(
            entra=[GA],
            direct=[SYSTEM_ADMIN],
            privileges={PRV_APPROVE_REJECT_EMAIL: Depth.ORGANIZATION},
        )
    )
