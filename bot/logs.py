"""Structured logs: one JSON object per line, carrying the turn's correlation id, free of secrets.

`setup_logging(level, secrets=...)` gives the root logger a single handler that writes lines
such as

    {"time": "2026-11-27T10:00:00.123Z", "level": "INFO", "logger": "mailops.dialogs",
     "message": "...", "correlation_id": "activity-7", "tenant": "c0ffee00-..."}

(one line each; `exception` and `stack` are added when a record has them, and so is any
`extra=` field, its credential-named keys blanked). Two filters on that handler see every
record first:

- `LogContextFilter` stamps the correlation id (the activity id) and the tenant of the turn
  that is running. They live in context variables that `bind_turn` sets once per activity
  (`bot.metrics.track_activity`, called from `POST /api/messages`); every coroutine and task
  of that turn sees them, so records from any logger (dialogs, dataverse, botbuilder) carry
  them. Outside a turn (start-up, the monitor) both are null.
- `RedactingFilter` merges the arguments into the message and removes credentials from the
  result and from tracebacks: JWTs, `Bearer …` values, `Authorization:` header values,
  `key=value` / `"key": "value"` pairs whose key names a secret, password or token
  (`client_secret=`, `MicrosoftAppPassword=`, `"access_token": …`), Entra client secrets by
  their shape (`…8Q~…`), and the configured secret values themselves (`secrets_of`).

httpx's client (the Dataverse engine's transport when proxies come from the environment)
logs every request at INFO with its full URL, and the OData query in it carries what people
typed (`$filter=contains(fullname,'alice')`). `QuietHttpxFilter` moves those lines to DEBUG
and cuts the query from any URL they show. The engine's own request lines (DEBUG) leave the
query out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Final

from bot.config import Settings

REDACTED: Final = "[redacted]"

_correlation_id: ContextVar[str | None] = ContextVar("mailops_correlation_id", default=None)
_tenant: ContextVar[str | None] = ContextVar("mailops_tenant", default=None)


def bind_turn(correlation_id: str | None, tenant: str | None) -> None:
    """Make the records logged from here on (in this task and those it starts) carry the turn's
    correlation id and tenant. Reset by the enclosing `log_scope`."""
    _correlation_id.set(correlation_id or None)
    _tenant.set(tenant or None)


def correlation_id() -> str | None:
    """The correlation id of the running turn, if any."""
    return _correlation_id.get()


@contextlib.contextmanager
def log_scope() -> Iterator[None]:
    """A turn's boundary: `bind_turn` inside it lasts until the block ends."""
    correlation = _correlation_id.set(None)
    tenant = _tenant.set(None)
    try:
        yield
    finally:
        _tenant.reset(tenant)
        _correlation_id.reset(correlation)


# ---- redaction ------------------------------------------------------------------------------

# Words that make a key name a credential: inside compound names too (`client_secret`,
# `MicrosoftAppPassword`, `access_token`); `sig` (SAS URLs) only as a word of its own.
_CREDENTIAL_WORDS: Final = (
    r"(?:secret|password|passwd|pwd|token|assertion|signature|credential|api[_-]?key"
    r"|(?<!\w)sig(?!\w))"
)
_PATTERNS: Final = (
    # Authorization header values, whatever the scheme (header dumps, dict reprs, JSON).
    (
        re.compile(
            r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)"
            r"(?:(?:bearer|basic|pop|negotiate)\s+)?[^\s\"',;}]+"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # Bearer values anywhere else.
    (re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]+"), rf"\g<1>{REDACTED}"),
    # JSON Web Tokens (Entra access and id tokens), with or without a signature.
    (re.compile(r"\beyJ[\w-]{6,}\.[\w-]{6,}\.[\w-]*"), REDACTED),
    # key=value, key: value, "key": "value" where the key names a secret, password or token:
    # the key's tail (`client_secret`, `MicrosoftAppPassword`, `access_token`) stays readable.
    (
        re.compile(
            rf"(?i)({_CREDENTIAL_WORDS}[\w-]*[\"']?\s*[:=]\s*)"
            rf"(?:{re.escape(REDACTED)}|\"[^\"]*\"|'[^']*'|[^\s\"'&,;)}}\]]+)"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # Entra client secrets: 40 characters with "Q~" after a digit at the fourth place.
    (re.compile(r"(?<![\w~.-])[\w~.-]{3}\dQ~[\w~.-]{30,}"), REDACTED),
)
_CREDENTIAL_KEY: Final = re.compile(rf"(?i)authorization|{_CREDENTIAL_WORDS}")
_MIN_SECRET_CHARS: Final = 8  # shorter configured values would blank ordinary words


class Redactor:
    """Removes credentials from text; `secrets` are exact values to remove as well."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = {s for s in secrets if len(s) >= _MIN_SECRET_CHARS}
        self._known: tuple[str, ...] = tuple(sorted(known, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for value in self._known:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """The configured secret values, for `setup_logging`."""
    values = [settings.client_secret, settings.app_password, settings.card_secret]
    return tuple(v.get_secret_value() for v in values if v is not None and v.get_secret_value())


class RedactingFilter(logging.Filter):
    """Rewrites each record so that neither its message nor its arguments carry a credential.

    The arguments are merged into the message first (a token passed as `%s` is caught as
    surely as one written into the text), and the record keeps the redacted text with no
    arguments; its traceback text is redacted too. Records are changed in place, so handlers
    that run after this one see the redacted record as well.
    """

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_mailops_redacted", False):
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # arguments that do not fit the message
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._mailops_redacted = True
        return True


# ---- httpx's request lines ------------------------------------------------------------------

# A query runs to the next space (OData quotes its strings with ', so ' does not end it).
_QUERY: Final = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#\"']*)\?[^\s#\"]*", re.IGNORECASE)


def strip_queries(text: str) -> str:
    """`https://host/path?$filter=...` → `https://host/path?…`."""
    return _QUERY.sub(r"\1?…", text)


class QuietHttpxFilter(logging.Filter):
    """httpx's per-request INFO lines become DEBUG lines; no httpx line keeps a query string.

    A filter cannot lower a record below the level its logger already let through, so the
    demoted record is kept only when the `httpx` logger is enabled for DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            return True  # left for the redacting filter to make readable
        record.msg, record.args = strip_queries(message), None
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


# ---- JSON lines -----------------------------------------------------------------------------

# The attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "correlation_id",
    "tenant",
    "_mailops_redacted",
}


class LogContextFilter(logging.Filter):
    """Stamps the running turn's correlation id and tenant on each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "correlation_id"):
            record.correlation_id = _correlation_id.get()
        if not hasattr(record, "tenant"):
            record.tenant = _tenant.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in messages are escaped)."""

    def __init__(self, redact: Redactor | None = None) -> None:
        super().__init__()
        self._redact = redact or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None),
            "tenant": getattr(record, "tenant", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self._redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = self._plain(value)
        return json.dumps(entry, ensure_ascii=False, default=str)

    def _plain(self, value: object) -> object:
        """An `extra=` value as JSON, with credentials removed from any text in it."""
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {
                str(k): REDACTED if _CREDENTIAL_KEY.search(str(k)) else self._plain(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self._plain(v) for v in value]
        return self._redact(str(value))


# ---- set-up ---------------------------------------------------------------------------------


@dataclass
class LoggingSetup:
    """What `setup_logging` installed; `close()` takes it away again (tests)."""

    handler: logging.Handler
    httpx_filter: QuietHttpxFilter
    previous_level: int
    previous_httpx_level: int = logging.NOTSET

    def close(self) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.previous_level)
        httpx_logger = logging.getLogger("httpx")
        httpx_logger.removeFilter(self.httpx_filter)
        httpx_logger.setLevel(self.previous_httpx_level)
        self.handler.close()


class JsonLinesHandler(logging.StreamHandler[IO[str]]):
    """The handler `setup_logging` installs on the root logger."""


def setup_logging(
    level: str | int = "INFO", *, stream: IO[str] | None = None, secrets: Iterable[str] = ()
) -> LoggingSetup:
    """JSON lines on `stream` (stderr by default) from every logger, at `level` and above.

    Call it before anything logs, instead of `logging.basicConfig`: a handler added to the
    root logger by someone else would print records in its own format, without these
    filters. A second call replaces the handler of the first.
    """
    redact = Redactor(secrets)
    handler = JsonLinesHandler(stream if stream is not None else sys.stderr)
    handler.addFilter(RedactingFilter(redact))
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonFormatter(redact))
    root = logging.getLogger()
    previous_level = root.level
    for existing in list(root.handlers):
        if isinstance(existing, JsonLinesHandler):
            root.removeHandler(existing)
    httpx_logger = logging.getLogger("httpx")
    for old_filter in list(httpx_logger.filters):
        if isinstance(old_filter, QuietHttpxFilter):
            httpx_logger.removeFilter(old_filter)
    root.addHandler(handler)
    root.setLevel(level)
    quiet = QuietHttpxFilter()
    httpx_logger.addFilter(quiet)
    previous_httpx_level = httpx_logger.level
    # The filter keeps httpx's per-request lines only at DEBUG; at any other level the
    # logger drops them before a record is made (one per Dataverse request otherwise).
    httpx_logger.setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
    return LoggingSetup(handler, quiet, previous_level, previous_httpx_level)
