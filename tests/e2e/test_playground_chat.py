"""A person in the Agents Playground: requests typed in the chat, cards read and clicked.

Each test saves a screenshot of the card it checks to docs/screenshots/ (docs/README.md
shows them).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e

APPROVED = 1  # mailbox.emailrouteraccessapproval: Approved


def test_eddie_approves_alice(open_chat: Callable[[str], Chat], stack: Stack) -> None:
    assert stack.mailbox("alice")["emailrouteraccessapproval"] != APPROVED
    chat = open_chat("eddie")

    chat.say("approve mailbox for alice")

    card = chat.card("Approve email", "Alice Anders", "Done")
    chat.screenshot(card, "approve-eddie", said="approve mailbox for alice")
    chat.screenshot_window("playground-eddie")
    assert stack.mailbox("alice")["emailrouteraccessapproval"] == APPROVED


def test_sam_is_denied_with_the_rule_that_denies(
    open_chat: Callable[[str], Chat], stack: Stack
) -> None:
    before = stack.mailbox("alice")["emailrouteraccessapproval"]
    chat = open_chat("sam")

    chat.say("approve mailbox for alice")

    card = chat.card("You can't do this: Approve email", "System admin alone")
    chat.screenshot(card, "denied-sam", said="approve mailbox for alice")
    assert "Global Administrator" in card.inner_text()  # what sam is missing
    assert stack.mailbox("alice")["emailrouteraccessapproval"] == before


def test_testing_bob_shows_the_failure_and_its_alert(
    open_chat: Callable[[str], Chat], stack: Stack
) -> None:
    chat = open_chat("eddie")

    chat.say("test mailbox bob")

    card = chat.card(
        "Bob Brown",
        "Authentication failure: Exchange Online rejected the credentials for mailbox "
        "bob@contoso.com",
    )
    chat.screenshot(card, "test-bob", said="test mailbox bob")
    assert "Failure" in card.inner_text()


def test_bulk_approval_previews_then_runs_on_confirm(
    open_chat: Callable[[str], Chat], stack: Stack
) -> None:
    chat = open_chat("eddie")

    chat.say("approve alice, una")

    preview = chat.card("Preview: nothing has changed yet", "2 mailboxes will change.")
    chat.screenshot(preview, "bulk-preview", said="approve alice, una")
    assert stack.mailbox("alice")["emailrouteraccessapproval"] != APPROVED
    assert stack.mailbox("una")["emailrouteraccessapproval"] != APPROVED

    preview.get_by_role("button", name="Confirm").click()

    result = chat.card("Approve email", "Succeeded", "Alice Anders", "Una User")
    chat.screenshot(result, "bulk-result", said="approve alice, una")
    assert stack.mailbox("alice")["emailrouteraccessapproval"] == APPROVED
    assert stack.mailbox("una")["emailrouteraccessapproval"] == APPROVED


def test_indonesian_request_gets_an_indonesian_card(
    open_chat: Callable[[str], Chat], stack: Stack
) -> None:
    """The Playground's chat box always sends `locale: en-US` (0.2.28 hard-codes it), so the
    person sends the activity with `locale: id-ID` through its "Mock an Activity" editor,
    adding the `channelData.tenant` that Teams puts on every message (the template has none,
    and the bot serves only the tenants it knows)."""
    chat = open_chat("eddie")
    tenant = stack.running.sim.fixture.tenant_id

    chat.send_custom_activity(
        {
            "type": "message",
            "text": "setujui kotak pesan alice",
            "locale": "id-ID",
            "channelData": {"tenant": {"id": tenant}},
        },
        screenshot="indonesian-activity",
    )

    card = chat.card("Setujui email", "Alice Anders", "Selesai")
    chat.screenshot(card, "indonesian")
    assert "Approve" not in card.inner_text()
    assert stack.mailbox("alice")["emailrouteraccessapproval"] == APPROVED
