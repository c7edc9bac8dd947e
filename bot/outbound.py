"""Bot Connector calls sent on the event loop (aiohttp), not from a requests worker thread.

botframework-connector sends every reply through msrest's requests pipeline: the call is
handed to a thread pool (`run_in_executor`), requests prepares it, merges the environment's
proxy and CA settings, and the event loop waits for the thread and the GIL to come back:
about 2 ms of a turn, a third of what the bot itself spends (BENCHMARKS.md, "turns").

`send_on_event_loop(client)` rebuilds the connector client's msrest pipeline as msrest's
`ServiceClientAsync` builds it (user agent, the bot's credentials, response deserializer,
HTTP logger), with this module's `AioHttpSender` as its last stage. What stays the same:

- the bearer token: msrest's `AsyncRequestsCredentialsPolicy` calls the credentials'
  `signed_session(session)`, which only sets `session.headers["Authorization"]`; the sender's
  context offers exactly that and sends those headers;
- trust: the CA file is the connection's `verify` when it names one, else `REQUESTS_CA_BUNDLE`
  or `CURL_CA_BUNDLE` (as requests reads them), else certifi's bundle (requests' default);
  proxies come from the environment (`HTTPS_PROXY`, `NO_PROXY` …), read once per host rather
  than on every call (aiohttp's `trust_env` would look them up, and `.netrc`, in a worker
  thread for each request: the very hop this module removes); `.netrc` is not read;
- timeouts: the connection's timeout (msrest's default is 100 s);
- retries, as msrest 0.7.1's `ClientRetryPolicy` behaves over urllib3 2.x: up to 3 retries
  of a connection that could not be made (any method, nothing was sent; a certificate that
  does not verify is reported at once rather than retried), with urllib3's
  backoff (0 s, then 1.6 s, 3.2 s; at most 90 s); answers 408, 500, 502–504 and 506 and
  up retried only for idempotent methods (urllib3 2.x ignores the `method_whitelist` that
  msrest sets, so POST is not retried), honouring `Retry-After` on a 503;
- one change: a 429 (Teams' per-conversation rate, refused before it was carried out) is
  sent again for every method, after `Retry-After` or an exponential backoff with jitter,
  up to `THROTTLED_RETRIES` times, so that a reply or a card update is not lost (msrest
  counts 429 among the answers it never retries); waits go through an injectable `sleep`;
- failures surface as msrest's `ClientRequestError`, as they do through requests.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import aiohttp
import certifi
from aiohttp.helpers import get_env_proxy_for_url
from botbuilder.schema import Activity, ResourceResponse
from botframework.connector.aio import ConnectorClient
from botframework.connector.aio.operations_async import ConversationsOperations
from botframework.connector.models import ErrorResponseException
from msrest.exceptions import ClientRequestError
from msrest.pipeline import Request, Response, SansIOHTTPPolicy
from msrest.pipeline.async_abc import AsyncHTTPPolicy, AsyncHTTPSender, AsyncPipeline
from msrest.pipeline.async_requests import AsyncRequestsCredentialsPolicy
from msrest.pipeline.universal import RawDeserializer
from msrest.universal_http import ClientRequest
from msrest.universal_http.async_abc import AsyncClientResponse
from multidict import CIMultiDict
from yarl import URL

RETRIES: Final = 3
BACKOFF_FACTOR: Final = 0.8
MAX_BACKOFF_S: Final = 90.0
# A call Teams refused over its per-conversation rate (429) is sent again up to this many
# times, each wait at most MAX_THROTTLED_WAIT_S: Teams' per-thread windows are 1 s, 2 s,
# 30 s and an hour (learn.microsoft.com "Optimize your bot with rate limiting in Teams"),
# so a wait clears any but the hourly one.
THROTTLED_RETRIES: Final = 6
THROTTLED_BACKOFF_S: Final = 1.0
MAX_THROTTLED_WAIT_S: Final = 30.0
_SAFE: Final = frozenset({*(i for i in range(500) if i != 408), 501, 505})
_IDEMPOTENT: Final = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PUT", "TRACE"})


def backoff_s(retry: int) -> float:
    """urllib3 2.x: no wait before the first retry, then factor × 2^(n-1), capped."""
    if retry <= 1:
        return 0.0
    return float(min(MAX_BACKOFF_S, BACKOFF_FACTOR * 2 ** (retry - 1)))


def retry_after_s(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), if usable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def ca_file(verify: object) -> str:
    """The CA bundle requests would use for `verify` with the environment trusted."""
    if isinstance(verify, str) and verify:
        return verify
    return (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    )


class _SessionHeaders:
    """The part of a requests.Session that `AppCredentials.signed_session` touches."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}


class _Context:
    def __init__(self) -> None:
        self.session = _SessionHeaders()


class _Answer:
    """What msrest's errors keep of an answer (`HttpOperationError.response`, a requests
    `Response` in the stock path): its status, headers, reason and body."""

    def __init__(self, status: int, headers: CIMultiDict[str], reason: Any) -> None:
        self.status_code = status
        self.headers = headers
        self.reason = reason
        self.content = b""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class _Response(AsyncClientResponse):
    def __init__(self, request: ClientRequest, status: int, headers: Any, reason: Any) -> None:
        kept: CIMultiDict[str] = CIMultiDict(headers)
        super().__init__(request, _Answer(status, kept, reason))
        self.status_code = status
        self.headers = kept
        self.reason = reason
        self._body = b""

    def _read(self, body: bytes) -> None:
        self._body = self.internal_response.content = body

    def body(self) -> bytes:
        return self._body

    def stream_download(
        self, chunk_size: int | None = None, callback: Callable[..., Any] | None = None
    ) -> AsyncIterator[bytes]:
        """The body (already read) in chunks, for msrest's streaming downloads."""
        size = chunk_size or 10 * 1024

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(self._body), size):
                chunk = self._body[start : start + size]
                if callback is not None:
                    callback(chunk, self)
                yield chunk

        return chunks()


class AioHttpSender(AsyncHTTPSender[ClientRequest, AsyncClientResponse]):
    """The last stage of the connector's pipeline: one aiohttp session per connector client."""

    def __init__(
        self,
        *,
        timeout_s: float,
        verify: object,
        retries: int = RETRIES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._verify = verify
        self._retries = retries
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        self._proxies: dict[str, tuple[URL | None, aiohttp.BasicAuth | None]] = {}

    def build_context(self) -> _Context:
        return _Context()

    async def __aenter__(self) -> AioHttpSender:
        return self

    async def __aexit__(self, *exc_details: object) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await _close(session)

    def _open(self) -> aiohttp.ClientSession:
        if self._verify is False:
            tls: ssl.SSLContext | bool = False
        else:
            tls = ssl.create_default_context(cafile=ca_file(self._verify))
        # `enable_cleanup_closed`: a connection aiohttp gives up on (a timeout, a cancelled
        # call) is aborted when the session closes, not left waiting for the server's TLS
        # close_notify after the loop has gone (see dataverse/_transport.py).
        connector = aiohttp.TCPConnector(ssl=tls, enable_cleanup_closed=True)
        return aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    def _client(self, own: list[aiohttp.ClientSession]) -> aiohttp.ClientSession:
        if not self._closed:
            if self._session is None:
                self._session = self._open()
            return self._session
        # A call under way when the sender was closed (the adapter evicted its connector
        # client, or the app is stopping) goes on with a session of its own, which `send`
        # closes when the call ends: a shared one opened now would never be closed.
        if not own:
            own.append(self._open())
        return own[0]

    def _proxy(self, url: URL) -> tuple[URL | None, aiohttp.BasicAuth | None]:
        key = f"{url.scheme}://{url.host}:{url.port}"
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(url)
            except LookupError:
                self._proxies[key] = (None, None)
        return self._proxies[key]

    @staticmethod
    def _throttled_wait(response: AsyncClientResponse, throttled: int) -> float | None:
        """How long to wait before sending a throttled call again; None: give up.

        Teams refuses a call over its rate before carrying it out, so any method is sent
        again, after `Retry-After` when given, else after an exponential backoff with
        jitter (Microsoft's advice for 429s, learn.microsoft.com "Optimize your bot with rate
        limiting in Teams").
        """
        if throttled >= THROTTLED_RETRIES:
            return None
        wait = retry_after_s(response.headers.get("Retry-After"))
        if wait is None:
            wait = THROTTLED_BACKOFF_S * 2**throttled * (1 + random.random())
        return min(MAX_THROTTLED_WAIT_S, wait)

    async def send(
        self, request: Request[ClientRequest], **config: Any
    ) -> Response[ClientRequest, AsyncClientResponse]:
        http: ClientRequest = request.http_request
        if http.files:
            msg = "multipart uploads are not sent by this sender"
            raise NotImplementedError(msg)
        context = request.context if isinstance(request.context, _Context) else _Context()
        headers = {**context.session.headers, **dict(http.headers)}
        url = URL(http.url, encoded=True)  # msrest has quoted it already
        return Response(request, await self.exchange(http, url, headers))

    async def exchange(
        self, http: ClientRequest, url: URL, headers: dict[str, str]
    ) -> AsyncClientResponse:
        """Send `http` (its method and body) to `url` with `headers`, retrying as msrest's
        requests pipeline would; the answer comes back read."""
        own: list[aiohttp.ClientSession] = []  # a session opened for this call alone
        try:
            return await self._exchange(http, url, headers, own)
        finally:
            for session in own:
                await _close(session)

    async def _exchange(
        self,
        http: ClientRequest,
        url: URL,
        headers: dict[str, str],
        own: list[aiohttp.ClientSession],
    ) -> AsyncClientResponse:
        proxy, proxy_auth = self._proxy(url)
        retry = 0
        throttled = 0
        while True:
            try:
                async with self._client(own).request(
                    http.method,
                    url,
                    headers=headers,
                    data=http.data,
                    proxy=proxy,
                    proxy_auth=proxy_auth,
                ) as answer:
                    response = _Response(http, answer.status, answer.headers, answer.reason)
                    response._read(await answer.read())
            except aiohttp.ClientConnectorCertificateError as exc:  # retrying will not help
                msg = "Error occurred in request."
                raise ClientRequestError(msg, inner_exception=exc) from exc
            except aiohttp.ClientConnectorError as exc:  # nothing was sent: safe to retry
                if retry >= self._retries:
                    msg = "Error occurred in request."
                    raise ClientRequestError(msg, inner_exception=exc) from exc
                retry += 1
                await self._sleep(backoff_s(retry))
                continue
            except (TimeoutError, aiohttp.ClientError) as exc:
                msg = "Error occurred in request."
                raise ClientRequestError(msg, inner_exception=exc) from exc
            status = response.status_code
            if status == 429:
                wait = self._throttled_wait(response, throttled)
                if wait is None:
                    return response
                throttled += 1
                await self._sleep(wait)
                continue
            if status in _SAFE or http.method not in _IDEMPOTENT or retry >= self._retries:
                return response
            retry += 1
            wait = retry_after_s(response.headers.get("Retry-After")) if status == 503 else None
            await self._sleep(min(MAX_BACKOFF_S, wait) if wait is not None else backoff_s(retry))


class EventLoopConversations(ConversationsOperations):  # type: ignore[misc]
    """The connector's conversation operations, with the three every turn uses (reply,
    send, update) sent straight to the sender.

    The generated operations wrap the same bytes in an msrest pipeline request, run it
    through four policies, and read the answer (`{"id": …}`) with msrest's generic
    deserializer: about a third of a reply's CPU in the bot's process (BENCHMARKS.md,
    "turns"). These build the request the generated code builds: its URL (by msrest's own
    `format_url` and quoting), its headers, the user agent and bearer token msrest's
    policies add, and its JSON body from the client's serializer; they answer as the
    generated code does, `ErrorResponseException` included. A call with custom headers,
    `raw=True` or per-operation settings, and every call of a client whose credentials are
    a pipeline policy rather than botframework's `AppCredentials`, take the generated path.
    """

    def __init__(self, stock: ConversationsOperations, sender: AioHttpSender) -> None:
        super().__init__(stock._client, stock.config, stock._serialize, stock._deserialize)
        self._sender = sender
        credentials = stock.config.credentials
        self._signs = credentials is not None
        # msrest's policy calls `signed_session`; a policy-shaped credential does its own work.
        self._direct = not isinstance(credentials, (AsyncHTTPPolicy, SansIOHTTPPolicy))
        self._user_agent: str = stock.config.user_agent_policy.user_agent

    async def reply_to_activity(
        self, conversation_id: str, activity_id: str, activity: Activity, **options: Any
    ) -> Any:
        if options or not self._direct:
            return await super().reply_to_activity(
                conversation_id, activity_id, activity, **options
            )
        path = ConversationsOperations.reply_to_activity.metadata["url"]
        headers = {"x-ms-conversation-id": conversation_id}
        return await self._call("POST", path, conversation_id, activity_id, activity, headers)

    async def send_to_conversation(
        self, conversation_id: str, activity: Activity, **options: Any
    ) -> Any:
        if options or not self._direct:
            return await super().send_to_conversation(conversation_id, activity, **options)
        path = ConversationsOperations.send_to_conversation.metadata["url"]
        return await self._call("POST", path, conversation_id, None, activity, {})

    async def update_activity(
        self, conversation_id: str, activity_id: str, activity: Activity, **options: Any
    ) -> Any:
        if options or not self._direct:
            return await super().update_activity(conversation_id, activity_id, activity, **options)
        path = ConversationsOperations.update_activity.metadata["url"]
        return await self._call("PUT", path, conversation_id, activity_id, activity, {})

    async def _call(
        self,
        method: str,
        path: str,
        conversation_id: str,
        activity_id: str | None,
        activity: Activity,
        extra_headers: dict[str, str],
    ) -> ResourceResponse | None:
        arguments = {
            "conversationId": self._serialize.url("conversation_id", conversation_id, "str")
        }
        if activity_id is not None:
            arguments["activityId"] = self._serialize.url("activity_id", activity_id, "str")
        http = ClientRequest(method, self._client.format_url(path, **arguments))
        http.add_content(self._serialize.body(activity, "Activity"))
        headers = {
            "User-Agent": self._user_agent,
            "Accept": "application/json",
            "Content-Type": "application/json; charset=utf-8",
            **extra_headers,
            **http.headers,
        }
        if self._signs:
            session = _SessionHeaders()
            self.config.credentials.signed_session(session)
            headers.update(session.headers)
        response = await self._sender.exchange(http, URL(http.url, encoded=True), headers)
        if response.status_code not in (200, 201, 202):
            raise ErrorResponseException(self._deserialize, response)
        body = response.body()
        if not body:
            return None
        found = json.loads(body)
        return ResourceResponse(id=found.get("id")) if isinstance(found, dict) else None


# The generated operations read their URL template from `self.<operation>.metadata`; the
# overrides carry it, for the calls they hand back to the generated code.
for _operation in ("reply_to_activity", "send_to_conversation", "update_activity"):
    getattr(EventLoopConversations, _operation).metadata = getattr(
        ConversationsOperations, _operation
    ).metadata


async def _close(session: aiohttp.ClientSession) -> None:
    await session.close()
    # The close waits for the pooled and in-use connections; the sockets of aborted ones
    # close on the loop's next turn: give it that turn.
    await asyncio.sleep(0)


def send_on_event_loop(
    client: ConnectorClient, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> None:
    """Give `client` msrest's own pipeline, with `AioHttpSender` as the sender, and
    `EventLoopConversations` as its conversation operations (call this after swapping its
    serializer: they keep the one the stock operations have)."""
    config = client.config
    credentials = config.credentials
    policies: list[Any] = [config.user_agent_policy, RawDeserializer(), config.http_logger_policy]
    if credentials:
        if isinstance(credentials, (AsyncHTTPPolicy, SansIOHTTPPolicy)):
            policies.insert(1, credentials)
        else:
            policies.insert(1, AsyncRequestsCredentialsPolicy(credentials))  # type: ignore[no-untyped-call]
    sender = AioHttpSender(
        timeout_s=config.connection.timeout, verify=config.connection.verify, sleep=sleep
    )
    config.pipeline = AsyncPipeline(policies, sender)
    client.conversations = EventLoopConversations(client.conversations, sender)
