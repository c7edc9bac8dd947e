"""Typed names to Dataverse rows: people, queues and their mailboxes; server profiles.

One round trip for a mailbox: people, queues and mailboxes are queried at the same time,
and the mailbox rows come back in the same answer, so the write can follow at once. Text
only ever reaches Dataverse as an escaped OData literal (`dataverse.odata`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from dataverse.concurrent import both, every, three
from dataverse.errors import InvalidInput, NotFound
from dataverse.models import Alert, Mailbox, Queue, ServerProfile, SystemUser
from dataverse.odata import Query, asc, col, parse_guid
from dataverse.ops.search import rank
from dialogs.context import Ctx
from dialogs.errors import AmbiguousError, Match, NothingMatchedError

_LIMIT = 10


@dataclass(frozen=True)
class Resolved:
    """A mailbox and what it belongs to."""

    mailbox: Mailbox
    label: str  # the person's or queue's name, as people call it
    owner_kind: str  # person | queue | mailbox
    owner_upn: str | None  # a person's UPN (self-approval compares it with the address)
    # The mailbox's latest alerts, newest first, when they were asked for and came with the
    # row; None when they still have to be read.
    alerts: tuple[Alert, ...] | None = None


def _as_id(text: str) -> uuid.UUID | None:
    try:
        return parse_guid(text)
    except InvalidInput:
        return None


async def mailbox(ctx: Ctx, text: str, *, command_text: str, alerts: int = 0) -> Resolved:
    """The one mailbox `text` names; raises NothingMatchedError or AmbiguousError.

    With `alerts`, the mailbox query also brings each row's latest alerts (one request, not
    a second one after this): `Resolved.alerts` has them when the row came from that query.
    """
    dv = ctx.env.dataverse
    as_id = _as_id(text)
    if as_id is not None:
        try:
            row = await dv.get_mailbox(as_id)
        except NotFound:
            raise NothingMatchedError(text, command_text=command_text) from None
        return Resolved(row, row.name or row.email_address or str(row.id), "mailbox", None)
    name = text.strip()
    people_q = Query(
        filter=(
            col("fullname").startswith(name)
            | col("domainname").startswith(name)
            | col("internalemailaddress").startswith(name)
        )
        & col("isdisabled").eq(False)
        & col("applicationid").is_null(),
        orderby=(asc("fullname"),),
    )
    queues_q = Query(
        filter=col("name").startswith(name) | col("emailaddress").startswith(name),
        orderby=(asc("name"),),
    )
    mailboxes_q = Query(
        filter=(col("emailaddress").startswith(name) | col("name").startswith(name))
        & col("statecode").eq(0),
        orderby=(asc("name"),),
    )
    mailboxes_read: Awaitable[Sequence[tuple[Mailbox, tuple[Alert, ...] | None]]] = (
        dv.mailboxes_with_alerts(mailboxes_q, alerts=alerts, limit=_LIMIT)
        if alerts
        else _without_alerts(dv.list_rows(Mailbox, mailboxes_q, limit=_LIMIT))
    )
    people, queues, with_alerts = await three(
        dv.list_rows(SystemUser, people_q, limit=_LIMIT),
        dv.list_rows(Queue, queues_q, limit=_LIMIT),
        mailboxes_read,
    )
    boxes = [m for m, _ in with_alerts]
    rows = {m.id: m for m in boxes}
    alerts_of = {m.id: a for m, a in with_alerts if a is not None}
    found: list[tuple[int, Match, str | None]] = []
    owners: set[uuid.UUID] = set()
    for p in people:
        if p.default_mailbox_id is None:
            continue
        owners.add(p.id)
        label = p.full_name or p.domain_name or str(p.id)
        match = Match("person", str(p.default_mailbox_id), label, p.domain_name)
        found.append((rank(name, [p.full_name], [p.domain_name, p.email]), match, p.domain_name))
    for q in queues:
        if q.default_mailbox_id is None:
            continue
        owners.add(q.id)
        label = q.name or q.email_address or str(q.id)
        match = Match("queue", str(q.default_mailbox_id), label, q.email_address)
        found.append((rank(name, [q.name], [q.email_address]), match, None))
    for m in boxes:
        if m.regarding_id in owners:
            continue
        label = m.name or m.email_address or str(m.id)
        match = Match("mailbox", str(m.id), label, m.email_address)
        found.append((rank(name, [m.name], [m.email_address]), match, None))
    if not found:
        raise NothingMatchedError(text, await _suggestions(ctx, name), command_text=command_text)
    found.sort(key=lambda f: (f[0], f[1].label.casefold()))
    best_rank = found[0][0]
    best = [f for f in found if f[0] == best_rank]
    # Acting on a mailbox needs an exact match; a mere prefix is confirmed by a choice,
    # even when it is the only one ("approve a" must not approve Alice unasked).
    if best_rank == 2 or len(best) > 1:
        raise AmbiguousError(text, [f[1] for f in found], command_text)
    _, match, upn = found[0]
    mailbox_id = uuid.UUID(match.id)
    row = rows.get(mailbox_id) or await dv.get_mailbox(mailbox_id)
    return Resolved(row, match.label, match.kind, upn, alerts_of.get(mailbox_id))


async def _without_alerts(
    rows: Awaitable[list[Mailbox]],
) -> list[tuple[Mailbox, tuple[Alert, ...] | None]]:
    return [(m, None) for m in await rows]


async def mailboxes(ctx: Ctx, texts: Sequence[str], *, command_text: str) -> list[Resolved]:
    """Each name resolved at the same time; the first problem is raised."""
    return await every(mailbox(ctx, t, command_text=command_text) for t in texts)


async def _suggestions(ctx: Ctx, text: str) -> list[str]:
    """Names close to `text` for "did you mean": people and queues by similarity."""
    first = text[:1]
    if not first:
        return []
    people, queues = await both(
        ctx.env.dataverse.list_rows(
            SystemUser,
            Query(
                select=("fullname", "domainname"),
                filter=col("applicationid").is_null() & col("isdisabled").eq(False),
            ),
            limit=500,
        ),
        ctx.env.dataverse.list_rows(Queue, Query(select=("name", "emailaddress")), limit=200),
    )
    names = [p.domain_name.split("@", 1)[0] for p in people if p.domain_name]
    names += [p.full_name for p in people if p.full_name]
    names += [q.name for q in queues if q.name]
    picked = process.extract(text, names, scorer=fuzz.WRatio, limit=3, score_cutoff=70)
    return [name for name, _, _ in picked]


async def profile(ctx: Ctx, text: str, *, command_text: str) -> ServerProfile:
    """The server profile `text` names (id, exact name, or a unique prefix)."""
    profiles = await ctx.env.profiles()
    as_id = _as_id(text)
    if as_id is not None:
        if as_id in profiles:
            return profiles[as_id]
        raise NothingMatchedError(text, command_text=command_text)
    wanted = text.strip().casefold()
    exact = [p for p in profiles.values() if (p.name or "").casefold() == wanted]
    if len(exact) == 1:
        return exact[0]
    prefix = [p for p in profiles.values() if (p.name or "").casefold().startswith(wanted)]
    if len(prefix) == 1:
        return prefix[0]
    if prefix:
        matches = [Match("profile", str(p.id), p.name or str(p.id)) for p in prefix]
        raise AmbiguousError(text, matches, command_text)
    names = [p.name for p in profiles.values() if p.name]
    close = process.extract(text, names, scorer=fuzz.WRatio, limit=3, score_cutoff=60)
    raise NothingMatchedError(text, [name for name, _, _ in close], command_text=command_text)
