"""Which dispatcher method an activity goes to, and the invoke answers: the same on both hosts.

An activity is read once, with `bot.serializer.read_activity`, before either SDK sees it; the
host only decides how an invoke's answer is handed back (`Answer`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.schema import Activity, ActivityTypes

from dialogs.turn import Dispatcher, Turn

Answer = Callable[[int, object], Awaitable[None]]
"""Hands an invoke's status and body back to the channel."""

CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"
ERROR = "application/vnd.microsoft.error"


async def route(dispatcher: Dispatcher, activity: Activity, turn: Turn, answer: Answer) -> None:
    """Routes one activity to the dialogs."""
    if activity.type == ActivityTypes.message:
        await dispatcher.on_message(turn)
    elif activity.type == ActivityTypes.invoke and activity.name == "adaptiveCard/action":
        if turn.action is None:
            # No `value.action` object: answered as botbuilder's own handler does.
            await answer(400, _bad_execute())
            return
        result = await dispatcher.on_execute(turn)
        body: dict[str, Any] = (
            {"statusCode": 200, "type": CARD, "value": result}
            if isinstance(result, dict)
            else {"statusCode": 200, "type": MESSAGE, "value": result}
        )
        await answer(200, body)
    elif activity.type == ActivityTypes.invoke:
        # Invokes we do not serve (message extensions, task modules) get 501, as
        # botbuilder's own handler answers them.
        await answer(501, None)
    elif activity.type in {
        ActivityTypes.installation_update,
        ActivityTypes.conversation_update,
    } and bot_was_added(activity):
        await dispatcher.on_installed(turn)


def _bad_execute() -> dict[str, Any]:
    return {
        "statusCode": 400,
        "type": ERROR,
        "value": {
            "code": "BadRequest",
            "message": "an adaptiveCard/action invoke needs value.action",
        },
    }


def bot_was_added(activity: Activity) -> bool:
    if activity.type == ActivityTypes.installation_update:
        return str(activity.action or "").startswith("add")
    recipient = activity.recipient.id if activity.recipient else None
    return any(member.id == recipient for member in activity.members_added or [])
