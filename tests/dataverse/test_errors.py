"""The one mapping from an HTTP answer to the error tree."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from dataverse.errors import (
    BadRequest,
    Conflict,
    DataverseError,
    DataverseStatusError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ServerError,
    ServiceUnavailable,
    Throttled,
    Unauthorized,
    error_from_response,
    parse_retry_after,
)


def _answer(status: int, body: object = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (405, BadRequest),
        (409, Conflict),
        (412, PreconditionFailed),
        (413, BadRequest),
        (429, Throttled),
        (500, ServerError),
        (501, ServerError),
        (502, ServiceUnavailable),
        (503, ServiceUnavailable),
        (504, ServiceUnavailable),
    ],
)
def test_each_status_has_its_class(status: int, kind: type[DataverseStatusError]) -> None:
    error = error_from_response(_answer(status))

    assert type(error) is kind
    assert isinstance(error, DataverseError)
    assert error.status == status


def test_a_dataverse_error_body() -> None:
    body = {"error": {"code": "0x80040220", "message": "The user does not hold privileges."}}

    error = error_from_response(_answer(403, body, **{"x-ms-service-request-id": "req-1"}))

    assert isinstance(error, Forbidden)
    assert error.code == "0x80040220"
    assert error.message == "The user does not hold privileges."
    assert error.request_id == "req-1"
    assert error.service == "dataverse"
    assert "0x80040220" in str(error)


def test_a_graph_error_body() -> None:
    body = {
        "error": {
            "code": "Request_ResourceNotFound",
            "message": "Resource 'x' does not exist.",
            "innerError": {"request-id": "g-1", "date": "2024-01-01T00:00:00"},
        }
    }

    error = error_from_response(_answer(404, body), service="graph")

    assert isinstance(error, NotFound)
    assert (error.code, error.request_id, error.service) == (
        "Request_ResourceNotFound",
        "g-1",
        "graph",
    )
    assert str(error).startswith("Microsoft Graph answered 404")


def test_a_body_that_is_not_json() -> None:
    response = httpx.Response(502, content=b"<html>Bad gateway</html>")

    error = error_from_response(response)

    assert isinstance(error, ServiceUnavailable)
    assert error.code == ""
    assert error.message == "Bad Gateway"


def test_throttled_carries_retry_after() -> None:
    body = {"error": {"code": "0x80072322", "message": "Number of requests exceeded the limit."}}

    error = error_from_response(_answer(429, body, **{"Retry-After": "12"}))

    assert isinstance(error, Throttled)
    assert error.retry_after == 12.0
    assert error.code == "0x80072322"


def test_long_messages_are_clipped() -> None:
    error = error_from_response(_answer(400, {"error": {"code": "", "message": "x" * 5000}}))

    assert len(error.message) <= 600


def test_a_success_is_not_an_error() -> None:
    with pytest.raises(ValueError, match="not an error"):
        error_from_response(_answer(204))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        ("0", 0.0),
        ("-3", 0.0),
        ("1.5", 1.5),
        ("soon", None),
        ("nan", None),
        ("Wed, 01 May 2024 10:00:30 GMT", 30.0),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    now = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)

    assert parse_retry_after(value, now=now) == seconds
