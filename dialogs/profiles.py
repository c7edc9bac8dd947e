"""Server profile commands: Test & Enable all of a profile's mailboxes, create an Exchange
Online profile, make a profile the default, point a profile at Exchange Online in China; and
the profile card's buttons.

Sources: the seed's "Membuat profil server email untuk Exchange Online", "Pastikan Anda
memiliki profil Microsoft Exchange Online", "Menguji konfigurasi email untuk semua kotak pesan
yang dikaitkan dengan profil server email" and "Mengaktifkan fungsi sinkronisasi sisi server
untuk Exchange Online di Tiongkok"; reference/dataverse.md §2 and §5.1.

Each handler reads top to bottom: resolve the profile (from the cached list) → the caller's
facts, read together with whatever the card needs → the permission decision → the operation,
as the caller → the card. Testing a profile's mailboxes touches many of them, so it is a
preview that runs only after Confirm (`dialogs.bulk`). Creating a profile, making it the
default and pointing it at China are audited against the profile (`dialogs.audit`): a
refusal, the columns before → after, or the failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final, TypeVar

from cards import verbs
from cards.access import Denial, Need, NeedKind, RuleRef, permission_denied
from cards.common import Card
from cards.labels import Field, Operation
from cards.lists import ListKind, mailbox_list
from cards.previews import Change, MailboxChange, bulk_preview
from cards.profiles import ProfileAction, profile_view
from cards.results import ItemResult as CardItem
from cards.results import Outcome as CardOutcome
from cards.results import Reason, operation_result
from dataverse import ops
from dataverse.concurrent import both
from dataverse.models import Alert, Mailbox, ServerProfile
from dataverse.odata import Query, col
from dialogs import access, audit, bulk, resolve, runs
from dialogs.commands import (
    CommandKind,
    CreateProfile,
    PointProfileToChina,
    ProfileAuthentication,
    SetDefaultProfile,
    TestProfile,
)
from dialogs.context import Ctx
from dialogs.errors import AmbiguousError, DeniedError, Match, StaleCardError
from dialogs.router import Router
from permissions import (
    Action,
    Actor,
    Decision,
    Environment,
    MailboxKind,
    MailboxTarget,
    ServerProfileTarget,
    decide,
)
from store import AuditResult

_ALERTS_SHOWN: Final = 5

# The cross-tenant form needs a client secret, which a chat message must never carry (it
# would stay in the Teams history and in every transcript). Until cards/ has words of its
# own for this, the refusal speaks through the permission-denied card's English fallbacks.
_CROSS_TENANT_RULE: Final = RuleRef(
    "profile/cross-tenant-in-chat",
    "An OAuth (Cross Tenant) profile needs a client secret, and MailOps never takes secrets "
    "in chat: create that profile in the Power Platform admin center.",
)
_CROSS_TENANT_NEEDS: Final = (
    Need(NeedKind.KNOWN_FACT, english="The tenant id of the tenant that holds Exchange Online"),
    Need(
        NeedKind.KNOWN_FACT,
        english="The application (client) id of the Microsoft Entra app registered there",
    ),
    Need(
        NeedKind.KNOWN_FACT,
        english="That app's client secret, typed into the admin center (Settings > Email > "
        "Server profiles > New server profile, Authentication type: OAuth (Cross Tenant)), "
        "never into a chat",
    ),
)

A = TypeVar("A")
B = TypeVar("B")


def _label(profile: ServerProfile) -> str:
    return profile.name or str(profile.id)


def _mailbox_label(row: Mailbox) -> str:
    return row.name or row.email_address or str(row.id)


def _require(
    action: Action, decision: Decision, *, label: str, target_id: uuid.UUID | None = None
) -> None:
    """Raise the permission model's refusal (decided from facts already read)."""
    if not decision.allowed:
        raise DeniedError(
            action,
            decision,
            target=label,
            target_id=str(target_id) if target_id else None,
        )


def _someone_elses_mailbox(profile: ServerProfile) -> MailboxTarget:
    """A mailbox of the profile that is not the caller's: who may test all of them."""
    return MailboxTarget(
        kind=MailboxKind.PERSON,
        email=None,
        servertype=int(profile.server_type) if profile.server_type is not None else None,
    )


async def _mailbox_count(ctx: Ctx, profile: ServerProfile) -> int:
    page = await ctx.env.dataverse.query_page(
        Mailbox,
        Query(
            select=("mailboxid",),
            filter=col("_emailserverprofile_value").eq(profile.id) & col("statecode").eq(0),
            count=True,
        ),
        page_size=1,
    )
    return page.count if page.count is not None else len(page.rows)


def _profile_card(
    ctx: Ctx,
    profile: ServerProfile,
    facts: tuple[Actor, Environment],
    *,
    is_default: bool,
    mailbox_count: int,
    alerts: Sequence[Alert] = (),
) -> Card:
    actor, environment = facts
    allowed: set[ProfileAction] = set()
    tester = decide(Action.TEST_AND_ENABLE, actor, environment, _someone_elses_mailbox(profile))
    if mailbox_count and tester.allowed:
        allowed.add(ProfileAction.TEST_MAILBOXES)
    if decide(Action.SET_DEFAULT_SERVER_PROFILE, actor, environment).allowed:
        allowed.add(ProfileAction.MAKE_DEFAULT)
    return profile_view(
        ctx.strings,
        profile,
        environment=ctx.env.name,
        is_default=is_default,
        mailbox_count=mailbox_count,
        alerts=list(alerts),
        allowed=allowed,
    )


async def _usage(ctx: Ctx, profile: ServerProfile) -> tuple[int, list[Alert]]:
    """How many mailboxes use the profile, and its latest alerts."""
    return await both(
        _mailbox_count(ctx, profile),
        ops.list_alerts(ctx.env.dataverse, profile_id=profile.id, limit=_ALERTS_SHOWN),
    )


async def _named(ctx: Ctx, text: str) -> ServerProfile:
    """The profile `text` names, for a change: a unique prefix finds it, but only its full
    name or id changes it unasked; otherwise a choice of one confirms it (as for mailboxes,
    "make contoso the default" must not pick a profile the person did not name)."""
    profile = await resolve.profile(ctx, text, command_text=ctx.turn.text)
    wanted = text.strip().casefold()
    if wanted in ((profile.name or "").strip().casefold(), str(profile.id)):
        return profile
    match = Match("profile", str(profile.id), _label(profile))
    raise AmbiguousError(text, [match], ctx.turn.text)


# ---- Test & Enable every mailbox of a profile -------------------------------------------


async def preview_profile_test(ctx: Ctx, profile: ServerProfile) -> Card:
    """How many of the profile's active mailboxes Test & Enable would queue, and which.

    The whole list is checked against the permission model before anything is offered:
    one mailbox the caller may not test denies the request, naming that mailbox.
    """
    where = ops.MailboxFilter(profile_id=profile.id)
    (actor, environment), rows = await both(
        ctx.facts(), ops.find_mailboxes(ctx.env.dataverse, where, limit=None)
    )
    if not rows:
        return mailbox_list(ctx.strings, ListKind.MAILBOXES, [], environment=ctx.env.name)
    for row in rows:
        target = await access.mailbox_target(ctx, row)
        decision = decide(Action.TEST_AND_ENABLE, actor, environment, target)
        _require(Action.TEST_AND_ENABLE, decision, label=_mailbox_label(row), target_id=row.id)
    planned = [row for row in rows if not row.test_scheduled]
    if not planned:
        items = [
            CardItem(_mailbox_label(r), CardOutcome.SKIPPED, Reason.ALREADY_SET) for r in rows
        ]
        return operation_result(
            ctx.strings, Operation.TEST_AND_ENABLE, items, environment=ctx.env.name
        )
    token, expires_at = await bulk.keep(
        ctx,
        bulk.Preview(
            operation=Operation.TEST_AND_ENABLE,
            action=Action.TEST_AND_ENABLE,
            caller=ctx.caller_id,
            conversation=ctx.turn.conversation.id,
            environment=ctx.env.name,
            labels={r.id: _mailbox_label(r) for r in planned},
            versions={r.id: r.version_number for r in planned},
            run=runs.TEST_AND_ENABLE,
        ),
    )
    change = [Change(Field.TEST_SCHEDULED, False, True)]
    return bulk_preview(
        ctx.strings,
        Operation.TEST_AND_ENABLE,
        [MailboxChange(_mailbox_label(r), change) for r in planned],
        environment=ctx.env.name,
        token=token,
        unchanged=len(rows) - len(planned),
        expires_at=expires_at,
    )


# ---- create -----------------------------------------------------------------------------


async def create_profile(ctx: Ctx, name: str, authentication: ProfileAuthentication) -> Card:
    """Create a same-tenant Exchange Online profile; explain what a cross-tenant one needs."""
    facts = await ctx.facts()
    asked = audit.new_profile_target(name)
    async with audit.denials(ctx, target=asked):
        _require(
            Action.CREATE_SERVER_PROFILE, decide(Action.CREATE_SERVER_PROFILE, *facts), label=name
        )
    if authentication is ProfileAuthentication.OAUTH:
        await audit.record(
            ctx,
            Action.CREATE_SERVER_PROFILE,
            AuditResult.DENIED,
            target=asked,
            detail=f"rule {_CROSS_TENANT_RULE.id}",
        )
        denial = Denial(
            operation=Operation.CREATE_SERVER_PROFILE,
            rule=_CROSS_TENANT_RULE,
            missing=_CROSS_TENANT_NEEDS,
            target=name,
        )
        return permission_denied(ctx.strings, denial, environment=ctx.env.name)
    wanted = name.strip().casefold()
    profiles = (await ctx.env.profiles()).values()
    existing = next((p for p in profiles if (p.name or "").strip().casefold() == wanted), None)
    if existing is not None:
        # Seed "Pastikan Anda memiliki profil Microsoft Exchange Online": it is there. Show it,
        # whether it is the default, and the button that makes it so; create nothing.
        await audit.record(
            ctx,
            Action.CREATE_SERVER_PROFILE,
            AuditResult.OK,
            target=audit.profile_target(existing),
            detail=audit.skipped("exists already"),
        )
        settings, (count, alerts) = await both(ctx.env.org_settings(), _usage(ctx, existing))
        return _profile_card(
            ctx,
            existing,
            facts,
            is_default=settings.default_profile_id == existing.id,
            mailbox_count=count,
            alerts=alerts,
        )
    async with audit.changing(ctx, Action.CREATE_SERVER_PROFILE, asked) as change:
        created = await ops.create_exchange_online_profile(
            ctx.env.dataverse, name, ops.SameTenant(), acting_for=ctx.acting_for
        )
        change.target = audit.profile_target(created)
        change.after = audit.profile_snapshot(created)
    ctx.env.forget_profiles()
    return _profile_card(ctx, created, facts, is_default=False, mailbox_count=0)


# ---- default profile ----------------------------------------------------------------------


async def make_default(ctx: Ctx, profile: ServerProfile) -> Card:
    """Make `profile` the default for new mailboxes and show it as it now is."""
    target = audit.profile_target(profile)
    # The organization row as it was: the default profile's before-value.
    facts, ((count, alerts), before) = await both(
        ctx.facts(), both(_usage(ctx, profile), ctx.env.org_settings())
    )
    decision = decide(Action.SET_DEFAULT_SERVER_PROFILE, *facts)
    async with audit.denials(ctx, target=target):
        _require(
            Action.SET_DEFAULT_SERVER_PROFILE,
            decision,
            label=_label(profile),
            target_id=profile.id,
        )
    async with audit.changing(ctx, Action.SET_DEFAULT_SERVER_PROFILE, target) as change:
        result = await ops.set_default_profile(
            ctx.env.dataverse, profile.id, acting_for=ctx.acting_for
        )
        change.org_written(before, result)
    return _profile_card(
        ctx,
        profile,
        facts,
        is_default=result.settings.default_profile_id == profile.id,
        mailbox_count=count,
        alerts=alerts,
    )


# ---- China ------------------------------------------------------------------------------


async def point_to_china(ctx: Ctx, profile: ServerProfile) -> Card:
    """Set the profile's EWS endpoint to Exchange Online operated by 21Vianet."""
    # The profile's owner is not among the columns read, so only the "any profile" path of
    # the model can allow this; an owner with user-depth Write is refused by default.
    target = audit.profile_target(profile)
    async with audit.denials(ctx, target=target):
        await access.check(
            ctx,
            Action.CHANGE_SERVER_PROFILE,
            ServerProfileTarget(profile_id=str(profile.id)),
            target_label=_label(profile),
            target_id=profile.id,
        )
    async with audit.changing(ctx, Action.CHANGE_SERVER_PROFILE, target) as change:
        # Read afresh for the before-values (the cached list may be a minute old); what the
        # write leaves is known from its success, so the row is not read again.
        before = audit.profile_snapshot(await ctx.env.dataverse.get_server_profile(profile.id))
        result = await ops.point_profile_to_china(
            ctx.env.dataverse, profile.id, acting_for=ctx.acting_for
        )
        if result.changed:
            change.before = before
            change.after = {**before, audit.SERVER_LOCATION: ops.CHINA_EWS_URL}
        else:
            change.skipped = audit.ALREADY_SET
    ctx.env.forget_profiles()
    name = f"{_label(profile)} → {ops.CHINA_EWS_URL}"
    item = (
        CardItem(name, CardOutcome.OK)
        if result.changed
        else CardItem(name, CardOutcome.SKIPPED, Reason.ALREADY_SET)
    )
    return operation_result(
        ctx.strings, Operation.CHANGE_SERVER_PROFILE, [item], environment=ctx.env.name
    )


# ---- registration -----------------------------------------------------------------------


def register(router: Router) -> None:
    """The server profile commands and the profile card's buttons."""

    @router.command(CommandKind.TEST_PROFILE)
    async def test_profile(ctx: Ctx, command: TestProfile) -> Card:
        """Test & Enable every mailbox of a server profile: a preview of how many and which,
        then the tests are scheduled once you confirm."""
        profile = await resolve.profile(ctx, command.profile, command_text=ctx.turn.text)
        return await preview_profile_test(ctx, profile)

    @router.command(CommandKind.CREATE_PROFILE)
    async def create(ctx: Ctx, command: CreateProfile) -> Card:
        """Create an Exchange Online server profile with server-to-server authentication
        (Exchange in this tenant). A cross-tenant (OAuth) profile needs a client secret, which
        is never typed into a chat: create that one in the Power Platform admin center."""
        return await create_profile(ctx, command.name, command.authentication)

    @router.command(CommandKind.SET_DEFAULT_PROFILE)
    async def set_default(ctx: Ctx, command: SetDefaultProfile) -> Card:
        """Make a server profile the default for new mailboxes, such as the automatically
        created "Microsoft Exchange Online" profile."""
        return await make_default(ctx, await _named(ctx, command.profile))

    @router.command(CommandKind.POINT_PROFILE_TO_CHINA)
    async def point_china(ctx: Ctx, command: PointProfileToChina) -> Card:
        """Point a server profile at Exchange Online in China (21Vianet): its server
        location becomes https://partner.outlook.cn/EWS/Exchange.asmx."""
        return await point_to_china(ctx, await _named(ctx, command.profile))

    async def _clicked(ctx: Ctx, data: dict[str, Any]) -> ServerProfile:
        profile_id = data.get(verbs.PROFILE_ID)
        if not isinstance(profile_id, str):
            raise StaleCardError
        try:
            key = uuid.UUID(profile_id)
        except ValueError:
            raise StaleCardError from None
        profile = (await ctx.env.profiles()).get(key)
        if profile is None:
            raise StaleCardError
        return profile

    @router.action(verbs.PROFILE_TEST_MAILBOXES)
    async def test_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await preview_profile_test(ctx, await _clicked(ctx, data))

    @router.action(verbs.PROFILE_MAKE_DEFAULT)
    async def make_default_clicked(ctx: Ctx, data: dict[str, Any]) -> Card:
        return await make_default(ctx, await _clicked(ctx, data))
