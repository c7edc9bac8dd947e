"""The help card: the commands the caller may run here, in the caller's language.

The entries come from the command registry (`dialogs.commands.REGISTRY`: usage, help and
examples in English and Indonesian). A command is listed only when the router answers it
and the permission model lets the caller run it on a representative target: someone else's
mailbox on the organization's default profile, a user for the Delegated Mailbox Approver
role, the default profile itself. `help <command>` shows that command's usages and examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cards.common import Card
from cards.help import HelpEntry, help_card, own_mailbox_only
from cards.i18n import Language as CardLanguage
from dataverse.concurrent import both
from dataverse.models import ServerProfile
from dialogs.commands import REGISTRY, CommandInfo, CommandKind, Help, Language
from dialogs.context import Ctx
from dialogs.explain import MAILBOX_ACTIONS, REQUIRES, own_mailbox, someone_elses_mailbox
from dialogs.router import Router
from permissions import (
    Action,
    PrincipalKind,
    RoleAssignmentTarget,
    ServerProfileTarget,
    Target,
    decide,
)

_ROLE_ACTIONS = frozenset({Action.ASSIGN_DELEGATED_APPROVER, Action.REMOVE_DELEGATED_APPROVER})


# Commands that name one mailbox: someone who may run them only on their own mailbox can
# still name it. (A profile-wide test, say, is not offered for the one mailbox it reaches.)
_NAMES_ONE_MAILBOX: Final = frozenset(
    {
        CommandKind.APPROVE,
        CommandKind.REJECT,
        CommandKind.TEST_AND_ENABLE,
        CommandKind.APPLY_DEFAULT_SETTINGS,
        CommandKind.SET_DELIVERY_METHODS,
        CommandKind.USE_PROFILE,
        CommandKind.SYNC_FROM_THIS_ORG_ONLY,
        CommandKind.UNDO,
    }
)


def _representative(action: Action, default: ServerProfile | None) -> Target | None:
    if action in MAILBOX_ACTIONS:
        return someone_elses_mailbox(default)
    if action in _ROLE_ACTIONS:
        return RoleAssignmentTarget(PrincipalKind.USER)
    if action is Action.CHANGE_SERVER_PROFILE:
        return ServerProfileTarget(profile_id=str(default.id) if default else None)
    return None  # organization-wide actions, and views as listings


@dataclass(frozen=True)
class Runnable:
    """A command the caller may run; `own_only` when only on their own mailbox."""

    info: CommandInfo
    own_only: bool = False


async def runnable(ctx: Ctx, router: Router) -> list[Runnable]:
    """The registry's commands that the router answers and the caller may run, in order.

    A mailbox command the caller may not run on someone else's mailbox is still theirs to
    run on their own one when the permission model says so (approving your own address,
    testing your own mailbox): it is listed as such.
    """
    (actor, environment), (profiles, org) = await both(
        ctx.facts(), both(ctx.env.profiles(), ctx.env.org_settings())
    )
    default = profiles.get(org.default_profile_id) if org.default_profile_id else None

    def reach(kind: CommandKind) -> Runnable | None:
        info = REGISTRY[kind]
        if kind not in REQUIRES:
            return None  # a command nobody has said the permission of is not offered
        action = REQUIRES[kind]
        if action is None:
            return Runnable(info)
        if decide(action, actor, environment, _representative(action, default)).allowed:
            return Runnable(info)
        if (
            kind in _NAMES_ONE_MAILBOX
            and decide(action, actor, environment, own_mailbox(default, actor)).allowed
        ):
            return Runnable(info, own_only=True)
        return None

    found = (reach(kind) for kind in REGISTRY if router.handles(kind))
    return [r for r in found if r is not None]


def _language(ctx: Ctx) -> Language:
    return "id" if ctx.strings.language is CardLanguage.ID else "en"


def _overview(ctx: Ctx, found: list[Runnable], language: Language) -> list[HelpEntry]:
    return [
        (
            r.info.usage(language)[0],
            # The examples name someone else's mailbox: no "Try it" that would be refused.
            "" if r.own_only else r.info.examples(language)[0],
            _help_text(ctx, r, language),
        )
        for r in found
    ]


def _help_text(ctx: Ctx, found: Runnable, language: Language) -> str:
    text = found.info.help(language)
    return own_mailbox_only(ctx.strings, text) if found.own_only else text


def _usage_of(example: str, usages: tuple[str, ...]) -> str:
    """The usage line `example` follows: itself, or the longest whose words before `<…>` it
    starts with; the first one otherwise."""
    if example in usages:
        return example
    fitting = [u for u in usages if "<" in u and example.startswith(u.split("<", 1)[0])]
    return max(fitting, key=len, default=usages[0])


def _topic(ctx: Ctx, found: Runnable, language: Language) -> list[HelpEntry]:
    """One command: each example under the usage it follows, then any usage left without
    an example (only the usages for a command the caller may run on their own mailbox)."""
    info = found.info
    usages = info.usage(language)
    examples = () if found.own_only else info.examples(language)
    text = _help_text(ctx, found, language)
    entries = [(_usage_of(example, usages), example, text) for example in examples]
    shown = {usage for usage, _, _ in entries}
    return entries + [(usage, "", text) for usage in usages if usage not in shown]


def register(router: Router) -> None:
    """The help command."""

    @router.command(CommandKind.HELP)
    async def show_help(ctx: Ctx, command: Help) -> Card:
        """Show what you may ask for here, or how to use one command (`help approve`)."""
        language = _language(ctx)
        found = await runnable(ctx, router)
        topic = next((r for r in found if r.info.kind == command.topic), None)
        # A command the caller may not run gets the list of what they may run instead.
        entries = _topic(ctx, topic, language) if topic else _overview(ctx, found, language)
        return help_card(ctx.strings, entries, environment=ctx.env.name)
