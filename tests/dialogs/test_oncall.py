"""The on-call family through the real router: `set on-call channel here` (System
Administrators only), `who is on call`, and the incident card's buttons against the monitor's
engine, with the bot's notifier posting through a recording messenger."""

from __future__ import annotations

import json
from typing import Any, Final

import pytest

from bot.notifier import BotNotifier
from cards.incidents import Cause
from dataverse import DataverseClient
from dialogs.approvals import remember
from dialogs.context import Services
from dialogs.router import Router
from dialogs.turn import Card, ConversationKind
from monitor import (
    Audience,
    FixedList,
    IncidentEngine,
    MonitorConfig,
    NoConversation,
    Responder,
    group_key,
)
from store import ConversationKey, IncidentState, Store, SubjectKind
from tests.dialogs.routing_kit import FakeMessenger, mailbox_patches, press, turn_of
from tests.simharness import RunningSim

ON_CALL_CHAT: Final = "19:oncall@thread.v2"
BOB: Final = "3b000000-0000-4000-8000-00000000000a"


def flat(card: Card | str) -> str:
    return card if isinstance(card, str) else json.dumps(card)


async def say_in(router: Router, sim: RunningSim, name: str, text: str) -> Card:
    """A message typed in the on-call group chat."""
    turn = turn_of(sim, name, text, conversation=ON_CALL_CHAT, kind=ConversationKind.GROUP_CHAT)
    await router.on_message(turn)
    assert len(turn.replies) == 1
    return turn.replies[0]


async def click(
    router: Router, sim: RunningSim, store: Store, name: str, card: Card, title: str, **inputs: Any
) -> Card | str:
    return await press(
        router,
        sim,
        store,
        name,
        card,
        title,
        conversation=ON_CALL_CHAT,
        kind=ConversationKind.GROUP_CHAT,
        **inputs,
    )


@pytest.fixture
def engine(
    stateful: Services,
    routed: Router,
    store: Store,
    messenger: FakeMessenger,
    dv: DataverseClient,
    sim: RunningSim,
) -> IncidentEngine:
    """The monitor's engine of the test environment, posting through the bot's notifier."""
    notifier = BotNotifier(store, messenger, routed.signer, tenant_id=sim.tenant_id)
    made = IncidentEngine(
        stateful.default.name,
        store,
        notifier,
        MonitorConfig(digest_at=None),
        client=dv,
        schedule=stateful.on_call,
    )
    stateful.incidents = {stateful.default.name: made}
    return made


async def _announced(engine: IncidentEngine, store: Store, messenger: FakeMessenger) -> Card:
    """Bob's mailbox fails; the engine posts its card to the on-call chat."""
    await store.incidents.observe(
        environment=engine.environment,
        subject_kind=SubjectKind.MAILBOX,
        subject_id=BOB,
        subject_display="Bob Broken",
        error_code="3",
        error_text="Authentication failure",
        group_key=group_key(SubjectKind.MAILBOX, BOB, None, "3"),
    )
    report = await engine.reconcile()
    assert report.posted == 1
    assert messenger.sent[-1].conversation_id == ON_CALL_CHAT
    return messenger.sent[-1].card


async def test_a_system_administrator_sets_the_on_call_channel(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    card = await say_in(routed, sim, "sam", "set on-call channel here")
    assert "This is the on-call channel now" in flat(card)
    found = await store.conversations.find_on_call()
    assert found is not None
    assert found.key == ConversationKey(sim.tenant_id, ON_CALL_CHAT)


async def test_others_may_not_set_the_on_call_channel(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    card = await say_in(routed, sim, "gary", "set on-call channel here")
    assert "Only a System Administrator" in flat(card)
    assert await store.conversations.find_on_call() is None


async def test_who_is_on_call_answers_from_the_configured_list(
    routed: Router, stateful: Services, sim: RunningSim
) -> None:
    stateful.on_call = FixedList(
        (Responder("Dana Delegate", "dana@contoso.com"), Responder("Eddie Exchange", "eddie"))
    )
    card = await say_in(routed, sim, "gary", "who is on call")
    text = flat(card)
    assert "On call now" in text
    assert text.index("Dana Delegate") < text.index("Eddie Exchange")


async def test_who_is_on_call_without_a_list_says_how_to_configure_it(
    routed: Router, sim: RunningSim
) -> None:
    assert "MAILOPS_ONCALL" in flat(await say_in(routed, sim, "gary", "who is on call"))


async def test_acknowledge_shows_who_and_updates_the_posted_card(
    routed: Router,
    sim: RunningSim,
    store: Store,
    engine: IncidentEngine,
    messenger: FakeMessenger,
) -> None:
    await say_in(routed, sim, "sam", "set on-call channel here")
    card = await _announced(engine, store, messenger)

    answer = await click(routed, sim, store, "dana", card, "Acknowledge")
    assert "Acknowledged by" in flat(answer)
    assert "Dana Delegate" in flat(answer)
    assert 'Acknowledge"' not in flat(answer)  # the button is gone
    (incident,) = await store.incidents.open(environment=engine.environment)
    assert incident.state is IncidentState.ACKNOWLEDGED
    assert "Dana Delegate" in flat(messenger.updated[-1].card)


async def test_silence_needs_a_reason(
    routed: Router,
    sim: RunningSim,
    store: Store,
    engine: IncidentEngine,
    messenger: FakeMessenger,
) -> None:
    await say_in(routed, sim, "sam", "set on-call channel here")
    card = await _announced(engine, store, messenger)

    refused = await click(routed, sim, store, "dana", card, "1 hour")
    assert "A silence needs a reason" in flat(refused)
    assert await store.silences.active(environment=engine.environment) == []

    answer = await click(
        routed, sim, store, "dana", card, "8 hours", reason="Exchange maintenance"
    )
    assert "Exchange maintenance" in flat(answer)
    (silence,) = await store.silences.active(environment=engine.environment)
    assert silence.reason == "Exchange maintenance"


async def test_a_forged_duration_is_a_stale_card(
    routed: Router,
    sim: RunningSim,
    store: Store,
    engine: IncidentEngine,
    messenger: FakeMessenger,
) -> None:
    await say_in(routed, sim, "sam", "set on-call channel here")
    card = await _announced(engine, store, messenger)
    incident_id = str((await store.incidents.open(environment=engine.environment))[0].id)
    answer = await press(
        routed,
        sim,
        store,
        "dana",
        card,
        "1 hour",
        conversation=ON_CALL_CHAT,
        kind=ConversationKind.GROUP_CHAT,
        data={"incidentId": incident_id, "hours": "700", "reason": "x"},
    )
    assert await store.silences.active(environment=engine.environment) == []
    assert "Silenced" not in flat(answer)


async def test_open_status_shows_the_mailbox(
    routed: Router,
    sim: RunningSim,
    store: Store,
    engine: IncidentEngine,
    messenger: FakeMessenger,
) -> None:
    await say_in(routed, sim, "sam", "set on-call channel here")
    card = await _announced(engine, store, messenger)
    answer = await click(routed, sim, store, "dana", card, "Open status")
    assert "Bob Brown" in flat(answer)
    assert "incident.ack" not in flat(answer)  # the mailbox's card, not the incident's


async def test_without_an_on_call_channel_the_engine_waits(
    store: Store, engine: IncidentEngine, messenger: FakeMessenger
) -> None:
    await store.incidents.observe(
        environment=engine.environment,
        subject_kind=SubjectKind.MAILBOX,
        subject_id=BOB,
        subject_display="Bob Broken",
        error_code=Cause.STATUS.value,
    )
    report = await engine.reconcile()
    assert (report.posted, report.waiting) == (0, 1)
    assert messenger.sent == []


async def test_a_card_posted_in_a_channel_is_clicked_in_its_own_thread(
    routed: Router,
    sim: RunningSim,
    store: Store,
    engine: IncidentEngine,
    messenger: FakeMessenger,
) -> None:
    """Teams names a channel thread `19:…;messageid=<root>`: the channel was chosen in one
    thread, the incident is posted as a new one, and its buttons are clicked there."""
    channel = "19:oncall@thread.tacv2"
    chosen_in = turn_of(
        sim,
        "sam",
        "set on-call channel here",
        conversation=f"{channel};messageid=1",
        kind=ConversationKind.CHANNEL,
    )
    await routed.on_message(chosen_in)
    messenger.sent.clear()
    await store.incidents.observe(
        environment=engine.environment,
        subject_kind=SubjectKind.MAILBOX,
        subject_id=BOB,
        subject_display="Bob Broken",
        error_code="3",
        group_key=group_key(SubjectKind.MAILBOX, BOB, None, "3"),
    )
    await engine.reconcile()
    card = messenger.sent[-1].card
    answer = await press(
        routed,
        sim,
        store,
        "dana",
        card,
        "Acknowledge",
        conversation=f"{channel};messageid={messenger.sent[-1].activity_id}",
        kind=ConversationKind.CHANNEL,
    )
    assert "Acknowledged by" in flat(answer)
    # …but not in another channel.
    elsewhere = await press(
        routed,
        sim,
        store,
        "dana",
        card,
        "Open status",
        conversation="19:elsewhere@thread.tacv2;messageid=5",
        kind=ConversationKind.CHANNEL,
    )
    assert "Bob Brown" not in flat(elsewhere)


async def test_retest_schedules_test_and_enable_as_the_clicker(
    routed: Router,
    sim: RunningSim,
    store: Store,
    engine: IncidentEngine,
    messenger: FakeMessenger,
) -> None:
    await say_in(routed, sim, "sam", "set on-call channel here")
    card = await _announced(engine, store, messenger)
    before = len(mailbox_patches(sim, "bob"))
    answer = await click(routed, sim, store, "dana", card, "Re-test")
    assert "Bob Broken" in flat(answer)
    patches = mailbox_patches(sim, "bob")[before:]
    assert [p["caller_object_id"] for p in patches] == [sim.person("dana").object_id]


async def test_the_configured_on_call_conversation_is_used_once_stored(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    notifier = BotNotifier(
        store,
        messenger,
        routed.signer,
        tenant_id=sim.tenant_id,
        on_call_conversation=f"{ON_CALL_CHAT};messageid=7",
    )
    card: Card = {"type": "AdaptiveCard", "version": "1.5", "body": []}
    with pytest.raises(NoConversation):  # the bot has not heard from it yet
        await notifier.post(card, audience=Audience.ON_CALL)
    await remember(
        store,
        turn_of(sim, "gary", "help", conversation=ON_CALL_CHAT, kind=ConversationKind.GROUP_CHAT),
    )
    location = await notifier.post(card, audience=Audience.ON_CALL)
    assert location.conversation == ConversationKey(sim.tenant_id, ON_CALL_CHAT)
    assert messenger.sent[-1].conversation_id == ON_CALL_CHAT
    with pytest.raises(NoConversation):  # no approvers' channel in this test
        await notifier.post(card, audience=Audience.APPROVERS)
    messenger.gone.add(ON_CALL_CHAT)
    with pytest.raises(NoConversation):  # removed from the chat: forgotten
        await notifier.update(location, card)
    assert await store.conversations.get(location.conversation) is None
