"""Lists of mailboxes: those whose address waits for approval, and those that are failing.

Both are read as the caller (CallerObjectId), so Dataverse shows only the rows the caller
may read; someone who reads at user depth only sees their own mailboxes (the permission
model says so too, `Flag.OWN_MAILBOXES_ONLY`, and the filter repeats it for the app's own
reads). Each row opens the mailbox's status card.

"pending approvals" lists the addresses Dataverse has as pending approval (reference §1.2)
and, below them, the routed approval requests (issue 5, `dialogs.approvals`) that the caller
may decide now.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from cards import verbs
from cards.common import Card
from cards.lists import ListKind, mailbox_list
from dataverse.models import SYNC_DIRECTIONS, EmailApproval, Mailbox, RowState, TestStatus
from dataverse.odata import Predicate, Query, any_of, asc, col
from dialogs import access, approvals
from dialogs.commands import CommandKind, FailingMailboxes, PendingApprovals
from dialogs.context import Ctx
from dialogs.router import Router
from permissions import Action, Flag

MAX_LISTED: Final = 1000
"""Rows read for one list; the card shows the first ones and "… and N more"."""
OPEN_BUTTONS_UP_TO: Final = 30
"""Longer lists go without "Open" buttons: the card's size guard does not count the
signature the router adds to every button (about 170 bytes a row), and 30 rows with
buttons stay under the 80 KB budget once signed."""

_COLUMNS: Final = (
    "mailboxid",
    "name",
    "emailaddress",
    "emailrouteraccessapproval",
    "mailboxstatus",
)
_ACTIVE: Final = col("statecode").eq(int(RowState.ACTIVE))

PENDING: Final = col("emailrouteraccessapproval").eq(int(EmailApproval.PENDING_APPROVAL)) & _ACTIVE

# Failing: the last test or sync failed in any direction (reference §1.2, §5.2), or server-side
# synchronization stopped processing a direction: the documented signal, a direction synced
# through it whose enabled-for switch is No (`SYNC_DIRECTIONS` in dataverse.models cites
# the sources). `processingstatecode` is not read: 1 means a host is syncing the mailbox now.
FAILING: Final = (
    any_of(
        [
            *(
                col(name).eq(int(TestStatus.FAILURE))
                for name in (
                    "mailboxstatus",
                    "incomingemailstatus",
                    "outgoingemailstatus",
                    "actstatus",
                )
            ),
            *(
                col(d.delivery_column).eq(d.server_side_sync) & col(d.enabled_column).eq(False)
                for d in SYNC_DIRECTIONS
            ),
        ]
    )
    & _ACTIVE
)


async def mailboxes(ctx: Ctx, kind: ListKind, where: Predicate) -> Card:
    """The active mailboxes matching `where` that the caller may see, by name."""
    decision = await access.check(ctx, Action.VIEW)
    if Flag.OWN_MAILBOXES_ONLY in decision.flags:
        actor, _ = await ctx.facts()
        owner = uuid.UUID(actor.systemuser_id) if actor.systemuser_id else None
        where = where & col("_ownerid_value").eq(owner)
    query = Query(select=_COLUMNS, filter=where, orderby=(asc("name"),), top=MAX_LISTED)
    rows = await ctx.env.dataverse.list_rows(Mailbox, query, as_caller=ctx.acting_for)
    return mailbox_list(
        ctx.strings,
        kind,
        rows,
        environment=ctx.env.name,
        open_buttons=len(rows) <= OPEN_BUTTONS_UP_TO,
    )


def register(router: Router) -> None:
    """The mailbox lists and the health summary's buttons that open them."""

    @router.command(CommandKind.PENDING_APPROVALS)
    async def pending_approvals(ctx: Ctx, command: PendingApprovals) -> Card:
        """Mailboxes whose email address is waiting for approval, each with a button to
        open it; and the approval requests you may decide, with Approve / Reject."""
        card = await mailboxes(ctx, ListKind.PENDING_APPROVALS, PENDING)
        # ---- issue 5: the routed approval requests this caller may decide (store) ----
        return await approvals.with_open_requests(ctx, card)

    @router.command(CommandKind.FAILING_MAILBOXES)
    async def failing_mailboxes(ctx: Ctx, command: FailingMailboxes) -> Card:
        """Mailboxes whose last test or synchronization failed, or that are disabled for
        processing."""
        return await mailboxes(ctx, ListKind.FAILING, FAILING)

    @router.action(verbs.LIST_PENDING_APPROVALS)
    async def pending_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        card = await mailboxes(ctx, ListKind.PENDING_APPROVALS, PENDING)
        return await approvals.with_open_requests(ctx, card)  # issue 5, as above

    @router.action(verbs.LIST_FAILING)
    async def failing_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await mailboxes(ctx, ListKind.FAILING, FAILING)
