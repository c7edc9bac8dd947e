"""The CloudAdapter and its authentication, with connector clients built once, not per turn.

botbuilder 4.17.1 builds a new ConnectorClient and a new user-token client for every
incoming activity; each builds an msrest Configuration whose retry policy costs ~7 ms
(reference/teams.md §8). `CachingBotFrameworkAuthentication` wraps the stock
authentication and keeps those clients per (app id, service URL, audience), which is what
the stock path would produce anyway, so behaviour is unchanged and the per-turn cost goes.

The keys a caller's token is checked against are fetched off the event loop, with a
timeout (`bot.signing_keys`).

Each cached connector client also gets two changes to how it sends a reply (measured in
BENCHMARKS.md, "turns"): `bot.serializer` writes the activity's JSON without msrest's
generic walks, and `bot.outbound` sends on the event loop instead of a requests worker
thread.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from botframework.connector.auth.authentication_constants import AuthenticationConstants
from botframework.connector.skills import BotFrameworkClient

from bot.config import Settings
from bot.outbound import send_on_event_loop
from bot.serializer import ReplySerializer
from bot.signing_keys import SigningKeys
from bot.signing_keys import install as install_signing_keys

_MAX_CACHED = 64  # service URLs are few (one per Teams region); bound it anyway


class _LruCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, ...], Any] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> Any | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[str, ...], value: Any) -> list[Any]:
        """Keep `value`; return what fell out of the cache to make room."""
        self._items[key] = value
        self._items.move_to_end(key)
        evicted = []
        while len(self._items) > self._size:
            evicted.append(self._items.popitem(last=False)[1])
        return evicted

    def drain(self) -> list[Any]:
        """Empty the cache and return what it held."""
        items = list(self._items.values())
        self._items.clear()
        return items


def _serialize_cards_fast(client: ConnectorClient) -> None:
    stock = client._serialize
    serializer = ReplySerializer(stock.dependencies)
    serializer.client_side_validation = stock.client_side_validation
    client._serialize = serializer
    client.conversations._serialize = serializer


Sleep = Callable[[float], Awaitable[None]]


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(
        self, inner: ConnectorFactory, app_id: str, cache: _LruCache, sleep: Sleep
    ) -> None:
        self._inner = inner
        self._app_id = app_id
        self._cache = cache
        self._sleep = sleep

    async def create(self, service_url: str, audience: str) -> ConnectorClient:
        key = (self._app_id, service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            _serialize_cards_fast(client)
            send_on_event_loop(client, sleep=self._sleep)
            for evicted in self._cache.put(key, client):
                await evicted.__aexit__(None, None, None)
        return client


def _app_id_of(identity: ClaimsIdentity | None) -> str:
    if identity is None or not identity.claims:
        return ""
    claims: dict[str, Any] = identity.claims
    return str(
        claims.get(AuthenticationConstants.AUDIENCE_CLAIM)
        or claims.get(AuthenticationConstants.APP_ID_CLAIM)
        or ""
    )


class CachingBotFrameworkAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """The stock configuration-driven authentication, with its clients cached."""

    def __init__(self, inner: BotFrameworkAuthentication, *, sleep: Sleep = asyncio.sleep) -> None:
        self._inner = inner
        self._sleep = sleep  # how replies wait before sending again (bot.outbound)
        self._connectors = _LruCache(_MAX_CACHED)
        self._token_clients = _LruCache(_MAX_CACHED)

    async def authenticate_request(
        self, activity: Activity, auth_header: str
    ) -> AuthenticateRequestResult:
        result: AuthenticateRequestResult = await self._inner.authenticate_request(
            activity, auth_header
        )
        if result.connector_factory is not None:
            result.connector_factory = _CachingConnectorFactory(
                result.connector_factory,
                _app_id_of(result.claims_identity),
                self._connectors,
                self._sleep,
            )
        return result

    async def authenticate_streaming_request(
        self, auth_header: str, channel_id_header: str
    ) -> AuthenticateRequestResult:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        return _CachingConnectorFactory(
            self._inner.create_connector_factory(claims_identity),
            _app_id_of(claims_identity),
            self._connectors,
            self._sleep,
        )

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        key = (_app_id_of(claims_identity),)
        client = self._token_clients.get(key)
        if client is None:
            client = await self._inner.create_user_token_client(claims_identity)
            self._token_clients.put(key, client)
        return client

    def create_bot_framework_client(self) -> BotFrameworkClient:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> ClaimsIdentity:
        return await self._inner.authenticate_channel_request(auth_header)

    async def close(self) -> None:
        """Close the cached connector clients' HTTP sessions (kept alive between turns)."""
        self._token_clients.drain()
        for client in self._connectors.drain():
            await client.__aexit__(None, None, None)


class BotbuilderConfiguration(SimpleNamespace):
    """The attribute-style configuration botbuilder's credential factory reads.

    botbuilder needs the password in clear as an attribute; its repr masks it, so the
    object can be logged or shown in a traceback without leaking the secret.
    """

    def __repr__(self) -> str:
        shown = {
            k: ("**********" if k == "APP_PASSWORD" and v else v) for k, v in vars(self).items()
        }
        return f"BotbuilderConfiguration({shown!r})"


def botbuilder_configuration(settings: Settings) -> BotbuilderConfiguration:
    """The configuration object for `ConfigurationBotFrameworkAuthentication`."""
    return BotbuilderConfiguration(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password.get_secret_value(),
        APP_TYPE=settings.app_type.value,
        APP_TENANTID=settings.app_tenant_id,
    )


def create_adapter(
    settings: Settings, *, signing_keys: SigningKeys | None = None, sleep: Sleep = asyncio.sleep
) -> CloudAdapter:
    return adapter_for(
        botbuilder_configuration(settings), signing_keys or SigningKeys(), sleep=sleep
    )


def adapter_for(
    configuration: BotbuilderConfiguration,
    signing_keys: SigningKeys,
    *,
    sleep: Sleep = asyncio.sleep,
) -> CloudAdapter:
    """The adapter over `configuration`, its callers' tokens checked with `signing_keys`;
    `sleep` is how its replies wait before sending a throttled call again."""
    install_signing_keys(signing_keys)
    auth = ConfigurationBotFrameworkAuthentication(configuration)
    return CloudAdapter(CachingBotFrameworkAuthentication(auth, sleep=sleep))
