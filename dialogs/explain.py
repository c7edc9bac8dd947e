"""`why can't I …`: the permission model's answer about a command, without running it.

The asked-about command's names are resolved as the command would resolve them, its
permission decided from the caller's live facts, and the answer is either the same
permission-denied card a real attempt gets (the rule, what is missing, who could) or, when
it is allowed, the rule that allows it. Nothing is written.

:data:`REQUIRES` says which permission each command needs; the help card filters with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from cards.access import RuleRef, rule_text
from cards.common import Card
from cards.help import HelpEntry, help_card
from cards.labels import Operation, operation_label
from dataverse.models import ServerProfile
from dialogs import access, approvers, resolve
from dialogs.commands import (
    AddDelegatedApprover,
    ApplyDefaultSettings,
    Approve,
    CommandKind,
    CreateProfile,
    Explainable,
    PointProfileToChina,
    Reject,
    RemoveDelegatedApprover,
    SetApprovalRequirement,
    SetDefaultEmailSettings,
    SetDefaultProfile,
    SetDeliveryMethods,
    SyncFromThisOrgOnly,
    TestAndEnable,
    TestProfile,
    Undo,
    UseProfile,
    Why,
)
from dialogs.context import Ctx
from dialogs.errors import DeniedError
from dialogs.router import Router
from permissions import (
    Action,
    Actor,
    ApprovalState,
    Decision,
    MailboxKind,
    MailboxTarget,
    RoleAssignmentTarget,
    ServerProfileTarget,
    Target,
    decide,
)

REQUIRES: Final[Mapping[CommandKind, Action | None]] = MappingProxyType(
    {
        CommandKind.APPROVE: Action.APPROVE_EMAIL,
        CommandKind.REJECT: Action.REJECT_EMAIL,
        CommandKind.TEST_AND_ENABLE: Action.TEST_AND_ENABLE,
        CommandKind.STATUS: Action.VIEW,
        CommandKind.ALERTS: Action.VIEW,
        CommandKind.PENDING_APPROVALS: Action.VIEW,
        CommandKind.MY_REQUESTS: None,
        CommandKind.FAILING_MAILBOXES: Action.VIEW,
        CommandKind.APPLY_DEFAULT_SETTINGS: Action.APPLY_DEFAULT_EMAIL_SETTINGS,
        CommandKind.SET_DELIVERY_METHODS: Action.CHANGE_MAILBOX_DELIVERY,
        CommandKind.USE_PROFILE: Action.CHANGE_MAILBOX_DELIVERY,
        CommandKind.SYNC_FROM_THIS_ORG_ONLY: Action.SET_SYNC_FROM_THIS_ORG_ONLY,
        CommandKind.TEST_PROFILE: Action.TEST_AND_ENABLE,
        CommandKind.CREATE_PROFILE: Action.CREATE_SERVER_PROFILE,
        CommandKind.SET_DEFAULT_PROFILE: Action.SET_DEFAULT_SERVER_PROFILE,
        # The model has no action for reading the organization row; a read-only view.
        CommandKind.SHOW_EMAIL_SETTINGS: Action.VIEW,
        CommandKind.SET_DEFAULT_EMAIL_SETTINGS: Action.CHANGE_ORG_EMAIL_SETTINGS,
        # Off: the seed's table. On: the table and prvWriteOrganization (org_settings.py).
        CommandKind.SET_APPROVAL_REQUIREMENT: Action.REMOVE_APPROVAL_REQUIREMENT,
        CommandKind.ADD_DELEGATED_APPROVER: Action.ASSIGN_DELEGATED_APPROVER,
        CommandKind.REMOVE_DELEGATED_APPROVER: Action.REMOVE_DELEGATED_APPROVER,
        CommandKind.POINT_PROFILE_TO_CHINA: Action.CHANGE_SERVER_PROFILE,
        CommandKind.WHY: None,
        CommandKind.HELP: None,
        # Issue 5 (audit, undo, on-call, routed requests): provisional until their handlers.
        CommandKind.AUDIT: Action.VIEW,
        CommandKind.UNDO: Action.CHANGE_MAILBOX_DELIVERY,
        CommandKind.WHO_IS_ON_CALL: None,
        CommandKind.SET_ON_CALL_CHANNEL: Action.CHANGE_ORG_EMAIL_SETTINGS,
        CommandKind.REQUEST_APPROVAL: None,
    }
)
"""The permission each command needs (None: anyone may run it)."""

MAILBOX_ACTIONS: Final = frozenset(
    {
        Action.APPROVE_EMAIL,
        Action.REJECT_EMAIL,
        Action.TEST_AND_ENABLE,
        Action.APPLY_DEFAULT_EMAIL_SETTINGS,
        Action.CHANGE_MAILBOX_DELIVERY,
        Action.SET_SYNC_FROM_THIS_ORG_ONLY,
    }
)
"""Actions judged against one mailbox."""


def someone_elses_mailbox(profile: ServerProfile | None) -> MailboxTarget:
    """A person's mailbox that is not the caller's, pending approval, on `profile`."""
    servertype = profile.server_type if profile is not None else None
    return MailboxTarget(
        kind=MailboxKind.PERSON,
        email=None,
        is_actors_own=False,
        servertype=int(servertype) if servertype is not None else None,
        approval=ApprovalState.PENDING,
    )


def own_mailbox(profile: ServerProfile | None, actor: Actor) -> MailboxTarget:
    """The caller's own mailbox (its address is the caller's UPN), pending approval, on
    `profile`: what someone allowed only their own mailbox is judged on."""
    servertype = profile.server_type if profile is not None else None
    return MailboxTarget(
        kind=MailboxKind.PERSON,
        email=actor.upn,
        is_actors_own=True,
        owner_systemuser_id=actor.systemuser_id,
        servertype=int(servertype) if servertype is not None else None,
        approval=ApprovalState.PENDING,
    )


@dataclass(frozen=True)
class Subject:
    """One permission question a command asks: may the caller do `action` to `target`?

    `reported` is the operation a refusal names when the command reports it under another
    one (turning approval on is refused as "Change email settings" whichever rule said no).
    """

    action: Action
    target: Target | None = None
    label: str | None = None
    target_id: str | None = None
    reported: Action | None = None

    @property
    def operation(self) -> Action:
        return self.reported or self.action


async def _on_mailboxes(ctx: Ctx, action: Action, names: Sequence[str]) -> list[Subject]:
    found = await resolve.mailboxes(ctx, names, command_text=ctx.turn.text)
    unique = list({f.mailbox.id: f for f in found}.values())
    return [
        Subject(action, await access.mailbox_target(ctx, f.mailbox), f.label, str(f.mailbox.id))
        for f in unique
    ]


async def _profile(ctx: Ctx, name: str) -> ServerProfile:
    return await resolve.profile(ctx, name, command_text=ctx.turn.text)


async def _roles(ctx: Ctx, action: Action, names: Sequence[str]) -> list[Subject]:
    found = [await approvers.principal(ctx, name, command_text=ctx.turn.text) for name in names]
    unique = list({p.id: p for p in found}.values())
    return [
        Subject(action, RoleAssignmentTarget(p.kind, str(p.id)), p.label, str(p.id))
        for p in unique
    ]


async def subjects(ctx: Ctx, asked: Explainable) -> list[Subject]:
    """The permission questions `asked` raises, with its names resolved as the command
    resolves them; in the order the command checks them."""
    match asked:
        case Approve() | Reject() | TestAndEnable() | ApplyDefaultSettings():
            return await _on_mailboxes(ctx, _required(asked.kind), asked.targets)
        case SetDeliveryMethods() | SyncFromThisOrgOnly():
            return await _on_mailboxes(ctx, _required(asked.kind), asked.targets)
        case UseProfile():
            await _profile(ctx, asked.profile)
            return await _on_mailboxes(ctx, Action.CHANGE_MAILBOX_DELIVERY, asked.targets)
        case Undo():
            return await _on_mailboxes(ctx, Action.CHANGE_MAILBOX_DELIVERY, [asked.target])
        case TestProfile():
            # Testing a profile tests each of its mailboxes: judged on one that is not yours.
            profile = await _profile(ctx, asked.profile)
            target = someone_elses_mailbox(profile)
            return [Subject(Action.TEST_AND_ENABLE, target, profile.name, str(profile.id))]
        case PointProfileToChina():
            profile = await _profile(ctx, asked.profile)
            changed = ServerProfileTarget(profile_id=str(profile.id))
            action = Action.CHANGE_SERVER_PROFILE
            return [Subject(action, changed, profile.name, str(profile.id))]
        case SetDefaultProfile():
            profile = await _profile(ctx, asked.profile)
            action = Action.SET_DEFAULT_SERVER_PROFILE
            return [Subject(action, None, profile.name, str(profile.id))]
        case SetDefaultEmailSettings():
            if asked.profile is not None:
                await _profile(ctx, asked.profile)
            return [Subject(Action.CHANGE_ORG_EMAIL_SETTINGS)]
        case SetApprovalRequirement():
            table = Subject(Action.REMOVE_APPROVAL_REQUIREMENT)
            if not asked.required:
                return [table]
            write = Action.CHANGE_ORG_EMAIL_SETTINGS
            return [Subject(write), Subject(table.action, reported=write)]
        case CreateProfile():
            return [Subject(Action.CREATE_SERVER_PROFILE, None, asked.name)]
        case AddDelegatedApprover() | RemoveDelegatedApprover():
            return await _roles(ctx, _required(asked.kind), asked.people)
    required = REQUIRES[asked.kind]
    return [Subject(required)] if required is not None else []


def _required(kind: CommandKind) -> Action:
    action = REQUIRES[kind]
    assert action is not None, kind
    return action


def _allowed_entry(ctx: Ctx, subject: Subject, decision: Decision) -> HelpEntry:
    strings = ctx.strings
    operation = operation_label(strings, Operation(subject.operation.value))
    what = f"{operation} · {subject.label}" if subject.label else operation
    cell = decision.cell
    rule = RuleRef(decision.rule.id, decision.rule.title, cell.shown if cell else None)
    # No example: a "Try it" button here would run the very action this only explains.
    return (what, "", rule_text(strings, rule))


def register(router: Router) -> None:
    """The explanation command."""

    @router.command(CommandKind.WHY)
    async def why(ctx: Ctx, command: Why) -> Card:
        """Explain which rule of the permission model stops you from running a command,
        and what you are missing; or which rule lets you. Nothing is run."""
        asked = command.command
        if not router.handles(asked.kind):
            return router.unavailable(ctx, asked.kind)
        found = await subjects(ctx, asked)
        actor, environment = await ctx.facts()
        entries: list[HelpEntry] = []
        for subject in found:
            decision = decide(subject.action, actor, environment, subject.target)
            if not decision.allowed:
                # The router answers this with the card a real attempt gets.
                raise DeniedError(
                    subject.operation,
                    decision,
                    target=subject.label,
                    target_id=subject.target_id,
                    requestable=subject.operation in access.REQUESTABLE,
                )
            entries.append(_allowed_entry(ctx, subject, decision))
        return help_card(ctx.strings, entries, environment=ctx.env.name)
