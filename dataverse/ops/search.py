"""Finding mailboxes: typed filters, and free text resolved to people, queues and mailboxes.

Every piece of text becomes an OData string literal through `dataverse.odata` (quotes
doubled), so a name such as `O'Brien` works and `alice' or 1 eq 1` is only a strange name.
Searches by person or queue go through their own tables first (display name, UPN, queue
name), then to the mailboxes whose regarding row is one of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from dataverse.client import DataverseClient
from dataverse.concurrent import three
from dataverse.errors import InvalidInput
from dataverse.models import Alert, EmailApproval, Mailbox, Queue, SystemUser, TestStatus
from dataverse.odata import Predicate, Query, all_of, any_of, asc, col, parse_guid
from dataverse.ops._bulk import Caller, as_caller

MAX_TEXT: Final = 256
OWNERS_PER_QUERY: Final = 50
DEFAULT_LIMIT: Final = 100


def _text(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        msg = f"{what} must be text"
        raise InvalidInput(msg)
    text = value.strip()
    if not text:
        msg = f"{what} is empty"
        raise InvalidInput(msg)
    if len(text) > MAX_TEXT or any(c in text for c in "\x00\r\n"):
        msg = f"{what} is not a usable search text"
        raise InvalidInput(msg)
    return text


@dataclass(frozen=True)
class MailboxFilter:
    """Which mailboxes to find; every given field must match (prefix searches ignore case).

    Attributes:
        person: the start of the owner's display name (`systemuser.fullname`).
        upn: the start of the owner's UPN (`systemuser.domainname`).
        queue: the start of the owning queue's name, or its address.
        email: the start of the mailbox's own address.
        name: the start of the mailbox's name.
        approval: the address's approval state.
        test_status: the overall result of the last test (`mailboxstatus`).
        profile_id: the server profile.
        include_inactive: also inactive mailboxes (statecode 1).
    """

    person: str | None = None
    upn: str | None = None
    queue: str | None = None
    email: str | None = None
    name: str | None = None
    approval: EmailApproval | int | None = None
    test_status: TestStatus | int | None = None
    profile_id: str | uuid.UUID | None = None
    include_inactive: bool = False

    def mailbox_predicate(self) -> Predicate | None:
        """The part of the filter that is about mailbox columns (validated)."""
        terms: list[Predicate] = []
        email = _text(self.email, "email")
        if email is not None:
            terms.append(col("emailaddress").startswith(email))
        name = _text(self.name, "name")
        if name is not None:
            terms.append(col("name").startswith(name))
        if self.approval is not None:
            terms.append(
                col("emailrouteraccessapproval").eq(int(_enum(EmailApproval, self.approval)))
            )
        if self.test_status is not None:
            terms.append(col("mailboxstatus").eq(int(_enum(TestStatus, self.test_status))))
        if self.profile_id is not None:
            terms.append(col("_emailserverprofile_value").eq(parse_guid(self.profile_id)))
        if not self.include_inactive:
            terms.append(col("statecode").eq(0))
        return all_of(terms)

    def owner_kind(self) -> Literal["person", "queue"] | None:
        person = _text(self.person, "person") is not None or _text(self.upn, "upn") is not None
        queue = _text(self.queue, "queue") is not None
        if person and queue:
            msg = "a mailbox belongs to a person or to a queue: filter by one of them"
            raise InvalidInput(msg)
        return "person" if person else ("queue" if queue else None)


def _enum(kind: type[EmailApproval] | type[TestStatus], value: object) -> int:
    try:
        return int(kind(value))  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        msg = f"not a {kind.__name__} value: {value!r}"
        raise InvalidInput(msg) from exc


async def _owner_ids(
    client: DataverseClient, where: MailboxFilter, kind: Literal["person", "queue"]
) -> list[uuid.UUID]:
    if kind == "person":
        terms = []
        person = _text(where.person, "person")
        upn = _text(where.upn, "upn")
        if person is not None:
            terms.append(col("fullname").startswith(person))
        if upn is not None:
            terms.append(col("domainname").startswith(upn))
        people = await client.list_rows(
            SystemUser,
            Query(select=("systemuserid",), filter=all_of(terms), orderby=(asc("fullname"),)),
        )
        return [p.id for p in people]
    queue = _text(where.queue, "queue")
    assert queue is not None
    queues = await client.list_rows(
        Queue,
        Query(
            select=("queueid",),
            filter=col("name").startswith(queue) | col("emailaddress").eq(queue),
            orderby=(asc("name"),),
        ),
    )
    return [q.id for q in queues]


async def find_mailboxes(
    client: DataverseClient,
    where: MailboxFilter,
    *,
    limit: int | None = DEFAULT_LIMIT,
    acting_for: Caller = None,
) -> list[Mailbox]:
    """Mailboxes matching `where`, ordered by name; at most `limit` (None: all of them)."""
    if limit is not None and (isinstance(limit, bool) or limit < 1):
        msg = "limit must be a positive number or None"
        raise InvalidInput(msg)
    caller = as_caller(client, acting_for)
    base = where.mailbox_predicate()
    kind = where.owner_kind()
    if kind is None:
        query = Query(filter=base, orderby=(asc("name"),))
        return await caller.list_rows(Mailbox, query, limit=limit)
    owners = await _owner_ids(caller, where, kind)
    found: list[Mailbox] = []
    for start in range(0, len(owners), OWNERS_PER_QUERY):
        group = owners[start : start + OWNERS_PER_QUERY]
        owned = col("_regardingobjectid_value").in_(group)
        query = Query(filter=owned if base is None else owned & base, orderby=(asc("name"),))
        left = None if limit is None else limit - len(found)
        found.extend(await caller.list_rows(Mailbox, query, limit=left))
        if limit is not None and len(found) >= limit:
            break
    return found


# ---- free text -------------------------------------------------------------------------

Kind = Literal["person", "queue", "mailbox"]


@dataclass(frozen=True)
class Candidate:
    """Something a free-text name may mean.

    `rank` 0: the text equals a name or address; 1: it equals the part of an address before
    the `@`; 2: a name or address starts with it. `mailbox` is the candidate's mailbox row
    when the mailbox query brought it (a person's or queue's mailbox whose name or address
    matched too, or a mailbox candidate itself), with its latest `alerts` when they were
    asked for; otherwise the mailbox still has to be read by `mailbox_id`.
    """

    kind: Kind
    id: uuid.UUID
    label: str
    email: str | None
    mailbox_id: uuid.UUID | None
    rank: int
    upn: str | None = None  # a person's UPN (`domainname`)
    mailbox: Mailbox | None = None
    alerts: tuple[Alert, ...] | None = None

    @property
    def exact(self) -> bool:
        return self.rank < 2


@dataclass(frozen=True)
class Resolution:
    """The candidates for a text, best first."""

    text: str
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        """The one candidate to use without asking, if there is one."""
        if len(self.candidates) == 1:
            return self.candidates[0]
        if not self.candidates:
            return None
        top = self.candidates[0].rank
        tied = [c for c in self.candidates if c.rank == top]
        return tied[0] if top < 2 and len(tied) == 1 else None


def rank(text: str, names: Sequence[str | None], addresses: Sequence[str | None]) -> int:
    """How well `text` names something: 0 a name or address equals it, 1 an address's part
    before the `@` does, 2 only a prefix matched (see `Candidate`)."""
    wanted = text.casefold()
    if any(n is not None and n.casefold() == wanted for n in (*names, *addresses)):
        return 0
    if any(a is not None and a.casefold().split("@", 1)[0] == wanted for a in addresses):
        return 1
    return 2


async def resolve(
    client: DataverseClient,
    text: str,
    *,
    limit_per_kind: int = 10,
    acting_for: Caller = None,
    alerts: int = 0,
) -> Resolution:
    """What `text` may name: people (display name, UPN, email), queues (name, address) and
    mailboxes (address, name); exact matches first, then prefix matches.

    One round trip: the three tables are queried at the same time. A person or queue and its
    own mailbox are one candidate (the person or the queue), which keeps the mailbox row
    when the mailbox query brought it. With `alerts`, that query also brings each mailbox's
    latest alerts, expanded in the same answer.
    """
    wanted = _text(text, "name")
    assert wanted is not None
    if isinstance(limit_per_kind, bool) or not 1 <= limit_per_kind <= 100:
        msg = "limit_per_kind must be 1..100"
        raise InvalidInput(msg)
    caller = as_caller(client, acting_for)
    people_q = Query(
        filter=any_of(
            [
                col("fullname").startswith(wanted),
                col("domainname").startswith(wanted),
                col("internalemailaddress").startswith(wanted),
            ]
        )
        & col("isdisabled").eq(False)
        & col("applicationid").is_null(),  # application users have no mailbox to act on
        orderby=(asc("fullname"),),
    )
    queues_q = Query(
        filter=col("name").startswith(wanted) | col("emailaddress").startswith(wanted),
        orderby=(asc("name"),),
    )
    mailboxes_q = Query(
        filter=(col("emailaddress").startswith(wanted) | col("name").startswith(wanted))
        & col("statecode").eq(0),
        orderby=(asc("name"),),
    )
    mailboxes_read: Awaitable[Sequence[tuple[Mailbox, tuple[Alert, ...] | None]]] = (
        caller.mailboxes_with_alerts(mailboxes_q, alerts=alerts, limit=limit_per_kind)
        if alerts
        else _without_alerts(caller.list_rows(Mailbox, mailboxes_q, limit=limit_per_kind))
    )
    people, queues, mailboxes = await three(
        caller.list_rows(SystemUser, people_q, limit=limit_per_kind),
        caller.list_rows(Queue, queues_q, limit=limit_per_kind),
        mailboxes_read,
    )
    read = {m.id: (m, a) for m, a in mailboxes}
    found: list[Candidate] = []
    owners: set[uuid.UUID] = set()

    def owned(mailbox_id: uuid.UUID | None) -> tuple[Mailbox | None, tuple[Alert, ...] | None]:
        return read.get(mailbox_id, (None, None)) if mailbox_id is not None else (None, None)

    for p in people:
        owners.add(p.id)
        row, row_alerts = owned(p.default_mailbox_id)
        found.append(
            Candidate(
                "person",
                p.id,
                p.full_name or p.domain_name or str(p.id),
                p.email or p.domain_name,
                p.default_mailbox_id,
                rank(wanted, [p.full_name], [p.domain_name, p.email]),
                p.domain_name,
                row,
                row_alerts,
            )
        )
    for q in queues:
        owners.add(q.id)
        row, row_alerts = owned(q.default_mailbox_id)
        found.append(
            Candidate(
                "queue",
                q.id,
                q.name or q.email_address or str(q.id),
                q.email_address,
                q.default_mailbox_id,
                rank(wanted, [q.name], [q.email_address]),
                None,
                row,
                row_alerts,
            )
        )
    for m, m_alerts in mailboxes:
        if m.regarding_id in owners:
            continue
        found.append(
            Candidate(
                "mailbox",
                m.id,
                m.name or m.email_address or str(m.id),
                m.email_address,
                m.id,
                rank(wanted, [m.name], [m.email_address]),
                None,
                m,
                m_alerts,
            )
        )
    # Ties keep people before queues before mailboxes, then the id: the same order each time.
    found.sort(key=lambda c: (c.rank, c.label.casefold(), _KIND_ORDER[c.kind], str(c.id)))
    return Resolution(wanted, tuple(found))


_KIND_ORDER: Final[dict[Kind, int]] = {"person": 0, "queue": 1, "mailbox": 2}


async def _without_alerts(
    rows: Awaitable[list[Mailbox]],
) -> list[tuple[Mailbox, tuple[Alert, ...] | None]]:
    return [(m, None) for m in await rows]
