"""Approve and reject email addresses of user and queue mailboxes (reference §4; the seed's
"Setujui email" and "Menyetujui kotak pesan secara terprogram").

Which row is written: the **mailbox** (`mailboxes(<id>)`), never the systemuser or queue.
The docs do not say which row an external app should write (reference §4.2, §12.4); both
are seen in the field. The mailbox is chosen because it is the one row that exists for
users and queues alike (one code path, one `$batch` shape); it is what the modern "Approve
Email" dialog works on (S38); it carries the approval's own columns
(`isemailaddressapprovedbyo365admin`, `emailaddressapprovedby`, `…approvedon`), so a re-read
of the same row verifies it; and the mailbox id is what every other operation here takes.

Rules kept from the seed:
- `emailrouteraccessapproval` travels alone in its PATCH: "if the request includes
  additional attributes, the row's address may not be approved".
- An address already approved (or rejected) is not written again: it is skipped.
- Success is reported only after reading the row back shows the new value; otherwise the
  item fails with `ApprovalNotApplied` (a `NotApplied`): a community report says an app
  identity's approval answers success and silently does not apply (reference §4.3, S43).
- A refusal by the permission table arrives as `EmailApprovalDenied`: the documented
  0x8009000B, or the field's 0x80040256 / "should be a global administrator to approve
  mailbox" (reference §4.3, S40–S42; recognised in `dataverse.ops.errors`).
Either way `is_approval_refusal(item.error)` is true: an approval refused, not a failure
of some other kind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from dataverse.client import DataverseClient
from dataverse.errors import InvalidInput
from dataverse.models import EmailApproval, Mailbox
from dataverse.ops._bulk import (
    DEFAULT_OPTIONS,
    BulkOptions,
    Caller,
    MailboxTarget,
    Plan,
    as_caller,
    update_mailboxes,
)
from dataverse.ops.errors import ApprovalNotApplied, NotApplied
from dataverse.ops.results import BulkResult, ItemResult

APPROVAL_COLUMN: Final = "emailrouteraccessapproval"
_ALREADY: Final = {
    EmailApproval.APPROVED: "already approved",
    EmailApproval.REJECTED: "already rejected",
}


async def set_approval_many(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    value: EmailApproval,
    *,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Approve or reject many mailboxes' addresses: one `ItemResult` per target.

    Args:
        client: the Dataverse client.
        targets: mailbox ids, or mailbox rows already read (their ETag must still hold).
        value: `EmailApproval.APPROVED` or `EmailApproval.REJECTED`.
        acting_for: the Entra object id of the person the writes run as (`CallerObjectId`).
        options: batching and throttling.
    """
    try:
        value = EmailApproval(value)
    except ValueError as exc:
        msg = f"not an approval value: {value!r}"
        raise InvalidInput(msg) from exc
    if value not in _ALREADY:
        msg = "an address can be approved or rejected; other values are not an approval"
        raise InvalidInput(msg)

    def plan(row: Mailbox) -> Plan:
        if row.approval == value:
            return Plan(skip=_ALREADY[value])
        return Plan(changes={APPROVAL_COLUMN: int(value)})

    results = await update_mailboxes(
        as_caller(client, acting_for), targets, plan, options, verify=True
    )
    return BulkResult(tuple(_silent_refusal(item) for item in results))


def _silent_refusal(item: ItemResult) -> ItemResult:
    """The read-back found the approval not applied: that is a refusal (S43), say so."""
    error = item.error
    if type(error) is not NotApplied or error.column != APPROVAL_COLUMN:
        return item
    refused = ApprovalNotApplied(error.mailbox_id, error.column, error.wanted, error.found)
    refused.__cause__ = error
    return replace(item, error=refused)


async def approve_many(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    *,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Approve the email addresses of many mailboxes (users' or queues')."""
    return await set_approval_many(
        client, targets, EmailApproval.APPROVED, acting_for=acting_for, options=options
    )


async def reject_many(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    *,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Reject the email addresses of many mailboxes."""
    return await set_approval_many(
        client, targets, EmailApproval.REJECTED, acting_for=acting_for, options=options
    )


async def approve(
    client: DataverseClient, target: MailboxTarget, *, acting_for: Caller = None
) -> ItemResult:
    """Approve one mailbox's address: a read, then one `$batch` holding the write and its
    verification (two round trips)."""
    return (await approve_many(client, [target], acting_for=acting_for))[0]


async def reject(
    client: DataverseClient, target: MailboxTarget, *, acting_for: Caller = None
) -> ItemResult:
    """Reject one mailbox's address."""
    return (await reject_many(client, [target], acting_for=acting_for))[0]
