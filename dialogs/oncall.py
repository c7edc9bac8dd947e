"""On call: where incidents are posted, who is on call, and the incident card's buttons.

- `set on-call channel here`: the conversation the request comes from gets the store's
  "on-call" purpose; the monitor posts its incident cards there from then on. **Who may:**
  System Administrators of the environment (the Dataverse role, direct or through a team,
  read live like every other permission fact), because the choice decides where every
  failure of the fleet is told. Everyone else gets a refusal naming the role.
  (`MAILOPS_ONCALL_CONVERSATION_ID` names the channel by configuration instead.)
- `who is on call`: from the configured schedule (`MAILOPS_ONCALL`: a fixed list), the
  person on call now and the escalation order. Anyone may ask.
- The incident card's buttons (`incident.ack`, `incident.retest`, `incident.silence`,
  `incident.open`) go to the monitor's `IncidentEngine` (seen through
  `dialogs.incidents.IncidentActions`) and are answered with the card as it is now. The
  card is signed for the conversation it was posted in, so only people in that
  conversation (the on-call channel) can click; acknowledging and silencing are on-call
  duties and need no Dataverse role. Re-test runs Test & Enable as the clicker
  (`CallerObjectId`), so Dataverse checks their privileges; Open status shows the mailbox's
  status card after the usual VIEW check.
- Silence needs a reason and one of the offered durations (1, 8 or 24 hours); without a
  reason it is refused with a card saying so, and nothing is silenced.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

from cards import verbs
from cards.common import Card, Tone, adaptive_card, fact_set, header, safe_text, text_block
from cards.i18n import Strings
from dialogs import mailboxes, resolve
from dialogs.approvals import remember
from dialogs.commands import CommandKind, SetOnCallChannel, WhoIsOnCall
from dialogs.context import Ctx
from dialogs.errors import StaleCardError
from dialogs.incidents import IncidentActions
from dialogs.router import Router
from permissions.identifiers import SYSTEM_ADMINISTRATOR_NAME, SYSTEM_ADMINISTRATOR_TEMPLATE
from store import InvalidSilence, Person, SubjectKind, UnknownIncident, escalation_order

T = TypeVar("T")

ONCALL_ENV_HINT = "MAILOPS_ONCALL"


def _card(
    strings: Strings,
    title: str,
    lines: list[str],
    *,
    environment: str,
    tone: Tone = Tone.DEFAULT,
    facts: list[tuple[str, str]] | None = None,
) -> Card:
    body: list[dict[str, Any]] = [header(strings, title, environment=environment)]
    body.extend(text_block(line, color=None if tone is Tone.DEFAULT else tone) for line in lines)
    if facts:
        body.append(fact_set(facts))
    return adaptive_card(strings, body, fallback_text=title)


def refusal(ctx: Ctx, title: str, why: str) -> Card:
    """A short card saying what was refused and why (nothing was changed)."""
    return _card(ctx.strings, title, [why], environment=ctx.env.name, tone=Tone.ATTENTION)


async def is_system_administrator(ctx: Ctx) -> bool:
    """Whether the caller holds System Administrator (directly or through a team)."""
    actor, _environment = await ctx.facts()
    return any(
        role.matches(SYSTEM_ADMINISTRATOR_NAME, SYSTEM_ADMINISTRATOR_TEMPLATE)
        for role in (*actor.direct_roles, *actor.team_roles)
    )


def _caller(ctx: Ctx) -> Person:
    return Person(ctx.caller_id, ctx.turn.caller.name or ctx.caller_id)


async def set_on_call_channel(ctx: Ctx) -> Card:
    """`set on-call channel here`; see the module docstring for who may."""
    strings = ctx.strings
    store = ctx.services.store
    title = strings.gettext("On-call channel not changed")
    if store is None:
        return refusal(ctx, title, strings.gettext("MailOps runs without a store here."))
    if not await is_system_administrator(ctx):
        return refusal(
            ctx,
            title,
            strings.gettext(
                "Only a System Administrator of {environment} may choose the on-call channel.",
                environment=ctx.env.name,
            ),
        )
    saved = await remember(store, ctx.turn)
    if saved is None:
        return refusal(
            ctx, title, strings.gettext("MailOps cannot write to this conversation later.")
        )
    await store.conversations.set_on_call(saved.key, by=_caller(ctx))
    return _card(
        strings,
        strings.gettext("This is the on-call channel now"),
        [
            strings.gettext(
                "Mailbox failures in {environment} are posted here, with Acknowledge, "
                "Re-test, Silence and Open status.",
                environment=ctx.env.name,
            )
        ],
        environment=ctx.env.name,
        tone=Tone.GOOD,
    )


def who_is_on_call_card(ctx: Ctx) -> Card:
    """`who is on call`: the person on call now and who comes next."""
    strings = ctx.strings
    schedule = ctx.services.on_call
    title = strings.gettext("Who is on call")
    if schedule is None:
        return _card(
            strings,
            title,
            [
                strings.gettext(
                    "No on-call list is configured ({setting}).", setting=ONCALL_ENV_HINT
                )
            ],
            environment=ctx.env.name,
        )
    now = ctx.services.store.now() if ctx.services.store is not None else datetime.now(UTC)
    order = escalation_order(schedule, now)
    facts = [(strings.gettext("On call now"), safe_text(order[0].name, max_chars=100))]
    facts.extend(
        (strings.gettext("Then"), safe_text(person.name, max_chars=100)) for person in order[1:]
    )
    return _card(strings, title, [], environment=ctx.env.name, facts=facts)


# ---- the incident card's buttons -----------------------------------------------------------


def _incident_id(data: dict[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(data.get(verbs.INCIDENT_ID)))
    except ValueError:
        raise StaleCardError from None


def _engine(ctx: Ctx) -> IncidentActions:
    engines = ctx.services.incidents
    engine = engines.get(ctx.env.name) or next(iter(engines.values()), None)
    if engine is None:  # the monitor is off in this process: the card is not ours to answer
        raise StaleCardError
    return engine


async def _engine_for(ctx: Ctx, incident_id: uuid.UUID) -> IncidentActions:
    """The engine of the incident's environment (the card carries only the incident id)."""
    store = ctx.services.store
    incident = None if store is None else await store.incidents.get(incident_id)
    if incident is None:
        raise StaleCardError
    engine = ctx.services.incidents.get(incident.environment)
    return engine if engine is not None else _engine(ctx)


async def acknowledge(ctx: Ctx, data: dict[str, Any]) -> Card:
    incident_id = _incident_id(data)
    engine = await _engine_for(ctx, incident_id)
    return (await _guarded(engine.acknowledge(incident_id, by=_caller(ctx)))).card


async def retest(ctx: Ctx, data: dict[str, Any]) -> Card:
    incident_id = _incident_id(data)
    engine = await _engine_for(ctx, incident_id)
    by = _caller(ctx) if ctx.services.act_as_caller else None
    await _guarded(engine.retest(incident_id, by=by))
    return (await _guarded(engine.card(incident_id))).card


async def silence(ctx: Ctx, data: dict[str, Any]) -> Card:
    strings = ctx.strings
    title = strings.gettext("Not silenced")
    incident_id = _incident_id(data)
    try:
        hours = int(str(data.get(verbs.HOURS)))
    except ValueError:
        raise StaleCardError from None
    if hours not in verbs.SILENCE_HOURS:
        raise StaleCardError
    reason = str(data.get(verbs.REASON) or "").strip()[: verbs.REASON_MAX_CHARS]
    if not reason:
        return refusal(
            ctx,
            title,
            strings.gettext(
                "A silence needs a reason: write why in the box, then choose how long."
            ),
        )
    engine = await _engine_for(ctx, incident_id)
    try:
        result = await _guarded(
            engine.silence(incident_id, hours=hours, reason=reason, by=_caller(ctx))
        )
    except InvalidSilence:
        return refusal(ctx, title, strings.gettext("This silence is not valid."))
    return result.card


async def open_status(ctx: Ctx, data: dict[str, Any]) -> Card:
    """The mailbox's status card; for a profile incident, the incident card as it is now."""
    incident_id = _incident_id(data)
    engine = await _engine_for(ctx, incident_id)
    store = ctx.services.store
    incident = None if store is None else await store.incidents.get(incident_id)
    if incident is not None and incident.subject_kind is SubjectKind.MAILBOX:
        found = await resolve.mailbox(ctx, incident.subject_id, command_text=incident.subject_id)
        return await mailboxes.show_status(ctx, found)
    return (await _guarded(engine.card(incident_id))).card


async def _guarded(awaitable: Awaitable[T]) -> T:
    """Await an engine call; an incident the engine does not know is a stale card."""
    try:
        return await awaitable
    except UnknownIncident:
        raise StaleCardError from None


def register(router: Router) -> None:
    """`set on-call channel here`, `who is on call` and the incident card's buttons."""

    @router.command(CommandKind.SET_ON_CALL_CHANNEL)
    async def set_here(ctx: Ctx, command: SetOnCallChannel) -> Card:
        return await set_on_call_channel(ctx)

    @router.command(CommandKind.WHO_IS_ON_CALL)
    async def who(ctx: Ctx, command: WhoIsOnCall) -> Card:
        return who_is_on_call_card(ctx)

    router.action(verbs.INCIDENT_ACK)(acknowledge)
    router.action(verbs.INCIDENT_RETEST)(retest)
    router.action(verbs.INCIDENT_SILENCE)(silence)
    router.action(verbs.INCIDENT_OPEN)(open_status)
