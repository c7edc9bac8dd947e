"""Authentication on (MicrosoftAppId set): unauthenticated activities never reach the dialogs."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.schema import Activity

from bot.adapter import CachingBotFrameworkAuthentication, create_adapter
from bot.app import create_app
from tests.bot.activities import execute, message
from tests.bot.conftest import APP_ID, APP_PASSWORD, Host, RecordingDispatcher, settings_for
from tests.simharness import RunningSim

UNAUTHENTICATED = {
    "no Authorization header": {},
    "an empty header": {"Authorization": ""},
    "a bearer token that is not a JWT": {"Authorization": "Bearer not-a-token"},
    "basic credentials": {"Authorization": "Basic bWFpbG9wczpwYXNzd29yZA=="},
}


def _nothing_happened(host: Host) -> None:
    assert host.dispatcher.calls == [], "an unauthenticated activity reached the dialogs"
    assert host.sim.requests() == [], "an unauthenticated activity reached Dataverse or Graph"
    assert host.activities() == [], "an unauthenticated activity got a reply"


@pytest.mark.parametrize("headers", list(UNAUTHENTICATED.values()), ids=list(UNAUTHENTICATED))
async def test_an_unauthenticated_message_is_refused(
    secured_host: Host, headers: dict[str, str]
) -> None:
    activity = message(secured_host.sim, "eddie", "approve mailbox for alice")
    response = await secured_host.post(activity, headers=headers)
    assert response.status == 401
    assert response.content_type == "application/problem+json"
    assert await response.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "unauthorized",
    }
    _nothing_happened(secured_host)


async def test_an_unauthenticated_click_is_refused(secured_host: Host) -> None:
    sim = secured_host.sim
    click = execute(
        sim,
        "eddie",
        {"verb": "mailbox.approve", "data": {"mailboxId": sim.person("alice").mailbox.id}},
        reply_to_id="1",
    )
    assert (await secured_host.post(click)).status == 401
    _nothing_happened(secured_host)


async def test_without_an_app_id_the_same_message_is_served(host: Host) -> None:
    """The counterpart: authentication off (the demo) accepts a request with no header."""
    response = await host.post(message(host.sim, "eddie", "status of alice"))
    assert response.status == 201
    assert host.dispatcher.calls == ["message"]


class _Unreachable(CachingBotFrameworkAuthentication):
    """The OpenID metadata cannot be fetched: requests raises, as it does when offline."""

    async def authenticate_request(self, activity: Activity, auth_header: str) -> Any:
        raise requests.ConnectionError("login.botframework.com: name resolution failed")


async def test_when_tokens_cannot_be_checked_the_answer_is_503(sim: RunningSim) -> None:
    """Teams retries a 503; a 500 would read as a bot bug, a 401 as a bad token."""
    settings = settings_for(sim, MicrosoftAppId=APP_ID, MicrosoftAppPassword=APP_PASSWORD)
    adapter = create_adapter(settings)
    adapter.bot_framework_authentication = _Unreachable(adapter.bot_framework_authentication)
    dispatcher = RecordingDispatcher(_NeverCalled())
    activity = message(sim, "eddie", "help")
    async with TestClient(TestServer(create_app(adapter, dispatcher))) as client:
        response = await client.post(
            "/api/messages", json=activity, headers={"Authorization": "Bearer x.y.z"}
        )
        assert response.status == 503
    assert dispatcher.calls == []


class _NeverCalled:
    async def on_message(self, turn: Any) -> None:
        raise AssertionError

    async def on_execute(self, turn: Any) -> Any:
        raise AssertionError

    async def on_installed(self, turn: Any) -> None:
        raise AssertionError
