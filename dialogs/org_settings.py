"""The organization's email settings: show them, change the defaults new users and queues
get, and turn the mailbox approval requirement off or on.

Sources: the seed's "Konfigurasi pengolahan email default dan sinkronisasi" and "Hapus
persyaratan untuk menyetujui kotak pesan"; reference/dataverse.md §3 and §4.1.

Who may switch the approval requirement: turning it off is `REMOVE_APPROVAL_REQUIREMENT`,
the permission table's admins (the seed: only "admins as described in the permission model
table" may change the setting so that approval is not required). Turning it back on is
`CHANGE_ORG_EMAIL_SETTINGS` (prvWriteOrganization) *and* the same table's admins: reference
§4.1 says only those admins may change these two switches, in either direction, and the
environment (the sim, like Dataverse as far as is known) refuses anyone else with 0x8009000B.
Checking both up front means a System admin alone is told the rule instead of meeting a
refusal from Dataverse; the card names "Change email settings" and the table cell.

Every change is audited against the organization: the settings are read first (they name
the target, and are the before-values), the permission check records a refusal, and the
write records its values before → after, or its failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, TypeVar

from cards.common import Card
from cards.labels import Field, Operation, OptionSet, field_label, option_label
from cards.results import ItemResult as CardItem
from cards.results import Outcome as CardOutcome
from cards.results import Reason, operation_result
from cards.settings import org_email_settings
from dataverse import ops
from dataverse.concurrent import both
from dataverse.models import OrgEmailSettings, ServerProfile
from dialogs import access, audit, resolve
from dialogs.commands import (
    ApprovalScope,
    CommandKind,
    DeliveryChannel,
    SetApprovalRequirement,
    SetDefaultEmailSettings,
    ShowEmailSettings,
)
from dialogs.context import Ctx
from dialogs.errors import AmbiguousError, DeniedError, Match
from dialogs.router import Router
from permissions import Action, decide

Value = int | bool | uuid.UUID | None

_CHANNEL_FIELDS: Final = {
    DeliveryChannel.INCOMING: (Field.INCOMING_DELIVERY, OptionSet.INCOMING_DELIVERY),
    DeliveryChannel.OUTGOING: (Field.OUTGOING_DELIVERY, OptionSet.OUTGOING_DELIVERY),
    DeliveryChannel.ACT: (Field.ACT_DELIVERY, OptionSet.ACT_DELIVERY),
}

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class _Setting:
    """One organization setting a request asks for: its label on the card and its values."""

    field: Field
    shown: str  # the new value as the card says it
    wanted: Value

    def name(self, ctx: Ctx) -> str:
        return f"{field_label(ctx.strings, self.field)}: {self.shown}"


def _current(settings: OrgEmailSettings, field: Field) -> Value:
    defaults = settings.default_email_settings
    match field:
        case Field.INCOMING_DELIVERY:
            return int(defaults.incoming) if defaults and defaults.incoming is not None else None
        case Field.OUTGOING_DELIVERY:
            return int(defaults.outgoing) if defaults and defaults.outgoing is not None else None
        case Field.ACT_DELIVERY:
            return int(defaults.act) if defaults and defaults.act is not None else None
        case Field.DEFAULT_SERVER_PROFILE:
            return settings.default_profile_id
        case Field.REQUIRE_APPROVAL_USERS:
            return settings.require_approval_for_user_email
        case Field.REQUIRE_APPROVAL_QUEUES:
            return settings.require_approval_for_queue_email
    return None


def _outcomes(ctx: Ctx, wanted: list[_Setting], change: ops.OrgChange) -> list[CardItem]:
    """Per setting: skipped when nothing had to change, done when the re-read shows it."""
    items = []
    for setting in wanted:
        name = setting.name(ctx)
        if not change.changed:
            items.append(CardItem(name, CardOutcome.SKIPPED, Reason.ALREADY_SET))
        elif _current(change.settings, setting.field) == setting.wanted:
            items.append(CardItem(name, CardOutcome.OK))
        else:
            items.append(CardItem(name, CardOutcome.FAILED, Reason.NOT_APPLIED))
    return items


# ---- show -------------------------------------------------------------------------------


async def show_settings(ctx: Ctx) -> Card:
    """The organization's email settings with the default profile's name."""
    # The settings first: when Dataverse refuses both reads, its own answer (busy, retry in
    # N s) says more than "the caller's facts are unavailable".
    (settings, profiles), _ = await both(
        both(ctx.env.org_settings(), ctx.env.profiles()), access.check(ctx, Action.VIEW)
    )
    default = profiles.get(settings.default_profile_id) if settings.default_profile_id else None
    return org_email_settings(
        ctx.strings, settings, environment=ctx.env.name, default_profile=default
    )


# ---- default email settings ---------------------------------------------------------------


async def _profile_or_none(ctx: Ctx, name: str | None) -> ServerProfile | None:
    """The profile named for the defaults: a unique prefix finds it, but only its full name
    (or id) sets it unasked; otherwise a choice of one confirms it."""
    if name is None:
        return None
    profile = await resolve.profile(ctx, name, command_text=ctx.turn.text)
    if name.strip().casefold() in ((profile.name or "").strip().casefold(), str(profile.id)):
        return profile
    match = Match("profile", str(profile.id), profile.name or str(profile.id))
    raise AmbiguousError(name, [match], ctx.turn.text)


def _default_settings(
    ctx: Ctx, command: SetDefaultEmailSettings, profile: ServerProfile | None
) -> list[_Setting]:
    wanted = []
    if profile is not None:
        wanted.append(
            _Setting(Field.DEFAULT_SERVER_PROFILE, profile.name or str(profile.id), profile.id)
        )
    for channel, value in command.option_values().items():
        field, options = _CHANNEL_FIELDS[channel]
        wanted.append(_Setting(field, option_label(ctx.strings, options, value), value))
    return wanted


async def _write(
    ctx: Ctx,
    action: Action,
    before: OrgEmailSettings,
    write: Callable[[], Awaitable[ops.OrgChange]],
) -> ops.OrgChange:
    """Run the organization write as audited: its settings before → after, or its failure."""
    async with audit.changing(ctx, action, audit.organization_target(before)) as change:
        result = await write()
        change.org_written(before, result)
    return result


async def set_default_settings(ctx: Ctx, command: SetDefaultEmailSettings) -> Card:
    """Change the server profile and delivery methods that new users and queues get."""
    before = await ctx.env.org_settings()
    async with audit.denials(ctx, target=audit.organization_target(before)):
        _, profile = await both(
            access.check(ctx, Action.CHANGE_ORG_EMAIL_SETTINGS),
            _profile_or_none(ctx, command.profile),
        )
    wanted = _default_settings(ctx, command, profile)
    methods = command.option_values()
    # One PATCH of the organization row (the profile and the XML together): either all of
    # it applies or none; ops leaves the row alone when it already shows every value.
    change = await _write(
        ctx,
        Action.CHANGE_ORG_EMAIL_SETTINGS,
        before,
        lambda: ops.change_org_email_settings(
            ctx.env.dataverse,
            default_profile_id=profile.id if profile is not None else None,
            incoming=methods.get(DeliveryChannel.INCOMING),
            outgoing=methods.get(DeliveryChannel.OUTGOING),
            act=methods.get(DeliveryChannel.ACT),
            acting_for=ctx.acting_for,
        ),
    )
    return operation_result(
        ctx.strings,
        Operation.CHANGE_ORG_EMAIL_SETTINGS,
        _outcomes(ctx, wanted, change),
        environment=ctx.env.name,
    )


# ---- the approval requirement -------------------------------------------------------------


async def _check_approval_switch(ctx: Ctx, required: bool) -> None:
    """Turning off: the table's admins. Turning on: prvWriteOrganization and the table's
    admins, reported as "Change email settings" (see the module docstring)."""
    actor, environment = await ctx.facts()
    table = decide(Action.REMOVE_APPROVAL_REQUIREMENT, actor, environment)
    if not required:
        if not table.allowed:
            raise DeniedError(Action.REMOVE_APPROVAL_REQUIREMENT, table)
        return
    write = decide(Action.CHANGE_ORG_EMAIL_SETTINGS, actor, environment)
    for decision in (write, table):
        if not decision.allowed:
            raise DeniedError(Action.CHANGE_ORG_EMAIL_SETTINGS, decision)


async def set_approval_requirement(ctx: Ctx, command: SetApprovalRequirement) -> Card:
    """Switch "Process emails only for approved users / queues" off or on."""
    before = await ctx.env.org_settings()
    async with audit.denials(ctx, target=audit.organization_target(before)):
        await _check_approval_switch(ctx, command.required)
    users = command.scope in (ApprovalScope.USERS, ApprovalScope.BOTH)
    queues = command.scope in (ApprovalScope.QUEUES, ApprovalScope.BOTH)
    # Named, and audited, as the permission check names it (see _check_approval_switch).
    action = (
        Action.CHANGE_ORG_EMAIL_SETTINGS
        if command.required
        else Action.REMOVE_APPROVAL_REQUIREMENT
    )
    change = await _write(
        ctx,
        action,
        before,
        lambda: ops.change_org_email_settings(
            ctx.env.dataverse,
            require_approval_for_users=command.required if users else None,
            require_approval_for_queues=command.required if queues else None,
            acting_for=ctx.acting_for,
        ),
    )
    shown = ctx.strings.yes_no(command.required)
    wanted = [
        _Setting(field, shown, command.required)
        for field, asked in (
            (Field.REQUIRE_APPROVAL_USERS, users),
            (Field.REQUIRE_APPROVAL_QUEUES, queues),
        )
        if asked
    ]
    return operation_result(
        ctx.strings,
        Operation(action.value),
        _outcomes(ctx, wanted, change),
        environment=ctx.env.name,
    )


def register(router: Router) -> None:
    """The organization's email settings commands."""

    @router.command(CommandKind.SHOW_EMAIL_SETTINGS)
    async def show(ctx: Ctx, command: ShowEmailSettings) -> Card:
        """Show the org's email settings: the server profile and delivery methods new users
        and queues get, whether email is processed only for approved users and queues, and
        which alerts are generated."""
        return await show_settings(ctx)

    @router.command(CommandKind.SET_DEFAULT_EMAIL_SETTINGS)
    async def set_defaults(ctx: Ctx, command: SetDefaultEmailSettings) -> Card:
        """Set the default server profile and the incoming, outgoing and appointments,
        contacts and tasks delivery methods that new users and queues get (the seed:
        Microsoft Exchange Online with server-side synchronization)."""
        return await set_default_settings(ctx, command)

    @router.command(CommandKind.SET_APPROVAL_REQUIREMENT)
    async def approval(ctx: Ctx, command: SetApprovalRequirement) -> Card:
        """Turn off (or back on) "Process emails only for approved users" and "… approved
        queues". Only the permission table's admins may change them."""
        return await set_approval_requirement(ctx, command)
