"""OData literals and predicates: user text can only ever be a quoted, escaped literal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataverse.errors import InvalidIdentifier, InvalidInput
from dataverse.models import EmailApproval
from dataverse.odata import (
    Expand,
    Query,
    all_of,
    any_of,
    col,
    desc,
    encode_params,
    identifier,
    literal,
    parse_guid,
)

GUID = uuid.UUID("3b000000-0000-4000-8000-000000000001")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice", "'alice'"),
        ("O'Brien", "'O''Brien'"),
        ("alice' or 1 eq 1", "'alice'' or 1 eq 1'"),
        ("''", "''''''"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-7, "-7"),
        (1.5, "1.5"),
        (GUID, "3b000000-0000-4000-8000-000000000001"),
        (EmailApproval.APPROVED, "1"),
        (datetime(2024, 5, 1, 10, 0, tzinfo=UTC), "2024-05-01T10:00:00Z"),
        (
            datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=7))),
            "2024-05-01T10:00:00+07:00",
        ),
    ],
)
def test_literals(value: object, expected: str) -> None:
    assert literal(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        datetime(2024, 5, 1, tzinfo=UTC).replace(tzinfo=None),  # naive: no instant
        "a\x00b",
        b"bytes",
        object(),
    ],
)
def test_values_without_a_safe_literal_are_refused(value: object) -> None:
    with pytest.raises(InvalidInput):
        literal(value)  # type: ignore[arg-type]


def _unquote(rendered: str) -> str:
    """Read a string literal back the way an OData parser does."""
    assert rendered.startswith("'") and rendered.endswith("'")
    body = rendered[1:-1]
    # Every quote inside the literal is doubled, so none can end it early.
    assert "'" not in body.replace("''", "")
    return body.replace("''", "'")


@given(st.text().filter(lambda t: "\x00" not in t))
def test_any_text_round_trips_as_one_literal(text: str) -> None:
    assert _unquote(literal(text)) == text


@given(st.text().filter(lambda t: "\x00" not in t))
def test_encoded_filters_never_leak_into_other_parameters(text: str) -> None:
    encoded = encode_params(Query(filter=col("name").eq(text)).params())

    assert encoded.count("&") == 0
    assert encoded.count("=") == 1  # an `=` inside the value is percent-encoded
    assert "#" not in encoded
    assert " " not in encoded


def test_predicates_compose() -> None:
    where = (col("name").eq("a") | col("name").startswith("b")) & ~col("statecode").eq(1)

    assert where.render() == (
        "((name eq 'a') or (startswith(name,'b'))) and (not (statecode eq 1))"
    )


def test_in_is_a_portable_or() -> None:
    assert col("level").in_([2, 3]).render() == "(level eq 2) or (level eq 3)"
    assert col("level").in_([]).render() == "false"
    assert col("level").in_([3]).render() == "level eq 3"


def test_all_of_and_any_of() -> None:
    assert all_of([]) is None
    assert any_of([col("a").eq(1)]).render() == "a eq 1"


def test_a_whole_query() -> None:
    query = Query(
        select=("name", "level"),
        filter=col("_regardingobjectid_value").eq(GUID),
        orderby=(desc("modifiedon"),),
        top=20,
        count=True,
        expand=(Expand("regardingobjectid_mailbox", ("name",)),),
    )

    assert encode_params(query.params()) == (
        "$select=name,level"
        "&$expand=regardingobjectid_mailbox($select%3Dname)"  # `=` inside a value is encoded
        "&$filter=_regardingobjectid_value%20eq%203b000000-0000-4000-8000-000000000001"
        "&$orderby=modifiedon%20desc"
        "&$top=20"
        "&$count=true"
    )


@pytest.mark.parametrize(
    "name", ["", "name eq 'x'", "a,b", "1abc", "na-me", "x)", "a/b", "ñ", "a" * 200]
)
def test_bad_identifiers_are_refused(name: str) -> None:
    with pytest.raises(InvalidIdentifier):
        identifier(name)


def test_columns_may_be_navigation_paths() -> None:
    assert col("regardingobjectid/name").eq("x").render() == "regardingobjectid/name eq 'x'"
    with pytest.raises(InvalidIdentifier):
        col("regardingobjectid//name")


@pytest.mark.parametrize(
    "text",
    [
        "3b000000-0000-4000-8000-00000000000",
        "{3b000000-0000-4000-8000-000000000001}",
        "3b000000000040008000000000000001",
        "3b000000-0000-4000-8000-000000000001) or (1 eq 1",
        "",
    ],
)
def test_guids_are_validated(text: str) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_guid(text)


def test_guids_parse() -> None:
    assert parse_guid("3B000000-0000-4000-8000-000000000001") == GUID
    assert parse_guid(GUID) is GUID


def test_top_must_be_a_count() -> None:
    with pytest.raises(InvalidInput):
        Query(top=-1)
