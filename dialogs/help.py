"""The help card: the commands the caller may run here, in the caller's language.

The entries come from the command registry (`dialogs.commands.REGISTRY`: usage, help and
examples in English and Indonesian). A command is listed only when the router answers it
and the permission model lets the caller run it on a representative target: someone else's
mailbox on the organization's default profile, a user for the Delegated Mailbox Approver
role, the default profile itself. `help <command>` shows that command's usages and examples.
"""

from __future__ import annotations

from typing import TypeVar

from cards.common import Card
from cards.help import HelpEntry, help_card
from cards.i18n import Language as CardLanguage
from dataverse.concurrent import both
from dataverse.models import ServerProfile
from dialogs.commands import REGISTRY, CommandInfo, CommandKind, Help, Language
from dialogs.context import Ctx
from dialogs.explain import MAILBOX_ACTIONS, REQUIRES, someone_elses_mailbox
from dialogs.router import Router
from permissions import (
    Action,
    PrincipalKind,
    RoleAssignmentTarget,
    ServerProfileTarget,
    Target,
    decide,
)

A = TypeVar("A")
B = TypeVar("B")

_ROLE_ACTIONS = frozenset({Action.ASSIGN_DELEGATED_APPROVER, Action.REMOVE_DELEGATED_APPROVER})


def _representative(action: Action, default: ServerProfile | None) -> Target | None:
    if action in MAILBOX_ACTIONS:
        return someone_elses_mailbox(default)
    if action in _ROLE_ACTIONS:
        return RoleAssignmentTarget(PrincipalKind.USER)
    if action is Action.CHANGE_SERVER_PROFILE:
        return ServerProfileTarget(profile_id=str(default.id) if default else None)
    return None  # organization-wide actions, and views as listings


async def runnable(ctx: Ctx, router: Router) -> list[CommandInfo]:
    """The registry's commands that the router answers and the caller may run, in order."""
    (actor, environment), (profiles, org) = await both(
        ctx.facts(), both(ctx.env.profiles(), ctx.env.org_settings())
    )
    default = profiles.get(org.default_profile_id) if org.default_profile_id else None

    def may(kind: CommandKind) -> bool:
        if kind not in REQUIRES:
            return False  # a command nobody has said the permission of is not offered
        action = REQUIRES[kind]
        if action is None:
            return True
        return decide(action, actor, environment, _representative(action, default)).allowed

    return [info for kind, info in REGISTRY.items() if router.handles(kind) and may(kind)]


def _language(ctx: Ctx) -> Language:
    return "id" if ctx.strings.language is CardLanguage.ID else "en"


def _overview(infos: list[CommandInfo], language: Language) -> list[HelpEntry]:
    return [
        (info.usage(language)[0], info.examples(language)[0], info.help(language))
        for info in infos
    ]


def _usage_of(example: str, usages: tuple[str, ...]) -> str:
    """The usage line `example` follows: itself, or the longest whose words before `<…>` it
    starts with; the first one otherwise."""
    if example in usages:
        return example
    fitting = [u for u in usages if "<" in u and example.startswith(u.split("<", 1)[0])]
    return max(fitting, key=len, default=usages[0])


def _topic(info: CommandInfo, language: Language) -> list[HelpEntry]:
    """One command: each example under the usage it follows, then any usage left without
    an example."""
    usages, examples = info.usage(language), info.examples(language)
    text = info.help(language)
    entries = [(_usage_of(example, usages), example, text) for example in examples]
    shown = {usage for usage, _, _ in entries}
    return entries + [(usage, "", text) for usage in usages if usage not in shown]


def register(router: Router) -> None:
    """The help command."""

    @router.command(CommandKind.HELP)
    async def show_help(ctx: Ctx, command: Help) -> Card:
        """Show what you may ask for here, or how to use one command (`help approve`)."""
        language = _language(ctx)
        infos = await runnable(ctx, router)
        topic = next((info for info in infos if info.kind == command.topic), None)
        # A command the caller may not run gets the list of what they may run instead.
        entries = _topic(topic, language) if topic else _overview(infos, language)
        return help_card(ctx.strings, entries, environment=ctx.env.name)
