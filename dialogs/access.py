"""Asking the permission model, at the moment of action, from live facts.

`check` builds the target facts from rows already read, asks `permissions.decide`, and
raises `DeniedError` on a no. `denial` turns a decision into what the card shows.
"""

from __future__ import annotations

import uuid

from cards.access import Denial, Need, NeedKind, RuleRef
from cards.labels import Operation
from dataverse.models import Mailbox, ServerProfile
from dialogs.context import Ctx
from dialogs.errors import DeniedError
from permissions import (
    Action,
    ApprovalState,
    Decision,
    MailboxKind,
    MailboxTarget,
    Target,
    decide,
)
from permissions.requirements import (
    DataverseRoleRequirement,
    DeploymentRequirement,
    EntraRoleRequirement,
    KnownFactRequirement,
    KnownServerTypeRequirement,
    OwnRecordRequirement,
    PersonRequirement,
    PrivilegeRequirement,
    Requirement,
    SelfApprovalRequirement,
    UserPrincipalRequirement,
    VersionRequirement,
)

# Actions a person may ask someone else to do for them (routed approvals, issue 5).
REQUESTABLE = frozenset({Action.APPROVE_EMAIL, Action.REJECT_EMAIL})


async def mailbox_target(ctx: Ctx, row: Mailbox) -> MailboxTarget:
    """The permission model's view of a mailbox.

    A mailbox without a server profile is judged by the organization's default profile,
    the one it would be given (the sim and the bot agree on this reading).
    """
    profiles = await ctx.env.profiles()
    profile: ServerProfile | None = (
        profiles.get(row.server_profile_id) if row.server_profile_id else None
    )
    if profile is None and row.server_profile_id is None:
        default_id = (await ctx.env.org_settings()).default_profile_id
        profile = profiles.get(default_id) if default_id else None
    return MailboxTarget(
        kind=MailboxKind.QUEUE if row.is_queue_mailbox else MailboxKind.PERSON,
        email=row.email_address,
        owner_systemuser_id=str(row.owner_id).lower() if row.owner_id else None,
        servertype=int(profile.server_type)
        if profile and profile.server_type is not None
        else None,
        approval=ApprovalState(int(row.approval)) if row.approval is not None else None,
    )


async def check(
    ctx: Ctx,
    action: Action,
    target: Target | None = None,
    *,
    target_label: str | None = None,
    target_id: uuid.UUID | str | None = None,
) -> Decision:
    """Decide now, from the caller's live facts; raise DeniedError when it is a no."""
    actor, environment = await ctx.facts()
    decision = decide(action, actor, environment, target)
    if not decision.allowed:
        raise DeniedError(
            action,
            decision,
            target=target_label,
            target_id=str(target_id) if target_id else None,
            requestable=action in REQUESTABLE,
        )
    return decision


async def allowed(ctx: Ctx, action: Action, target: Target | None = None) -> bool:
    """Whether the caller may do `action` (to offer only the buttons that will work)."""
    actor, environment = await ctx.facts()
    return decide(action, actor, environment, target).allowed


def _need(requirement: Requirement) -> Need:
    english = requirement.describe()
    match requirement:
        case EntraRoleRequirement(template_id=template):
            return Need(NeedKind.ENTRA_ROLE, template, english)
        case DataverseRoleRequirement(name=name, direct_only=direct):
            return Need(NeedKind.DATAVERSE_ROLE, name, english, direct_only=direct)
        case PrivilegeRequirement(privilege=name, min_depth=depth, held=held):
            return Need(
                NeedKind.PRIVILEGE,
                name,
                english,
                depth=depth.value,
                actual=held.value if held else None,
            )
        case VersionRequirement(minimum=minimum, actual=actual):
            return Need(NeedKind.VERSION, minimum, english, actual=actual)
        case DeploymentRequirement(deployment=deployment):
            return Need(NeedKind.DEPLOYMENT, deployment.value, english)
        case PersonRequirement():
            return Need(NeedKind.PERSON, "", english)
        case SelfApprovalRequirement(condition=condition):
            return Need(NeedKind.SELF_APPROVAL, str(int(condition)), english)
        case OwnRecordRequirement(table=table):
            return Need(NeedKind.OWN_RECORD, table, english)
        case UserPrincipalRequirement():
            return Need(NeedKind.USER_PRINCIPAL, "", english)
        case KnownFactRequirement(fact=fact):
            return Need(NeedKind.KNOWN_FACT, fact.value, english)
        case KnownServerTypeRequirement(servertype=servertype):
            return Need(NeedKind.SERVER_TYPE, str(servertype), english)
    return Need(NeedKind.KNOWN_FACT, "", english)


def denial(error: DeniedError) -> Denial:
    """What the permission-denied card shows for a refusal."""
    decision = error.decision
    cell = decision.cell
    return Denial(
        operation=Operation(error.action.value),
        rule=RuleRef(decision.rule.id, decision.rule.title, cell.shown if cell else None),
        missing=[_need(r) for r in decision.missing],
        alternatives=[RuleRef(a.rule.id, a.label) for a in decision.alternatives],
        target=error.target,
        target_id=error.target_id,
        error_code=decision.error_code,
        requestable=error.requestable,
    )
