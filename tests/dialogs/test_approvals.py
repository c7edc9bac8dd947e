"""Routed approvals through the router, against the sim and a store on both databases:
request → the approvers' cards → a click checked at click time → one write as the
approver → every copy updated and the requester told."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import pytest

from cards import verbs
from cards.common import execute_action
from dataverse import DataverseClient, GraphClient, ops
from dataverse.models import EntraRoleTemplate, Mailbox
from dialogs.app import build_router
from dialogs.approvals import approvals_of
from dialogs.context import Services
from dialogs.router import Router
from dialogs.signing import CardSigner
from dialogs.turn import ConversationKind
from store import ApprovalState, AuditResult, CardRole, ConversationKey, Store
from tests.dialogs.conftest import CARD_SECRET, routed_services
from tests.dialogs.kit import click, find_action, text_of
from tests.dialogs.kit import say as plain_say
from tests.dialogs.routing_kit import (
    CHANNEL_ID,
    Delivery,
    FakeMessenger,
    mailbox_patches,
    mailbox_row,
    open_approvers_channel,
    open_chat,
    press,
    say,
)
from tests.simharness import RunningSim
from tests.store.kit import Backend, FakeClock

REASON = "Alice starts on Monday"


async def _request(
    router: Router, sim: RunningSim, store: Store, name: str = "sam", target: str = "alice"
) -> str:
    """`name` is denied approving `target`'s address and clicks Request approval."""
    denied = await say(router, sim, store, name, f"approve mailbox for {target}")
    assert "Request approval" in text_of(denied)
    sent = await press(router, sim, store, name, denied, "Request approval", reason=REASON)
    return text_of(sent)


def _only(deliveries: list[Delivery]) -> Delivery:
    assert len(deliveries) == 1, deliveries
    return deliveries[0]


async def _decide(
    router: Router, sim: RunningSim, store: Store, name: str, card: Delivery, title: str
) -> str:
    return text_of(
        await press(router, sim, store, name, card.card, title, message_id=card.activity_id)
    )


async def test_sam_asks_dana_approves(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """The issue's flow: both cards show "Approved by Dana Delegate"; the write carries
    CallerObjectId of dana; the trail says who, for whom, before and after."""
    await open_chat(store, sim, "dana")
    sent = await _request(routed, sim, store)
    assert "Request sent to 1 approver" in sent
    assert "Dana Delegate" in sent

    card = _only(messenger.sent_to("dana"))
    assert "Approval requested" in text_of(card.card)
    assert REASON in text_of(card.card)
    assert "Sam Sysadmin" in text_of(card.card)
    refresh = card.card["refresh"]
    assert refresh["userIds"] == [f"29:{sim.person('dana').object_id}"]
    assert not mailbox_patches(sim, "alice")

    answer = await _decide(routed, sim, store, "dana", card, "Approve")
    assert "Approved by Dana Delegate" in answer

    sam_copy = _only(messenger.updates_of("sam"))
    assert sam_copy.activity_id == "activity-1"  # the card sam clicked Request approval on
    assert "Approved by Dana Delegate" in text_of(sam_copy.card)
    assert not messenger.updates_of("dana")  # dana's copy is replaced by the click's answer
    told = messenger.sent_to("sam")
    assert told and "Your request was approved by Dana Delegate" in text_of(told[-1].card)

    assert mailbox_row(sim, "alice")["emailrouteraccessapproval"] == 1
    (patch,) = mailbox_patches(sim, "alice")
    assert patch["caller_object_id"] == sim.person("dana").object_id

    request = (await store.approvals.by_requester(sim.person("sam").object_id))[0]
    assert request.state is ApprovalState.APPROVED
    assert request.decided_by is not None and request.decided_by.name == "Dana Delegate"
    trail = await store.audit.by_target(sim.person("alice").mailbox.id)
    write = next(e for e in trail if e.action == "approve-email" and e.result is AuditResult.OK)
    assert write.actor.object_id == sim.person("dana").object_id
    assert write.on_behalf_of == sim.person("sam").object_id
    assert write.approval_request_id == request.id
    assert write.before == {"emailrouteraccessapproval": 2}
    assert write.after == {"emailrouteraccessapproval": 1}
    assert any(e.action == "approval-request" for e in trail)
    kinds = {c.role for c in await store.approvals.cards(request.id)}
    assert kinds == {CardRole.APPROVER, CardRole.REQUESTER}


async def test_every_eligible_person_is_asked_never_the_requester(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """Delegated Mailbox Approvers first, then Global and Exchange admins who are System
    Administrators; Gary (Global admin alone) and Xena (Exchange admin alone) are not."""
    for name in ("dana", "gina", "eddie", "gary", "xena", "sam"):
        await open_chat(store, sim, name)
    sent = await _request(routed, sim, store)
    assert "Request sent to 3 approvers" in sent
    got = [d.conversation_id for d in messenger.sent]
    assert got == ["a:personal-dana", "a:personal-gina", "a:personal-eddie"]


async def test_a_rejected_request_changes_nothing(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    answer = await _decide(routed, sim, store, "dana", _only(messenger.sent_to("dana")), "Reject")

    assert "Rejected by Dana Delegate" in answer
    assert "Rejected by Dana Delegate" in text_of(_only(messenger.updates_of("sam")).card)
    assert "rejected by Dana Delegate" in text_of(messenger.sent_to("sam")[-1].card)
    assert mailbox_row(sim, "alice")["emailrouteraccessapproval"] == 2
    assert not mailbox_patches(sim, "alice")
    trail = await store.audit.by_target(sim.person("alice").mailbox.id)
    assert [e.action for e in trail][0] == "approval-reject"


async def test_an_expired_request_is_closed_everywhere(
    routed: Router,
    stateful: Services,
    sim: RunningSim,
    store: Store,
    messenger: FakeMessenger,
    clock: FakeClock,
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    card = _only(messenger.sent_to("dana"))
    sweeper = approvals_of(routed)

    clock.advance(timedelta(hours=20, minutes=1))  # reminders go 4 hours before expiry
    assert await sweeper.sweep() == (0, 1)
    reminder = messenger.sent_to("dana")[-1]
    assert "Reminder: approval requested" in text_of(reminder.card)
    assert await sweeper.sweep() == (0, 0)  # once

    clock.advance(timedelta(hours=4))
    assert await sweeper.sweep() == (1, 0)
    updated = {d.activity_id: text_of(d.card) for d in messenger.updated}
    assert "Nobody decided in time" in updated[card.activity_id]
    assert "Nobody decided in time" in updated[reminder.activity_id]
    assert "Nobody decided in time" in updated["activity-1"]  # sam's copy
    assert "Your request expired" in text_of(messenger.sent_to("sam")[-1].card)

    late = await _decide(routed, sim, store, "dana", card, "Approve")
    assert "Nobody decided in time" in late
    assert not mailbox_patches(sim, "alice")


async def test_a_click_after_expiry_expires_it_even_before_the_sweep(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger, clock: FakeClock
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    clock.advance(timedelta(hours=25))
    answer = await _decide(routed, sim, store, "dana", _only(messenger.sent_to("dana")), "Approve")
    assert "Nobody decided in time" in answer
    assert "Nobody decided in time" in text_of(_only(messenger.updates_of("sam")).card)
    assert not mailbox_patches(sim, "alice")


async def test_two_approvers_at_once_write_once(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    for name in ("dana", "eddie"):
        await open_chat(store, sim, name)
    await _request(routed, sim, store)
    dana, eddie = _only(messenger.sent_to("dana")), _only(messenger.sent_to("eddie"))

    answers = await asyncio.gather(
        _decide(routed, sim, store, "dana", dana, "Approve"),
        _decide(routed, sim, store, "eddie", eddie, "Approve"),
    )
    assert len(mailbox_patches(sim, "alice")) == 1
    winner = "Dana Delegate" if "Approved by Dana Delegate" in answers[0] else "Eddie Exchange"
    assert all(f"Approved by {winner}" in a for a in answers)
    request = (await store.approvals.by_requester(sim.person("sam").object_id))[0]
    assert request.decided_by is not None and request.decided_by.name == winner
    writes = [
        e
        for e in await store.audit.by_target(sim.person("alice").mailbox.id)
        if e.action == "approve-email" and e.result is AuditResult.OK
    ]
    assert len(writes) == 1

    again = await _decide(routed, sim, store, "dana", dana, "Approve")  # a double click
    assert f"Approved by {winner}" in again
    assert len(mailbox_patches(sim, "alice")) == 1


async def test_an_approver_who_lost_the_role_is_refused(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger, dv: DataverseClient
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    gina = sim.person("gina").object_id
    removed = await ops.remove_delegated_approver(
        dv, sim.person("dana").systemuser_id, acting_for=gina
    )
    assert removed.changed

    answer = await _decide(routed, sim, store, "dana", _only(messenger.sent_to("dana")), "Approve")
    assert "You can't do this" in answer
    assert "Request approval" not in answer
    assert not mailbox_patches(sim, "alice")
    request = (await store.approvals.by_requester(sim.person("sam").object_id))[0]
    assert request.state is ApprovalState.PENDING
    refused = (await store.audit.by_target(sim.person("alice").mailbox.id))[0]
    assert refused.result is AuditResult.DENIED
    assert refused.actor.object_id == sim.person("dana").object_id
    assert refused.approval_request_id == request.id


async def test_a_non_approver_clicking_in_the_approvers_channel_is_refused_and_audited(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """Nobody has a personal chat: the request goes to the approvers channel, where anyone
    can click; Una (Basic User) is refused at click time."""
    await open_approvers_channel(store, sim)
    sent = await _request(routed, sim, store)
    assert "Request posted in the approvers channel" in sent
    posted = _only([d for d in messenger.sent if d.conversation_id == CHANNEL_ID])
    assert "Dana Delegate" in text_of(posted.card)  # the approvers are @mentioned

    answer = await press(
        routed,
        sim,
        store,
        "una",
        posted.card,
        "Approve",
        message_id=posted.activity_id,
        conversation=CHANNEL_ID,
        kind=ConversationKind.CHANNEL,
    )
    assert "You can't do this" in text_of(answer)
    assert not mailbox_patches(sim, "alice")
    refused = (await store.audit.by_actor(sim.person("una").object_id))[0]
    assert refused.result is AuditResult.DENIED
    assert refused.action == "approve-email"

    answer = await press(
        routed,
        sim,
        store,
        "eddie",
        posted.card,
        "Approve",
        message_id=posted.activity_id,
        conversation=CHANNEL_ID,
        kind=ConversationKind.CHANNEL,
    )
    assert "Approved by Eddie Exchange" in text_of(answer)
    assert len(mailbox_patches(sim, "alice")) == 1


async def test_a_forged_approve_payload_is_refused_and_audited(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """Una copies dana's card into her own chat (the signature names dana's chat), then
    tries a request id of her choosing: both are stale cards, audited, nothing written."""
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    card = _only(messenger.sent_to("dana"))

    copied = await press(routed, sim, store, "una", card.card, "Approve")
    assert "out of date" in text_of(copied)
    data = dict(find_data(card.card, "Approve"))
    data[verbs.REQUEST_ID] = str(uuid.uuid4())
    made_up = await press(routed, sim, store, "una", card.card, "Approve", data=data)
    assert "out of date" in text_of(made_up)

    assert not mailbox_patches(sim, "alice")
    entries = await store.audit.by_actor(sim.person("una").object_id)
    assert [e.result for e in entries] == [AuditResult.DENIED, AuditResult.DENIED]
    request = (await store.approvals.by_requester(sim.person("sam").object_id))[0]
    assert entries[1].approval_request_id == request.id  # the one naming a real request
    assert entries[1].target is not None
    assert entries[1].target.id == sim.person("alice").mailbox.id
    assert request.state is ApprovalState.PENDING


def find_data(card: dict[str, object], title: str) -> dict[str, object]:
    data: dict[str, object] = find_action(card, title)["data"]
    return data


async def test_a_restart_between_request_and_click(
    sim: RunningSim,
    services: Services,
    graph: GraphClient,
    backend: Backend,
    clock: FakeClock,
) -> None:
    """The request is made by one bot process; another one (new services, a new store
    connection, the same card secret) serves the click."""
    first_store = await backend.open(clock)
    first_messenger = FakeMessenger()
    first = build_router(
        routed_services(services, graph, first_store, first_messenger), CardSigner(CARD_SECRET)
    )
    await open_chat(first_store, sim, "dana")
    await _request(first, sim, first_store)
    card = _only(first_messenger.sent_to("dana"))
    await first_store.close()

    second_store = await backend.open(clock)
    second_messenger = FakeMessenger()
    try:
        second = build_router(
            routed_services(services, graph, second_store, second_messenger),
            CardSigner(CARD_SECRET),
        )
        answer = await _decide(second, sim, second_store, "dana", card, "Approve")
        assert "Approved by Dana Delegate" in answer
        assert "Approved by Dana Delegate" in text_of(
            _only(second_messenger.updates_of("sam")).card
        )
        assert mailbox_row(sim, "alice")["emailrouteraccessapproval"] == 1
    finally:
        await second_store.close()


async def test_a_request_for_a_mailbox_that_no_longer_exists(
    routed: Router, sim: RunningSim, store: Store
) -> None:
    """A correctly signed Request approval for a mailbox id that is gone: a clear card,
    nothing stored."""
    card = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "ActionSet",
                "actions": [
                    execute_action(
                        "Request approval",
                        verbs.APPROVAL_REQUEST,
                        {verbs.OPERATION: "approve-email", verbs.TARGET_ID: str(uuid.uuid4())},
                    )
                ],
            }
        ],
    }
    signed = CardSigner(CARD_SECRET).sign(card, "a:personal-sam")
    answer = await press(routed, sim, store, "sam", signed, "Request approval")
    assert "no longer exists" in text_of(answer)
    assert not await store.approvals.by_requester(sim.person("sam").object_id)


async def test_a_mailbox_removed_before_the_click(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger, dv: DataverseClient
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    await dv.delete_row(Mailbox, sim.person("alice").mailbox.id)

    answer = await _decide(routed, sim, store, "dana", _only(messenger.sent_to("dana")), "Approve")
    assert "could not be carried out" in answer
    assert "could not be carried out" in text_of(_only(messenger.updates_of("sam")).card)
    request = (await store.approvals.by_requester(sim.person("sam").object_id))[0]
    assert request.state is ApprovalState.FAILED


async def test_tampered_and_unknown_request_ids_are_stale_cards(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    card = _only(messenger.sent_to("dana"))
    for bad in ("not-a-uuid", str(uuid.uuid4()), None):
        forged = {
            "type": "AdaptiveCard",
            "body": [
                {
                    "type": "ActionSet",
                    "actions": [
                        execute_action(
                            "Approve",
                            verbs.APPROVAL_APPROVE,
                            {verbs.REQUEST_ID: bad, verbs.ENVIRONMENT: "prod"},
                        )
                    ],
                }
            ],
        }
        signed = CardSigner(CARD_SECRET).sign(forged, "a:personal-dana")
        answer = await press(routed, sim, store, "dana", signed, "Approve")
        assert "out of date" in text_of(answer)
    other_env = dict(find_data(card.card, "Approve"))
    other_env[verbs.ENVIRONMENT] = "staging"
    answer = await press(routed, sim, store, "dana", card.card, "Approve", data=other_env)
    assert "out of date" in text_of(answer)
    assert not mailbox_patches(sim, "alice")


async def test_the_requester_cannot_decide_their_own_request(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_approvers_channel(store, sim)
    await _request(routed, sim, store)
    posted = _only([d for d in messenger.sent if d.conversation_id == CHANNEL_ID])
    answer = await press(
        routed,
        sim,
        store,
        "sam",
        posted.card,
        "Approve",
        conversation=CHANNEL_ID,
        kind=ConversationKind.CHANNEL,
    )
    assert "Someone else must decide your request" in text_of(answer)
    assert not mailbox_patches(sim, "alice")


async def test_asking_twice_does_not_ask_twice(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    again = await _request(routed, sim, store)
    assert "You have already asked for this" in again
    assert "Dana Delegate" in again
    assert len(messenger.sent_to("dana")) == 1
    assert len(await store.approvals.by_requester(sim.person("sam").object_id)) == 1


async def test_a_requester_who_may_now_do_it_is_told_so(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger, dv: DataverseClient
) -> None:
    denied = await say(routed, sim, store, "sam", "approve mailbox for alice")
    gina = sim.person("gina").object_id
    await ops.assign_delegated_approver(dv, sim.person("sam").systemuser_id, acting_for=gina)

    answer = await press(routed, sim, store, "sam", denied, "Request approval")
    assert "You can do this yourself now" in text_of(answer)
    assert not await store.approvals.by_requester(sim.person("sam").object_id)
    done = await press(routed, sim, store, "sam", answer, "Approve email")  # type: ignore[arg-type]
    assert "Done" in text_of(done)


async def test_nobody_reachable_names_who_could(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """No approver ever talked to the bot and no approvers channel is set up."""
    sent = await _request(routed, sim, store)
    assert "Nobody could be asked" in sent
    assert "<at>Dana Delegate</at>" in sent
    request = (await store.approvals.by_requester(sim.person("sam").object_id))[0]
    assert request.state is ApprovalState.FAILED


async def test_a_removed_app_falls_back_to_the_channel(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """403 BotNotInConversationRoster on dana's chat: her reference is dropped and the
    request goes to the approvers channel."""
    await open_chat(store, sim, "dana")
    await open_approvers_channel(store, sim)
    messenger.gone.add("a:personal-dana")
    sent = await _request(routed, sim, store)
    assert "Request posted in the approvers channel" in sent
    assert [d.conversation_id for d in messenger.sent] == [CHANNEL_ID]
    assert await store.conversations.find_personal(sim.person("dana").object_id) is None
    assert await store.conversations.get(ConversationKey(sim.tenant_id, CHANNEL_ID)) is not None


async def test_pending_approvals_lists_the_requests_an_approver_may_decide(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)

    listed = await say(routed, sim, store, "dana", "pending approvals")
    assert "1 approval request waiting for you" in text_of(listed)
    assert "Sam Sysadmin" in text_of(listed)
    answer = await press(routed, sim, store, "dana", listed, "Approve")
    assert "Approved by Dana Delegate" in text_of(answer)

    eddie = await say(routed, sim, store, "eddie", "pending approvals")
    assert "0 approval requests waiting for you" in text_of(eddie)


async def test_my_requests_lists_them_with_their_state(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    mine = await say(routed, sim, store, "sam", "my requests")
    assert "Waiting for approval" in text_of(mine)
    await _decide(routed, sim, store, "dana", _only(messenger.sent_to("dana")), "Reject")
    mine = await say(routed, sim, store, "sam", "my requests")
    assert "decided by Dana Delegate" in text_of(mine)


async def test_the_refresh_shows_buttons_to_approvers_only(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    await _request(routed, sim, store)
    card = _only(messenger.sent_to("dana")).card
    refresh = card["refresh"]["action"]
    shell = {
        "type": "AdaptiveCard",
        "body": [
            {
                "type": "ActionSet",
                "actions": [{**refresh, "title": "Refresh"}],
            }
        ],
    }
    dana = await press(routed, sim, store, "dana", shell, "Refresh")
    assert "Reject" in text_of(dana)
    una = await press(routed, sim, store, "una", shell, "Refresh")
    assert "out of date" in text_of(una)  # signed for dana's chat


async def test_request_approval_typed(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    card = await say(routed, sim, store, "sam", "request approval for alice because new hire")
    assert "Request sent to 1 approver" in text_of(card)
    assert "new hire" in text_of(_only(messenger.sent_to("dana")).card)


async def test_without_a_store_the_button_says_so(router: Router, sim: RunningSim) -> None:
    denied = await plain_say(router, sim, "sam", "approve mailbox for alice")
    answer = await click(router, sim, "sam", denied, "Request approval")
    assert "Approval requests are not set up" in text_of(answer)


async def test_graph_unavailable_still_asks_the_delegated_approvers(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """The Global and Exchange admins cannot be listed (Graph refuses): the Delegated
    Mailbox Approvers are still asked."""
    await open_chat(store, sim, "dana")
    await open_chat(store, sim, "eddie")
    sim.fault("roleDefinitionId", 403, times=10)
    sent = await _request(routed, sim, store)
    assert "Request sent to 1 approver" in sent
    assert [d.conversation_id for d in messenger.sent] == ["a:personal-dana"]


async def test_those_without_a_chat_are_asked_in_the_channel(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    await open_chat(store, sim, "dana")
    await open_approvers_channel(store, sim)
    sent = await _request(routed, sim, store)
    assert "Request sent to 1 approver" in sent
    assert "Also posted in the approvers channel" in sent
    posted = _only([d for d in messenger.sent if d.conversation_id == CHANNEL_ID])
    mentioned = {e["mentioned"]["name"] for e in posted.card["msteams"]["entities"]}
    assert mentioned == {"Gina Global", "Tess Teamadmin", "Eddie Exchange"}
    assert posted.card["refresh"]["userIds"] == [f"29:{sim.person('dana').object_id}"]


# ---- admins through a group ----------------------------------------------------------------
# A directory role assigned to a role-assignable group reaches its members
# (https://learn.microsoft.com/entra/identity/role-based-access-control/groups-concept); the
# bot lists them with GET groups/{id}/transitiveMembers/microsoft.graph.user
# (https://learn.microsoft.com/graph/api/group-list-transitivemembers).

EXCHANGE_ADMIN = EntraRoleTemplate.EXCHANGE_ADMINISTRATOR
GLOBAL_ADMIN = EntraRoleTemplate.GLOBAL_ADMINISTRATOR


def _member_listings(sim: RunningSim) -> list[str]:
    return [
        r["path"]
        for r in sim.requests()
        if r["path"].endswith("/transitiveMembers/microsoft.graph.user")
    ]


async def test_an_exchange_admin_through_a_group_is_asked_and_approves(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """Tess holds Exchange Administrator only as a member of "Exchange Operators" (and is a
    System Administrator through a team): listed through group-list-transitivemembers, she
    is asked, and her click, checked again at click time, approves in her name."""
    await open_chat(store, sim, "tess")
    sent = await _request(routed, sim, store)
    assert "Request sent to 1 approver" in sent
    assert "Tess Teamadmin" in sent
    operators = next(g.id for g in sim.fixture.groups if g.name == "Exchange Operators")
    assert _member_listings(sim) == [
        f"/v1.0/groups/{operators}/transitiveMembers/microsoft.graph.user"
    ]

    answer = await _decide(routed, sim, store, "tess", _only(messenger.sent_to("tess")), "Approve")
    assert "Approved by Tess Teamadmin" in answer
    (patch,) = mailbox_patches(sim, "alice")
    assert patch["caller_object_id"] == sim.person("tess").object_id


async def test_one_person_through_several_routes_is_asked_once_each_group_read_once(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """A group holding both roles, with eddie (also Exchange admin directly) and tess (also
    in "Exchange Operators"): each is asked once, after the Delegated Mailbox Approver, and
    each group's members are listed once, not once per role."""
    for name in ("dana", "gina", "eddie", "tess"):
        await open_chat(store, sim, name)
    both = sim.add_group(
        "Mail Admins",
        [sim.person("eddie").object_id, sim.person("tess").object_id],
        [GLOBAL_ADMIN, EXCHANGE_ADMIN],
    )
    sent = await _request(routed, sim, store)
    assert "Request sent to 4 approvers" in sent
    got = [d.conversation_id for d in messenger.sent]
    assert got == [f"a:personal-{n}" for n in ("dana", "gina", "eddie", "tess")]
    listed = _member_listings(sim)
    assert len(listed) == len(set(listed)) == 2
    assert f"/v1.0/groups/{both}/transitiveMembers/microsoft.graph.user" in listed


async def test_disabled_or_non_person_members_are_not_asked(
    routed: Router, sim: RunningSim, store: Store, messenger: FakeMessenger
) -> None:
    """Tess's account is disabled (accountEnabled false): she is not asked although her roles
    still read as eligible. The app's service principal in a Global admin group is no user
    (the cast to microsoft.graph.user leaves it out), and a member with an Entra account
    but no Dataverse user is decided from its own facts: neither is asked."""
    await open_chat(store, sim, "dana")
    await open_chat(store, sim, "tess")
    tess = sim.person("tess").object_id
    sim.thread.call(lambda: setattr(sim.sim.state.users[tess], "account_enabled", False))
    stranger = sim.add_user("Entra Only")
    app = sim.fixture.application.object_id
    sim.add_group("Global Ops", [app, stranger], [GLOBAL_ADMIN])
    sent = await _request(routed, sim, store)
    assert "Request sent to 1 approver" in sent
    assert [d.conversation_id for d in messenger.sent] == ["a:personal-dana"]
    request = (await store.approvals.by_requester(sim.person("sam").object_id))[0]
    asked = {a["object_id"] for a in request.parameters["approvers"]}
    assert asked.isdisjoint({tess, stranger, app})


async def test_an_admin_group_that_cannot_be_read_is_skipped(
    routed: Router,
    sim: RunningSim,
    store: Store,
    messenger: FakeMessenger,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without GroupMember.Read.All Graph refuses group-list-transitivemembers (403): the
    group is logged and skipped, everyone else is still asked."""
    sim.thread.call(lambda: sim.sim.state.application.app_roles.discard("GroupMember.Read.All"))
    for name in ("dana", "eddie", "tess"):
        await open_chat(store, sim, name)
    with caplog.at_level(logging.WARNING, logger="mailops.approvals"):
        sent = await _request(routed, sim, store)
    assert "Request sent to 2 approvers" in sent
    assert [d.conversation_id for d in messenger.sent] == ["a:personal-dana", "a:personal-eddie"]
    assert any(
        "could not list the members of admin group" in r.getMessage() for r in caplog.records
    )
    assert {r["status"] for r in sim.requests() if "/transitiveMembers" in r["path"]} == {403}
