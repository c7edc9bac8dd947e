"""Cards stay under the Teams size budget whatever the input, trimming long lists with an
"… and N more" line while the totals keep counting everything."""

from __future__ import annotations

import pytest

from cards.access import Denial, Need, NeedKind, RuleRef, permission_denied
from cards.choices import Candidate, choice, did_you_mean
from cards.common import (
    MAX_CARD_BYTES,
    Card,
    CardTooLargeError,
    adaptive_card,
    card_size,
    ensure_fits,
    fit,
    text_block,
)
from cards.help import help_card
from cards.i18n import Strings
from cards.labels import Operation
from cards.lists import ListKind, alert_list, mailbox_list
from cards.mailboxes import MailboxAction, mailbox_status
from cards.previews import bulk_preview
from cards.results import ItemResult, Outcome, operation_result
from tests.cards import checks
from tests.cards.samples import ENV, alert, bulk_items, mailbox, preview_items

HUGE = "x" * 10_000


def _more_lines(card: Card) -> list[str]:
    return [
        n["text"]
        for n in checks.walk(card)
        if n.get("type") == "TextBlock" and ("more" in n["text"] or "lainnya" in n["text"])
    ]


def _table_rows(card: Card) -> int:
    (table,) = [n for n in checks.walk(card) if n.get("type") == "Table"]
    return len(table["rows"]) - 1  # the header row


def test_card_size_counts_utf16_bytes_of_the_widest_serialization(en: Strings) -> None:
    ascii_card = adaptive_card(en, [text_block("abc")])
    wide_card = adaptive_card(en, [text_block("ab€")])
    # "€" is escaped as \u20ac (six characters) by json.dumps, each two bytes in UTF-16.
    assert card_size(wide_card) - card_size(ascii_card) == (6 - 1) * 2


def test_fit_keeps_everything_that_fits(en: Strings) -> None:
    def build(k: int) -> Card:
        return adaptive_card(en, [text_block(str(i)) for i in range(k)])

    assert fit(build, 10) == build(10)


def test_fit_finds_the_largest_count_that_fits(en: Strings) -> None:
    def build(k: int) -> Card:
        return adaptive_card(en, [text_block("y" * 100) for _ in range(k)])

    limit = card_size(build(7)) + 10
    assert fit(build, 50, limit=limit) == build(7)


def test_fit_and_ensure_fits_refuse_an_impossible_card(en: Strings) -> None:
    def build(k: int) -> Card:
        return adaptive_card(en, [text_block("z" * 1000)])

    with pytest.raises(CardTooLargeError):
        fit(build, 3, limit=100)
    with pytest.raises(CardTooLargeError):
        ensure_fits(build(0), limit=100)


def test_500_bulk_items_are_trimmed_with_exact_totals(strings: Strings) -> None:
    items = bulk_items(500)
    card = operation_result(strings, Operation.APPROVE_EMAIL, items, environment=ENV)
    checks.check_card(card)
    shown = _table_rows(card)
    assert 0 < shown < 500
    (more,) = _more_lines(card)
    assert strings.number(500 - shown) in more
    facts = {f["title"]: f["value"] for n in checks.walk(card) for f in n.get("facts", [])}
    assert facts[strings.gettext("Total")] == strings.number(500)
    assert facts[strings.gettext("Failed")] == strings.number(
        sum(1 for i in items if i.outcome is Outcome.FAILED)
    )


def test_failures_come_first_when_trimmed(en: Strings) -> None:
    items = [ItemResult(f"ok-{n}", Outcome.OK) for n in range(300)]
    items.append(ItemResult("the-broken-one", Outcome.FAILED))
    card = operation_result(en, Operation.TEST_AND_ENABLE, items, environment=ENV)
    texts = [n.get("text", "") for n in checks.walk(card)]
    assert "the-broken-one" in texts


def test_results_with_huge_names_still_fit(strings: Strings) -> None:
    items = [ItemResult(HUGE + str(n), Outcome.FAILED, code=HUGE) for n in range(500)]
    card = operation_result(strings, Operation.APPROVE_EMAIL, items, environment=HUGE)
    checks.check_card(card)


def test_500_mailboxes_in_a_list(strings: Strings) -> None:
    mailboxes = [mailbox(n) for n in range(1, 501)]
    card = mailbox_list(strings, ListKind.PENDING_APPROVALS, mailboxes, environment=ENV)
    checks.check_card(card)
    assert _table_rows(card) < 500
    assert _more_lines(card)


def test_500_alerts(strings: Strings) -> None:
    alerts = [alert(n % 100, text=HUGE) for n in range(500)]
    checks.check_card(alert_list(strings, alerts, environment=ENV, subject=HUGE))
    status = mailbox_status(
        strings,
        mailbox(name=HUGE, emailaddress=HUGE[:100]),
        environment=ENV,
        alerts=alerts,
        allowed=frozenset(MailboxAction),
        refresh_for=[f"29:{n}" for n in range(60)],
    )
    checks.check_card(status)


def test_500_mailbox_preview(strings: Strings) -> None:
    card = bulk_preview(
        strings,
        Operation.CHANGE_MAILBOX_DELIVERY,
        preview_items(500),
        environment=ENV,
        token="t",
    )
    checks.check_card(card)
    assert _more_lines(card)
    texts = [n.get("text", "") for n in checks.walk(card)]
    assert strings.ngettext("{n} mailbox will change.", "{n} mailboxes will change.", 500) in texts


def test_long_help_choice_and_suggestions(strings: Strings) -> None:
    commands = [(f"command {n} {HUGE}", f"example {n}", HUGE) for n in range(200)]
    checks.check_card(help_card(strings, commands))
    candidates = [Candidate(str(n), HUGE, HUGE) for n in range(500)]
    checks.check_card(choice(strings, HUGE, candidates, environment=ENV))
    checks.check_card(did_you_mean(strings, HUGE, [HUGE] * 50))


def test_denial_with_long_lists(strings: Strings) -> None:
    denial = Denial(
        Operation.APPROVE_EMAIL,
        RuleRef("custom/" + HUGE, HUGE),
        missing=[Need(NeedKind.DATAVERSE_ROLE, HUGE, HUGE)] * 100,
        alternatives=[RuleRef(HUGE, HUGE)] * 100,
        target=HUGE,
        requestable=True,
    )
    checks.check_card(permission_denied(strings, denial, environment=ENV))


def test_budget_leaves_room_under_the_teams_limit() -> None:
    assert MAX_CARD_BYTES <= 80_000 < 100_000
