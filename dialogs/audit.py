"""The audit log: recording what commands did, reading it back, and undoing a change.

Recording happens here and only here. A write handler wraps its permission check in
:func:`denials`, so a refusal is written too, and then records its operation: a mailbox
write calls :func:`mailbox_results` after it (who, for whom, what, which mailbox, the
columns that changed before → after, ok / failed, the correlation id, the approval request
it came from); a write to anything else (the organization's email settings, a server
profile, a person's Delegated Mailbox Approver role) runs inside :func:`changing`, which
writes the same entry for one target from what the block reports, or a failed one when
Dataverse refuses. Without a store (`Services.store` is None) nothing is recorded.

Reading (`audit for alice`, `audit last 20`) is open to System Administrators and to people
who may read every mailbox of the organization (`prvReadMailbox` at organization depth):
the log shows changes to everyone's mailboxes, so it asks for the same reach as reading
them all. `audit for X` shows what X names: a mailbox (a person's with the role changes
made to that person), a server profile, or, by keyword (`audit for organization`), the
organization's email settings; a name that fits several things asks which.

`undo last change to alice` restores the before-values of the newest undoable change, only
if the mailbox still shows that change's after-values, and only if the caller may make the
restoring change now (decided like the corresponding command); the undo is audited with
`undoes` naming the entry it reverses. Only mailbox changes are undone: putting back an
organization setting, a profile or a role would need its own grammar, permission checks and
"changed since" test, so those entries are a record and nothing more.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any, Final

from cards.approvals import approvals_unavailable
from cards.audit import (
    AuditAction,
    AuditLine,
    AuditResultKind,
    FieldChange,
    TargetKind,
    UndoOutcome,
    audit_log,
    audit_not_allowed,
    target_kind_label,
    undo_result,
)
from cards.common import Card
from cards.labels import Field
from dataverse.errors import DataverseError, DataverseStatusError, InvalidInput
from dataverse.models import Mailbox, OrgEmailSettings, ServerProfile
from dataverse.odata import parse_guid
from dataverse.ops import ItemResult, OrgChange, Outcome, RoleChange
from dataverse.ops._bulk import DEFAULT_OPTIONS, load_mailboxes
from dialogs import access, resolve
from dialogs.commands import Audit, CommandKind, Undo
from dialogs.context import Ctx
from dialogs.errors import AmbiguousError, DeniedError, Match, NothingMatchedError
from dialogs.router import Router
from permissions import Action, Actor, Depth, PrincipalKind, decide
from permissions.identifiers import (
    PRV_READ_MAILBOX,
    SYSTEM_ADMINISTRATOR_NAME,
    SYSTEM_ADMINISTRATOR_TEMPLATE,
)
from store import AlreadyUndone, AuditEntry, AuditResult, Person, Store, Target

log = logging.getLogger("mailops.audit")

# The mailbox columns the log keeps before → after values of, by logical name; the profile
# is kept as its id under "emailserverprofile" (written back through @odata.bind).
APPROVAL: Final = "emailrouteraccessapproval"
INCOMING: Final = "incomingemaildeliverymethod"
OUTGOING: Final = "outgoingemaildeliverymethod"
ACT: Final = "actdeliverymethod"
PROFILE: Final = "emailserverprofile"
ORG_ONLY: Final = "orgmarkedasprimaryforexchangesync"
_MAILBOX_FIELDS: Final[dict[str, Field]] = {
    APPROVAL: Field.APPROVAL,
    INCOMING: Field.INCOMING_DELIVERY,
    OUTGOING: Field.OUTGOING_DELIVERY,
    ACT: Field.ACT_DELIVERY,
    PROFILE: Field.SERVER_PROFILE,
    ORG_ONLY: Field.SYNC_FROM_THIS_ORG_ONLY,
}
# The rest are kept under the names of their fields: the organization's settings (its
# delivery methods go by the mailbox columns' names above: they are those columns' defaults),
# a profile's columns, and whether a person holds the Delegated Mailbox Approver role.
_FIELDS: Final[dict[str, Field]] = {
    **_MAILBOX_FIELDS,
    **{
        field.value: field
        for field in (
            Field.DEFAULT_SERVER_PROFILE,
            Field.REQUIRE_APPROVAL_USERS,
            Field.REQUIRE_APPROVAL_QUEUES,
            Field.PROFILE_NAME,
            Field.SERVER_TYPE,
            Field.INCOMING_CREDENTIALS,
            Field.OUTGOING_CREDENTIALS,
            Field.SERVER_LOCATION,
            Field.DELEGATED_APPROVER_ROLE,
        )
    },
}
DEFAULT_PROFILE: Final = Field.DEFAULT_SERVER_PROFILE.value
SERVER_LOCATION: Final = Field.SERVER_LOCATION.value
DELEGATED_APPROVER: Final = Field.DELEGATED_APPROVER_ROLE.value
_PROFILE_IDS: Final = frozenset({PROFILE, DEFAULT_PROFILE})  # shown by the profile's name
DEFAULT_LIMIT: Final = 20
ALREADY_SET: Final = "already set"
MAILBOX: Final = TargetKind.MAILBOX.value


def snapshot(row: Mailbox) -> dict[str, Any]:
    """The audited columns of a mailbox row, as JSON values."""
    return {
        APPROVAL: _option(row.approval),
        INCOMING: _option(row.incoming_delivery),
        OUTGOING: _option(row.outgoing_delivery),
        ACT: _option(row.act_delivery),
        PROFILE: _id(row.server_profile_id),
        ORG_ONLY: row.org_marked_primary,
    }


def org_snapshot(settings: OrgEmailSettings) -> dict[str, Any]:
    """The audited email settings of the organization row, as JSON values."""
    defaults = settings.default_email_settings
    return {
        DEFAULT_PROFILE: _id(settings.default_profile_id),
        INCOMING: _option(defaults.incoming) if defaults else None,
        OUTGOING: _option(defaults.outgoing) if defaults else None,
        ACT: _option(defaults.act) if defaults else None,
        Field.REQUIRE_APPROVAL_USERS.value: settings.require_approval_for_user_email,
        Field.REQUIRE_APPROVAL_QUEUES.value: settings.require_approval_for_queue_email,
    }


def profile_snapshot(profile: ServerProfile) -> dict[str, Any]:
    """The audited columns of a server profile, as JSON values."""
    return {
        Field.PROFILE_NAME.value: profile.name,
        # The service's name for the type when it gives one: servertype 0 alone reads
        # "Exchange Server" even for an Exchange Online profile (cards.labels.server_type_label).
        Field.SERVER_TYPE.value: profile.server_type_name or _option(profile.server_type),
        Field.INCOMING_CREDENTIALS.value: _option(profile.incoming_credential_retrieval),
        Field.OUTGOING_CREDENTIALS.value: _option(profile.outgoing_credential_retrieval),
        SERVER_LOCATION: profile.default_server_location,
    }


def _option(value: int | None) -> int | None:
    return None if value is None else int(value)


def _id(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


def changed(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The columns whose value differs: (before, after), or (None, None) when none does."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    if not keys:
        return None, None
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def actor_of(ctx: Ctx) -> Person:
    caller = ctx.turn.caller
    return Person(ctx.caller_id, caller.name or ctx.caller_id)


def mailbox_target(row: Mailbox, label: str | None = None) -> Target:
    return Target(MAILBOX, str(row.id), label or row.name or row.email_address or str(row.id))


def organization_target(settings: OrgEmailSettings) -> Target:
    return Target(
        TargetKind.ORGANIZATION.value, str(settings.id), settings.name or str(settings.id)
    )


def profile_target(profile: ServerProfile) -> Target:
    return Target(TargetKind.PROFILE.value, str(profile.id), profile.name or str(profile.id))


def new_profile_target(name: str) -> Target:
    """A profile asked for but not created (refused, failed): it has no id, so its name
    stands in, and the entry still says what was asked for."""
    return Target(TargetKind.PROFILE.value, name, name)


def principal_target(kind: PrincipalKind, key: uuid.UUID, label: str) -> Target:
    """A person (their systemuserid), or a team, a security role was asked for."""
    target_kind = TargetKind.TEAM if kind is PrincipalKind.TEAM else TargetKind.USER
    return Target(target_kind.value, str(key), label)


async def record(
    ctx: Ctx,
    action: Action | str,
    result: AuditResult,
    *,
    target: Target | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    detail: str | None = None,
    on_behalf_of: str | None = None,
    approval_request_id: uuid.UUID | None = None,
    actor: Person | None = None,
) -> AuditEntry | None:
    """Append one entry for this turn; None without a store or when the write failed.

    A failure to record is logged, not raised: the change it describes has been made, and
    an error card would tell the person it had not.
    """
    store = ctx.services.store
    if store is None:
        return None
    try:
        return await store.audit.append(
            actor=actor or actor_of(ctx),
            action=str(action.value if isinstance(action, Action) else action),
            result=result,
            target=target,
            environment=ctx.env.name,
            on_behalf_of=on_behalf_of,
            before=before,
            after=after,
            detail=detail,
            correlation_id=ctx.turn.correlation_id or None,
            approval_request_id=approval_request_id,
        )
    except Exception:  # see the docstring: the audit must never undo a finished turn
        log.exception("could not write the audit entry of turn %s", ctx.turn.correlation_id)
        return None


@asynccontextmanager
async def denials(
    ctx: Ctx,
    *,
    target: Target | None = None,
    approval_request_id: uuid.UUID | None = None,
) -> AsyncIterator[None]:
    """Record a permission refusal raised inside the block, then let it go on to the router."""
    try:
        yield
    except DeniedError as denied:
        await record(
            ctx,
            denied.action,
            AuditResult.DENIED,
            target=target,
            detail=f"rule {denied.decision.rule.id}",
            approval_request_id=approval_request_id,
        )
        raise


def skipped(reason: str | None) -> str:
    """The detail of an entry whose command found nothing to write."""
    return f"skipped: {reason}" if reason else "skipped"


def failure(error: BaseException | None) -> str:
    """The detail of an entry whose write Dataverse refused: the error and its code."""
    if isinstance(error, DataverseStatusError):
        return f"{type(error).__name__} {error.code or error.status}"
    return type(error).__name__ if error is not None else "failed"


def _detail(item: ItemResult) -> str | None:
    if item.outcome is Outcome.SKIPPED:
        return skipped(item.reason)
    if item.outcome is Outcome.FAILED:
        return failure(item.error)
    return item.reason or None


async def mailbox_results(
    ctx: Ctx,
    action: Action | str,
    rows: Sequence[tuple[str, Mailbox]],
    results: Sequence[ItemResult],
    *,
    on_behalf_of: str | None = None,
    approval_request_id: uuid.UUID | None = None,
    actor: Person | None = None,
) -> None:
    """Record one entry per mailbox an operation ran on.

    Args:
        rows: (label, the row as read before the write) per mailbox, in the results' order.
        results: the operation's item results.

    An item that succeeded without a row read back (writes that are not verified) is read
    once more, all such rows in one batch, to know the after-values.
    """
    if ctx.services.store is None:
        return
    unread = [row.id for (_, row), item in zip(rows, results, strict=True) if _needs_read(item)]
    fresh: dict[uuid.UUID, Mailbox] = {}
    if unread:
        try:
            loaded = await load_mailboxes(ctx.env.dataverse, unread, DEFAULT_OPTIONS)
        except DataverseError:
            log.warning(
                "could not read back mailboxes for the audit of %s", ctx.turn.correlation_id
            )
            loaded = {}
        fresh = {key: row for key, row in loaded.items() if isinstance(row, Mailbox)}
    for (label, row), item in zip(rows, results, strict=True):
        after_row = item.mailbox if item.mailbox is not None else fresh.get(row.id)
        before, after = (None, None)
        if item.outcome is not Outcome.SKIPPED and after_row is not None:
            before, after = changed(snapshot(row), snapshot(after_row))
        result = AuditResult.FAILED if item.outcome is Outcome.FAILED else AuditResult.OK
        await record(
            ctx,
            action,
            result,
            target=mailbox_target(row, label),
            before=before,
            after=after,
            detail=_detail(item),
            on_behalf_of=on_behalf_of,
            approval_request_id=approval_request_id,
            actor=actor,
        )


def _needs_read(item: ItemResult) -> bool:
    return item.outcome is Outcome.OK and item.mailbox is None


async def denied_rows(ctx: Ctx, action: Action, rows: Sequence[tuple[str, Mailbox]]) -> None:
    """Record mailboxes a confirmed bulk change left alone because the caller may not."""
    for label, row in rows:
        await record(
            ctx,
            action,
            AuditResult.DENIED,
            target=mailbox_target(row, label),
            detail="denied at confirmation",
        )


@dataclass
class Change:
    """What the write inside :func:`changing` did, as the block reports it.

    Attributes:
        target: what was written; the block may name it once it exists (a creation).
        before: the audited values as read before the write; None: it did not exist.
        after: the same values after the write.
        skipped: why nothing was written, when nothing had to be.
    """

    target: Target
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    skipped: str | None = None

    def org_written(self, before: OrgEmailSettings, change: OrgChange) -> None:
        """An organization write: the settings as read before it → as read back after."""
        if not change.changed:
            self.skipped = ALREADY_SET
            return
        self.before, self.after = org_snapshot(before), org_snapshot(change.settings)

    def role_written(self, change: RoleChange, *, holds: bool) -> None:
        """A role given (`holds`) or taken away. Dataverse answered the (dis)association
        with success, so the person now holds it or not; it is not read again."""
        if not change.changed:
            self.skipped = change.reason or ALREADY_SET
            return
        self.before, self.after = {DELEGATED_APPROVER: not holds}, {DELEGATED_APPROVER: holds}


@asynccontextmanager
async def changing(ctx: Ctx, action: Action, target: Target) -> AsyncIterator[Change]:
    """Record the one write the block makes to `target` (not a mailbox: those go through
    :func:`mailbox_results`).

    On leaving: ok, with the values that differ before → after (all of `after` for a
    creation), or ok and skipped. When Dataverse refuses the write (an error leaves the
    block): failed, with the error and its code; the error goes on to the router.
    """
    change = Change(target)
    try:
        yield change
    except DataverseError as error:
        await record(ctx, action, AuditResult.FAILED, target=change.target, detail=failure(error))
        raise
    before, after = None, None
    if change.skipped is None and change.after is not None:
        if change.before is None:
            after = {k: v for k, v in change.after.items() if v is not None}
        else:
            before, after = changed(change.before, change.after)
    await record(
        ctx,
        action,
        AuditResult.OK,
        target=change.target,
        before=before,
        after=after,
        detail=None if change.skipped is None else skipped(change.skipped),
    )


# ---- reading the log -----------------------------------------------------------------------


def may_read_audit(actor: Actor) -> bool:
    """System Administrators, and people who may read every mailbox of the organization."""
    if actor.holds_role(SYSTEM_ADMINISTRATOR_NAME, SYSTEM_ADMINISTRATOR_TEMPLATE):
        return True
    return actor.privilege(PRV_READ_MAILBOX) is Depth.ORGANIZATION


def _value(key: str, value: Any, profiles: Mapping[str, str]) -> Any:
    if key in _PROFILE_IDS and isinstance(value, str):
        return profiles.get(value.lower(), value)
    return value if isinstance(value, int | bool | str) or value is None else str(value)


def field_changes(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    profiles: Mapping[str, str] | None = None,
) -> list[FieldChange]:
    """(before → after) per audited column, profile ids shown by name when known."""
    names = profiles or {}
    keys = [k for k in _FIELDS if k in (after or {}) or k in (before or {})]
    return [
        FieldChange(
            _FIELDS[k],
            _value(k, (before or {}).get(k), names),
            _value(k, (after or {}).get(k), names),
        )
        for k in keys
    ]


async def _names(store: Store, entries: Sequence[AuditEntry]) -> dict[str, str]:
    """Display names for the object ids the entries mention (actors, approval requesters)."""
    names = {e.actor.object_id.lower(): e.actor.name for e in entries}
    requests = {e.approval_request_id for e in entries if e.approval_request_id is not None}
    for request_id in requests:
        request = await store.approvals.get(request_id)
        if request is not None:
            names.setdefault(request.requester.object_id.lower(), request.requester.name)
    return names


async def _profile_names(ctx: Ctx) -> dict[str, str]:
    profiles = await ctx.env.profiles()
    return {str(k).lower(): p.name or str(k) for k, p in profiles.items()}


def audit_line(
    entry: AuditEntry, names: Mapping[str, str], profiles: Mapping[str, str]
) -> AuditLine:
    on_behalf = entry.on_behalf_of
    return AuditLine(
        id=entry.id,
        at=entry.at,
        actor=entry.actor.name,
        action=entry.action,
        result=AuditResultKind(entry.result.value),
        target=entry.target.display if entry.target else None,
        target_kind=entry.target.kind if entry.target else MAILBOX,
        on_behalf_of=names.get(on_behalf.lower(), on_behalf) if on_behalf else None,
        changes=field_changes(entry.before, entry.after, profiles),
        detail=entry.detail,
        correlation_id=entry.correlation_id,
        request_id=str(entry.approval_request_id) if entry.approval_request_id else None,
        undoes=entry.undoes,
    )


@dataclass(frozen=True)
class _Subject:
    """What `audit for …` asked about: its kind and name, as the card's subtitle says them,
    and the (kind, id) keys its entries are kept under."""

    kind: str
    label: str
    keys: tuple[tuple[str, str], ...]


def _key(target: Target) -> tuple[str, str]:
    return target.kind, target.id


def _mailbox_subject(found: resolve.Resolved) -> _Subject:
    """A mailbox; for a person's mailbox also the person, whom role changes are kept under
    (by systemuserid, the mailbox's regarding object)."""
    row = found.mailbox
    keys = [_key(mailbox_target(row, found.label))]
    if row.regarding_id is not None and not row.is_queue_mailbox:
        person = principal_target(PrincipalKind.USER, row.regarding_id, found.label)
        keys.append(_key(person))
    return _Subject(MAILBOX, found.label, tuple(keys))


def _profile_subject(profile: ServerProfile) -> _Subject:
    """A server profile: its id, and its name, which stood in for the id while it did not
    exist (a refused or failed creation)."""
    target = profile_target(profile)
    keys = [_key(target)]
    if profile.name:
        keys.append(_key(new_profile_target(profile.name)))
    return _Subject(target.kind, target.display, tuple(keys))


def _organization_subject(settings: OrgEmailSettings) -> _Subject:
    target = organization_target(settings)
    return _Subject(target.kind, target.display, (_key(target),))


_MISSED: Final = (NothingMatchedError, AmbiguousError)


async def _named_subject(ctx: Ctx, store: Store, text: str) -> _Subject:
    """What `text` names: a mailbox (a person's, a queue's, or its own), a server profile,
    or, when Dataverse knows neither, a target the log keeps under that key.

    Raises:
        AmbiguousError: it names more than one thing, of one kind or of both; the pick comes
            back as the record's id, which names only one.
        NothingMatchedError: it names nothing, with the names close to it of both kinds.
    """
    command_text = ctx.turn.text
    # Both kinds at once, each finding one, several or none: weighed together below (not
    # `both`, which raises the first of those). Any other failure is raised.
    mailbox, profile = await asyncio.gather(
        resolve.mailbox(ctx, text, command_text=command_text),
        resolve.profile(ctx, text, command_text=command_text),
        return_exceptions=True,
    )
    for outcome in (mailbox, profile):
        if isinstance(outcome, BaseException) and not isinstance(outcome, _MISSED):
            raise outcome
    found: list[_Subject] = []
    matches: list[Match] = []
    if isinstance(mailbox, resolve.Resolved):
        found.append(_mailbox_subject(mailbox))
        row = mailbox.mailbox
        detail = mailbox.owner_upn or row.email_address
        matches.append(Match(mailbox.owner_kind, str(row.id), mailbox.label, detail))
    elif isinstance(mailbox, AmbiguousError):
        matches.extend(mailbox.matches)
    # A profile's match says what it is: on one card with people, a name alone could be
    # either.
    kind = target_kind_label(ctx.strings, TargetKind.PROFILE)
    if isinstance(profile, ServerProfile):
        found.append(_profile_subject(profile))
        matches.append(Match("profile", str(profile.id), found[-1].label, kind))
    elif isinstance(profile, AmbiguousError):
        matches.extend(replace(m, detail=m.detail or kind) for m in profile.matches)
    # One thing, found without asking. A mailbox found by a mere prefix is a choice of one
    # (as for every command), and a name that is a person's and a profile's is asked about.
    if len(matches) == 1 and found:
        return found[0]
    if matches:
        raise AmbiguousError(text, matches, command_text)
    logged = await _logged_subject(ctx, store, text)
    if logged is not None:
        return logged
    suggestions = [
        *(mailbox.suggestions if isinstance(mailbox, NothingMatchedError) else ()),
        *(profile.suggestions if isinstance(profile, NothingMatchedError) else ()),
    ]
    raise NothingMatchedError(text, list(dict.fromkeys(suggestions)), command_text=command_text)


async def _logged_subject(ctx: Ctx, store: Store, text: str) -> _Subject | None:
    """A target only the log still knows: a profile asked for but never created (kept under
    its name), or anything by its id once Dataverse no longer has it."""
    key = text.strip()
    with suppress(InvalidInput):
        key = str(parse_guid(key))  # ids are kept in their lower-case form
    keys = tuple((kind.value, key) for kind in TargetKind)
    newest = await store.audit.about(keys, limit=1, environment=ctx.env.name)
    if not newest or newest[0].target is None:
        return None
    target = newest[0].target
    return _Subject(target.kind, target.display, keys)


async def _subject(ctx: Ctx, store: Store, command: Audit) -> _Subject | None:
    if command.organization:
        return _organization_subject(await ctx.env.org_settings())
    if command.target is None:
        return None
    return await _named_subject(ctx, store, command.target)


async def show_audit(ctx: Ctx, command: Audit) -> Card:
    """Audit entries about one mailbox or person, server profile or the organization, or
    the newest ones in the environment."""
    store = ctx.services.store
    if store is None:
        return approvals_unavailable(ctx.strings, environment=ctx.env.name)
    actor, _ = await ctx.facts()
    if not may_read_audit(actor):
        return audit_not_allowed(ctx.strings, environment=ctx.env.name)
    limit = command.limit or DEFAULT_LIMIT
    subject = await _subject(ctx, store, command)
    if subject is None:
        entries = await store.audit.latest(limit, environment=ctx.env.name)
    else:
        entries = await store.audit.about(subject.keys, limit=limit, environment=ctx.env.name)
    names = await _names(store, entries)
    profiles = await _profile_names(ctx)
    return audit_log(
        ctx.strings,
        [audit_line(e, names, profiles) for e in entries],
        environment=ctx.env.name,
        subject=subject.label if subject else None,
        subject_kind=subject.kind if subject else MAILBOX,
    )


# ---- undo ----------------------------------------------------------------------------------


def undo_actions(before: Mapping[str, Any]) -> list[Action]:
    """The permission each restored column needs, as the command that sets it would.

    Putting an approval value back is judged as approving (to Approved) or rejecting (to
    anything else: taking an approval back needs the authority to refuse it).
    """
    actions: list[Action] = []
    if APPROVAL in before:
        approved = before[APPROVAL] == 1
        actions.append(Action.APPROVE_EMAIL if approved else Action.REJECT_EMAIL)
    if any(k in before for k in (INCOMING, OUTGOING, ACT, PROFILE)):
        actions.append(Action.CHANGE_MAILBOX_DELIVERY)
    if ORG_ONLY in before:
        actions.append(Action.SET_SYNC_FROM_THIS_ORG_ONLY)
    return actions


def _restorable(before: Mapping[str, Any]) -> bool:
    # A server profile can be bound again, not unbound through a PATCH (that takes a
    # DELETE of the reference): an empty one is left to the admin UI.
    known = set(_MAILBOX_FIELDS)
    return bool(before) and set(before) <= known and before.get(PROFILE, "") is not None


def _bodies(before: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The PATCH bodies that put `before` back: the approval travels alone (a PATCH with
    other columns may leave the address unapproved, reference §4.2)."""
    bodies: list[dict[str, Any]] = []
    if APPROVAL in before:
        bodies.append({APPROVAL: before[APPROVAL]})
    rest: dict[str, Any] = {}
    for key in (INCOMING, OUTGOING, ACT, ORG_ONLY):
        if key in before:
            rest[key] = before[key]
    if PROFILE in before:
        rest["emailserverprofile@odata.bind"] = f"/emailserverprofiles({before[PROFILE]})"
    if rest:
        bodies.append(rest)
    return bodies


async def undo_last(ctx: Ctx, command: Undo) -> Card:
    """Restore the before-values of the last undoable change to a mailbox."""
    store = ctx.services.store
    if store is None:
        return approvals_unavailable(ctx.strings, environment=ctx.env.name)
    found = await resolve.mailbox(ctx, command.target, command_text=ctx.turn.text)
    row = found.mailbox
    env = ctx.env.name

    def answer(outcome: UndoOutcome, entry_id: int | None, changes: list[FieldChange]) -> Card:
        return undo_result(
            ctx.strings,
            outcome,
            target=found.label,
            environment=env,
            changes=changes,
            entry_id=entry_id,
        )

    entry = await store.audit.last_undoable(str(row.id), kind=MAILBOX)
    if entry is None or entry.environment not in (None, env) or not entry.after:
        return answer(UndoOutcome.NOTHING, None, [])
    profiles = await _profile_names(ctx)
    before, after = entry.before or {}, entry.after
    target = mailbox_target(row, found.label)
    current = snapshot(row)
    if any(current.get(k) != v for k, v in after.items()):
        await _undo_entry(ctx, store, entry, AuditResult.FAILED, target, detail="changed since")
        now = {k: current.get(k) for k in after}
        return answer(UndoOutcome.CHANGED_SINCE, entry.id, field_changes(after, now, profiles))
    if not _restorable(before):
        return answer(UndoOutcome.NOT_RESTORABLE, entry.id, [])
    mailbox = await access.mailbox_target(ctx, row)
    actor, environment = await ctx.facts()
    for action in undo_actions(before):
        decision = decide(action, actor, environment, mailbox)
        if not decision.allowed:
            detail = f"rule {decision.rule.id}"
            await _undo_entry(ctx, store, entry, AuditResult.DENIED, target, detail=detail)
            raise DeniedError(action, decision, target=found.label, target_id=str(row.id))
    restored = await _write_back(ctx, store, entry, row, target)
    if restored is None:
        return answer(UndoOutcome.NOT_RESTORABLE, entry.id, [])
    now_before, now_after = changed(current, snapshot(restored))
    try:
        await store.audit.append(
            actor=actor_of(ctx),
            action=AuditAction.UNDO,
            result=AuditResult.OK,
            target=target,
            environment=env,
            before=now_before or {k: current.get(k) for k in before},
            after=now_after or dict(before),
            detail=f"undoes {entry.action}",
            correlation_id=ctx.turn.correlation_id or None,
            approval_request_id=None,
            undoes=entry.id,
        )
    except AlreadyUndone:
        return answer(UndoOutcome.ALREADY_UNDONE, entry.id, [])
    return answer(UndoOutcome.DONE, entry.id, field_changes(after, before, profiles))


async def _undo_entry(
    ctx: Ctx,
    store: Store,
    entry: AuditEntry,
    result: AuditResult,
    target: Target,
    *,
    detail: str,
) -> None:
    """An undo that did not restore anything, noted against the entry it tried to undo."""
    try:
        await store.audit.append(
            actor=actor_of(ctx),
            action=AuditAction.UNDO,
            result=result,
            target=target,
            environment=ctx.env.name,
            detail=detail,
            correlation_id=ctx.turn.correlation_id or None,
            undoes=entry.id,
        )
    except Exception:  # as in `record`: the answer matters more than the note
        log.exception("could not write the audit entry of turn %s", ctx.turn.correlation_id)


async def _write_back(
    ctx: Ctx, store: Store, entry: AuditEntry, row: Mailbox, target: Target
) -> Mailbox | None:
    """Write the before-values as the caller; the row read back, or None if they did not
    take. A Dataverse error is audited and raised (the router answers it)."""
    dv = ctx.env.dataverse
    caller = dv if ctx.acting_for is None else dv.acting_for(ctx.acting_for)
    before = entry.before or {}
    etag = row.etag or "*"
    try:
        for body in _bodies(before):
            await caller.update_row(Mailbox, row.id, body, etag=etag)
            etag = "*"  # the first write moved the row's version on; it was ours
        restored = await dv.get_mailbox(row.id)
    except DataverseError as exc:
        await _undo_entry(ctx, store, entry, AuditResult.FAILED, target, detail=type(exc).__name__)
        raise
    now = snapshot(restored)
    if any(now.get(k) != v for k, v in before.items()):
        await _undo_entry(ctx, store, entry, AuditResult.FAILED, target, detail="not applied")
        return None
    return restored


def register(router: Router) -> None:
    """The audit log and undo."""

    @router.command(CommandKind.AUDIT)
    async def audit(ctx: Ctx, command: Audit) -> Card:
        """Show the audit log: the changes made to one mailbox (and to its person's roles),
        server profile or the organization's email settings, or the newest entries. For
        System Administrators and people who may read every mailbox."""
        return await show_audit(ctx, command)

    @router.command(CommandKind.UNDO)
    async def undo(ctx: Ctx, command: Undo) -> Card:
        """Undo the last change MailOps made to a mailbox, if nothing changed it since and
        you may make that change yourself."""
        return await undo_last(ctx, command)
