"""Mailbox settings: apply the default email settings, delivery methods, server profile, and
"sync items with Exchange from this org only" (the seed's "Konfigurasikan kotak pesan").

Each handler reads top to bottom: resolve the names → the caller's live permission decision
→ the operation (as the caller, through CallerObjectId) → the card. One mailbox is changed at
once and answered with the result; several get a preview (current → new per mailbox) that
runs only after Confirm (`dialogs.bulk`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Final

from cards.common import Card
from cards.labels import Field, Operation
from cards.previews import Change
from cards.results import operation_result
from dataverse import ops
from dataverse.models import Mailbox, ServerProfile
from dataverse.ops.results import BulkResult
from dialogs import access, audit, bulk, resolve
from dialogs.bulk import Planner, Runner
from dialogs.commands import (
    ApplyDefaultSettings,
    CommandKind,
    DeliveryChannel,
    SetDeliveryMethods,
    SyncFromThisOrgOnly,
    UseProfile,
)
from dialogs.context import Ctx
from dialogs.outcomes import card_items
from dialogs.router import Router
from permissions import Action

# A chat turn waits at most this long in all for service protection (429 Retry-After);
# the operations' own default (15 minutes) suits background jobs, not a person waiting.
TURN_OPTIONS: Final = ops.BulkOptions(throttle_budget=30.0)

_DELIVERY_FIELDS: Final[Mapping[DeliveryChannel, Field]] = {
    DeliveryChannel.INCOMING: Field.INCOMING_DELIVERY,
    DeliveryChannel.OUTGOING: Field.OUTGOING_DELIVERY,
    DeliveryChannel.ACT: Field.ACT_DELIVERY,
}


def _option(value: int | None) -> int | None:
    return None if value is None else int(value)


def _delivery(row: Mailbox) -> dict[DeliveryChannel, int | None]:
    return {
        DeliveryChannel.INCOMING: _option(row.incoming_delivery),
        DeliveryChannel.OUTGOING: _option(row.outgoing_delivery),
        DeliveryChannel.ACT: _option(row.act_delivery),
    }


def _profile_name(
    profiles: Mapping[uuid.UUID, ServerProfile], key: uuid.UUID | None
) -> str | None:
    if key is None:
        return None
    profile = profiles.get(key)
    return profile.name if profile is not None and profile.name else str(key)


async def _single(ctx: Ctx, name: str, action: Action, runner: Runner) -> Card:
    """Change one mailbox now: the row just read is the write's precondition (its ETag)."""
    found = await resolve.mailbox(ctx, name, command_text=ctx.turn.text)
    target = await access.mailbox_target(ctx, found.mailbox)
    async with audit.denials(ctx, target=audit.mailbox_target(found.mailbox, found.label)):
        await access.check(
            ctx, action, target, target_label=found.label, target_id=found.mailbox.id
        )
    outcome = await runner(ctx, [found.mailbox])
    await audit.mailbox_results(ctx, action, [(found.label, found.mailbox)], outcome.items)
    return operation_result(
        ctx.strings,
        Operation(action.value),
        card_items([found.label], outcome.items),
        environment=ctx.env.name,
    )


async def _change(
    ctx: Ctx, names: Sequence[str], action: Action, planner: Planner, runner: Runner
) -> Card:
    if len(names) > 1:
        return await bulk.preview(
            ctx,
            names,
            operation=Operation(action.value),
            action=action,
            planner=planner,
            runner=runner,
        )
    return await _single(ctx, names[0], action, runner)


# ---- apply default email settings ----------------------------------------------------------


async def _apply_defaults(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
    # The seed: "Secara default, konfigurasi kotak pesan akan diuji": the settings and the
    # Test & Enable request go in one PATCH; the test result is not awaited here.
    return await ops.apply_default_settings(
        ctx.env.dataverse, list(rows), acting_for=ctx.acting_for, options=TURN_OPTIONS
    )


async def _defaults_planner(ctx: Ctx) -> Planner:
    """What applying the defaults changes on a row: the profile, the delivery methods that
    `defaultemailsettings` names, and a Test & Enable unless one is queued already."""
    org = await ctx.env.org_settings()
    profiles = await ctx.env.profiles()  # cached: no request when warm
    default_id = org.default_profile_id
    if default_id is None:
        msg = "the organization has no default email server profile"
        raise ops.MissingDefault(msg)
    methods = org.default_email_settings
    wanted: dict[DeliveryChannel, int | None] = {
        DeliveryChannel.INCOMING: _option(methods.incoming) if methods else None,
        DeliveryChannel.OUTGOING: _option(methods.outgoing) if methods else None,
        DeliveryChannel.ACT: _option(methods.act) if methods else None,
    }

    def planner(row: Mailbox) -> Sequence[Change] | None:
        changes: list[Change] = []
        if row.server_profile_id != default_id:
            current = _profile_name(profiles, row.server_profile_id)
            changes.append(
                Change(Field.SERVER_PROFILE, current, _profile_name(profiles, default_id))
            )
        now = _delivery(row)
        for channel, value in wanted.items():
            if value is not None and now[channel] != value:
                changes.append(Change(_DELIVERY_FIELDS[channel], now[channel], value))
        if not row.test_scheduled:
            changes.append(Change(Field.TEST_SCHEDULED, False, True))
        return changes or None

    return planner


# ---- delivery methods ----------------------------------------------------------------------


def _delivery_change(
    values: Mapping[DeliveryChannel, int],
) -> tuple[Planner, Runner]:
    def planner(row: Mailbox) -> Sequence[Change] | None:
        now = _delivery(row)
        changes = [
            Change(_DELIVERY_FIELDS[channel], now[channel], value)
            for channel, value in values.items()
            if now[channel] != value
        ]
        return changes or None

    async def runner(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        return await ops.set_delivery_methods(
            ctx.env.dataverse,
            list(rows),
            incoming=values.get(DeliveryChannel.INCOMING),
            outgoing=values.get(DeliveryChannel.OUTGOING),
            act=values.get(DeliveryChannel.ACT),
            acting_for=ctx.acting_for,
            options=TURN_OPTIONS,
        )

    return planner, runner


# ---- server profile ------------------------------------------------------------------------


async def _profile_change(ctx: Ctx, profile: ServerProfile) -> tuple[Planner, Runner]:
    profiles = await ctx.env.profiles()
    new_name = _profile_name(profiles, profile.id)

    def planner(row: Mailbox) -> Sequence[Change] | None:
        if row.server_profile_id == profile.id:
            return None
        current = _profile_name(profiles, row.server_profile_id)
        return [Change(Field.SERVER_PROFILE, current, new_name)]

    async def runner(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        return await ops.set_server_profile(
            ctx.env.dataverse,
            list(rows),
            profile.id,
            acting_for=ctx.acting_for,
            options=TURN_OPTIONS,
        )

    return planner, runner


# ---- sync items with Exchange from this org only -------------------------------------------


def _org_only_change(enabled: bool) -> tuple[Planner, Runner]:
    def planner(row: Mailbox) -> Sequence[Change] | None:
        if row.org_marked_primary == enabled:
            return None
        return [Change(Field.SYNC_FROM_THIS_ORG_ONLY, row.org_marked_primary, enabled)]

    async def runner(ctx: Ctx, rows: Sequence[Mailbox]) -> BulkResult:
        return await ops.set_org_primary_sync(
            ctx.env.dataverse,
            list(rows),
            enabled,
            acting_for=ctx.acting_for,
            options=TURN_OPTIONS,
        )

    return planner, runner


def register(router: Router) -> None:
    """The mailbox settings commands."""

    @router.command(CommandKind.APPLY_DEFAULT_SETTINGS)
    async def apply_default_settings(ctx: Ctx, command: ApplyDefaultSettings) -> Card:
        """Apply the default email settings (server profile and delivery methods) to
        mailboxes and test them, like "Apply Default Email Settings" in the admin UI."""
        action = Action.APPLY_DEFAULT_EMAIL_SETTINGS
        if len(command.targets) > 1:
            planner = await _defaults_planner(ctx)
            return await _change(ctx, command.targets, action, planner, _apply_defaults)
        return await _single(ctx, command.targets[0], action, _apply_defaults)

    @router.command(CommandKind.SET_DELIVERY_METHODS)
    async def set_delivery_methods(ctx: Ctx, command: SetDeliveryMethods) -> Card:
        """Set the incoming email, outgoing email, or appointments, contacts and tasks
        delivery method of mailboxes (server-side sync, Outlook, forward mailbox, none)."""
        planner, runner = _delivery_change(command.option_values())
        return await _change(ctx, command.targets, Action.CHANGE_MAILBOX_DELIVERY, planner, runner)

    @router.command(CommandKind.USE_PROFILE)
    async def use_profile(ctx: Ctx, command: UseProfile) -> Card:
        """Associate mailboxes with an email server profile."""
        profile = await resolve.profile(ctx, command.profile, command_text=ctx.turn.text)
        planner, runner = await _profile_change(ctx, profile)
        return await _change(ctx, command.targets, Action.CHANGE_MAILBOX_DELIVERY, planner, runner)

    @router.command(CommandKind.SYNC_FROM_THIS_ORG_ONLY)
    async def sync_from_this_org_only(ctx: Ctx, command: SyncFromThisOrgOnly) -> Card:
        """Tick (or clear) "Sync items with Exchange from this org only, even if Exchange was
        set to sync with a different org" on mailboxes."""
        planner, runner = _org_only_change(command.enabled)
        return await _change(
            ctx, command.targets, Action.SET_SYNC_FROM_THIS_ORG_ONLY, planner, runner
        )
