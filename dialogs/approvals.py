"""Routed approvals: a denied request goes to the people who may grant it, and is carried
out once, in the approver's name, when one of them clicks Approve.

1. **Request** (the denial card's "Request approval", or `request approval for alice`): the
   mailbox is read again (gone → the not-found card, nothing stored); if the requester may
   now do it themselves they are told so. Otherwise the people eligible *now* are found with
   the permission model and live roles: holders of the Delegated Mailbox Approver role
   first, then the users holding the Global or Exchange administrator role, directly or
   through a group the role is assigned to; each is decided against this mailbox from
   their own live facts, and the requester is never one of them.
   The request is stored (`store.approvals`, pending, with its expiry and reminder time) and
   each approver gets a card with Approve / Reject in their personal chat with the bot
   (when the store has one, saved whenever they talk to it); whoever cannot be reached that
   way is asked in the approvers channel (the store's "approvers" conversation). Every copy
   is recorded. The requester's card becomes "Request sent to N approvers".

   The approvers channel is named by configuration (`MAILOPS_APPROVERS_CONVERSATION_ID`,
   applied by the host when the bot hears from that conversation), not by a chat command:
   the grammar has none, and whoever could type one would decide where other people's
   approval requests are posted, which is an operator's decision, not a chat member's.
2. **Click** (Approve or Reject): the request is read from the store (the card carries only
   its id), the clicker's facts are read live and decided against the mailbox as it is now;
   a refusal is audited and answered with the rule. `store.approvals.decide` is the single
   compare-and-set: of two clicks, one wins and only the winner writes to Dataverse, with
   `CallerObjectId` of the approver. Every other copy of the card is then updated to show
   the outcome and who decided, and the requester is told.
3. **Time**: `sweep` (run every minute by the host) expires requests whose time is up and
   updates their cards, and reminds approvers once before expiry.

Nothing here lives in memory between turns: a restart between request and click changes
nothing, provided the card signing secret survives it (`MAILOPS_CARD_SECRET`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from cards import verbs
from cards.approvals import (
    RequestState,
    RequestView,
    approval_request,
    approvals_unavailable,
    may_do_it_yourself,
    my_requests,
    nobody_to_ask,
    open_requests_section,
    own_request,
    request_outcome,
    request_sent,
    requester_notice,
)
from cards.audit import AuditAction
from cards.common import Card, Mention, ensure_fits
from cards.i18n import Strings, translator
from cards.labels import Operation
from cards.results import Outcome, Reason
from dataverse import ops
from dataverse.concurrent import every
from dataverse.errors import DataverseError, NotFound
from dataverse.graph import GraphClient
from dataverse.models import DirectoryUser, EntraRoleTemplate, Mailbox, SystemUser
from dataverse.odata import Query, col, key_segment, parse_guid
from dataverse.ops import ItemResult
from dataverse.ops._bulk import DEFAULT_OPTIONS, load_mailboxes
from dialogs import access, audit, resolve
from dialogs.commands import CommandKind, MyRequests, RequestApproval
from dialogs.context import Ctx, Services
from dialogs.errors import DeniedError, StaleCardError, UnknownEnvironmentError
from dialogs.outcomes import card_item
from dialogs.router import Router
from dialogs.signing import CardSigner
from dialogs.turn import (
    CardAction,
    ConversationGoneError,
    ConversationReference,
    Turn,
    reference_of,
)
from permissions import Action, MailboxTarget, decide
from permissions.identifiers import DELEGATED_MAILBOX_APPROVER_NAME
from store import (
    APPROVERS,
    ApprovalRequest,
    ApprovalState,
    AuditResult,
    CardRole,
    ConversationKey,
    ConversationKind,
    ConversationRef,
    Store,
    Target,
)

log = logging.getLogger("mailops.approvals")

T = TypeVar("T")

MAX_APPROVERS: Final = 25
"""People asked at most (each is decided from live facts, a handful of reads apiece)."""
SEND_PARALLEL: Final = 4
"""Cards sent or updated at once (each to its own conversation)."""
DECISION_VERBS: Final = frozenset({verbs.APPROVAL_APPROVE, verbs.APPROVAL_REJECT})
_ADMIN_ROLES: Final = (
    EntraRoleTemplate.GLOBAL_ADMINISTRATOR,
    EntraRoleTemplate.EXCHANGE_ADMINISTRATOR,
)
# outcome_detail of a failed request (set when nothing could be done)
MAILBOX_GONE: Final = "mailbox-gone"
UNREACHABLE: Final = "unreachable"


@dataclass(frozen=True)
class Approver:
    """Someone who may grant a request now."""

    object_id: str
    name: str


# ---- the store's request as the cards show it ----------------------------------------------


def _outcome_detail(item: ItemResult, label: str) -> str:
    """What came of the Dataverse write after an approval, kept on the request."""
    shown = card_item(label, item)
    return "|".join(
        (shown.outcome.value, shown.reason.value if shown.reason else "", shown.code or "")
    )


def _parse_outcome(detail: str | None) -> tuple[Outcome | None, Reason | None, str | None]:
    parts = (detail or "").split("|")
    if len(parts) != 3 or parts[0] not in {o.value for o in Outcome}:
        return None, None, None
    reason = Reason(parts[1]) if parts[1] in {r.value for r in Reason} else None
    return Outcome(parts[0]), reason, parts[2] or None


def view_of(request: ApprovalRequest) -> RequestView:
    outcome, reason, code = _parse_outcome(request.outcome_detail)
    email = request.parameters.get("email")
    return RequestView(
        id=str(request.id),
        operation=Operation(request.action),
        target=request.target_display,
        email=email if isinstance(email, str) else None,
        requester=request.requester.name,
        reason=request.reason,
        environment=request.environment,
        state=RequestState(request.state.value),
        created_at=request.created_at,
        expires_at=request.expires_at,
        decided_by=request.decided_by.name if request.decided_by else None,
        decided_at=request.decided_at,
        outcome=outcome if request.state is ApprovalState.APPROVED else None,
        outcome_reason=reason,
        outcome_code=code,
    )


def _approvers_of(request: ApprovalRequest) -> list[Approver]:
    found = request.parameters.get("approvers")
    if not isinstance(found, list):
        return []
    return [
        Approver(str(a["object_id"]), str(a.get("name") or a["object_id"]))
        for a in found
        if isinstance(a, dict) and a.get("object_id")
    ]


# ---- conversations -------------------------------------------------------------------------


def conversation_key(turn: Turn) -> ConversationKey:
    return ConversationKey(turn.conversation.tenant_id, turn.conversation.id)


async def remember(store: Store, turn: Turn) -> ConversationRef | None:
    """Save the turn's conversation reference (personal chats under the person's object id),
    so that MailOps can write to this conversation later."""
    reference = reference_of(turn)
    if not reference or not turn.conversation.id:
        return None
    kind = ConversationKind(turn.conversation.kind.value)
    user = turn.caller.object_id or None
    return await store.conversations.save(
        conversation_key(turn),
        kind,
        reference,
        user_object_id=user if kind is ConversationKind.PERSONAL else None,
    )


def _teams_id(reference: ConversationReference) -> str | None:
    user = reference.get("user")
    if isinstance(user, dict) and isinstance(user.get("id"), str) and user["id"]:
        return str(user["id"])
    return None


def _strings_for(reference: ConversationReference | None, fallback: str | None) -> Strings:
    locale = reference.get("locale") if reference is not None else None
    return translator(locale if isinstance(locale, str) and locale else fallback)


# ---- who may grant it now ------------------------------------------------------------------


async def _delegated_approvers(ctx: Ctx) -> list[Approver]:
    """People holding the Delegated Mailbox Approver role (found by name, one per business
    unit, reference §8)."""
    dv = ctx.env.dataverse
    roles = await dv.roles_named(DELEGATED_MAILBOX_APPROVER_NAME)
    people = col("isdisabled").eq(False) & col("applicationid").is_null()
    holders = await every(
        dv.list_rows(
            SystemUser,
            Query(filter=people),
            path=f"{key_segment('roles', role.id)}/systemuserroles_association",
        )
        for role in roles
    )
    return [
        Approver(str(u.object_id).lower(), u.full_name or u.domain_name or str(u.object_id))
        for users in holders
        for u in users
        if u.object_id is not None
    ]


async def _users_of_group(graph: GraphClient, group_id: uuid.UUID) -> list[DirectoryUser]:
    """The users of a group holding an admin role; one that cannot be read gives nobody."""
    try:
        return await graph.group_members(group_id)
    except DataverseError as exc:
        log.warning("could not list the members of admin group %s: %r", group_id, exc)
        return []


async def _administrators(ctx: Ctx) -> list[Approver]:
    """Users holding the Global or Exchange administrator role tenant-wide, directly or as
    members of a (role-assignable) group the role is assigned to, in the order Graph lists
    the assignments. The groups are read side by side; a group that cannot be read is left
    out (logged), and so is a member whose account is disabled. The same person may come
    twice: `eligible_approvers` keeps the first."""
    graph = ctx.env.graph
    if graph is None:
        return []
    found = await every(graph.role_members(template) for template in _ADMIN_ROLES)
    held = [
        (m.principal_id, m.principal)
        for members in found
        for m in members
        if m.tenant_wide and m.principal is not None
    ]
    groups = list(dict.fromkeys(pid for pid, principal in held if principal.is_group))
    read = await every(_users_of_group(graph, group) for group in groups)
    users_of = dict(zip(groups, read, strict=True))
    approvers: list[Approver] = []
    for pid, principal in held:
        if principal.is_user:
            approvers.append(Approver(str(pid).lower(), principal.display_name or str(pid)))
        elif pid in users_of:
            approvers.extend(
                Approver(str(u.id).lower(), u.display_name or u.user_principal_name or str(u.id))
                for u in users_of[pid]
                if u.account_enabled is not False
            )
    return approvers


async def eligible_approvers(
    ctx: Ctx, action: Action, target: MailboxTarget, *, exclude: str
) -> list[Approver]:
    """The people who may do `action` to the mailbox now, Delegated Mailbox Approvers first.

    Each candidate is decided from their own live facts; one whose facts cannot be read is
    left out (logged), not guessed.
    """
    found = await asyncio.gather(
        _delegated_approvers(ctx), _administrators(ctx), return_exceptions=True
    )
    lists = [f for f in found if not isinstance(f, BaseException)]
    errors = [f for f in found if isinstance(f, BaseException)]
    if not lists:
        raise errors[0]  # neither source answered: the person is told it is unavailable
    for failed in errors:
        log.warning("one source of approvers could not be read: %r", failed)
    candidates: dict[str, Approver] = {}
    for person in (p for people in lists for p in people):
        key = person.object_id.lower()
        if key != exclude.lower() and key not in candidates:
            candidates[key] = person
    chosen = list(candidates.values())[:MAX_APPROVERS]
    environment = await ctx.env.facts.environment()

    async def allowed(person: Approver) -> bool:
        ctx.env.facts.invalidate(person.object_id)  # their roles now, not a minute ago
        try:
            actor = await ctx.env.facts.actor(person.object_id)
        except Exception:  # one unreadable person must not stop the request
            log.warning("could not read the facts of approver candidate %s", person.object_id)
            return False
        return decide(action, actor, environment, target).allowed

    verdicts = await asyncio.gather(*(allowed(p) for p in chosen))
    return [p for p, ok in zip(chosen, verdicts, strict=True) if ok]


# ---- sending and updating cards ------------------------------------------------------------


class Courier:
    """Sends a request's cards, updates every copy, tells the requester; never raises for one
    conversation that cannot be reached."""

    def __init__(self, services: Services, signer: CardSigner) -> None:
        self.services = services
        self.signer = signer

    @property
    def store(self) -> Store:
        store = self.services.store
        if store is None:  # the handlers check first; this is a programming error
            msg = "routed approvals need a store"
            raise RuntimeError(msg)
        return store

    async def _send(self, ref: ConversationRef, card: Card) -> str | None:
        messenger = self.services.messenger
        if messenger is None:
            return None
        signed = self.signer.sign(card, ref.key.conversation_id)
        try:
            return await messenger.send(ref.reference, signed)
        except ConversationGoneError:
            log.info("conversation %s is gone; its reference is dropped", ref.key)
            await self.store.conversations.delete(ref.key)
        except Exception:  # one unreachable conversation must not fail the others
            log.exception("could not send to conversation %s", ref.key)
        return None

    async def _update(self, ref: ConversationRef, activity_id: str, card: Card) -> None:
        messenger = self.services.messenger
        if messenger is None:
            return
        signed = self.signer.sign(card, ref.key.conversation_id)
        try:
            await messenger.update(ref.reference, activity_id, signed)
        except ConversationGoneError:
            log.info("conversation %s is gone; its reference is dropped", ref.key)
            await self.store.conversations.delete(ref.key)
        except Exception:  # as in _send
            log.exception("could not update card %s in %s", activity_id, ref.key)

    async def deliver(
        self,
        request: ApprovalRequest,
        approvers: Sequence[Approver],
        *,
        tenant_id: str | None,
        reminder: bool = False,
    ) -> tuple[list[Approver], bool]:
        """Send the approval card to each approver's personal chat, and to the approvers
        channel for those who have none (or when nobody is named). Returns who got it
        personally and whether the channel did."""
        store = self.store
        view = view_of(request)
        locale = request.parameters.get("locale")
        fallback = locale if isinstance(locale, str) else None
        refs = [
            await store.conversations.find_personal(p.object_id, tenant_id=tenant_id)
            for p in approvers
        ]
        known_ids = [t for t in (_teams_id(r.reference) for r in refs if r is not None) if t]

        async def to(person: Approver, ref: ConversationRef | None) -> bool:
            if ref is None:
                return False
            teams_id = _teams_id(ref.reference)
            card = approval_request(
                _strings_for(ref.reference, fallback),
                view,
                refresh_user_ids=[teams_id] if teams_id else [],
                reminder=reminder,
            )
            activity_id = await self._send(ref, card)
            if activity_id is None:
                return False
            await store.approvals.add_card(
                request.id,
                ref.key,
                activity_id,
                CardRole.APPROVER,
                recipient_object_id=person.object_id,
            )
            return True

        # Side by side (an invoke has seconds to answer); each send is one conversation,
        # so Teams' per-conversation rate limit is not at stake.
        sent = await _bounded([to(p, r) for p, r in zip(approvers, refs, strict=True)])
        reached = [p for p, ok in zip(approvers, sent, strict=True) if ok]
        unreached = [p for p, ok in zip(approvers, sent, strict=True) if not ok]
        channel = False
        if unreached or not approvers:
            channel = await self._to_channel(request, view, unreached, known_ids, reminder)
        return reached, channel

    async def _to_channel(
        self,
        request: ApprovalRequest,
        view: RequestView,
        named: Sequence[Approver],
        teams_ids: Sequence[str],
        reminder: bool,
    ) -> bool:
        ref = await self.store.conversations.find_assigned(APPROVERS)
        if ref is None:
            return False
        card = approval_request(
            _strings_for(ref.reference, None),
            view,
            approvers=[Mention(p.name, p.object_id) for p in named],
            refresh_user_ids=list(dict.fromkeys(teams_ids))[:60],
            reminder=reminder,
        )
        activity_id = await self._send(ref, card)
        if activity_id is None:
            return False
        await self.store.approvals.add_card(request.id, ref.key, activity_id, CardRole.APPROVER)
        return True

    async def settle(self, request: ApprovalRequest, *, skip: tuple[str, str] | None) -> None:
        """After a decision (or expiry): every copy shows the outcome, the requester is told.

        Args:
            skip: (conversation id, activity id) of the copy the click's answer replaces.
        """
        store = self.store
        view = view_of(request)
        locale = request.parameters.get("locale")
        fallback = locale if isinstance(locale, str) else None
        requester_chat: ConversationRef | None = None
        updates = []
        for copy in await store.approvals.cards(request.id):
            ref = await store.conversations.get(copy.conversation)
            if ref is None:
                continue
            if copy.role is CardRole.REQUESTER:
                requester_chat = ref
            if skip == (copy.conversation.conversation_id, copy.activity_id):
                continue
            strings = _strings_for(
                ref.reference, fallback if copy.role is CardRole.REQUESTER else None
            )
            updates.append(self._update(ref, copy.activity_id, request_outcome(strings, view)))
        await _bounded(updates)
        personal = await store.conversations.find_personal(request.requester.object_id)
        told = personal or requester_chat
        if told is not None:
            await self._send(told, requester_notice(_strings_for(told.reference, fallback), view))


async def _bounded(work: Sequence[Awaitable[T]], limit: int = SEND_PARALLEL) -> list[T]:
    """Run `work` side by side, at most `limit` at once; results in order. The callers'
    coroutines do not raise (a failed send is logged and answered with None or False)."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Awaitable[T]) -> T:
        async with gate:
            return await item

    return list(await asyncio.gather(*(one(w) for w in work)))


# ---- the flows -----------------------------------------------------------------------------


def _reason(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()[: verbs.REASON_MAX_CHARS]
    return text or None


def _request_id(data: Mapping[str, Any]) -> uuid.UUID:
    value = data.get(verbs.REQUEST_ID)
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise StaleCardError from None


def _label(row: Mailbox) -> str:
    return row.name or row.email_address or str(row.id)


class Approvals:
    """The routed-approval handlers, with the router's signer for the cards they send."""

    def __init__(self, services: Services, signer: CardSigner) -> None:
        self.courier = Courier(services, signer)

    async def request(
        self,
        ctx: Ctx,
        action: Action,
        mailbox_id: uuid.UUID,
        reason: str | None,
        *,
        message_id: str | None,
    ) -> Card:
        """Ask the people who may do `action` to this mailbox now; see the module docstring."""
        store = ctx.services.store
        if store is None:
            return approvals_unavailable(ctx.strings, environment=ctx.env.name)
        await remember(store, ctx.turn)
        row = await ctx.env.dataverse.get_mailbox(mailbox_id)  # gone: the not-found card
        label = _label(row)
        operation = Operation(action.value)
        target = await access.mailbox_target(ctx, row)
        ctx.env.facts.invalidate(ctx.caller_id)
        actor, environment = await ctx.facts()
        if decide(action, actor, environment, target).allowed:
            return may_do_it_yourself(
                ctx.strings, operation, label, str(row.id), environment=ctx.env.name
            )
        open_ = await self._open_request(store, ctx, action, row)
        if open_ is not None:
            names, posted = await self._recipients(store, open_)
            return request_sent(
                ctx.strings, view_of(open_), approvers=names, channel=posted, already=True
            )
        approvers = await eligible_approvers(ctx, action, target, exclude=ctx.caller_id)
        if not approvers and await store.conversations.find_assigned(APPROVERS) is None:
            return nobody_to_ask(ctx.strings, operation, label, environment=ctx.env.name)
        times = ctx.services.approval_times
        request = await store.approvals.create(
            environment=ctx.env.name,
            action=action.value,
            target_mailbox_id=str(row.id),
            target_display=label,
            requester=audit.actor_of(ctx),
            expires_in=times.expires_after,
            remind_after=times.remind_after,
            reason=reason,
            parameters={
                "email": row.email_address,
                "locale": ctx.turn.locale,
                "tenant_id": ctx.turn.caller.tenant_id,
                "approvers": [{"object_id": a.object_id, "name": a.name} for a in approvers],
            },
            correlation_id=ctx.turn.correlation_id or None,
        )
        reached, channel = await self.courier.deliver(
            request, approvers, tenant_id=ctx.turn.caller.tenant_id or None
        )
        mailbox = audit.mailbox_target(row, label)
        if not reached and not channel:
            await store.approvals.decide(
                request.id, ApprovalState.FAILED, by=None, detail=UNREACHABLE
            )
            await audit.record(
                ctx,
                AuditAction.APPROVAL_REQUESTED,
                AuditResult.FAILED,
                target=mailbox,
                detail="no approver could be reached",
                approval_request_id=request.id,
            )
            eligible = [Mention(a.name, a.object_id) for a in approvers]
            return nobody_to_ask(
                ctx.strings, operation, label, environment=ctx.env.name, eligible=eligible
            )
        await audit.record(
            ctx,
            AuditAction.APPROVAL_REQUESTED,
            AuditResult.OK,
            target=mailbox,
            detail=f"{action.value}; sent to {len(reached)} approvers"
            + ("; approvers channel" if channel else ""),
            approval_request_id=request.id,
        )
        if message_id:
            await store.approvals.add_card(
                request.id,
                conversation_key(ctx.turn),
                message_id,
                CardRole.REQUESTER,
                recipient_object_id=ctx.caller_id,
            )
        return request_sent(
            ctx.strings, view_of(request), approvers=[a.name for a in reached], channel=channel
        )

    @staticmethod
    async def _open_request(
        store: Store, ctx: Ctx, action: Action, row: Mailbox
    ) -> ApprovalRequest | None:
        for request in await store.approvals.by_requester(ctx.caller_id, limit=50):
            if (
                request.state is ApprovalState.PENDING
                and request.environment == ctx.env.name
                and request.action == action.value
                and request.target_mailbox_id == str(row.id)
                and request.expires_at > store.now()
            ):
                return request
        return None

    @staticmethod
    async def _recipients(store: Store, request: ApprovalRequest) -> tuple[list[str], bool]:
        names = {a.object_id: a.name for a in _approvers_of(request)}
        copies = [
            c for c in await store.approvals.cards(request.id) if c.role is CardRole.APPROVER
        ]
        reached = [
            names.get(c.recipient_object_id, c.recipient_object_id)
            for c in copies
            if c.recipient_object_id
        ]
        return list(dict.fromkeys(reached)), any(c.recipient_object_id is None for c in copies)

    async def decide(self, ctx: Ctx, data: Mapping[str, Any], state: ApprovalState) -> Card:
        """Approve or reject a request, checked against the clicker's live facts; once."""
        store = ctx.services.store
        if store is None:
            return approvals_unavailable(ctx.strings, environment=ctx.env.name)
        request = await store.approvals.get(_request_id(data))
        if request is None or request.environment != ctx.env.name:
            raise StaleCardError
        if request.state is ApprovalState.PENDING and request.expires_at <= store.now():
            # Its time is up but the sweep has not run yet: expire it now, for everyone.
            for expired in await store.approvals.expire_due():
                await self.courier.settle(expired, skip=_clicked_copy(ctx.turn))
            request = await store.approvals.get(request.id) or request
        if request.state is not ApprovalState.PENDING:
            return request_outcome(ctx.strings, view_of(request))
        if request.requester.object_id.lower() == ctx.caller_id.lower():
            return own_request(ctx.strings, view_of(request))
        action = Action(request.action)
        clicked = _clicked_copy(ctx.turn)
        try:
            row = await ctx.env.dataverse.get_mailbox(request.target_mailbox_id)
        except NotFound:
            gone = await store.approvals.decide(
                request.id, ApprovalState.FAILED, by=None, detail=MAILBOX_GONE
            )
            if gone.won:
                await self.courier.settle(gone.request, skip=clicked)
            return request_outcome(ctx.strings, view_of(gone.request))
        label = request.target_display
        mailbox = audit.mailbox_target(row, label)
        target = await access.mailbox_target(ctx, row)
        ctx.env.facts.invalidate(ctx.caller_id)  # the roles as they are at the click
        actor, environment = await ctx.facts()
        decision = decide(action, actor, environment, target)
        if not decision.allowed:
            await audit.record(
                ctx,
                action,
                AuditResult.DENIED,
                target=mailbox,
                detail=f"approval click refused: rule {decision.rule.id}",
                on_behalf_of=request.requester.object_id,
                approval_request_id=request.id,
            )
            raise DeniedError(action, decision, target=label, target_id=str(row.id))
        outcome = await store.approvals.decide(request.id, state, by=audit.actor_of(ctx))
        if not outcome.won:
            return request_outcome(ctx.strings, view_of(outcome.request))
        decided = outcome.request
        if state is ApprovalState.APPROVED:
            decided = await self._carry_out(ctx, store, decided, action, row)
        else:
            await audit.record(
                ctx,
                AuditAction.APPROVAL_REJECTED,
                AuditResult.OK,
                target=mailbox,
                detail=action.value,
                on_behalf_of=request.requester.object_id,
                approval_request_id=request.id,
            )
        await self.courier.settle(decided, skip=clicked)
        return request_outcome(ctx.strings, view_of(decided))

    @staticmethod
    async def _carry_out(
        ctx: Ctx, store: Store, request: ApprovalRequest, action: Action, row: Mailbox
    ) -> ApprovalRequest:
        """The one Dataverse write of an approved request, as the approver; audited."""
        operate = ops.approve if action is Action.APPROVE_EMAIL else ops.reject
        label = request.target_display
        try:
            item = await operate(ctx.env.dataverse, row, acting_for=ctx.acting_for)
        except DataverseError as exc:
            item = ItemResult(str(row.id), row.id, ops.Outcome.FAILED, error=exc, mailbox=row)
        await audit.mailbox_results(
            ctx,
            action,
            [(label, row)],
            [item],
            on_behalf_of=request.requester.object_id,
            approval_request_id=request.id,
        )
        return await store.approvals.record_outcome(request.id, _outcome_detail(item, label))

    async def view(self, ctx: Ctx, data: Mapping[str, Any]) -> Card:
        """The card as it stands for the person looking (the card's refresh)."""
        store = ctx.services.store
        if store is None:
            return approvals_unavailable(ctx.strings, environment=ctx.env.name)
        request = await store.approvals.get(_request_id(data))
        if request is None or request.environment != ctx.env.name:
            raise StaleCardError
        view = view_of(request)
        if request.state is not ApprovalState.PENDING:
            return request_outcome(ctx.strings, view)
        viewer = ctx.caller_id.lower()
        approver_ids = {a.object_id.lower() for a in _approvers_of(request)}
        teams_id = ctx.turn.caller.channel_user_id
        return approval_request(
            ctx.strings,
            view,
            buttons=viewer in approver_ids and viewer != request.requester.object_id.lower(),
            refresh_user_ids=[teams_id] if teams_id else [],
        )

    async def mine(self, ctx: Ctx) -> Card:
        """`my requests`."""
        store = ctx.services.store
        if store is None:
            return approvals_unavailable(ctx.strings, environment=ctx.env.name)
        requests = await store.approvals.by_requester(ctx.caller_id, limit=50)
        return my_requests(ctx.strings, [view_of(r) for r in requests], environment=ctx.env.name)

    async def sweep(self) -> tuple[int, int]:
        """Expire what is due (every copy updated, the requester told) and send the reminders
        that are due. Safe with several bot processes: each request is claimed once."""
        store = self.courier.services.store
        if store is None:
            return 0, 0
        expired = await store.approvals.expire_due()
        for request in expired:
            await self.courier.settle(request, skip=None)
        reminded = 0
        for request in await store.approvals.due_for_reminder():
            if await store.approvals.mark_reminded(request.id):
                tenant = request.parameters.get("tenant_id")
                await self.courier.deliver(
                    request,
                    _approvers_of(request),
                    tenant_id=tenant if isinstance(tenant, str) and tenant else None,
                    reminder=True,
                )
                reminded += 1
        return len(expired), reminded


def _clicked_copy(turn: Turn) -> tuple[str, str] | None:
    action = turn.action
    if action is None or not action.message_id or not action.is_execute:
        return None
    return turn.conversation.id, action.message_id


async def waiting_for(ctx: Ctx) -> list[RequestView]:
    """The pending requests of this environment that the caller may decide now."""
    store = ctx.services.store
    if store is None:
        return []
    pending = [
        r
        for r in await store.approvals.pending(environment=ctx.env.name)
        if r.requester.object_id.lower() != ctx.caller_id.lower() and r.expires_at > store.now()
    ]
    if not pending:
        return []
    ids = list(dict.fromkeys(parse_guid(r.target_mailbox_id) for r in pending))
    rows = await load_mailboxes(ctx.env.dataverse, ids, DEFAULT_OPTIONS)
    actor, environment = await ctx.facts()
    views = []
    for request in pending:
        row = rows.get(parse_guid(request.target_mailbox_id))
        if not isinstance(row, Mailbox):
            continue
        target = await access.mailbox_target(ctx, row)
        if decide(Action(request.action), actor, environment, target).allowed:
            views.append(view_of(request))
    return views


async def with_open_requests(ctx: Ctx, card: Card) -> Card:
    """`card` with a section listing the routed requests the caller may decide now."""
    if ctx.services.store is None:
        return card
    views = await waiting_for(ctx)
    card["body"].extend(open_requests_section(ctx.strings, views))
    return ensure_fits(card)


# ---- refused clicks on approval cards are audited too ---------------------------------------


class ApprovalRouter(Router):
    """The router, also auditing clicks on Approve / Reject whose card signature does not
    hold (a forged payload, or a card from another conversation): they are refused as stale
    cards like any other, and recorded against the request they name."""

    async def _click(self, turn: Turn, action: CardAction) -> Card:
        if action.verb in DECISION_VERBS and not self.signer.verify(
            turn.conversation.id, action.verb, dict(action.data)
        ):
            await _audit_forged(self.services, turn, action)
        return await super()._click(turn, action)


async def _audit_forged(services: Services, turn: Turn, action: CardAction) -> None:
    store = services.store
    if store is None:
        return
    name = action.data.get(verbs.ENVIRONMENT)
    try:
        ctx = Ctx.of(turn, services, name if isinstance(name, str) and name else None)
    except UnknownEnvironmentError:
        ctx = Ctx.of(turn, services)
    request = None
    with contextlib.suppress(StaleCardError):
        request = await store.approvals.get(_request_id(action.data))
    target = (
        Target(audit.MAILBOX, request.target_mailbox_id, request.target_display)
        if request is not None
        else None
    )
    await audit.record(
        ctx,
        request.action if request is not None else AuditAction.APPROVAL_CLICK,
        AuditResult.DENIED,
        target=target,
        detail=f"{action.verb} refused: the card's signature does not hold",
        on_behalf_of=request.requester.object_id if request is not None else None,
        approval_request_id=request.id if request is not None else None,
    )


def register(router: Router) -> None:
    """Routed approvals: the request, the decision, the card's refresh, `my requests` and
    `request approval for …`."""
    approvals = Approvals(router.services, router.signer)

    @router.action(verbs.APPROVAL_REQUEST)
    async def request_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        try:
            action = Action(str(data.get(verbs.OPERATION)))
            mailbox_id = uuid.UUID(str(data.get(verbs.TARGET_ID)))
        except ValueError:
            raise StaleCardError from None
        if action not in access.REQUESTABLE:
            raise StaleCardError
        message_id = ctx.turn.action.message_id if ctx.turn.action else None
        return await approvals.request(
            ctx, action, mailbox_id, _reason(data.get(verbs.REASON)), message_id=message_id
        )

    @router.action(verbs.APPROVAL_APPROVE)
    async def approve_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await approvals.decide(ctx, data, ApprovalState.APPROVED)

    @router.action(verbs.APPROVAL_REJECT)
    async def reject_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await approvals.decide(ctx, data, ApprovalState.REJECTED)

    @router.action(verbs.APPROVAL_VIEW)
    async def view_refreshed(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await approvals.view(ctx, data)

    @router.command(CommandKind.MY_REQUESTS)
    async def mine(ctx: Ctx, command: MyRequests) -> Card:
        """Your approval requests, newest first, with who decided them."""
        return await approvals.mine(ctx)

    @router.command(CommandKind.REQUEST_APPROVAL)
    async def request_typed(ctx: Ctx, command: RequestApproval) -> Card:
        """Ask the people who may approve a mailbox's address to approve it, with a
        reason they will see."""
        card: Card | None = None
        for name in dict.fromkeys(command.targets):
            found = await resolve.mailbox(ctx, name, command_text=ctx.turn.text)
            card = await approvals.request(
                ctx,
                Action.APPROVE_EMAIL,
                found.mailbox.id,
                _reason(command.reason),
                message_id=None,
            )
        if len(command.targets) > 1:
            return await approvals.mine(ctx)
        assert card is not None
        return card


def approvals_of(router: Router) -> Approvals:
    """A fresh handle on the approval flows with the router's services and signer (the host's
    background sweep uses it)."""
    return Approvals(router.services, router.signer)
