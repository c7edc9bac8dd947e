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
from dialogs import access, audit, bulk, resolve, runs
from dialogs.bulk import Planner
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
from dialogs.runs import Run
from permissions import Action

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


async def _single(ctx: Ctx, name: str, action: Action, run: Run) -> Card:
    """Change one mailbox now: the row just read is the write's precondition (its ETag)."""
    found = await resolve.mailbox(ctx, name, command_text=ctx.turn.text)
    target = await access.mailbox_target(ctx, found.mailbox)
    async with audit.denials(ctx, target=audit.mailbox_target(found.mailbox, found.label)):
        await access.check(
            ctx, action, target, target_label=found.label, target_id=found.mailbox.id
        )
    outcome = await runs.runner(run)(ctx, [found.mailbox])
    await audit.mailbox_results(ctx, action, [(found.label, found.mailbox)], outcome.items)
    return operation_result(
        ctx.strings,
        Operation(action.value),
        card_items([found.label], outcome.items),
        environment=ctx.env.name,
    )


async def _change(
    ctx: Ctx, names: Sequence[str], action: Action, planner: Planner, run: Run
) -> Card:
    if len(names) > 1:
        return await bulk.preview(
            ctx,
            names,
            operation=Operation(action.value),
            action=action,
            planner=planner,
            run=run,
        )
    return await _single(ctx, names[0], action, run)


# ---- apply default email settings ----------------------------------------------------------


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
) -> tuple[Planner, Run]:
    def planner(row: Mailbox) -> Sequence[Change] | None:
        now = _delivery(row)
        changes = [
            Change(_DELIVERY_FIELDS[channel], now[channel], value)
            for channel, value in values.items()
            if now[channel] != value
        ]
        return changes or None

    return planner, runs.set_delivery_methods(values)


# ---- server profile ------------------------------------------------------------------------


async def _profile_change(ctx: Ctx, profile: ServerProfile) -> tuple[Planner, Run]:
    profiles = await ctx.env.profiles()
    new_name = _profile_name(profiles, profile.id)

    def planner(row: Mailbox) -> Sequence[Change] | None:
        if row.server_profile_id == profile.id:
            return None
        current = _profile_name(profiles, row.server_profile_id)
        return [Change(Field.SERVER_PROFILE, current, new_name)]

    return planner, runs.set_server_profile(profile.id)


# ---- sync items with Exchange from this org only -------------------------------------------


def _org_only_change(enabled: bool) -> tuple[Planner, Run]:
    def planner(row: Mailbox) -> Sequence[Change] | None:
        if row.org_marked_primary == enabled:
            return None
        return [Change(Field.SYNC_FROM_THIS_ORG_ONLY, row.org_marked_primary, enabled)]

    return planner, runs.set_sync_from_this_org_only(enabled)


def register(router: Router) -> None:
    """The mailbox settings commands."""

    @router.command(CommandKind.APPLY_DEFAULT_SETTINGS)
    async def apply_default_settings(ctx: Ctx, command: ApplyDefaultSettings) -> Card:
        """Apply the default email settings (server profile and delivery methods) to
        mailboxes and test them, like "Apply Default Email Settings" in the admin UI."""
        action = Action.APPLY_DEFAULT_EMAIL_SETTINGS
        if len(command.targets) > 1:
            planner = await _defaults_planner(ctx)
            return await _change(
                ctx, command.targets, action, planner, runs.APPLY_DEFAULT_SETTINGS
            )
        return await _single(ctx, command.targets[0], action, runs.APPLY_DEFAULT_SETTINGS)

    @router.command(CommandKind.SET_DELIVERY_METHODS)
    async def set_delivery_methods(ctx: Ctx, command: SetDeliveryMethods) -> Card:
        """Set the incoming email, outgoing email, or appointments, contacts and tasks
        delivery method of mailboxes (server-side sync, Outlook, forward mailbox, none)."""
        planner, run = _delivery_change(command.option_values())
        return await _change(ctx, command.targets, Action.CHANGE_MAILBOX_DELIVERY, planner, run)

    @router.command(CommandKind.USE_PROFILE)
    async def use_profile(ctx: Ctx, command: UseProfile) -> Card:
        """Associate mailboxes with an email server profile."""
        profile = await resolve.profile(ctx, command.profile, command_text=ctx.turn.text)
        planner, run = await _profile_change(ctx, profile)
        return await _change(ctx, command.targets, Action.CHANGE_MAILBOX_DELIVERY, planner, run)

    @router.command(CommandKind.SYNC_FROM_THIS_ORG_ONLY)
    async def sync_from_this_org_only(ctx: Ctx, command: SyncFromThisOrgOnly) -> Card:
        """Tick (or clear) "Sync items with Exchange from this org only, even if Exchange was
        set to sync with a different org" on mailboxes."""
        planner, run = _org_only_change(command.enabled)
        return await _change(
            ctx, command.targets, Action.SET_SYNC_FROM_THIS_ORG_ONLY, planner, run
        )
