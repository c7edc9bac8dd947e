"""JSON log lines with the turn's correlation id, and no credential in any of them."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from bot.logs import (
    REDACTED,
    JsonFormatter,
    LogContextFilter,
    QuietHttpxFilter,
    RedactingFilter,
    Redactor,
    bind_turn,
    correlation_id,
    log_scope,
    secrets_of,
    setup_logging,
)
from dataverse import GRAPH_SCOPE, EntraApp, dataverse_scope
from dialogs.router import Router
from dialogs.turn import Card, Dispatcher, Turn
from tests.bot.activities import message
from tests.bot.conftest import APP_PASSWORD, settings_for
from tests.bot.operated import operated_host
from tests.simharness import RunningSim

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2V4YW1wbGUifQ.c2lnbmF0dXJlLWJ5dGVz"
)
ENTRA_SECRET = "Abc8Q~dEfGhIjKlMnOpQrStUvWxYz0123456789_"  # the shape Entra generates
CARD_SECRET = "card-signing-secret-0123456789"


class Lines:
    """What `setup_logging` wrote, one JSON object per line."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        lines = self.text.splitlines()
        assert lines, "nothing was logged"
        return [json.loads(line) for line in lines]  # every line is one JSON object


@pytest.fixture
def logs() -> Iterator[Lines]:
    """JSON logging on the root logger at DEBUG, into a buffer, for this test only."""
    stream = io.StringIO()
    setup = setup_logging("DEBUG", stream=stream)
    try:
        yield Lines(stream)
    finally:
        setup.close()


def _format(record: logging.LogRecord, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    redact = Redactor(secrets)
    RedactingFilter(redact).filter(record)
    LogContextFilter().filter(record)
    entry: dict[str, Any] = json.loads(JsonFormatter(redact).format(record))
    return entry


def _record(msg: str, *args: object, **attributes: Any) -> logging.LogRecord:
    record = logging.LogRecord("mailops.test", logging.INFO, __file__, 1, msg, args, None)
    for key, value in attributes.items():
        setattr(record, key, value)
    return record


# ---- redaction ------------------------------------------------------------------------------

LEAKS = {
    "a bearer header line": (f"Authorization: Bearer {JWT}", JWT),
    "a header dict": ("%r", {"Authorization": f"Bearer {JWT}", "Accept": "json"}),
    "a basic header": ('{"authorization": "Basic bWFpbG9wczpwYXNzd29yZA=="}', "bWFpbG9w"),
    "a bare JWT": ("token %s", JWT),
    "a token response": ("%s", {"access_token": JWT, "expires_in": 3599}),
    "a token request body": (
        "client_id=b07&client_secret=%s&grant_type=client_credentials",
        "s3cr3t-value-sent-to-entra",
    ),
    "an Entra client secret": ("configured with %s", ENTRA_SECRET),
    "a password setting": ("MicrosoftAppPassword=%s", APP_PASSWORD),
    "a SAS signature": ("https://x.blob.core.windows.net/c?sv=2024&sig=%s&se=1", "AbC%2Bdef"),
}


@pytest.mark.parametrize(("msg", "arg"), list(LEAKS.values()), ids=list(LEAKS))
def test_credentials_are_removed_from_messages_and_arguments(msg: str, arg: object) -> None:
    record = _record(msg, arg) if "%" in msg else _record(msg)
    entry = _format(record)
    leaked = [JWT, "s3cr3t-value", ENTRA_SECRET, APP_PASSWORD, "bWFpbG9w", "AbC%2Bdef"]
    assert not [value for value in leaked if value in entry["message"]], entry["message"]
    assert REDACTED in entry["message"]


def test_ordinary_text_is_left_alone() -> None:
    text = (
        "Dataverse answered 0x80040220 for mailbox 3b000000-0000-4000-8000-000000000009 "
        "(alice@contoso.com); role assignment=ok; signal: ready; see https://h/api/data/v9.2"
    )
    assert _format(_record(text))["message"] == text


def test_configured_secrets_are_removed_wherever_they_appear() -> None:
    secrets = ("plain-client-secret-value", CARD_SECRET)
    entry = _format(
        _record("secret in passing: %s / %s", "xplain-client-secret-valuex", CARD_SECRET),
        secrets,
    )
    assert entry["message"] == f"secret in passing: x{REDACTED}x / {REDACTED}"


def test_secrets_of_the_settings(sim: RunningSim) -> None:
    settings = settings_for(sim, MAILOPS_CARD_SECRET=CARD_SECRET)
    settings = settings.model_copy(update={"app_password": SecretStr(APP_PASSWORD)})
    assert set(secrets_of(settings)) == {sim.client_secret, APP_PASSWORD, CARD_SECRET}


def test_tracebacks_and_extra_fields_are_redacted() -> None:
    try:
        raise RuntimeError(f"Entra refused Authorization: Bearer {JWT}")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "mailops.test", logging.ERROR, __file__, 1, "failed", None, (type(exc), exc, None)
        )
    record.request = {"headers": {"Authorization": f"Bearer {JWT}"}, "attempt": 2}
    entry = _format(record)
    assert "RuntimeError" in entry["exception"]
    assert JWT not in json.dumps(entry)
    assert entry["request"] == {"headers": {"Authorization": REDACTED}, "attempt": 2}


def test_arguments_that_do_not_fit_still_give_a_line_without_the_secret() -> None:
    entry = _format(_record("two %s %s", JWT))
    assert JWT not in entry["message"]


# ---- the JSON line --------------------------------------------------------------------------


def test_a_line_has_the_fields_operators_search_by() -> None:
    with log_scope():
        bind_turn("activity-42", "c0ffee00-0000-4000-8000-000000000001")
        entry = _format(_record("hello %s", "world"))
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "mailops.test"
    assert entry["correlation_id"] == "activity-42"
    assert entry["tenant"] == "c0ffee00-0000-4000-8000-000000000001"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])


def test_the_context_ends_with_the_scope() -> None:
    with log_scope():
        bind_turn("activity-1", "t")
        assert correlation_id() == "activity-1"
    assert correlation_id() is None
    assert _format(_record("outside"))["correlation_id"] is None


def test_a_multiline_message_stays_one_line(logs: Lines) -> None:
    logging.getLogger("mailops.test").warning("one\ntwo")
    [entry] = logs.records()
    assert entry["message"] == "one\ntwo"


# ---- httpx's request lines ------------------------------------------------------------------

HTTPX_LINE = 'HTTP Request: %s %s "%s %d %s"'
URL = "https://h/api/data/v9.2/mailboxes?$filter=contains(name,'alice')&$top=5"


def test_httpx_request_lines_are_debug_lines_without_the_query(logs: Lines) -> None:
    logging.getLogger("httpx").info(HTTPX_LINE, "GET", URL, "HTTP/1.1", 200, "OK")
    [entry] = logs.records()
    assert entry["level"] == "DEBUG"
    assert entry["message"] == (
        'HTTP Request: GET https://h/api/data/v9.2/mailboxes?… "HTTP/1.1 200 OK"'
    )


def test_at_info_httpx_request_lines_are_not_written() -> None:
    stream = io.StringIO()
    setup = setup_logging("INFO", stream=stream)
    try:
        logging.getLogger("httpx").info(HTTPX_LINE, "GET", URL, "HTTP/1.1", 200, "OK")
        logging.getLogger("httpx").warning("httpx warns about %s", URL)
        logging.getLogger("mailops.test").info("kept")
    finally:
        setup.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["logger"], e["message"]) for e in lines] == [
        ("httpx", "httpx warns about https://h/api/data/v9.2/mailboxes?…"),
        ("mailops.test", "kept"),
    ]


def test_setting_up_twice_keeps_one_handler() -> None:
    first = setup_logging("INFO", stream=io.StringIO())
    second = setup_logging("INFO", stream=io.StringIO())
    try:
        root = logging.getLogger()
        assert first.handler not in root.handlers
        assert second.handler in root.handlers
        assert (
            sum(isinstance(f, QuietHttpxFilter) for f in logging.getLogger("httpx").filters) == 1
        )
    finally:
        second.close()


# ---- a real turn ----------------------------------------------------------------------------


class _Careless:
    """The real router, followed by code that logs credentials the way careless code does."""

    def __init__(self, inner: Dispatcher, entra: EntraApp, sim: RunningSim) -> None:
        self.inner = inner
        self.entra = entra
        self.sim = sim
        self.tokens: list[str] = []

    async def on_message(self, turn: Turn) -> None:
        await self.inner.on_message(turn)  # fetches tokens, calls Graph and Dataverse
        for scope in (dataverse_scope(self.sim.dataverse_url), GRAPH_SCOPE):
            self.tokens.append((await self.entra.client_credentials([scope]).token()).value)
        token = self.tokens[0]
        leak = logging.getLogger("tests.careless")
        leak.debug("token response: %s", {"access_token": token, "token_type": "Bearer"})
        leak.debug("request headers: %r", {"Authorization": f"Bearer {token}"})
        leak.debug("Authorization: Bearer %s", token)
        leak.debug("the token itself: %s", self.tokens[1])
        leak.info(
            "POST /oauth2/v2.0/token client_id=%s&client_secret=%s&grant_type=client_credentials",
            self.sim.client_id,
            self.sim.client_secret,
        )
        try:
            raise RuntimeError(f"Entra refused the secret {self.sim.client_secret}")
        except RuntimeError:
            leak.exception("token request failed")

    async def on_execute(self, turn: Turn) -> Card | str:
        return await self.inner.on_execute(turn)

    async def on_installed(self, turn: Turn) -> None:
        await self.inner.on_installed(turn)


async def test_a_turn_leaves_json_lines_with_its_correlation_id_and_no_credential(
    sim: RunningSim, router: Router, entra: EntraApp, trust_sim: None
) -> None:
    """At DEBUG, with every library's records (msal, httpx, httpcore, urllib3, botbuilder)."""
    entra.forget_client_tokens()  # this turn fetches its tokens from the sim's Entra
    stream = io.StringIO()
    setup = setup_logging("DEBUG", stream=stream, secrets=secrets_of(settings_for(sim)))
    careless = _Careless(router, entra, sim)
    activity = message(sim, "eddie", "status of alice")
    try:
        async with operated_host(sim, careless) as host:
            assert (await host.post(activity)).status == 201
            assert "Alice Anders" in str(host.cards())
    finally:
        setup.close()
    records = Lines(stream).records()

    # the turn's records carry its id, from the dialogs' libraries as from ours
    of_turn = {e["logger"] for e in records if e["correlation_id"] == activity["id"]}
    assert {"dataverse._http", "msal.token_cache", "tests.careless"} <= of_turn
    requests = [e["message"] for e in records if e["logger"] == "dataverse._http"]
    assert any(line.startswith("HTTP Request: GET https://") for line in requests)
    assert not any("$select" in line or "alice" in line for line in requests)
    assert all(
        e["tenant"] == sim.tenant_id for e in records if e["correlation_id"] == activity["id"]
    )
    # tokens really were fetched in this turn, and the careless records are there, redacted
    assert any("oauth2/v2.0/token" in e["message"] for e in records)
    assert len(careless.tokens) == 2
    careless_lines = [e for e in records if e["logger"] == "tests.careless"]
    assert len(careless_lines) == 6
    assert all(REDACTED in e["message"] + e.get("exception", "") for e in careless_lines)

    text = stream.getvalue()
    for secret in [*careless.tokens, sim.client_secret]:
        assert secret not in text
    assert "eyJ" not in text  # no JWT of any kind
    for match in re.finditer(r"(?i)(authorization|bearer)[\"']?\s*[:=]?\s*[\"']?(\S+)", text):
        assert match.group(2).startswith(("[redacted]", "Bearer")), match.group(0)
    # what people typed stays out of httpx's request lines
    assert not [e for e in records if e["logger"] == "httpx" and "alice" in e["message"]]
