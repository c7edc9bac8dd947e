"""Prometheus metrics of one bot app, served at `GET /metrics` in the text exposition format.

Each `Metrics` owns its `CollectorRegistry` (never prometheus_client's global one), so that
several apps in one process (tests, the bench) count apart. What is counted:

| metric | labels | counts |
|---|---|---|
| `mailops_turns_total` | activity, outcome | every POST /api/messages |
| `mailops_turn_duration_seconds` | activity | turns that ran (ok, limited, error) |
| `mailops_commands_total` | command, outcome | typed commands and card clicks |
| `mailops_api_calls_total` | service, method, status | Dataverse and Graph HTTP attempts |
| `mailops_api_call_duration_seconds` | service, method | the same attempts |

- `activity`: the Bot Framework activity type (`message`, `invoke`, `conversationUpdate`,
  `installationUpdate`, `other`), `invalid` for a body that is no activity.
- turn `outcome`: `ok`; `limited` (the person's rate limit answered); `error` (the turn
  failed); `refused` (a tenant outside the allow-list, HTTP 403); `unauthorized` (401);
  `rejected` (another 4xx, or 501 for an invoke the bot does not serve); `failed` (5xx).
- `command`: the command kind (`approve`, `status` …), the verb of a clicked card
  (`mailbox.approve` …), `unknown` for text that did not parse or a verb nobody registered.
  command `outcome`: `ok`, `denied`, `usage`, `failed` (decided by `dialogs.router`).
- `status`: the status class (`2xx`, `3xx`, `4xx`, `5xx`), `429` on its own (Dataverse's
  service protection, reference/dataverse.md §6.3), `error` when no answer came.

The labels come from closed sets, never from what people type, so their number stays small.
Commands reach the metrics through `dialogs.router.command_observer`, Dataverse and Graph
calls through `dataverse._http.response_observer`: context variables that `metered` sets for
each request, so neither package imports this one. Calls made outside a turn (the monitor)
are counted when the code that starts them has called `Metrics.count_calls()`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from botbuilder.schema import Activity
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder

from bot.guards import tenant_of
from bot.logs import bind_turn, log_scope
from dataverse._http import response_observer
from dataverse.errors import Service
from dialogs.router import command_observer

TURN_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
CALL_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_ACTIVITIES: Final = frozenset({"message", "invoke", "conversationUpdate", "installationUpdate"})
_METHODS: Final = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"})
_RAN: Final = frozenset({"ok", "limited", "error"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class TurnRecord:
    """What is known of the activity being served, filled in as it goes."""

    activity: str = "invalid"
    outcome: str | None = None  # set from inside the turn (limited, error); else the status


_turn: ContextVar[TurnRecord | None] = ContextVar("mailops_turn", default=None)


def track_activity(activity: Activity) -> None:
    """Called once the body is an activity: labels the turn and binds its log context."""
    record = _turn.get()
    if record is not None:
        kind = str(activity.type or "")
        record.activity = kind if kind in _ACTIVITIES else "other"
    bind_turn(str(activity.id or ""), tenant_of(activity))


def status_class(status: int | None) -> str:
    if status is None:
        return "error"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def _turn_outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "refused"
    if status < 500 or status == 501:
        return "rejected"
    return "failed"


class Metrics:
    """The counters and histograms of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "mailops_turns",
            "Activities received on /api/messages, by activity type and outcome.",
            ("activity", "outcome"),
            registry=self.registry,
        )
        self.turn_seconds = Histogram(
            "mailops_turn_duration_seconds",
            "Time from receiving an activity to answering it, for turns that ran.",
            ("activity",),
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "mailops_commands",
            "Commands and card actions, by kind and outcome (ok, denied, usage, failed).",
            ("command", "outcome"),
            registry=self.registry,
        )
        self.calls = Counter(
            "mailops_api_calls",
            "HTTP attempts to Dataverse and Microsoft Graph, by service, method and status "
            "class (429 apart; error: no answer).",
            ("service", "method", "status"),
            registry=self.registry,
        )
        self.call_seconds = Histogram(
            "mailops_api_call_duration_seconds",
            "Duration of HTTP attempts to Dataverse and Microsoft Graph.",
            ("service", "method"),
            buckets=CALL_BUCKETS,
            registry=self.registry,
        )

    # ---- observers ------------------------------------------------------------------------

    def count_call(
        self, service: Service, method: str, status: int | None, seconds: float
    ) -> None:
        """A `dataverse._http.ResponseObserver`."""
        method = method if method in _METHODS else "OTHER"
        self.calls.labels(service, method, status_class(status)).inc()
        self.call_seconds.labels(service, method).observe(seconds)

    def count_command(self, command: str, outcome: str) -> None:
        """A `dialogs.router.CommandObserver`."""
        self.commands.labels(command, outcome).inc()

    def count_turn(self, record: TurnRecord, status: int, seconds: float) -> None:
        outcome = record.outcome or _turn_outcome(status)
        self.turns.labels(record.activity, outcome).inc()
        if outcome in _RAN:
            self.turn_seconds.labels(record.activity).observe(seconds)

    @staticmethod
    def mark_turn(outcome: str) -> None:
        """Say from inside the turn how it ended (`limited`, `error`); the HTTP status says
        it otherwise."""
        record = _turn.get()
        if record is not None:
            record.outcome = outcome

    def count_calls(self) -> None:
        """Count the Dataverse and Graph calls of the current context and of the tasks it
        starts from now on (for work outside turns, such as the monitor)."""
        response_observer.set(self.count_call)

    # ---- HTTP -----------------------------------------------------------------------------

    def metered(self, handler: Handler) -> Handler:
        """`handler` (POST /api/messages) with its turn counted and timed; for its duration,
        a log scope, and this app's observers of commands and of Dataverse and Graph calls."""

        async def handle(request: web.Request) -> web.StreamResponse:
            record = TurnRecord()
            turn_token = _turn.set(record)
            calls_token = response_observer.set(self.count_call)
            commands_token = command_observer.set(self.count_command)
            started = time.perf_counter()
            status = 500
            try:
                with log_scope():
                    response = await handler(request)
                status = response.status
                return response
            except web.HTTPException as exc:  # aiohttp's own answers (413 for a big body)
                status = exc.status
                raise
            finally:
                self.count_turn(record, status, time.perf_counter() - started)
                command_observer.reset(commands_token)
                response_observer.reset(calls_token)
                _turn.reset(turn_token)

        return handle

    async def serve(self, request: web.Request) -> web.Response:
        """GET /metrics: the text format (or OpenMetrics when the scraper asks for it)."""
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = web.Response(body=encoder(self.registry))
        response.headers["Content-Type"] = content_type
        return response
