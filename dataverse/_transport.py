"""httpx requests carried by aiohttp's connection pool and HTTP parser.

httpx stays the model (requests, answers, URLs, headers, auth flows, under the engine's
retry rules); only the bytes on the wire, and the cookies, go through aiohttp, whose HTTP
parser is written in C. httpcore's share of a request was about half of the bot's CPU per
Dataverse call (BENCHMARKS.md, `mailops bench turns`).

The failures are mapped by what they say about the request, because the engine retries a
write only when it certainly was not sent: a refused or timed-out connect (or a wait for a
free connection) is `ConnectError`/`ConnectTimeout`; a connection lost after the request
went out is a `ReadError` or `RemoteProtocolError`. (httpx-aiohttp 0.2.0 maps every
`aiohttp.ClientConnectionError`, a server disconnect after the request included, to
`ConnectTimeout`, which would make a sent write look unsent; hence this module.)
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Final

import aiohttp
import httpx
from yarl import URL

from dataverse.errors import InvalidInput

# Most specific first: ClientConnectorCertificateError is a ClientConnectorError, and both
# timeouts are ServerTimeoutErrors.
_FAILURES: Final[tuple[tuple[type[BaseException], type[httpx.TransportError]], ...]] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
    (TimeoutError, httpx.ReadTimeout),
)


def ssl_context(ca_path: str | Path | None) -> ssl.SSLContext:
    """A verifying context: the given CA file only, or the system's trust store."""
    if ca_path is None:
        return ssl.create_default_context()
    path = Path(ca_path)
    if not path.is_file():
        msg = f"CA file not found: {path}"
        raise InvalidInput(msg)
    return ssl.create_default_context(cafile=str(path))


def _as_httpx(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    for aiohttp_type, httpx_type in _FAILURES:
        if isinstance(exc, aiohttp_type):
            return httpx_type(str(exc) or type(exc).__name__, request=request)
    return httpx.NetworkError(str(exc), request=request)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one `aiohttp.ClientSession` (opened on first use, so that it
    belongs to the running event loop). No proxies from the environment: with `trust_env`
    the engine uses `EnvironmentProxyTransport`."""

    def __init__(self, *, verify: ssl.SSLContext, max_connections: int) -> None:
        self._verify = verify
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            ssl=self._verify,
            limit=self._max_connections,
            # A connection aiohttp gives up on (a timed-out or cancelled request, a body left
            # unread, an idle one past its keep-alive) gets TLS's graceful shutdown, which
            # waits for the server's close_notify (a round trip; never, from a peer that is
            # gone), and is then forgotten: closing the session neither aborts nor awaits it,
            # so a loop that ends first leaves its socket open ("unclosed transport" when the
            # garbage collector meets it). With this flag the connector keeps those
            # transports and aborts them when it closes (and within 2 s anyway). aiohttp
            # ignores the flag, with a DeprecationWarning, from Python 3.12.8 on
            # (aio-libs/aiohttp#9726); we run 3.11.
            enable_cleanup_closed=True,
        )
        # The session keeps the cookies (Dataverse's affinity cookie among them, "Server
        # affinity" in Microsoft's service protection limits page): the engine sends its
        # requests without an httpx client, and so without httpx's jar. `unsafe`: take them
        # from a host named by its IP address too, as httpx's jar (the stdlib's) did.
        return aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True), auto_decompress=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            # A session opened now would have no one left to close it.
            msg = "the transport has been closed"
            raise RuntimeError(msg)
        if self._session is None:
            self._session = self._open()
        timeout = request.extensions.get("timeout", {})
        try:
            async with self._session.request(
                request.method,
                # httpx has already percent-encoded the URL; yarl must not do it again.
                URL(str(request.url), encoded=True),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=timeout.get("pool"),  # aiohttp's `connect` includes the pool wait
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _as_httpx(exc, request) from exc
        return httpx.Response(
            response.status,
            # Raw bytes, still compressed if the service compressed them: httpx decodes the
            # body by its Content-Encoding as it would with its own transport.
            headers=response.raw_headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            # The close waits for the pooled and in-use connections, but an aborted
            # transport (see `enable_cleanup_closed` above) closes its socket on the loop's
            # next turn: give it that turn, so that a loop ending right after this (a
            # test's, a process's) leaves no socket open.
            await asyncio.sleep(0)


class EnvironmentProxyTransport(httpx.AsyncBaseTransport):
    """httpx's own client as a transport, for a host whose proxies come from the environment
    (`HTTPS_PROXY`, `NO_PROXY`, ...): it picks the proxy for each URL and keeps cookies."""

    def __init__(self, verify: ssl.SSLContext, *, timeout: float) -> None:
        self._client = httpx.AsyncClient(
            verify=verify, timeout=timeout, trust_env=True, follow_redirects=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._client.cookies.set_cookie_header(request)
        return await self._client.send(request)

    async def aclose(self) -> None:
        await self._client.aclose()


def network_transport(
    ca_path: str | Path | None, *, max_connections: int = 100
) -> httpx.AsyncBaseTransport:
    """The transport `DataverseClient` and `GraphClient` use when none is given (and proxies
    do not come from the environment); for a host that wraps it (the benchmarks time it)."""
    return AiohttpTransport(verify=ssl_context(ca_path), max_connections=max_connections)
