"""A mailbox's synchronization settings: delivery methods, server profile, the org's
default settings, and "sync items with Exchange from this org only" (reference §1, §5.1;
the seed's "Konfigurasikan kotak pesan").

Every change is one PATCH per mailbox with the row's ETag, through the bulk engine; a
mailbox that already has the asked-for values is skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from dataverse.client import DataverseClient
from dataverse.errors import InvalidInput
from dataverse.models import (
    ActDelivery,
    IncomingDelivery,
    Mailbox,
    OutgoingDelivery,
    ServerProfile,
)
from dataverse.odata import parse_guid
from dataverse.ops._bulk import (
    DEFAULT_OPTIONS,
    BulkOptions,
    Caller,
    MailboxTarget,
    Plan,
    as_caller,
    shows,
    update_mailboxes,
)
from dataverse.ops.errors import MissingDefault
from dataverse.ops.results import BulkResult
from dataverse.ops.testing import DEFAULT_POLLING, Polling, follow_tests, schedule_plan

INCOMING: Final = "incomingemaildeliverymethod"
OUTGOING: Final = "outgoingemaildeliverymethod"
ACT: Final = "actdeliverymethod"
PROFILE_BIND: Final = "emailserverprofile@odata.bind"
# The admin UI's "Sync items with Exchange from this org only, even if Exchange was set to
# sync with a different org" is taken to be this column. Unconfirmed (reference §1.1 note,
# §12.9): inferred from the column's description and from Microsoft.Xrm.Data.PowerShell's
# `Set-CrmUserMailbox -MarkedAsPrimaryForExchangeSync` (S30, S31). This is the only place
# that names it.
ORG_PRIMARY_COLUMN: Final = "orgmarkedasprimaryforexchangesync"


def profile_bind(profile_id: uuid.UUID) -> str:
    return f"/{ServerProfile.entity_set}({profile_id})"


def delivery_changes(
    incoming: IncomingDelivery | int | None,
    outgoing: OutgoingDelivery | int | None,
    act: ActDelivery | int | None,
) -> dict[str, Any]:
    """The delivery-method columns to write (validated against the option sets, §1.2)."""
    changes: dict[str, Any] = {}
    for column, kind, value in (
        (INCOMING, IncomingDelivery, incoming),
        (OUTGOING, OutgoingDelivery, outgoing),
        (ACT, ActDelivery, act),
    ):
        if value is None:
            continue
        try:
            changes[column] = int(kind(value))
        except (ValueError, TypeError) as exc:
            msg = f"{value!r} is not a {kind.__name__} value"
            raise InvalidInput(msg) from exc
    return changes


async def _write(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    changes: dict[str, Any],
    already: str,
    *,
    acting_for: Caller,
    options: BulkOptions,
) -> BulkResult:
    if not changes:
        msg = "nothing to change"
        raise InvalidInput(msg)

    def plan(row: Mailbox) -> Plan:
        return Plan(skip=already) if shows(row, changes) else Plan(changes=changes)

    return await update_mailboxes(as_caller(client, acting_for), targets, plan, options)


async def set_delivery_methods(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    *,
    incoming: IncomingDelivery | int | None = None,
    outgoing: OutgoingDelivery | int | None = None,
    act: ActDelivery | int | None = None,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Set the incoming, outgoing and appointments/contacts/tasks delivery methods."""
    changes = delivery_changes(incoming, outgoing, act)
    return await _write(
        client,
        targets,
        changes,
        "already has these delivery methods",
        acting_for=acting_for,
        options=options,
    )


async def _existing_profile(client: DataverseClient, profile_id: str | uuid.UUID) -> uuid.UUID:
    key = parse_guid(profile_id)
    await client.get_row(ServerProfile, key, select=["emailserverprofileid"])  # 404 if absent
    return key


async def set_server_profile(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    profile_id: str | uuid.UUID,
    *,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Point mailboxes at a server profile (`emailserverprofile@odata.bind`).

    The profile is read first: an unknown one raises `NotFound` before anything is written.
    """
    caller = as_caller(client, acting_for)
    key = await _existing_profile(caller, profile_id)
    return await _write(
        caller,
        targets,
        {PROFILE_BIND: profile_bind(key)},
        "already uses this profile",
        acting_for=None,
        options=options,
    )


async def set_org_primary_sync(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    enabled: bool = True,
    *,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Set "Sync items with Exchange from this org only" on mailboxes."""
    if not isinstance(enabled, bool):
        msg = "enabled must be true or false"
        raise InvalidInput(msg)
    return await _write(
        client,
        targets,
        {ORG_PRIMARY_COLUMN: enabled},
        "already set" if enabled else "already clear",
        acting_for=acting_for,
        options=options,
    )


async def default_settings(client: DataverseClient) -> dict[str, Any]:
    """The organization's defaults as mailbox columns: profile and delivery methods (§3).

    Raises `MissingDefault` when the organization has no default profile.
    """
    org = await client.org_email_settings()
    if org.default_profile_id is None:
        msg = "the organization has no default email server profile"
        raise MissingDefault(msg)
    changes: dict[str, Any] = {PROFILE_BIND: profile_bind(org.default_profile_id)}
    methods = org.default_email_settings
    if methods is not None:
        for column, value in (
            (INCOMING, methods.incoming),
            (OUTGOING, methods.outgoing),
            (ACT, methods.act),
        ):
            if value is not None:
                changes[column] = int(value)
    return changes


async def apply_default_settings(
    client: DataverseClient,
    targets: Sequence[MailboxTarget],
    *,
    test: bool = True,
    wait: bool = False,
    polling: Polling = DEFAULT_POLLING,
    acting_for: Caller = None,
    options: BulkOptions = DEFAULT_OPTIONS,
) -> BulkResult:
    """Apply the organization's default email settings to mailboxes (the seed's
    "Terapkan pengaturan E-mail Default"): the default profile and delivery methods.

    As in the seed, the mailbox is tested by default: the settings and
    `testemailconfigurationscheduled` go in the same PATCH, so the test sees them. With
    `test=False` only the settings are written; with `wait` the test results are awaited.
    """
    caller = as_caller(client, acting_for)
    settings = await default_settings(caller)
    before: dict[uuid.UUID, datetime | None] = {}

    def plan(row: Mailbox) -> Plan:
        before[row.id] = row.test_completed_on
        in_place = shows(row, settings)
        if not test:
            return (
                Plan(skip="already has the default settings")
                if in_place
                else Plan(changes=settings)
            )
        if in_place and row.test_scheduled:
            return Plan(skip="already has the default settings; a test is already scheduled")
        return schedule_plan(row, settings)

    applied = await update_mailboxes(caller, targets, plan, options)
    if not test:
        return applied
    return await follow_tests(caller, applied, before, wait=wait, polling=polling, options=options)
