"""Delegated Mailbox Approver: give the security role to people, or take it away.

Sources: the seed's "Mendelegasikan persetujuan kotak pesan" (only a Global or Exchange
admin assigns it, 0x80090904; never to a team, 0x80090905; per environment, from version
9.2.22104.00170) and reference/dataverse.md §4.1, §8.

Names resolve to people (display name, UPN, email, or a unique prefix confirmed by a
choice) and to teams: a team is no error of the name but a request the permission model
refuses with its own rule, so the person learns why (0x80090905). Queues are not looked at:
a role belongs to a person. Every principal is checked before anything is written. Each
principal's change is audited (`dialogs.audit`): a refusal, whether they held the role
before → after, or the failure.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, TypeVar

from rapidfuzz import fuzz, process

from cards.common import Card
from cards.labels import Operation
from cards.results import ItemResult as CardItem
from cards.results import Outcome as CardOutcome
from cards.results import Reason, operation_result
from dataverse import ops
from dataverse.concurrent import both, every
from dataverse.errors import DataverseError, DataverseStatusError, InvalidInput
from dataverse.models import SystemUser, Team
from dataverse.odata import Predicate, Query, asc, col, parse_guid
from dataverse.ops.search import rank
from dialogs import audit
from dialogs.commands import AddDelegatedApprover, CommandKind, RemoveDelegatedApprover
from dialogs.context import Ctx
from dialogs.errors import AmbiguousError, DeniedError, Match, NothingMatchedError
from dialogs.outcomes import reason_for
from dialogs.router import Router
from permissions import Action, PrincipalKind, RoleAssignmentTarget, decide
from store import Target

_LIMIT: Final = 10

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class Principal:
    """Whom the role would go to: a person (with their Entra object id) or a team."""

    kind: PrincipalKind
    id: uuid.UUID
    label: str
    object_id: str | None = None

    def target(self) -> Target:
        return audit.principal_target(self.kind, self.id, self.label)


def _person(row: SystemUser) -> Principal:
    label = row.full_name or row.domain_name or str(row.id)
    object_id = str(row.object_id).lower() if row.object_id else None
    return Principal(PrincipalKind.USER, row.id, label, object_id)


def _team(row: Team) -> Principal:
    return Principal(PrincipalKind.TEAM, row.id, row.name or str(row.id))


def _people_filter(text: str) -> Query:
    return Query(
        filter=(
            col("fullname").startswith(text)
            | col("domainname").startswith(text)
            | col("internalemailaddress").startswith(text)
        )
        & _a_person(),
        orderby=(asc("fullname"),),
    )


def _a_person() -> Predicate:
    """An enabled user who is a person, not an application identity."""
    return col("isdisabled").eq(False) & col("applicationid").is_null()


async def _by_id(ctx: Ctx, key: uuid.UUID, text: str, command_text: str) -> Principal:
    dv = ctx.env.dataverse
    people, teams = await both(
        dv.list_rows(SystemUser, Query(filter=col("systemuserid").eq(key) & _a_person()), limit=1),
        dv.list_rows(Team, Query(filter=col("teamid").eq(key)), limit=1),
    )
    if people:
        return _person(people[0])
    if teams:
        return _team(teams[0])
    raise NothingMatchedError(text, command_text=command_text)


async def principal(ctx: Ctx, text: str, *, command_text: str) -> Principal:
    """The one person (or team) `text` names; raises NothingMatchedError or AmbiguousError.

    Acting needs an exact name, UPN or address (or its part before the "@"); a prefix alone
    is confirmed by a choice, even when it is the only match.
    """
    try:
        key = parse_guid(text)
    except InvalidInput:
        key = None
    if key is not None:
        return await _by_id(ctx, key, text, command_text)
    name = text.strip()
    dv = ctx.env.dataverse
    people, teams = await both(
        dv.list_rows(SystemUser, _people_filter(name), limit=_LIMIT),
        dv.list_rows(
            Team, Query(filter=col("name").startswith(name), orderby=(asc("name"),)), limit=_LIMIT
        ),
    )
    found: list[tuple[int, Principal, str | None]] = [
        (rank(name, [p.full_name], [p.domain_name, p.email]), _person(p), p.domain_name)
        for p in people
    ]
    found += [(rank(name, [t.name], []), _team(t), None) for t in teams]
    if not found:
        raise NothingMatchedError(text, await _suggestions(ctx, name), command_text=command_text)
    found.sort(key=lambda f: (f[0], f[1].label.casefold()))
    best = [f for f in found if f[0] == found[0][0]]
    if found[0][0] == 2 or len(best) > 1:
        matches = [Match(p.kind.value, str(p.id), p.label, detail) for _, p, detail in found]
        raise AmbiguousError(text, matches, command_text)
    return found[0][1]


async def _suggestions(ctx: Ctx, text: str) -> list[str]:
    """People's names close to `text`, for "did you mean"."""
    people = await ctx.env.dataverse.list_rows(
        SystemUser,
        Query(
            select=("fullname", "domainname"),
            filter=_a_person(),
        ),
        limit=500,
    )
    names = [p.domain_name.split("@", 1)[0] for p in people if p.domain_name]
    names += [p.full_name for p in people if p.full_name]
    picked = process.extract(text, names, scorer=fuzz.WRatio, limit=3, score_cutoff=70)
    return [name for name, _, _ in picked]


async def _principals(ctx: Ctx, names: Sequence[str], command_text: str) -> list[Principal]:
    """Every name resolved at the same time; all are awaited, the first problem raised."""
    return await every(principal(ctx, n, command_text=command_text) for n in names)


async def change_role(ctx: Ctx, names: Sequence[str], action: Action) -> Card:
    """Check every principal, then assign (or remove) the role for each; per-item results."""
    command_text = ctx.turn.text
    (actor, environment), found = await both(ctx.facts(), _principals(ctx, names, command_text))
    unique = list({p.id: p for p in found}.values())
    for item in unique:
        async with audit.denials(ctx, target=item.target()):
            target = RoleAssignmentTarget(item.kind, str(item.id))
            decision = decide(action, actor, environment, target)
            if not decision.allowed:
                raise DeniedError(action, decision, target=item.label, target_id=str(item.id))
    adding = action is Action.ASSIGN_DELEGATED_APPROVER
    operate = ops.assign_delegated_approver if adding else ops.remove_delegated_approver

    async def run(item: Principal) -> ops.RoleChange:
        kind: Literal["user", "team"] = "team" if item.kind is PrincipalKind.TEAM else "user"
        async with audit.changing(ctx, action, item.target()) as audited:
            change = await operate(
                ctx.env.dataverse, item.id, principal=kind, acting_for=ctx.acting_for
            )
            audited.role_written(change, holds=adding)
        if change.changed and item.object_id:
            ctx.env.facts.invalidate(item.object_id)  # their approvals change with the role
        return change

    if len(unique) == 1:
        # One person: a failure is the whole answer, told by the router's error card.
        outcomes: list[ops.RoleChange | BaseException] = [await run(unique[0])]
    else:
        outcomes = list(await asyncio.gather(*map(run, unique), return_exceptions=True))
    return operation_result(
        ctx.strings,
        Operation(action.value),
        [_card_item(p, o) for p, o in zip(unique, outcomes, strict=True)],
        environment=ctx.env.name,
    )


def _card_item(item: Principal, outcome: ops.RoleChange | BaseException) -> CardItem:
    if isinstance(outcome, ops.RoleChange):
        if outcome.changed:
            return CardItem(item.label, CardOutcome.OK)
        return CardItem(item.label, CardOutcome.SKIPPED, Reason.ALREADY_SET)
    if not isinstance(outcome, DataverseError):
        raise outcome
    code = outcome.code if isinstance(outcome, DataverseStatusError) and outcome.code else None
    return CardItem(item.label, CardOutcome.FAILED, reason_for(outcome), code)


def register(router: Router) -> None:
    """The Delegated Mailbox Approver commands."""

    @router.command(CommandKind.ADD_DELEGATED_APPROVER)
    async def add(ctx: Ctx, command: AddDelegatedApprover) -> Card:
        """Give people the Delegated Mailbox Approver security role, so that with System
        Administrator they can approve mailboxes. Only a Global or Exchange admin may assign
        it, and never to a team."""
        return await change_role(ctx, command.people, Action.ASSIGN_DELEGATED_APPROVER)

    @router.command(CommandKind.REMOVE_DELEGATED_APPROVER)
    async def remove(ctx: Ctx, command: RemoveDelegatedApprover) -> Card:
        """Take the Delegated Mailbox Approver security role away from people. Only a
        Global or Exchange admin may remove it."""
        return await change_role(ctx, command.people, Action.REMOVE_DELEGATED_APPROVER)
