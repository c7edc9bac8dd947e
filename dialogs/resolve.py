"""Typed names to Dataverse rows: people, queues and their mailboxes; server profiles.

One round trip for a mailbox: `dataverse.ops.search.resolve` queries people, queues and
mailboxes at the same time, and the mailbox rows come back in the same answer, so the write
can follow at once. Text only ever reaches Dataverse as an escaped OData literal
(`dataverse.odata`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from dataverse.concurrent import both, every
from dataverse.errors import InvalidInput, NotFound
from dataverse.models import Alert, Mailbox, Queue, ServerProfile, SystemUser
from dataverse.odata import Query, col, parse_guid
from dataverse.ops import search
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
    resolution = await search.resolve(dv, text, limit_per_kind=_LIMIT, alerts=alerts)
    found = [c for c in resolution.candidates if c.mailbox_id is not None]
    if not found:
        suggestions = await _suggestions(ctx, resolution.text)
        raise NothingMatchedError(text, suggestions, command_text=command_text)
    best = found[0]
    # Acting on a mailbox needs an exact match; a mere prefix is confirmed by a choice,
    # even when it is the only one ("approve a" must not approve Alice unasked).
    if best.rank == 2 or (len(found) > 1 and found[1].rank == best.rank):
        raise AmbiguousError(text, [_match(c) for c in found], command_text)
    assert best.mailbox_id is not None
    row = best.mailbox or await dv.get_mailbox(best.mailbox_id)
    return Resolved(row, best.label, best.kind, best.upn, best.alerts)


def _match(candidate: search.Candidate) -> Match:
    detail = candidate.upn if candidate.kind == "person" else candidate.email
    return Match(candidate.kind, str(candidate.mailbox_id), candidate.label, detail)


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
