"""The one error tree for Dataverse, Microsoft Graph and Entra token calls.

Every exception this package raises is a `DataverseError`::

    DataverseError                  root: catch this to catch everything below
    ├── InvalidInput                a bad argument to our functions; raised before any request
    │   └── InvalidIdentifier       a GUID, logical name, UPN … that is not well formed
    ├── AuthError                   Entra did not issue a token (msal error and description)
    ├── DataverseRequestError       no HTTP answer: connection refused, TLS failure, reset …
    │   └── DataverseTimeout        the request (or the connect) timed out
    ├── UnexpectedResponse          an answer we cannot read: not JSON, foreign nextLink …
    └── DataverseStatusError        an HTTP error status (service, status, code, message, ids)
        ├── BadRequest              400 and other 4xx without a class of their own
        ├── Unauthorized            401: bad, expired or missing token
        ├── Forbidden               403: missing privilege or role (the code says which)
        ├── NotFound                404: no such row (also PATCH with If-Match: * on a missing row)
        ├── Conflict                409
        ├── PreconditionFailed      412: stale ETag, or a duplicate record
        ├── Throttled               429: service protection; `retry_after` in seconds
        └── ServerError             5xx
            └── ServiceUnavailable  502, 503, 504: transient, retried for idempotent requests

The same classes serve Graph and Entra: `service` on each error says who answered.
`error_from_response` is the only place that turns an HTTP answer into one of them.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal

import httpx

Service = Literal["dataverse", "graph", "entra"]

_SERVICE_NAMES: Final[dict[str, str]] = {
    "dataverse": "Dataverse",
    "graph": "Microsoft Graph",
    "entra": "Entra ID",
}
# Server text is shown to people and written to logs: keep it to a readable length.
_MAX_MESSAGE: Final = 600
_REQUEST_ID_HEADERS: Final = (
    "x-ms-service-request-id",
    "req_id",
    "request-id",
    "x-ms-request-id",
    "client-request-id",
)


def _clip(text: str, limit: int = _MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DataverseError(Exception):
    """Base class of every error raised by the `dataverse` package."""


class InvalidInput(DataverseError, ValueError):
    """An argument to one of our functions is not acceptable; no request was built."""


class InvalidIdentifier(InvalidInput):
    """A GUID, logical name, entity set, UPN or similar identifier is not well formed."""


class AuthError(DataverseError):
    """Entra ID did not issue a token.

    Carries msal's `error` and `error_description` (never the client secret or assertion).
    """

    def __init__(
        self,
        error: str,
        description: str = "",
        *,
        error_codes: tuple[int, ...] = (),
        correlation_id: str | None = None,
    ) -> None:
        self.service: Service = "entra"
        self.error = error
        self.description = _clip(description)
        self.error_codes = error_codes
        self.correlation_id = correlation_id
        msg = f"Entra ID refused the token request: {error}"
        if self.description:
            msg += f": {self.description}"
        super().__init__(msg)


class DataverseRequestError(DataverseError):
    """The request got no HTTP answer (connection refused or reset, TLS failure, …)."""

    def __init__(self, message: str, *, service: Service = "dataverse") -> None:
        self.service = service
        super().__init__(message)


class DataverseTimeout(DataverseRequestError):
    """The request timed out, possibly after the server received it."""


class UnexpectedResponse(DataverseError):
    """The service answered with something we cannot read (bad JSON, foreign nextLink, …)."""

    def __init__(self, message: str, *, service: Service = "dataverse") -> None:
        self.service = service
        super().__init__(message)


class DataverseStatusError(DataverseError):
    """The service answered with an HTTP error status.

    Attributes:
        service: who answered ("dataverse" or "graph").
        status: the HTTP status code.
        code: the service's error code, for Dataverse a hex string such as "0x80040220"
            (often empty; it does not follow the HTTP status), for Graph a name such as
            "Request_ResourceNotFound".
        message: the service's error message.
        request_id: the correlation / request id the service returned, if any.
    """

    def __init__(
        self,
        *,
        service: Service,
        status: int,
        code: str = "",
        message: str = "",
        request_id: str | None = None,
    ) -> None:
        self.service = service
        self.status = status
        self.code = code
        self.message = _clip(message)
        self.request_id = request_id
        text = f"{_SERVICE_NAMES[service]} answered {status}"
        if code:
            text += f" ({code})"
        if self.message:
            text += f": {self.message}"
        if request_id:
            text += f" [request id {request_id}]"
        super().__init__(text)


class BadRequest(DataverseStatusError):
    """400, or another 4xx status without a class of its own (405, 413 …)."""


class Unauthorized(DataverseStatusError):
    """401: the token is missing, expired or not valid for this service."""


class Forbidden(DataverseStatusError):
    """403: the caller lacks a privilege or role; `code` names which rule (e.g. 0x80040220)."""


class NotFound(DataverseStatusError):
    """404: no such row or resource (PATCH with If-Match: * on a missing row lands here)."""


class Conflict(DataverseStatusError):
    """409: the change conflicts with the current state."""


class PreconditionFailed(DataverseStatusError):
    """412: the row changed since its ETag was read, or a duplicate record was detected."""


class Throttled(DataverseStatusError):
    """429: service protection limits hit; wait `retry_after` seconds before trying again."""

    def __init__(
        self,
        *,
        service: Service,
        status: int = 429,
        code: str = "",
        message: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            service=service, status=status, code=code, message=message, request_id=request_id
        )
        self.retry_after = retry_after


class ServerError(DataverseStatusError):
    """5xx: the service failed to handle the request."""


class ServiceUnavailable(ServerError):
    """502, 503 or 504: a transient failure; idempotent requests are retried before this."""


TRANSIENT_STATUSES: Final = frozenset({502, 503, 504})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def _error_body(content: bytes) -> tuple[str, str, Mapping[str, Any]]:
    """(code, message, inner error) from an OData error body, or empties."""
    try:
        data = json.loads(content) if content else None
    except (ValueError, UnicodeDecodeError):
        return "", "", {}
    if not isinstance(data, dict):
        return "", "", {}
    error = data.get("error")
    if not isinstance(error, dict):
        return "", "", {}
    code = error.get("code")
    message = error.get("message")
    inner = error.get("innerError") or error.get("innererror") or {}
    return (
        code if isinstance(code, str) else "",
        message if isinstance(message, str) else "",
        inner if isinstance(inner, dict) else {},
    )


def _request_id(headers: httpx.Headers, inner: Mapping[str, Any]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        header: str | None = headers.get(name)
        if header:
            return header
    inner_id = inner.get("request-id")
    return inner_id if isinstance(inner_id, str) and inner_id else None


def error_from_response(
    response: httpx.Response, *, service: Service = "dataverse"
) -> DataverseStatusError:
    """Map an HTTP error answer to the error tree. The one place this happens."""
    status = response.status_code
    code, message, inner = _error_body(response.content)
    if not message:
        message = response.reason_phrase or ""
    fields: dict[str, Any] = {
        "service": service,
        "status": status,
        "code": code,
        "message": message,
        "request_id": _request_id(response.headers, inner),
    }
    if status == 401:
        return Unauthorized(**fields)
    if status == 403:
        return Forbidden(**fields)
    if status == 404:
        return NotFound(**fields)
    if status == 409:
        return Conflict(**fields)
    if status == 412:
        return PreconditionFailed(**fields)
    if status == 429:
        return Throttled(
            **fields, retry_after=parse_retry_after(response.headers.get("retry-after"))
        )
    if status in TRANSIENT_STATUSES:
        return ServiceUnavailable(**fields)
    if status >= 500:
        return ServerError(**fields)
    if status >= 400:
        return BadRequest(**fields)
    msg = f"status {status} is not an error"
    raise ValueError(msg)
