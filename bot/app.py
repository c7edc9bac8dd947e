"""The bot's aiohttp application: `POST /api/messages`, `GET /healthz` and `GET /metrics`."""

from __future__ import annotations

import logging
import math
from functools import partial
from http import HTTPStatus
from typing import Any

from aiohttp import web
from botbuilder.core import Bot, InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes

from bot.adapter import CachingBotFrameworkAuthentication
from bot.agents_host import AgentsHost
from bot.guards import GuardedDispatcher, Guards
from bot.metrics import Metrics, track_activity
from bot.routing import route
from bot.serializer import read_activity
from bot.signing_keys import SigningKeysUnavailable
from bot.turn import BotTurn
from dialogs.turn import Dispatcher

log = logging.getLogger("mailops.bot")

_MAX_BODY_BYTES = 256 * 1024  # a Teams activity is far smaller; refuse floods early
# An activity nests a handful of levels, a card's inputs in `value` a few more; anything
# much deeper is refused before msrest's recursive reading (or a log line) walks it.
_MAX_DEPTH = 64


class MailOpsBot(Bot):  # type: ignore[misc]
    """Routes each activity to the dialogs; the only botbuilder `Bot` of the product."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def on_turn(self, context: TurnContext) -> None:
        await route(
            self.dispatcher, context.activity, BotTurn(context), partial(_invoke_response, context)
        )


async def _invoke_response(context: TurnContext, status: int, body: object) -> None:
    # botbuilder.core re-exports the schema's InvokeResponse, whose arguments are
    # keyword-only (a positional call raises TypeError and the invoke falls back to 501).
    response = InvokeResponse(status=status, body=body)
    await context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))


# The host: botbuilder's CloudAdapter (the default) or the Agents SDK's (MAILOPS_HOST_SDK).
ADAPTER: web.AppKey[CloudAdapter | AgentsHost] = web.AppKey("adapter")
BOT: web.AppKey[MailOpsBot] = web.AppKey("bot", MailOpsBot)
GUARDS: web.AppKey[Guards] = web.AppKey("guards", Guards)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)


async def _messages(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        return _problem(415, "expected application/json")
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return _problem(413, f"the body is over {_MAX_BODY_BYTES} bytes")
    except (ValueError, RecursionError):  # JSON and UTF-8 errors are ValueErrors
        # RecursionError: the json module recurses once per `[` or `{`; a ~2 KB body of
        # nesting reaches Python's limit before anything else is read.
        return _problem(400, "the body is not JSON")
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return _problem(400, "the body is not a Bot Framework activity")
    if _deeper_than(body, _MAX_DEPTH):  # before msrest's recursive reading walks it
        return _problem(400, f"the activity is nested deeper than {_MAX_DEPTH} levels")
    try:
        activity = read_activity(body)
    except Exception:  # msrest raises several unrelated types for malformed models
        return _problem(400, "the body is not a Bot Framework activity")
    track_activity(activity)  # the turn's metrics labels and log context (correlation id)
    wrong = misshapen(body)
    if wrong is not None:
        return _problem(400, wrong)
    if not _addressable(activity):
        # Without these the reply would go to botbuilder's default service URL (a public
        # host) or fail half-way through the turn, after Dataverse was already called.
        return _problem(400, "the activity needs serviceUrl (http or https) and conversation.id")
    adapter = request.app[ADAPTER]
    header = request.headers.get("Authorization", "")
    try:
        authenticated = (
            await adapter.authenticate(header)
            if isinstance(adapter, AgentsHost)
            else await adapter.bot_framework_authentication.authenticate_request(activity, header)
        )
    except PermissionError:  # (an OSError: it must come first)
        return _problem(401, "unauthorized")
    except SigningKeysUnavailable as exc:
        log.warning("cannot validate the caller's token now: %s", exc)
        return _problem(
            503, "cannot validate the token now; retry later", retry_after=exc.retry_after_s
        )
    except OSError as exc:  # requests' errors are OSErrors: the OpenID metadata is unreachable
        log.warning("cannot validate the caller's token now: %s", type(exc).__name__)
        return _problem(503, "cannot validate the token now; retry later")
    except Exception as exc:  # a token that does not even parse
        log.info("unauthenticated activity refused: %s", type(exc).__name__)
        return _problem(401, "unauthorized")
    refusal = request.app[GUARDS].refusal(activity)
    if refusal is not None:  # another tenant: no turn, no reply there
        return _problem(403, refusal)
    if isinstance(adapter, AgentsHost):
        try:
            sdk_activity = adapter.read(body)
        except ValueError:  # the Agents SDK's models refuse what the checks above let by
            return _problem(400, "the body is not a Bot Framework activity")
        response = await adapter.process(
            authenticated, sdk_activity, activity, request.app[BOT].dispatcher
        )
    else:
        response = await adapter.process_activity(
            authenticated, activity, request.app[BOT].on_turn
        )
    # CloudAdapter.process would serialize the invoke body a second time and fail on a
    # dict (reference/teams.md §2.4); answering from process_activity avoids that.
    if response is None:
        return web.Response(status=201)
    if response.body is None:
        return web.Response(status=response.status)
    return web.json_response(response.body, status=response.status)


# The activity's envelope as the bot reads it: the JSON type each key must have when present.
_ENVELOPE: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "name": (str,),
    "text": (str,),
    "locale": (str,),
    "replyToId": (str,),
    "serviceUrl": (str,),
    "channelId": (str,),
    "channelData": (dict,),
    "entities": (list,),
    "attachments": (list,),
    "membersAdded": (list,),
}
# Every activity Teams sends names its sender, the bot and the conversation; a reply cannot
# be addressed without them (botbuilder copies `recipient` into the reply's `from`).
_PARTIES = ("from", "recipient", "conversation")


def misshapen(body: dict[str, Any]) -> str | None:
    """What is wrong with the shape of an activity's JSON, or None when nothing the bot
    reads is; the content is left to the dialogs."""
    for key in _PARTIES:
        party = body.get(key)
        if not isinstance(party, dict) or not isinstance(party.get("id"), str) or not party["id"]:
            return f"the activity needs {key}.id (a string)"
    for key, kinds in _ENVELOPE.items():
        value = body.get(key)
        if value is not None and not isinstance(value, kinds):
            return f"the activity's {key} is a {type(value).__name__}"
    for key in ("entities", "attachments", "membersAdded"):
        if not all(isinstance(item, dict) for item in body.get(key) or ()):
            return f"every item of the activity's {key} must be an object"
    return None


def _deeper_than(value: object, limit: int) -> bool:
    """Whether `value` nests more than `limit` arrays and objects (no recursion)."""
    level: list[Any] = [value]
    for _ in range(limit + 1):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return True


def _addressable(activity: Activity) -> bool:
    service_url = activity.service_url
    conversation = activity.conversation
    return (
        isinstance(service_url, str)
        and service_url.startswith(("https://", "http://"))
        and conversation is not None
        and isinstance(conversation.id, str)
        and bool(conversation.id)
    )


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _problem(status: int, detail: str, *, retry_after: float | None = None) -> web.Response:
    """An RFC 9457 problem: `about:blank` says the status code is all there is to know."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status}
    headers = {"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after else None
    return web.json_response(
        {**body, "detail": detail},
        status=status,
        content_type="application/problem+json",
        headers=headers,
    )


def create_app(
    adapter: CloudAdapter | AgentsHost,
    dispatcher: Dispatcher,
    *,
    guards: Guards | None = None,
    metrics: Metrics | None = None,
) -> web.Application:
    """The web surface; long-lived services are opened by the caller (`bot.serve`).

    Without `guards` every tenant is served and nobody is rate limited (`Guards.open()`);
    `bot.serve` passes `Guards.from_settings`. Without `metrics` the app gets its own.
    """
    app = web.Application(client_max_size=_MAX_BODY_BYTES)
    app[ADAPTER] = adapter
    app[GUARDS] = guards = guards or Guards.open()
    app[METRICS] = metrics = metrics or Metrics()
    app[BOT] = MailOpsBot(GuardedDispatcher(dispatcher, guards, metrics))

    async def on_error(context: TurnContext, error: Exception) -> None:
        # The last resort: dialogs answer their own errors with cards; this only logs.
        log.exception("unhandled error in turn %s", context.activity.id, exc_info=error)

    adapter.on_turn_error = on_error

    async def close_connectors(app: web.Application) -> None:
        host = app[ADAPTER]
        if isinstance(host, AgentsHost):
            await host.close()
        elif isinstance(host.bot_framework_authentication, CachingBotFrameworkAuthentication):
            await host.bot_framework_authentication.close()

    app.on_cleanup.append(close_connectors)
    app.router.add_post("/api/messages", metrics.metered(_messages))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", metrics.serve)
    return app
