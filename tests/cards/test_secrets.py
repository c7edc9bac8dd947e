"""No credential or traceback reaches a card: the error card takes only safe fields, and
text from outside is redacted and escaped."""

from __future__ import annotations

import inspect
import json

import pytest

from cards.common import REDACTED, ErrorKind, error_card, md_escape, redact, safe_text
from cards.i18n import Strings
from cards.labels import Operation
from cards.mailboxes import mailbox_status
from cards.results import ItemResult, Outcome, operation_result
from tests.cards import checks
from tests.cards.samples import ENV, alert, mailbox

JWT = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9."
    "eyJhdWQiOiJodHRwczovL2NvbnRvc28uY3JtLmR5bmFtaWNzLmNvbSIsInN1YiI6IjEyMyJ9."
    "c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)
CLIENT_SECRET = "Xy8Q~abcDEF123ghiJKL456mnoPQR789stuVWX0"
LEAKS = [
    f"Authorization: Bearer {JWT}",
    f"token={JWT}",
    f"client_secret={CLIENT_SECRET}",
    f'{{"access_token": "{CLIENT_SECRET}"}}',
    f"https://contoso.blob.core.windows.net/x?sv=2022&sig={CLIENT_SECRET}%3D",
    f"password: hunter2{CLIENT_SECRET}",
    f"Traceback (most recent call last): key {CLIENT_SECRET}",
]


@pytest.mark.parametrize("text", LEAKS)
def test_redact_removes_credentials(text: str) -> None:
    cleaned = redact(text)
    assert JWT not in cleaned
    assert CLIENT_SECRET not in cleaned
    assert "hunter2" not in cleaned
    assert REDACTED in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "3b1e0000-0000-4000-8000-000000000001",
        "support-team-emea-region-2024-shared@contoso.com",
        "https://contoso-prod.crm4.dynamics.com/api/data/v9.2/mailboxes",
        "https://partner.outlook.cn/EWS/Exchange.asmx",
        "Basic authentication failed for alice@contoso.com",
        "0x8005E222 EmailServerProfileNotAssociated",
    ],
)
def test_redact_keeps_ordinary_text(text: str) -> None:
    assert redact(text) == text


def test_redact_is_linear_on_long_runs() -> None:
    # A 200,000-character run would take minutes with a backtracking pattern.
    assert redact("x" * 200_000) == "x" * 200_000
    assert redact("xy1-" * 50_000) == "xy1-" * 50_000


@pytest.mark.parametrize("leak", LEAKS)
def test_error_card_never_shows_a_token(strings: Strings, leak: str) -> None:
    card = error_card(
        strings,
        ErrorKind.UNEXPECTED,
        correlation_id=leak,
        subject=leak,
        code=leak,
        environment=leak,
    )
    checks.check_card(card)
    text = json.dumps(card, ensure_ascii=False)
    assert JWT not in text
    assert CLIENT_SECRET not in text
    assert "hunter2" not in text
    assert "Traceback" not in text or "Traceback" in leak.split(CLIENT_SECRET)[0]


def test_error_card_takes_no_free_text_message() -> None:
    # The title and explanation come from ErrorKind; there is no parameter through which an
    # exception's message or a traceback could reach the card.
    parameters = set(inspect.signature(error_card).parameters)
    assert parameters == {
        "strings",
        "kind",
        "correlation_id",
        "environment",
        "subject",
        "code",
        "retry_after",
        "actions",
    }


def test_error_code_must_look_like_a_code(en: Strings) -> None:
    def codes(code: str) -> list[str]:
        card = error_card(en, ErrorKind.REFUSED, correlation_id="c", code=code)
        facts = [f for n in checks.walk(card) for f in n.get("facts", [])]
        return [f["value"] for f in facts if f["title"] == "Error code"]

    assert codes("0x8005E222") == ["0x8005E222"]
    assert codes("EmailServerProfileNotAssociated") == ["EmailServerProfileNotAssociated"]
    assert codes("-2147220906") == ["-2147220906"]
    assert codes("Object reference not set to an instance of an object") == []
    assert codes('File "/app/bot.py", line 3') == []


def test_throttling_says_when_to_retry(en: Strings, id_: Strings) -> None:
    def texts(strings: Strings, seconds: float) -> list[str]:
        card = error_card(strings, ErrorKind.THROTTLED, correlation_id="c", retry_after=seconds)
        return [n["text"] for n in checks.walk(card) if n.get("type") == "TextBlock"]

    assert "Try again in 13 seconds." in texts(en, 12.2)
    assert "Try again in 1 second." in texts(en, 0.2)
    assert "Coba lagi dalam 13 detik." in texts(id_, 12.2)


def test_every_error_kind_renders(strings: Strings) -> None:
    for kind in ErrorKind:
        checks.check_card(error_card(strings, kind, correlation_id="f:1"))


def test_alert_text_and_reasons_are_redacted(en: Strings) -> None:
    leaky = alert(1, text=f"Auth failed: Bearer {JWT}")
    card = mailbox_status(en, mailbox(), environment=ENV, alerts=[leaky])
    assert JWT not in json.dumps(card)
    result = operation_result(
        en,
        Operation.APPROVE_EMAIL,
        [ItemResult(f"mb {CLIENT_SECRET}", Outcome.FAILED, code=CLIENT_SECRET)] * 2,
        environment=ENV,
    )
    assert CLIENT_SECRET not in json.dumps(result)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("[click](https://evil.example)", "\\[click\\](https://evil.example)"),
        ("**bold** and `code`", "\\*\\*bold\\*\\* and \\`code\\`"),
        ("# heading", "\\# heading"),
        ("- item\n1. first", "\\- item\n\\1. first"),
        ("back\\slash", "back\\\\slash"),
        ("john_doe@contoso.com", "john_doe@contoso.com"),
        ("Alice Smith", "Alice Smith"),
    ],
)
def test_markdown_from_outside_is_shown_literally(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped


def test_safe_text_cuts_long_text() -> None:
    assert safe_text("x" * 50, max_chars=10) == "x" * 9 + "…"
