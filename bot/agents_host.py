"""The second host: the Microsoft 365 Agents SDK's aiohttp CloudAdapter (MAILOPS_HOST_SDK=agents).

`bot.app` runs the same checks before either SDK sees a request (size, depth, shape, tenant,
problem bodies) and reads the activity once; this host then checks the caller's token with the
SDK's `JwtTokenValidator` and runs the turn with the SDK's `CloudAdapter.process_activity`.

Two of the SDK's defaults cost time on every turn, and both are changed through its public
API (the `channel_service_client_factory` the CloudAdapter takes), not by patching it:

- its `RestChannelServiceClientFactory` builds a new connector client, with a new aiohttp
  session (and so new TLS connections), for every turn; `KeptClients` keeps one per
  (service URL, token) and the adapter's per-turn `close()` leaves it open;
- its connector gives up on Teams' 429 (a reply or card update refused over the
  per-conversation rate is lost); the kept sessions get an aiohttp client middleware that
  sends such a call again, with the botbuilder host's policy (`bot.outbound`);
- it writes every activity it sends with `"id": null`, which the Agents Playground's
  connector refuses for a proactive post (`omit_null_id` leaves the key out, as botbuilder);
- it builds a `UserTokenClient` (another session) per turn as well, and without an app id
  that constructor logs a warning about a future deprecation every time; MailOps uses no user
  tokens (no sign-in cards, no SSO), so one client is built on the first turn and kept.

Running without credentials (the Agents Playground, `mailops demo`) needs the SDK's
`ANONYMOUS_ALLOWED` setting: without an app id it is on, exactly as botbuilder turns
authentication off without one (reference/teams.md §6.1); a request that does carry a
token is still checked.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse, ClientSession, TCPConnector
from aiohttp.payload import Payload
from botbuilder.schema import Activity as ReadActivity
from jwt import PyJWKClientConnectionError, PyJWTError
from microsoft_agents.activity import Activity, InvokeResponse
from microsoft_agents.authentication.msal import MsalConnectionManager
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AuthenticationConstants,
    AuthTypes,
    ClaimsIdentity,
    Connections,
)
from microsoft_agents.hosting.core.authorization.jwt import JwtTokenValidator
from microsoft_agents.hosting.core.connector.client import UserTokenClient
from microsoft_agents.hosting.core.connector.teams import TeamsConnectorClient

from bot.agents_turn import AgentsTurn
from bot.config import AppType, Settings
from bot.outbound import (
    MAX_THROTTLED_WAIT_S,
    THROTTLED_BACKOFF_S,
    THROTTLED_RETRIES,
    ca_file,
    retry_after_s,
)
from bot.routing import route
from dialogs.turn import Dispatcher

# What the turn reads from MailOps' own reading of the activity, never from the SDK's.
_READ_BY_MAILOPS = frozenset({"entities", "attachments"})
_MAX_CACHED = 64  # service URLs are few (one per Teams region); tokens change hourly


class _KeptConnectorClient(TeamsConnectorClient):
    """A connector client that outlives the turn: the adapter closes it after each one."""

    async def close(self) -> None:
        pass  # kept for the next turn; `KeptClients.close` ends it

    async def dispose(self) -> None:
        await super().close()


class _KeptUserTokenClient(UserTokenClient):
    async def close(self) -> None:
        pass

    async def dispose(self) -> None:
        await super().close()


def trust() -> ssl.SSLContext:
    """The CAs the botbuilder host's replies trust (`bot.outbound.ca_file`: REQUESTS_CA_BUNDLE
    or CURL_CA_BUNDLE as requests reads them, else certifi's bundle), so that both hosts
    reach the same connectors."""
    return ssl.create_default_context(cafile=ca_file(True))


Sleep = Callable[[float], Awaitable[None]]


def throttled_retries(sleep: Sleep) -> Callable[..., Awaitable[ClientResponse]]:
    """An aiohttp client middleware: a call Teams refused over its rate (429, refused before
    it was carried out) is sent again after `Retry-After`, else an exponential backoff with
    jitter, up to THROTTLED_RETRIES times; `bot.outbound` does the same for botbuilder."""

    async def middleware(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        throttled = 0
        while True:
            response = await handler(request)
            if response.status != 429 or throttled >= THROTTLED_RETRIES:
                return response
            wait = retry_after_s(response.headers.get("Retry-After"))
            if wait is None:
                wait = THROTTLED_BACKOFF_S * 2**throttled * (1 + random.random())
            response.release()
            throttled += 1
            await sleep(min(MAX_THROTTLED_WAIT_S, wait))

    return middleware


_NULL_ID = b'"id": null'


async def omit_null_id(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
    """An aiohttp client middleware: an activity's `"id": null` is left out, as botbuilder
    leaves it out.

    The SDK clears the id of every activity it sends and writes the cleared field as an
    explicit null; the Agents Playground's connector (0.2.28, `createActivitySchema`: `id`
    is an optional string) refuses a proactive post carrying it with 400 "Invalid input".
    """
    body = request.body
    if request.method in {"POST", "PUT"} and isinstance(body, Payload) and body.size:
        raw = await body.as_bytes()
        if _NULL_ID in raw:
            activity = json.loads(raw)
            if isinstance(activity, dict) and "id" in activity and activity["id"] is None:
                del activity["id"]
                await request.update_body(json.dumps(activity).encode())
    return await handler(request)


class KeptClients:
    """The adapter's `ChannelServiceClientFactoryBase`, with clients kept between turns.

    A connector client is keyed by its service URL and its token: the token comes from the
    connection's token provider on every turn (msal caches it), so a renewed token gets a new
    client and the old one falls out of the cache.
    """

    def __init__(
        self,
        connections: Connections,
        app_id: str,
        trusted: ssl.SSLContext,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._connections = connections
        self._throttled = throttled_retries(sleep)
        self._app_id = app_id or None
        self._trusted = trusted
        self._connectors: OrderedDict[tuple[str, str], _KeptConnectorClient] = OrderedDict()
        self._user_tokens: _KeptUserTokenClient | None = None

    def _session(self, base_url: str) -> ClientSession:
        return ClientSession(
            base_url=base_url,
            connector=TCPConnector(ssl=self._trusted),
            middlewares=(omit_null_id, self._throttled),
        )

    async def create_connector_client(
        self,
        context: TurnContext | None,
        claims_identity: ClaimsIdentity,
        service_url: str,
        audience: str,
        scopes: list[str] | None = None,
        use_anonymous: bool = False,
    ) -> _KeptConnectorClient:
        token = ""
        # Without an app id there are no credentials: the anonymous claims of a proactive
        # turn (aud and appid empty) do not say so themselves.
        if not use_anonymous and self._app_id:
            provider = self._connections.get_token_provider(claims_identity, service_url)
            token = await provider.get_access_token(
                audience, scopes or claims_identity.get_token_scope()
            )
        key = (service_url, token)
        client = self._connectors.get(key)
        if client is None:
            endpoint = service_url if service_url.endswith("/") else f"{service_url}/"
            client = _KeptConnectorClient(endpoint, token, session=self._session(endpoint))
            self._connectors[key] = client
            while len(self._connectors) > _MAX_CACHED:
                await self._connectors.popitem(last=False)[1].dispose()
        self._connectors.move_to_end(key)
        return client

    async def create_user_token_client(
        self, context: TurnContext, claims_identity: ClaimsIdentity, use_anonymous: bool = False
    ) -> UserTokenClient:
        if self._user_tokens is None:
            # The SDK's default token service; MailOps never calls it.
            endpoint = f"{AuthenticationConstants.AGENTS_SDK_OAUTH_URL.rstrip('/')}/"
            self._user_tokens = _KeptUserTokenClient(
                endpoint, "", app_id=self._app_id, session=self._session(endpoint)
            )
        return self._user_tokens

    async def close(self) -> None:
        for client in self._connectors.values():
            await client.dispose()
        self._connectors.clear()
        if self._user_tokens is not None:
            await self._user_tokens.dispose()
            self._user_tokens = None


def auth_configuration(settings: Settings) -> AgentAuthConfiguration:
    """The service connection, from the same settings the botbuilder host reads."""
    if not settings.app_id:
        return AgentAuthConfiguration(anonymous_allowed=True)
    auth_type = (
        AuthTypes.user_managed_identity
        if settings.app_type is AppType.USER_ASSIGNED_MSI
        else AuthTypes.client_secret
    )
    return AgentAuthConfiguration(
        auth_type=auth_type,
        client_id=settings.app_id,
        client_secret=settings.app_password.get_secret_value() or None,
        # Multi-tenant bots get their tokens from the botframework.com tenant, as in botbuilder.
        tenant_id=settings.app_tenant_id or "botframework.com",
        anonymous_allowed=False,
    )


class AgentsHost:
    """The Agents SDK's CloudAdapter with MailOps' token check and client reuse."""

    def __init__(self, settings: Settings, *, sleep: Sleep = asyncio.sleep) -> None:
        """`sleep` is how replies wait before sending a throttled call again."""
        self.app_id = settings.app_id
        self._configuration = auth_configuration(settings)
        connections = MsalConnectionManager(
            connections_configurations={"SERVICE_CONNECTION": self._configuration}
        )
        self.clients = KeptClients(connections, settings.app_id, trust(), sleep=sleep)
        # The no-argument CloudAdapter() raises in 1.9.0: it needs a factory or connections.
        self.adapter = CloudAdapter(channel_service_client_factory=self.clients)
        self._validator = JwtTokenValidator(self._configuration)

    @property
    def on_turn_error(self) -> Any:
        return self.adapter.on_turn_error

    @on_turn_error.setter
    def on_turn_error(self, handler: Any) -> None:
        self.adapter.on_turn_error = handler

    async def authenticate(self, header: str) -> ClaimsIdentity:
        """The caller's claims; PermissionError for a missing or bad token, ConnectionError
        when the signing keys cannot be fetched (the app answers 401 and 503)."""
        if not header:
            if self._configuration.ANONYMOUS_ALLOWED:
                return self._validator.get_anonymous_claims()
            raise PermissionError("no Authorization header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
            raise PermissionError("not a bearer token")
        try:
            return await self._validator.validate_token(token.strip())
        except PyJWKClientConnectionError as exc:
            raise ConnectionError("the signing keys cannot be fetched") from exc
        except (PyJWTError, ValueError) as exc:
            raise PermissionError(type(exc).__name__) from exc

    @staticmethod
    def read(body: dict[str, Any]) -> Activity:
        """The SDK's model of the activity; ValueError when it refuses the body.

        The SDK's model refuses an entity without a `type`, which Teams may send and
        botbuilder reads; MailOps reads mentions and attachments from its own reading of the
        activity, so the SDK gets the activity without them: it only addresses the replies.
        """
        sdk_body = {key: value for key, value in body.items() if key not in _READ_BY_MAILOPS}
        return Activity.model_validate(sdk_body)  # a ValidationError is a ValueError

    async def process(
        self,
        identity: ClaimsIdentity,
        activity: Activity,
        read: ReadActivity,
        dispatcher: Dispatcher,
    ) -> InvokeResponse | None:
        """Runs the turn of `activity` (`read`: MailOps' own reading of it)."""

        async def on_turn(context: TurnContext) -> None:
            async def answer(status: int, answer_body: object) -> None:
                await context.send_activity(
                    Activity(
                        type="invokeResponse",
                        value=InvokeResponse(status=status, body=answer_body),
                    )
                )

            await route(dispatcher, read, AgentsTurn(read, context), answer)

        response: InvokeResponse | None = await self.adapter.process_activity(
            identity, activity, on_turn
        )
        return response

    async def close(self) -> None:
        await self.clients.close()
