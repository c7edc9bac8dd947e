"""The monitor's `Notifier` over the bot's proactive `Messenger` and the store's conversations.

Where a card goes:

- **on-call**: the conversation with the store's "on-call" purpose, set in chat by a System
  Administrator with `set on-call channel here`, or named by configuration
  (`MAILOPS_ONCALL_CONVERSATION_ID`): the configured conversation gets the purpose the first
  time it is needed once the bot has heard from it (its reference is stored).
- **approvers**: the conversation with the "approvers" purpose
  (`MAILOPS_APPROVERS_CONVERSATION_ID`, see `bot.proactive.ConversationKeeper`), used for the
  second escalation level.

Cards are signed (`dialogs.signing.CardSigner`) for the conversation they go to, so that the
incident buttons are accepted when clicked there. A conversation Teams says the bot can no
longer reach (403 BotNotInConversationRoster, 404) is forgotten, and the monitor is told
`NoConversation`: it keeps the incident and tries again next cycle.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from bot.config import Settings
from dialogs.context import Services
from dialogs.signing import CardSigner
from dialogs.turn import ConversationGoneError, Messenger, channel_of
from monitor import (
    Audience,
    CycleReport,
    FixedList,
    Monitor,
    MonitorConfig,
    NoConversation,
    Responder,
)
from store import ON_CALL, CardLocation, ConversationKey, ConversationRef, NotFound, Person, Store

log = logging.getLogger("mailops.notifier")

CONFIGURATION = Person("mailops", "MailOps configuration")
"""Who assigned a purpose that came from configuration."""


class BotNotifier:
    """`monitor.Notifier` for Teams; see the module docstring."""

    def __init__(
        self,
        store: Store,
        messenger: Messenger,
        signer: CardSigner,
        *,
        tenant_id: str,
        on_call_conversation: str | None = None,
    ) -> None:
        self._store = store
        self._messenger = messenger
        self._signer = signer
        self._tenant_id = tenant_id
        self._configured = channel_of(on_call_conversation or "") or None

    async def _conversation(self, audience: Audience) -> ConversationRef:
        conversations = self._store.conversations
        found = await conversations.find_assigned(audience.value)
        if found is None and audience is Audience.ON_CALL and self._configured is not None:
            try:
                key = ConversationKey(self._tenant_id, self._configured)
                await conversations.assign(ON_CALL, key, by=CONFIGURATION)
            except NotFound:
                pass  # the bot has not heard from that conversation yet
            else:
                found = await conversations.find_assigned(audience.value)
        if found is None:
            raise NoConversation(audience.value)
        return found

    def _signed(self, card: dict[str, Any], key: ConversationKey) -> dict[str, Any]:
        # A copy: the monitor may hand the same card to several conversations. Signed for
        # the channel, not the thread it was chosen in: the post starts a thread of its own.
        return self._signer.sign(copy.deepcopy(card), key.conversation_id)

    async def post(
        self,
        card: dict[str, Any],
        *,
        audience: Audience,
        mentions: Sequence[Responder] = (),
    ) -> CardLocation:
        ref = await self._conversation(audience)
        try:
            activity_id = await self._messenger.send(ref.reference, self._signed(card, ref.key))
        except ConversationGoneError:
            log.info("the %s conversation %s is gone; forgotten", audience.value, ref.key)
            await self._store.conversations.delete(ref.key)
            raise NoConversation(audience.value) from None
        return CardLocation(ref.key, activity_id)

    async def update(self, location: CardLocation, card: dict[str, Any]) -> None:
        ref = await self._store.conversations.get(location.conversation)
        if ref is None:
            raise NoConversation(location.conversation.conversation_id)
        try:
            await self._messenger.update(
                ref.reference, location.activity_id, self._signed(card, ref.key)
            )
        except ConversationGoneError:
            log.info("conversation %s is gone; forgotten", ref.key)
            await self._store.conversations.delete(ref.key)
            raise NoConversation(location.conversation.conversation_id) from None


# ---- the running monitors (`mailops serve`) ------------------------------------------------


def on_call_schedule(people: Sequence[str]) -> FixedList | None:
    """MAILOPS_ONCALL as a fixed list: each entry (a UPN or an Entra object id) is both the
    name shown and the id a Teams mention names; None when the list is empty."""
    responders = tuple(Responder(p, p) for p in dict.fromkeys(p.strip() for p in people) if p)
    return FixedList(responders) if responders else None


class Monitors:
    """One `Monitor` per environment, each in its own task with `run_forever(stop)`.

    `start` also hands the incident engines and the on-call schedule to the dialogs
    (`Services.incidents`, `Services.on_call`); `close` stops the loops and waits for them,
    so that each releases its leader lease and another replica takes over at once.
    """

    def __init__(
        self,
        monitors: Mapping[str, Monitor],
        *,
        on_cycle: Callable[[CycleReport], None] | None = None,
    ) -> None:
        self.monitors = dict(monitors)
        self._on_cycle = on_cycle
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def build(
        cls,
        settings: Settings,
        services: Services,
        signer: CardSigner,
        *,
        on_cycle: Callable[[CycleReport], None] | None = None,
    ) -> Monitors:
        """The monitors `settings` ask for (none with MAILOPS_MONITOR=off, or without a
        store or a messenger); not started yet."""
        services.on_call = on_call_schedule(settings.on_call)
        store, messenger = services.store, services.messenger
        if not settings.monitor_enabled or store is None or messenger is None:
            return cls({})
        notifier = BotNotifier(
            store,
            messenger,
            signer,
            tenant_id=settings.tenant_id,
            on_call_conversation=settings.on_call_conversation_id,
        )
        ttl = settings.monitor_lease_ttl_s
        config = MonitorConfig(
            interval=timedelta(seconds=settings.monitor_interval_s),
            lease_ttl=None if ttl is None else timedelta(seconds=ttl),
        )
        monitors = {
            name: Monitor(name, env.dataverse, store, notifier, config, schedule=services.on_call)
            for name, env in services.environments.items()
        }
        services.incidents = {name: m.engine for name, m in monitors.items()}
        return cls(monitors, on_cycle=on_cycle)

    def start(self) -> None:
        for name, monitor in self.monitors.items():
            task = asyncio.create_task(
                monitor.run_forever(self._stop, on_cycle=self._on_cycle), name=f"monitor {name}"
            )
            self._tasks.append(task)
        if self.monitors:
            log.info("monitoring %s", ", ".join(self.monitors))

    async def close(self) -> None:
        self._stop.set()
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, asyncio.CancelledError
            ):
                log.error("a monitor ended with an error", exc_info=result)
        self._tasks.clear()
