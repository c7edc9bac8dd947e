"""Buttons: Action.Execute with an Action.Submit fallback, shown only when the caller may,
carrying what the router needs."""

from __future__ import annotations

import pytest

from cards import verbs
from cards.access import Denial, RuleRef, permission_denied
from cards.common import (
    MAX_REFRESH_USER_IDS,
    VERB_KEY,
    ButtonStyle,
    Card,
    Mention,
    adaptive_card,
    execute_action,
    refresh,
    text_block,
)
from cards.i18n import Strings
from cards.labels import Operation
from cards.mailboxes import MailboxAction, mailbox_status
from cards.profiles import ProfileAction, profile_view
from tests.cards import checks
from tests.cards.samples import BUILDERS, ENV, mailbox, profile


def _executes(card: Card) -> list[dict[str, object]]:
    refresh_action = card.get("refresh", {}).get("action")
    return [
        n
        for n in checks.walk(card)
        if n.get("type") == "Action.Execute" and n is not refresh_action
    ]


def _verbs(card: Card) -> list[object]:
    return [a["verb"] for a in _executes(card)]


def test_execute_action_has_a_submit_fallback_with_the_verb() -> None:
    action = execute_action(
        "Approve", "mailbox.approve", {"mailboxId": "m1"}, ButtonStyle.POSITIVE
    )
    assert action == {
        "type": "Action.Execute",
        "title": "Approve",
        "verb": "mailbox.approve",
        "data": {"mailboxId": "m1"},
        "style": "positive",
        "fallback": {
            "type": "Action.Submit",
            "title": "Approve",
            "data": {"mailboxId": "m1", VERB_KEY: "mailbox.approve"},
            "style": "positive",
        },
    }


def test_execute_action_data_is_copied() -> None:
    data = {"a": 1}
    action = execute_action("t", "v", data)
    data["a"] = 2
    assert action["data"] == {"a": 1}


def test_the_verb_key_is_reserved() -> None:
    with pytest.raises(ValueError, match="reserved"):
        execute_action("t", "v", {VERB_KEY: "other"})


def test_refresh_limits_and_dedupes_user_ids() -> None:
    block = refresh("mailbox.status", {"mailboxId": "m"}, ["29:a", "29:a", "29:b"])
    assert block["userIds"] == ["29:a", "29:b"]
    assert block["action"]["verb"] == "mailbox.status"
    assert refresh("v", {}, [])["userIds"] == []
    refresh("v", {}, [f"29:{n}" for n in range(MAX_REFRESH_USER_IDS)])
    with pytest.raises(ValueError, match="60"):
        refresh("v", {}, [f"29:{n}" for n in range(MAX_REFRESH_USER_IDS + 1)])


def test_every_button_on_every_card_follows_the_rules(strings: Strings) -> None:
    for builder in BUILDERS.values():
        checks.check_actions(builder(strings))


@pytest.mark.parametrize(
    ("allowed", "expected"),
    [
        (frozenset(), []),
        (
            frozenset(MailboxAction),
            [
                verbs.MAILBOX_APPROVE,
                verbs.MAILBOX_REJECT,
                verbs.MAILBOX_TEST_AND_ENABLE,
                verbs.MAILBOX_ALERTS,
            ],
        ),
        (frozenset({MailboxAction.ALERTS}), [verbs.MAILBOX_ALERTS]),
        (frozenset({MailboxAction.TEST_AND_ENABLE}), [verbs.MAILBOX_TEST_AND_ENABLE]),
    ],
)
def test_mailbox_buttons_follow_what_the_caller_may_do(
    en: Strings, allowed: frozenset[MailboxAction], expected: list[str]
) -> None:
    card = mailbox_status(en, mailbox(), environment=ENV, allowed=allowed)
    assert _verbs(card) == expected
    for action in _executes(card):
        assert action["data"] == {verbs.MAILBOX_ID: str(mailbox().id)}


def test_approve_disappears_once_approved(en: Strings) -> None:
    card = mailbox_status(
        en,
        mailbox(emailrouteraccessapproval=1),
        environment=ENV,
        allowed=frozenset(MailboxAction),
    )
    assert verbs.MAILBOX_APPROVE not in _verbs(card)
    assert verbs.MAILBOX_REJECT in _verbs(card)


def test_mailbox_refresh_is_per_user(en: Strings) -> None:
    card = mailbox_status(en, mailbox(), environment=ENV, refresh_for=["29:dana"])
    assert card["refresh"]["userIds"] == ["29:dana"]
    assert card["refresh"]["action"]["verb"] == verbs.MAILBOX_STATUS
    assert "refresh" not in mailbox_status(en, mailbox(), environment=ENV)


def test_profile_buttons(en: Strings) -> None:
    allowed = frozenset(ProfileAction)
    card = profile_view(en, profile(), environment=ENV, is_default=False, allowed=allowed)
    assert _verbs(card) == [verbs.PROFILE_TEST_MAILBOXES, verbs.PROFILE_MAKE_DEFAULT]
    card = profile_view(en, profile(), environment=ENV, is_default=True, allowed=allowed)
    assert _verbs(card) == [verbs.PROFILE_TEST_MAILBOXES]
    assert _verbs(profile_view(en, profile(), environment=ENV, is_default=False)) == []


def test_preview_buttons_carry_the_token(en: Strings) -> None:
    card = BUILDERS["bulk_preview"](en)
    actions = _executes(card)
    assert [a["verb"] for a in actions] == [verbs.PREVIEW_CONFIRM, verbs.PREVIEW_CANCEL]
    assert all(a["data"] == {verbs.PREVIEW_TOKEN: "pv-7f3a"} for a in actions)


def test_choice_buttons_carry_the_candidate_and_the_context(en: Strings) -> None:
    card = BUILDERS["choice"](en)
    actions = _executes(card)
    assert [a["data"][verbs.CANDIDATE_ID] for a in actions] == [  # type: ignore[index]
        "3b1e0000-0000-4000-8000-000000000001",
        "3b1e0000-0000-4000-8000-000000000002",
        "3b1e0000-0000-4000-8000-000000000003",
    ]
    assert all(a["verb"] == verbs.CHOICE_PICK for a in actions)
    assert all(a["data"]["command"] == "approve" for a in actions)  # type: ignore[index]
    assert len({a["tooltip"] for a in actions}) == 3


def test_suggestions_run_the_suggested_command(en: Strings) -> None:
    actions = _executes(BUILDERS["did_you_mean"](en))
    assert [a["data"] for a in actions] == [
        {verbs.TEXT: "approve mailbox for alice"},
        {verbs.TEXT: "approve alice"},
        {verbs.TEXT: "help"},
    ]


def test_denial_offers_a_request_with_an_optional_reason(en: Strings) -> None:
    card = BUILDERS["permission_denied"](en)
    (action,) = _executes(card)
    assert action["verb"] == verbs.APPROVAL_REQUEST
    assert action["data"] == {
        verbs.OPERATION: "approve-email",
        verbs.TARGET_ID: "3b1e0000-0000-4000-8000-000000000001",
    }
    (reason,) = [n for n in checks.walk(card) if n.get("type") == "Input.Text"]
    assert reason["id"] == verbs.REASON
    assert not reason.get("isRequired", False)
    assert reason["maxLength"] == verbs.REASON_MAX_CHARS


def test_denial_without_request(en: Strings) -> None:
    denial = Denial(Operation.VIEW, RuleRef("mailbox/read-own", "Mailbox Read on your own"))
    card = permission_denied(en, denial, environment=ENV)
    assert _executes(card) == []
    assert not [n for n in checks.walk(card) if n.get("type") == "Input.Text"]


def test_mentions_become_entities(en: Strings) -> None:
    card = BUILDERS["permission_denied"](en)
    assert card["msteams"]["entities"] == [
        {
            "type": "mention",
            "text": "<at>Dana Lee</at>",
            "mentioned": {"id": "29:1dana", "name": "Dana Lee"},
        }
    ]
    checks.check_teams(card)


def test_duplicate_mentions_are_listed_once(en: Strings) -> None:
    dana = Mention("Dana Lee", "29:1dana")
    card = adaptive_card(en, [text_block(dana.text)], mentions=[dana, dana])
    assert len(card["msteams"]["entities"]) == 1


def test_wide_cards_ask_for_full_width(en: Strings) -> None:
    assert BUILDERS["operation_result_bulk"](en)["msteams"] == {"width": "Full"}
    assert "msteams" not in BUILDERS["error"](en)
