"""``decide``: the seed's permission model as one pure, total, deterministic function.

Every action is judged as a list of *paths* (ways to be allowed), each a rule plus the
requirements it needs. The action is allowed when one path's requirements are all met.
Anything not known counts as unmet, and an action without a handler is denied, so the
default is "no". Sources: the seed (connect-exchange-online, Indonesian) and
reference/dataverse.md §4 (English table, own-mailbox conditions, version gate) and §8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Final

from permissions import rules
from permissions.actions import Action
from permissions.decision import Alternative, Decision, Flag, PathCheck
from permissions.identifiers import (
    DELEGATED_APPROVER_MIN_VERSION,
    ERROR_NOT_GLOBAL_OR_EXCHANGE_ADMIN,
    ERROR_ROLE_TO_TEAM,
    EXCHANGE_ADMIN,
    GLOBAL_ADMIN,
    PRV_APPROVE_REJECT_EMAIL,
    PRV_ASSIGN_ROLE,
    PRV_CREATE_EMAIL_SERVER_PROFILE,
    PRV_READ_MAILBOX,
    PRV_WRITE_EMAIL_SERVER_PROFILE,
    PRV_WRITE_MAILBOX,
    PRV_WRITE_ORGANIZATION,
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
    ServerProfileTarget,
    Target,
)
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
    ExchangeLocation,
    Footnote,
    Row,
    Verdict,
    all_cells,
    read_server_type,
    row_for,
)
from permissions.versions import version_at_least


@dataclass(frozen=True)
class _Facts:
    actor: Actor
    env: Environment
    target: Target | None


@dataclass(frozen=True)
class _Path:
    rule: Rule
    label: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class _Outcome:
    checks: tuple[PathCheck, ...]
    chosen: PathCheck | None
    nearest: PathCheck | None


_Handler = Callable[[Action, _Facts], Decision]

_CELLS_BY_ID: Final[dict[str, Cell]] = {c.id: c for c in all_cells()}


def decide(
    action: Action,
    actor: Actor,
    environment: Environment,
    target: Target | None = None,
) -> Decision:
    """Whether ``actor`` may do ``action`` on ``target`` in ``environment``, and why.

    Args:
        action: what is asked.
        actor: the caller's facts.
        environment: the environment's facts.
        target: a :class:`MailboxTarget` for approve, reject, Test & Enable, mailbox settings
            and (optionally) views; a :class:`ServerProfileTarget` (optional) for changing a
            profile; a :class:`RoleAssignmentTarget` for the Delegated Mailbox Approver
            actions; nothing for organization-level actions (a target there is ignored).
    """
    handler = _HANDLERS.get(action) if isinstance(action, Action) else None
    if handler is None:
        return Decision(None, False, rules.UNKNOWN_ACTION, (KnownFactRequirement(Fact.ACTION),))
    return handler(action, _Facts(actor, environment, target))


# --- evaluating requirements -----------------------------------------------------------


def _unmet(req: Requirement, f: _Facts) -> Requirement | None:
    """``None`` when ``req`` holds; otherwise the requirement, enriched with what was found."""
    actor, env = f.actor, f.env
    match req:
        case EntraRoleRequirement(template_id=template_id):
            has = actor.has_entra_role(template_id)
            if has is None:
                return KnownFactRequirement(Fact.ACTOR_ENTRA_ROLES)
            return None if has else req
        case DataverseRoleRequirement(name=name, template_id=template_id, direct_only=direct):
            return None if actor.holds_role(name, template_id, direct_only=direct) else req
        case PrivilegeRequirement(privilege=privilege, min_depth=needed):
            held = actor.privilege(privilege)
            return None if held is not None and held.covers(needed) else replace(req, held=held)
        case VersionRequirement(minimum=minimum):
            if version_at_least(env.version, minimum):
                return None
            return replace(req, actual=env.version)
        case DeploymentRequirement(deployment=deployment):
            if env.deployment is None:
                return KnownFactRequirement(Fact.DEPLOYMENT)
            return None if env.deployment is deployment else req
        case PersonRequirement():
            return req if actor.is_application else None
        case SelfApprovalRequirement(condition=condition):
            return _self_approval_unmet(condition, f)
        case OwnRecordRequirement():
            owns = _owns(f)
            if owns is None:
                return replace(req, unknown=True)
            return None if owns else req
        case UserPrincipalRequirement():
            target = f.target
            is_user = (
                isinstance(target, RoleAssignmentTarget)
                and target.principal_kind is PrincipalKind.USER
            )
            return None if is_user else req
    # Missing facts, unknown server types and any requirement this function does not know.
    return req


def _self_approval_unmet(condition: SelfApprovalCondition, f: _Facts) -> Requirement | None:
    req = SelfApprovalRequirement(condition)
    actor, env, target = f.actor, f.env, f.target
    if not isinstance(target, MailboxTarget):
        return replace(req, unknown=Fact.TARGET)
    if condition is SelfApprovalCondition.UPN_MATCHES_MAILBOX:
        if actor.upn is None:
            return replace(req, unknown=Fact.ACTOR_UPN)
        if target.email is None:
            return replace(req, unknown=Fact.MAILBOX_EMAIL)
        return None if _same_address(actor.upn, target.email) else req
    if condition is SelfApprovalCondition.SETTING_DISABLED_OR_PRIVILEGE:
        if actor.privilege(PRV_APPROVE_REJECT_EMAIL) is not None:
            return None
        if env.require_privilege_to_self_approve is None:
            return replace(req, unknown=Fact.SELF_APPROVE_SETTING)
        return req if env.require_privilege_to_self_approve else None
    if condition is SelfApprovalCondition.USER_LEVEL_WRITE:
        # "At least user-level Write on the Mailbox table": any depth will do.
        return None if actor.privilege(PRV_WRITE_MAILBOX) is not None else req
    return None if target.kind is MailboxKind.PERSON else req


def _same_address(upn: str, email: str) -> bool:
    return upn.strip().casefold() == email.strip().casefold()


def _owns(f: _Facts) -> bool | None:
    target = f.target
    if isinstance(target, MailboxTarget):
        if target.is_actors_own is not None:
            return target.is_actors_own
        if target.owner_systemuser_id is None or f.actor.systemuser_id is None:
            return None
        return target.owner_systemuser_id.lower() == f.actor.systemuser_id.lower()
    if isinstance(target, ServerProfileTarget):
        return target.owned_by_actor
    return None


def _evaluate(
    paths: Sequence[_Path],
    f: _Facts,
    *,
    prefer: Rule | None = None,
    unexplaining: Rule | None = None,
) -> _Outcome:
    checks = tuple(
        PathCheck(
            p.rule,
            p.label,
            p.requirements,
            tuple(m for r in p.requirements if (m := _unmet(r, f)) is not None),
        )
        for p in paths
    )
    chosen = next((c for c in checks if c.satisfied), None)
    # Nearest = fewest unmet requirements; ties go to ``prefer``, then to path order. The
    # ``unexplaining`` path is never used to explain a denial.
    nearest = min(
        (c for c in checks if c.rule != unexplaining),
        key=lambda c: (len(c.missing), c.rule != prefer),
        default=None,
    )
    return _Outcome(checks, chosen, nearest)


def _alternatives(checks: Sequence[PathCheck]) -> tuple[Alternative, ...]:
    # A path that the environment or the target blocks is no way for anyone else either.
    return tuple(
        Alternative(
            c.rule,
            c.label,
            tuple(r for r in c.requirements if r.scope is Scope.PERSON),
        )
        for c in checks
        if all(m.scope is Scope.PERSON for m in c.missing)
    )


def _decision(
    action: Action,
    outcome: _Outcome,
    *,
    denial_rule: Rule | None = None,
    row: Row | None = None,
    flags: frozenset[Flag] = frozenset(),
    error_code: str | None = None,
) -> Decision:
    missing: tuple[Requirement, ...] = ()
    if outcome.chosen is not None:
        rule = outcome.chosen.rule
    else:
        # Explain through the denial rule's own path when it is one (a Yes cell stopped by
        # the version gate, say), otherwise through the nearest path.
        report = next((c for c in outcome.checks if c.rule == denial_rule), outcome.nearest)
        missing = report.missing if report is not None else ()
        rule = denial_rule or (report.rule if report is not None else rules.MISSING_FACTS)
    return Decision(
        action,
        outcome.chosen is not None,
        rule,
        missing,
        outcome.checks,
        _alternatives(outcome.checks),
        flags,
        error_code,
        row,
        _CELLS_BY_ID.get(rule.id),
    )


def _missing(action: Action, *facts: Fact) -> Decision:
    return Decision(
        action, False, rules.MISSING_FACTS, tuple(KnownFactRequirement(f) for f in facts)
    )


def _wrong_target(action: Action) -> Decision:
    return Decision(action, False, rules.WRONG_TARGET, (KnownFactRequirement(Fact.TARGET),))


# --- the table -------------------------------------------------------------------------


@cache
def _table_paths(row: Row, extra: tuple[Requirement, ...]) -> tuple[_Path, ...]:
    """One path per Yes cell of ``row``: the column's roles, the footnote's gate, ``extra``.

    The table is constant, so each (row, extra) is worked out once: building the paths and
    their rules' texts was a quarter of an approval decision.
    """
    paths = []
    for c in TABLE[row]:
        if c.verdict is not Verdict.YES:
            continue
        roles = c.column.roles
        # Entra roles are a person's: an application identity cannot pass these columns.
        needs_person = any(isinstance(r, EntraRoleRequirement) for r in roles)
        person: tuple[Requirement, ...] = (PersonRequirement(),) if needs_person else ()
        paths.append(_Path(c.rule, c.column.description, person + roles + c.gate + extra))
    return tuple(paths)


def _matched_cell_rule(row: Row, f: _Facts) -> Rule:
    """The cell whose roles the actor holds: a Yes cell first (then something else, such as
    the privilege or the version, is what stops them), else the first No / n/a cell."""
    matched = [c for c in TABLE[row] if all(_unmet(r, f) is None for r in c.column.roles)]
    yes = [c for c in matched if c.verdict is Verdict.YES]
    if yes or matched:
        return (yes or matched)[0].rule
    return Rule(
        f"{row.id}/none",
        f"{row.description}: none of the table's roles",
        f"{row.description}: you hold none of the role combinations of the permission-model "
        "table.",
    )


def _footnote_flags(decision: Decision) -> frozenset[Flag]:
    cell = decision.cell
    if decision.allowed and cell is not None and Footnote.INCLUDE_EXCHANGE_ADMIN in cell.footnotes:
        return frozenset({Flag.INCLUDE_EXCHANGE_ADMIN})
    return frozenset()


# --- handlers --------------------------------------------------------------------------


def _approve_or_reject(action: Action, f: _Facts) -> Decision:
    target = f.target
    if target is None:
        return _missing(action, Fact.TARGET)
    if not isinstance(target, MailboxTarget):
        return _wrong_target(action)
    if f.env.deployment is None:
        return _missing(action, Fact.DEPLOYMENT)
    reading = read_server_type(f.env.deployment, target.servertype)
    if reading is None:
        servertype = target.servertype if target.servertype is not None else -1
        requirement = KnownServerTypeRequirement(servertype)
        return Decision(action, False, rules.MISSING_FACTS, (requirement,))
    row = row_for(f.env.deployment, reading.exchange)
    # The seed: approving needs the privilege *and* the table's roles, for users and queues.
    paths = list(_table_paths(row, (PrivilegeRequirement(PRV_APPROVE_REJECT_EMAIL),)))
    prefer: Rule | None = None
    unexplaining: Rule | None = None
    if action is Action.APPROVE_EMAIL:
        # Only approval has an own-mailbox rule; rejecting your own address needs the table.
        paths.append(_self_approval_path())
        # "Your UPN does not match" explains nothing to someone approving another's mailbox.
        if _unmet(SelfApprovalRequirement(SelfApprovalCondition.UPN_MATCHES_MAILBOX), f) is None:
            prefer = rules.SELF_APPROVAL
        else:
            unexplaining = rules.SELF_APPROVAL
    outcome = _evaluate(paths, f, prefer=prefer, unexplaining=unexplaining)
    denial_rule: Rule | None = None  # only an answer of No needs one
    if outcome.chosen is None:
        denial_rule = _matched_cell_rule(row, f)
        if prefer is not None and outcome.nearest is not None and outcome.nearest.rule == prefer:
            # Someone approving their own mailbox is best told what their own-mailbox rule
            # lacks.
            denial_rule = prefer
    decision = _decision(action, outcome, denial_rule=denial_rule, row=row)
    flags = set(_footnote_flags(decision))
    if decision.allowed and decision.rule == rules.SELF_APPROVAL:
        flags.add(Flag.SELF_APPROVAL)
    if not reading.is_exchange:
        flags.add(Flag.NOT_EXCHANGE)
    # Reported whatever the verdict, so that nobody routes a request that would do nothing.
    if action is Action.APPROVE_EMAIL and target.approval is ApprovalState.APPROVED:
        flags.add(Flag.ALREADY_APPROVED)
    if action is Action.REJECT_EMAIL and target.approval is ApprovalState.REJECTED:
        flags.add(Flag.ALREADY_REJECTED)
    return replace(decision, flags=frozenset(flags))


@cache
def _self_approval_path() -> _Path:
    conditions = tuple(SelfApprovalRequirement(c) for c in SelfApprovalCondition)
    return _Path(rules.SELF_APPROVAL, "The mailbox's own user (own-mailbox approval)", conditions)


def _mailbox_paths(f: _Facts, *, write: bool) -> list[_Path]:
    """User depth reaches the actor's own mailboxes only; business unit and wider reach all
    (the sim models one business unit, and so does this)."""
    names = (PRV_READ_MAILBOX, PRV_WRITE_MAILBOX) if write else (PRV_READ_MAILBOX,)
    own_rule = rules.MAILBOX_WRITE_OWN if write else rules.MAILBOX_READ_OWN
    all_rule = rules.MAILBOX_WRITE_ALL if write else rules.MAILBOX_READ_ALL
    own = _Path(
        own_rule,
        "The mailbox's owner",
        (OwnRecordRequirement("mailbox"), *(PrivilegeRequirement(n, Depth.USER) for n in names)),
    )
    every = _Path(
        all_rule,
        "Someone with Mailbox "
        + ("Read and Write" if write else "Read")
        + " at business-unit depth or wider (such as a System Administrator)",
        tuple(PrivilegeRequirement(n, Depth.BUSINESS_UNIT) for n in names),
    )
    return [own, every] if _owns(f) else [every, own]


def _mailbox_settings(action: Action, f: _Facts) -> Decision:
    target = f.target
    if target is None:
        return _missing(action, Fact.TARGET)
    if not isinstance(target, MailboxTarget):
        return _wrong_target(action)
    paths = _mailbox_paths(f, write=True)
    decision = _decision(action, _evaluate(paths, f), denial_rule=paths[0].rule)
    if (
        action is Action.TEST_AND_ENABLE
        and decision.allowed
        and target.approval is not ApprovalState.APPROVED
        and all(_unmet(r, f) is None for r in _self_approval_path().requirements)
    ):
        return replace(decision, flags=frozenset({Flag.TEST_ENABLE_APPROVES_ADDRESS}))
    return decision


def _view(action: Action, f: _Facts) -> Decision:
    target = f.target
    if isinstance(target, MailboxTarget):
        paths = _mailbox_paths(f, write=False)
        return _decision(action, _evaluate(paths, f), denial_rule=paths[0].rule)
    if target is not None:
        return _wrong_target(action)
    # A listing: any read depth lets the actor in, user depth shows their own rows only.
    paths = [
        _Path(
            rules.MAILBOX_READ_ALL,
            "Someone with Mailbox Read at business-unit depth or wider",
            (PrivilegeRequirement(PRV_READ_MAILBOX, Depth.BUSINESS_UNIT),),
        ),
        _Path(
            rules.MAILBOX_READ_OWN,
            "Anyone with Mailbox Read (own mailboxes only)",
            (PrivilegeRequirement(PRV_READ_MAILBOX, Depth.USER),),
        ),
    ]
    decision = _decision(action, _evaluate(paths, f))
    if decision.allowed and decision.rule == rules.MAILBOX_READ_OWN:
        return replace(decision, flags=frozenset({Flag.OWN_MAILBOXES_ONLY}))
    return decision


def _create_profile(action: Action, f: _Facts) -> Decision:
    path = _Path(
        rules.PROFILE_CREATE,
        "Someone with prvCreateEmailServerProfile (such as a System Administrator)",
        (PrivilegeRequirement(PRV_CREATE_EMAIL_SERVER_PROFILE),),
    )
    return _decision(action, _evaluate([path], f))


def _change_profile(action: Action, f: _Facts) -> Decision:
    if f.target is not None and not isinstance(f.target, ServerProfileTarget):
        return _wrong_target(action)
    own = _Path(
        rules.PROFILE_WRITE_OWN,
        "The profile's owner",
        (
            OwnRecordRequirement("emailserverprofile"),
            PrivilegeRequirement(PRV_WRITE_EMAIL_SERVER_PROFILE, Depth.USER),
        ),
    )
    every = _Path(
        rules.PROFILE_WRITE_ALL,
        "Someone with prvWriteEmailServerProfile at business-unit depth or wider",
        (PrivilegeRequirement(PRV_WRITE_EMAIL_SERVER_PROFILE, Depth.BUSINESS_UNIT),),
    )
    paths = [own, every] if _owns(f) else [every, own]
    return _decision(action, _evaluate(paths, f), denial_rule=paths[0].rule)


def _organization_settings(action: Action, f: _Facts) -> Decision:
    # The organization table is organization-owned: any depth of the privilege is access.
    path = _Path(
        rules.ORGANIZATION_WRITE,
        "Someone with prvWriteOrganization (such as a System Administrator)",
        (PrivilegeRequirement(PRV_WRITE_ORGANIZATION),),
    )
    return _decision(action, _evaluate([path], f))


def _remove_approval_requirement(action: Action, f: _Facts) -> Decision:
    if f.env.deployment is None:
        return _missing(action, Fact.DEPLOYMENT)
    # The seed: "only the admins named in the table" may turn approval off. The setting is
    # organization-wide, so no mailbox picks the row: take the deployment's Exchange Online
    # row. Online that is the strictest row (the automatic profile is Exchange Online);
    # on-premises both rows say the same.
    row = row_for(f.env.deployment, ExchangeLocation.ONLINE)
    paths = _table_paths(row, (PrivilegeRequirement(PRV_WRITE_ORGANIZATION),))
    outcome = _evaluate(paths, f)
    denial_rule = _matched_cell_rule(row, f) if outcome.chosen is None else None
    decision = _decision(action, outcome, denial_rule=denial_rule, row=row)
    return replace(decision, flags=_footnote_flags(decision))


def _delegated_approver(action: Action, f: _Facts) -> Decision:
    target = f.target
    if target is None:
        return _missing(action, Fact.TARGET)
    if not isinstance(target, RoleAssignmentTarget):
        return _wrong_target(action)
    # The seed speaks of assigning; removing is held to the same rules (and a team cannot
    # hold the role, so there is nothing to remove from one).
    available: tuple[Requirement, ...] = (
        DeploymentRequirement(Deployment.ONLINE),
        VersionRequirement(DELEGATED_APPROVER_MIN_VERSION),
    )
    to_user: tuple[Requirement, ...] = (UserPrincipalRequirement(),)
    privilege: tuple[Requirement, ...] = (PrivilegeRequirement(PRV_ASSIGN_ROLE),)
    paths = [
        _Path(
            rule,
            label,
            (*available, *to_user, PersonRequirement(), EntraRoleRequirement(role), *privilege),
        )
        for rule, label, role in (
            (rules.ASSIGN_BY_GLOBAL_ADMIN, "Global admin with prvAssignRole", GLOBAL_ADMIN),
            (rules.ASSIGN_BY_EXCHANGE_ADMIN, "Exchange admin with prvAssignRole", EXCHANGE_ADMIN),
        )
    ]
    outcome = _evaluate(paths, f)
    if outcome.chosen is not None:
        return _decision(action, outcome)
    held = [f.actor.has_entra_role(role) for role in (GLOBAL_ADMIN, EXCHANGE_ADMIN)]
    rule: Rule | None = None
    error: str | None = None
    if any(_unmet(r, f) is not None for r in available):
        rule = rules.ASSIGN_UNAVAILABLE
    elif any(_unmet(r, f) is not None for r in to_user):
        rule, error = rules.ASSIGN_TO_TEAM, ERROR_ROLE_TO_TEAM
    elif f.actor.is_application or held == [False, False]:
        rule, error = rules.ASSIGN_NOT_ADMIN, ERROR_NOT_GLOBAL_OR_EXCHANGE_ADMIN
    elif True not in held:
        rule = rules.MISSING_FACTS
    # Otherwise an admin lacks something else (prvAssignRole): the nearest path says what.
    return _decision(action, outcome, denial_rule=rule, error_code=error)


_HANDLERS: Final[dict[Action, _Handler]] = {
    Action.APPROVE_EMAIL: _approve_or_reject,
    Action.REJECT_EMAIL: _approve_or_reject,
    Action.TEST_AND_ENABLE: _mailbox_settings,
    Action.APPLY_DEFAULT_EMAIL_SETTINGS: _mailbox_settings,
    Action.CHANGE_MAILBOX_DELIVERY: _mailbox_settings,
    Action.SET_SYNC_FROM_THIS_ORG_ONLY: _mailbox_settings,
    Action.CREATE_SERVER_PROFILE: _create_profile,
    Action.CHANGE_SERVER_PROFILE: _change_profile,
    Action.SET_DEFAULT_SERVER_PROFILE: _organization_settings,
    Action.CHANGE_ORG_EMAIL_SETTINGS: _organization_settings,
    Action.REMOVE_APPROVAL_REQUIREMENT: _remove_approval_requirement,
    Action.ASSIGN_DELEGATED_APPROVER: _delegated_approver,
    Action.REMOVE_DELEGATED_APPROVER: _delegated_approver,
    Action.VIEW: _view,
}
