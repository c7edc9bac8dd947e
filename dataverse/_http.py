"""The HTTP engine under `DataverseClient` and `GraphClient`.

One transport per service (`_transport.py`), TLS trust from an explicit CA file, a concurrency
limiter around every request, Retry-After on 429 within a time budget, and bounded
jittered retries of idempotent requests on 502/503/504 and timeouts. Every attempt is told
to the `response_observer` of the calling context, if there is one (a host's metrics).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import random
import re
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import httpx

from dataverse._transport import EnvironmentProxyTransport, network_transport, ssl_context
from dataverse.errors import (
    TRANSIENT_STATUSES,
    DataverseRequestError,
    DataverseTimeout,
    InvalidInput,
    Service,
    Throttled,
    UnexpectedResponse,
    error_from_response,
    parse_retry_after,
)

logger = logging.getLogger(__name__)

_IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

# What an httpx client adds to every request (httpx 0.28.1), kept on the wire now that the
# engine sends requests itself (`HttpEngine._exchange`). "gzip, deflate": the codings an
# httpx answer decodes without optional packages; the transports leave bodies compressed.
_HTTPX_DEFAULT_HEADERS: Final = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
    "User-Agent": f"python-httpx/{httpx.__version__}",
}

ResponseObserver = Callable[[Service, str, int | None, float], None]
"""Told of every HTTP attempt an engine makes: service, method, status (None when no answer
came: a connect failure or a timeout) and seconds spent. Retries are attempts of their own."""

Sleep = Callable[[float], Awaitable[None]]
"""How an engine waits between attempts (`asyncio.sleep` unless a test passes a recorder). The
throttle budget counts the waits asked for, not elapsed time, so no clock goes with it."""

response_observer: ContextVar[ResponseObserver | None] = ContextVar(
    "dataverse_response_observer", default=None
)
"""The observer of the calls made in the current context (a host sets it per turn, or once
before it starts its tasks); none by default. An observer that raises is logged and ignored:
it never changes the outcome of a call."""


def _observe(service: Service, method: str, status: int | None, seconds: float) -> None:
    observer = response_observer.get()
    if observer is None:
        return
    try:
        observer(service, method, status, seconds)
    except Exception:  # an observer is a bystander: the request's outcome stands
        logger.exception("the response observer failed")


@dataclass(frozen=True)
class RetryPolicy:
    """How long a client keeps trying before it raises.

    Attributes:
        attempts: tries for transient failures (5xx 502/503/504, timeouts), first included.
            Only idempotent requests get more than one; see `HttpEngine.send`.
        backoff_base: seconds; the n-th retry waits a random time up to base * 2**(n-1).
        backoff_cap: upper bound of one backoff wait, in seconds.
        throttle_budget: total seconds one call may spend waiting on 429 Retry-After.
            A Retry-After that would pass it raises `Throttled` at once, so a chat user
            hears "busy, retry in N s" rather than waiting.
        default_retry_after: seconds to wait on a 429 that carries no Retry-After.
        max_throttle_retries: how many 429s in a row one call honours at most.
    """

    attempts: int = 3
    backoff_base: float = 0.25
    backoff_cap: float = 4.0
    throttle_budget: float = 30.0
    default_retry_after: float = 2.0
    max_throttle_retries: int = 8

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.throttle_budget < 0 or self.backoff_base < 0:
            msg = "attempts must be >= 1; budget and backoff must be >= 0"
            raise InvalidInput(msg)

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Full jitter: spreads the retries of many callers over the window."""
        return rng.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (retry - 1)))


def _is_tls_verification_failure(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


# The start of a reference that is not a relative path (RFC 3986 §4.2): a colon in the first
# segment (a scheme, or not a valid relative path), an authority or an absolute path.
_NOT_BELOW_BASE: Final = re.compile(r"[^/?#]*:|/")


def _below_base(url: str) -> bool:
    """Whether resolving `url` against a base that ends in "/" is appending it: a relative
    path without dot segments (RFC 3986 §5.2)."""
    path = url.partition("?")[0].partition("#")[0]
    return (
        _NOT_BELOW_BASE.match(url) is None
        and path not in (".", "..")
        and not path.startswith(("./", "../"))
        and "/./" not in path
        and "/../" not in path
        and not path.endswith(("/.", "/.."))
    )


class HttpEngine:
    """Sends requests for one service with the resilience rules above."""

    def __init__(
        self,
        *,
        service: Service,
        base_url: str,
        default_headers: Mapping[str, str],
        auth: httpx.Auth | None,
        ca_path: str | Path | None,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        max_concurrency: int,
        retry: RetryPolicy,
        trust_env: bool,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if max_concurrency < 1:
            msg = "max_concurrency must be at least 1"
            raise InvalidInput(msg)
        base = httpx.URL(base_url if base_url.endswith("/") else base_url + "/")
        if base.scheme != "https" and transport is None:
            # Tokens travel in these requests; only a test transport may skip TLS.
            msg = f"{service} base URL must be https: {base_url}"
            raise InvalidInput(msg)
        self.service: Service = service
        self.base_url = base
        self._base_text = str(base)
        self.retry = retry
        self._sleep = sleep
        self._rng = random.Random()
        self._limiter = asyncio.Semaphore(max_concurrency)
        self._auth = auth
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._headers = httpx.Headers({**_HTTPX_DEFAULT_HEADERS, **default_headers})
        if transport is None:
            transport = (
                EnvironmentProxyTransport(ssl_context(ca_path), timeout=timeout)
                if trust_env
                else network_transport(ca_path, max_connections=max_concurrency)
            )
        self._transport = transport
        self._closed = False

    async def aclose(self) -> None:
        self._closed = True
        await self._transport.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    def same_origin(self, url: httpx.URL) -> bool:
        base = self.base_url
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    def resolve(self, url: str) -> httpx.URL:
        """A URL relative to the base, or an absolute one on the same origin (a nextLink)."""
        if _below_base(url):
            # A path below the base (`mailboxes?$select=…`): joining is appending. httpx
            # parses a URL character by character, and `URL(url)` followed by `join` parses
            # it three times; `$select` lists make these URLs up to ~1 KB long.
            target = httpx.URL(self._base_text + url)
        else:
            candidate = httpx.URL(url)
            target = candidate if candidate.is_absolute_url else self.base_url.join(url)
        if not self.same_origin(target):
            # Never send our bearer token to a host a response body named (a scheme-relative
            # `//host/...` link included).
            msg = f"refusing to follow a link to another origin: {target.host}"
            raise UnexpectedResponse(msg, service=self.service)
        return target

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        idempotent: bool | None = None,
        keep_error: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """Send one request; return a 2xx/3xx answer or raise from the error tree.

        `keep_error` may claim an error answer (other than a retried 429/5xx) to be returned
        rather than raised: a `$batch` reports its first failure that way.

        `idempotent` defaults to: GET/HEAD/OPTIONS, or PATCH/PUT/DELETE carrying a
        specific If-Match ETag. Only idempotent requests are retried after a 5xx or a
        timeout. Every method is retried after a 429 (Dataverse rejects a throttled
        request before running it) and after a failed connect (nothing was sent).
        """
        method = method.upper()
        target = self.resolve(url)
        request_headers = dict(headers or {})
        if idempotent is None:
            idempotent = _idempotent_by_default(method, request_headers)
        policy = self.retry
        attempt = 0
        throttle_waited = 0.0
        throttle_count = 0
        while True:
            attempt += 1
            request = self._request(method, target, request_headers, content)
            try:
                async with self._limiter:
                    started = time.perf_counter()  # after the wait for a slot: the service's time
                    response = await self._exchange(request)
            except httpx.TransportError as exc:
                _observe(self.service, method, None, time.perf_counter() - started)
                never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                never_sent = never_sent or isinstance(exc, httpx.PoolTimeout)
                tls_refused = _is_tls_verification_failure(exc)
                if (idempotent or never_sent) and not tls_refused and attempt < policy.attempts:
                    delay = policy.backoff(attempt, self._rng)
                    logger.info(
                        "%s %s %s failed (%s); retry %d in %.2fs",
                        self.service,
                        method,
                        target.path,
                        type(exc).__name__,
                        attempt,
                        delay,
                    )
                    await self._sleep(delay)
                    continue
                raise _transport_error(exc, self.service, method, target, tls_refused) from exc

            status = response.status_code
            _observe(self.service, method, status, time.perf_counter() - started)
            if logger.isEnabledFor(logging.DEBUG):
                # The line httpx's client wrote for every request, without the query: an
                # OData query carries what people typed (`contains(fullname,'alice')`).
                shown = str(target).partition("?")[0] + ("?…" if target.query else "")
                reason = response.reason_phrase
                logger.debug('HTTP Request: %s %s "HTTP/1.1 %d %s"', method, shown, status, reason)
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                wait = policy.default_retry_after if retry_after is None else retry_after
                throttle_count += 1
                if (
                    throttle_waited + wait <= policy.throttle_budget
                    and throttle_count <= policy.max_throttle_retries
                ):
                    throttle_waited += wait
                    logger.warning(
                        "%s throttled %s %s; waiting %.1fs as Retry-After asks",
                        self.service,
                        method,
                        target.path,
                        wait,
                    )
                    await self._sleep(wait)
                    continue
                error = error_from_response(response, service=self.service)
                if isinstance(error, Throttled) and error.retry_after is None:
                    error.retry_after = wait
                raise error
            if status in TRANSIENT_STATUSES and idempotent and attempt < policy.attempts:
                delay = policy.backoff(attempt, self._rng)
                hinted = parse_retry_after(response.headers.get("retry-after"))
                if hinted is not None:
                    delay = max(delay, min(hinted, policy.backoff_cap))
                logger.info(
                    "%s %s %s answered %d; retry %d in %.2fs",
                    self.service,
                    method,
                    target.path,
                    status,
                    attempt,
                    delay,
                )
                await self._sleep(delay)
                continue
            if status >= 400 and not (keep_error is not None and keep_error(response)):
                raise error_from_response(response, service=self.service)
            return response

    def _request(
        self, method: str, url: httpx.URL, headers: Mapping[str, str], content: bytes | None
    ) -> httpx.Request:
        if self._closed:
            msg = f"the {self.service} client has been closed"
            raise RuntimeError(msg)
        merged = self._headers.copy()
        merged.update(headers)
        return httpx.Request(
            method, url, headers=merged, content=content, extensions={"timeout": self._timeout}
        )

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """One request with its body read, through the auth flow (which may renew the token
        on a 401 and send the request again).

        This is what `httpx.AsyncClient.send` does for a client without redirects, event
        hooks or a cookie jar; the client's cookie bookkeeping alone (a `urllib` request and
        an `email` message built around every request and answer, each re-parsing the URL)
        cost as much as the rest of its send. Cookies (Dataverse's affinity cookie) are kept
        by the transport instead; see `_transport.py`.
        """
        if self._auth is None:
            return await self._round_trip(request)
        flow = self._auth.async_auth_flow(request)
        try:
            request = await flow.__anext__()
            while True:
                response = await self._round_trip(request)
                try:
                    request = await flow.asend(response)
                except StopAsyncIteration:
                    return response
        finally:
            await flow.aclose()

    async def _round_trip(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        response.request = request
        await response.aread()
        return response


def _idempotent_by_default(method: str, headers: Mapping[str, str]) -> bool:
    if method in _IDEMPOTENT_METHODS:
        return True
    if method in ("PATCH", "PUT", "DELETE"):
        etag = next((v for k, v in headers.items() if k.lower() == "if-match"), None)
        # If-Match: * only says "the row exists"; a repeated write may act twice.
        return etag is not None and etag.strip() != "*"
    return False


def _transport_error(
    exc: httpx.TransportError,
    service: Service,
    method: str,
    target: httpx.URL,
    tls_refused: bool,
) -> DataverseRequestError:
    where = f"{method} {target.scheme}://{target.host}:{target.port or 443}{target.path}"
    if tls_refused:
        msg = f"TLS verification failed for {where}: the server's certificate is not trusted"
        return DataverseRequestError(msg, service=service)
    if isinstance(exc, httpx.TimeoutException):
        msg = f"{where} timed out ({type(exc).__name__})"
        return DataverseTimeout(msg, service=service)
    msg = f"{where} failed: {type(exc).__name__}: {exc}"
    return DataverseRequestError(msg, service=service)


def json_body(response: httpx.Response, service: Service) -> Any:
    """The decoded JSON body of a success answer, or UnexpectedResponse."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        msg = f"{service} answered {response.status_code} with a body that is not JSON"
        raise UnexpectedResponse(msg, service=service) from exc


def json_object(response: httpx.Response, service: Service) -> dict[str, Any]:
    data = json_body(response, service)
    if not isinstance(data, dict):
        msg = f"{service} answered with JSON that is not an object"
        raise UnexpectedResponse(msg, service=service)
    return data


def _json_default(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            msg = "datetimes sent to the service must be timezone-aware"
            raise InvalidInput(msg)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    msg = f"cannot send a {type(value).__name__} as JSON"
    raise InvalidInput(msg)


def dump_json(body: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; GUIDs, enums and aware datetimes become their OData forms."""
    return json.dumps(
        body, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode()
