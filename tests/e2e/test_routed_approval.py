"""A routed approval in the Agents Playground, as two people in two Playgrounds.

sam may not approve alice's mailbox; he asks, and the request reaches dana (a Delegated
Mailbox Approver) in her personal chat with the bot, which the bot knows because she wrote to
it once. dana approves in her Playground; the card in sam's Playground is updated in place by
the bot, and the sim's Dataverse shows the write made as dana (CallerObjectId).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e

APPROVED = 1  # mailbox.emailrouteraccessapproval: Approved


def _approval_patches(stack: Stack, mailbox_id: str) -> list[dict[str, Any]]:
    """The sim's recorded Dataverse writes that change the mailbox (batched or not)."""
    return [
        r
        for r in stack.requests()
        if "PATCH" in f"{r['method']} {r.get('body')}"
        and f"mailboxes({mailbox_id})" in f"{r['path']} {r.get('body')}"
    ]


def test_sam_asks_dana_approves_in_her_playground(
    open_chat: Callable[[str], Chat], stack: Stack
) -> None:
    fixture = stack.running.sim.fixture
    people = {p.name: p for p in fixture.people}
    alice_mailbox = people["alice"].mailbox
    assert alice_mailbox is not None
    assert stack.mailbox("alice")["emailrouteraccessapproval"] != APPROVED

    # dana writes to the bot once: it keeps her personal chat's reference, where requests go.
    dana = open_chat("dana")
    dana.say("help")
    dana.card("Show what I can do.")

    sam = open_chat("sam")
    sam.say("approve mailbox for alice")
    denial = sam.card("You can't do this: Approve email")
    denial.get_by_role("button", name="Request approval").click()
    sent_text = "Request sent to"  # 1 approver, or 2 once eddie has written to the bot
    sam.card(sent_text)

    request = dana.card("Alice Anders", "Approve", "Reject")
    dana.screenshot(request, "routed-request")
    request.get_by_role("button", name="Approve", exact=True).click()

    decided = dana.card("Approval request", "Approved by Dana Delegate")
    assert "Approve" not in [b.inner_text() for b in decided.get_by_role("button").all()]
    # sam's card, the one under his message, was updated in place by the bot (no copy of it
    # still says the request is waiting), and he is told in a message of its own.
    sam_card = sam.card("Approval request", "Requested by", "Approved by Dana Delegate")
    sam.card("Your request was approved by Dana Delegate")
    sam.screenshot(sam_card, "routed-approved", said="approve mailbox for alice")
    assert sam.page.locator(".ac-adaptiveCard").filter(has_text=sent_text).count() == 0
    assert "Sam Sysadmin" in sam_card.inner_text()

    assert stack.mailbox("alice")["emailrouteraccessapproval"] == APPROVED
    patches = _approval_patches(stack, alice_mailbox.id)
    assert [p["caller_object_id"] for p in patches] == [people["dana"].object_id]
