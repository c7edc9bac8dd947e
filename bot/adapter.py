"""The CloudAdapter and its authentication, with connector clients built once, not per turn.

botbuilder 4.17.1 builds a new ConnectorClient and a new user-token client for every
incoming activity; each builds an msrest Configuration whose retry policy costs ~7 ms
(reference/teams.md §8). `CachingBotFrameworkAuthentication` wraps the stock
authentication and keeps those clients per (app id, service URL, audience), which is what
the stock path would produce anyway, so behaviour is unchanged and the per-turn cost goes.
"""

from __future__ import annotations

from collections import OrderedDict
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

    def put(self, key: tuple[str, ...], value: Any) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class _CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    def __init__(self, inner: ConnectorFactory, app_id: str, cache: _LruCache) -> None:
        self._inner = inner
        self._app_id = app_id
        self._cache = cache

    async def create(self, service_url: str, audience: str) -> ConnectorClient:
        key = (self._app_id, service_url, audience or "")
        client = self._cache.get(key)
        if client is None:
            client = await self._inner.create(service_url, audience)
            self._cache.put(key, client)
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

    def __init__(self, inner: BotFrameworkAuthentication) -> None:
        self._inner = inner
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
                result.connector_factory, _app_id_of(result.claims_identity), self._connectors
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


def botbuilder_configuration(settings: Settings) -> SimpleNamespace:
    """The attribute-style configuration botbuilder's credential factory reads."""
    return SimpleNamespace(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password.get_secret_value(),
        APP_TYPE=settings.app_type.value,
        APP_TENANTID=settings.app_tenant_id,
    )


def create_adapter(settings: Settings) -> CloudAdapter:
    auth = ConfigurationBotFrameworkAuthentication(botbuilder_configuration(settings))
    return CloudAdapter(CachingBotFrameworkAuthentication(auth))
