"""OData query building: validated identifiers, escaped literals, typed predicates, `Query`.

User text only ever reaches a URL as a literal built here: strings are quoted with `'`
doubled, GUIDs are parsed, names are checked against the OData identifier syntax. Nothing
is concatenated from caller text.

    >>> q = Query(select=("name",), filter=col("name").eq("O'Brien") & col("statecode").eq(0))
    >>> q.filter.render() if q.filter else ""
    "(name eq 'O''Brien') and (statecode eq 0)"
"""

from __future__ import annotations

import enum
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Final, TypeAlias
from urllib.parse import quote

from dataverse.errors import InvalidIdentifier, InvalidInput

LiteralValue: TypeAlias = str | int | float | bool | None | uuid.UUID | datetime | date

# Logical names, entity sets, navigation properties; Graph uses camelCase but the same syntax.
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_GUID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# What stays readable in a query string; everything else is percent-encoded (`&`, `#`,
# `+`, `%`, spaces, non-ASCII), so a value can never start another parameter.
_QUERY_SAFE: Final = "$(),:/@*!;'"


def identifier(name: str) -> str:
    """Return `name` if it is a plain OData identifier, else raise InvalidIdentifier."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        msg = f"not a valid column or table name: {name!r}"
        raise InvalidIdentifier(msg)
    return name


def property_path(path: str) -> str:
    """An identifier, or a navigation path of identifiers (`regardingobjectid/name`)."""
    if not isinstance(path, str) or not path:
        msg = f"not a valid property path: {path!r}"
        raise InvalidIdentifier(msg)
    for part in path.split("/"):
        identifier(part)
    return path


def parse_guid(value: str | uuid.UUID) -> uuid.UUID:
    """A GUID in the 8-4-4-4-12 form (braces and other forms are refused)."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str) and _GUID.fullmatch(value):
        return uuid.UUID(value)
    msg = f"not a GUID: {value!r}"
    raise InvalidIdentifier(msg)


def literal(value: LiteralValue) -> str:
    """Render a Python value as an OData literal.

    Strings are quoted with single quotes doubled; `uuid.UUID` renders as a bare Edm.Guid
    (what Dataverse wants; Graph's id properties are strings, so pass `str(guid)` there);
    datetimes must be timezone-aware and render as UTC ISO 8601.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return literal(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            msg = "NaN and infinity have no OData literal"
            raise InvalidInput(msg)
        return repr(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            msg = "datetimes in filters must be timezone-aware"
            raise InvalidInput(msg)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if "\x00" in value:
            msg = "text values may not contain NUL characters"
            raise InvalidInput(msg)
        return "'" + value.replace("'", "''") + "'"
    msg = f"no OData literal for a {type(value).__name__}"
    raise InvalidInput(msg)


class Predicate:
    """A boolean `$filter` expression; combine with `&`, `|` and `~`."""

    def render(self) -> str:
        raise NotImplementedError

    def __and__(self, other: Predicate) -> Predicate:
        return _Junction("and", (self, other))

    def __or__(self, other: Predicate) -> Predicate:
        return _Junction("or", (self, other))

    def __invert__(self) -> Predicate:
        return _Not(self)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class _Comparison(Predicate):
    path: str
    op: str
    value: LiteralValue

    def render(self) -> str:
        return f"{self.path} {self.op} {literal(self.value)}"


@dataclass(frozen=True)
class _Function(Predicate):
    name: str
    path: str
    value: str

    def render(self) -> str:
        return f"{self.name}({self.path},{literal(self.value)})"


@dataclass(frozen=True)
class _Junction(Predicate):
    op: str
    parts: tuple[Predicate, ...]

    def render(self) -> str:
        return f" {self.op} ".join(f"({p.render()})" for p in self.parts)


@dataclass(frozen=True)
class _Not(Predicate):
    inner: Predicate

    def render(self) -> str:
        return f"not ({self.inner.render()})"


@dataclass(frozen=True)
class _Never(Predicate):
    def render(self) -> str:
        return "false"


def all_of(predicates: Iterable[Predicate]) -> Predicate | None:
    """`p1 and p2 and …`, or None when there are none."""
    parts = tuple(predicates)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else _Junction("and", parts)


def any_of(predicates: Iterable[Predicate]) -> Predicate:
    """`p1 or p2 or …`; an empty list matches nothing."""
    parts = tuple(predicates)
    if not parts:
        return _Never()
    return parts[0] if len(parts) == 1 else _Junction("or", parts)


@dataclass(frozen=True)
class Column:
    """A column (or navigation path) to build predicates on; see `col`."""

    path: str

    def __post_init__(self) -> None:
        property_path(self.path)

    def eq(self, value: LiteralValue) -> Predicate:
        return _Comparison(self.path, "eq", value)

    def ne(self, value: LiteralValue) -> Predicate:
        return _Comparison(self.path, "ne", value)

    def gt(self, value: LiteralValue) -> Predicate:
        return _Comparison(self.path, "gt", value)

    def ge(self, value: LiteralValue) -> Predicate:
        return _Comparison(self.path, "ge", value)

    def lt(self, value: LiteralValue) -> Predicate:
        return _Comparison(self.path, "lt", value)

    def le(self, value: LiteralValue) -> Predicate:
        return _Comparison(self.path, "le", value)

    def is_null(self) -> Predicate:
        return _Comparison(self.path, "eq", None)

    def is_not_null(self) -> Predicate:
        return _Comparison(self.path, "ne", None)

    def startswith(self, text: str) -> Predicate:
        return _Function("startswith", self.path, _text(text))

    def endswith(self, text: str) -> Predicate:
        return _Function("endswith", self.path, _text(text))

    def contains(self, text: str) -> Predicate:
        return _Function("contains", self.path, _text(text))

    def in_(self, values: Iterable[LiteralValue]) -> Predicate:
        """`(c eq a) or (c eq b) …`: OData 4.0's portable form of `in`."""
        return any_of(self.eq(v) for v in values)


def _text(value: str) -> str:
    if not isinstance(value, str):
        msg = f"expected text, got a {type(value).__name__}"
        raise InvalidInput(msg)
    return value


def col(path: str) -> Column:
    """Start a predicate on a column: `col("statecode").eq(0)`."""
    return Column(path)


@dataclass(frozen=True)
class OrderBy:
    """One `$orderby` term."""

    path: str
    descending: bool = False

    def __post_init__(self) -> None:
        property_path(self.path)

    def render(self) -> str:
        return f"{self.path} desc" if self.descending else self.path


def asc(path: str) -> OrderBy:
    return OrderBy(path)


def desc(path: str) -> OrderBy:
    return OrderBy(path, descending=True)


@dataclass(frozen=True)
class Expand:
    """One `$expand` term: a navigation property with its own `$select`, and for a
    collection-valued one its `$filter`, `$orderby` and `$top` (Microsoft's "Join tables using
    OData": these three apply to an expanded collection, not to a single-valued property)."""

    navigation: str
    select: tuple[str, ...] = ()
    filter: Predicate | None = None
    orderby: tuple[OrderBy, ...] = ()
    top: int | None = None

    def __post_init__(self) -> None:
        identifier(self.navigation)
        for name in self.select:
            identifier(name)
        if self.top is not None and (isinstance(self.top, bool) or self.top < 1):
            msg = f"an expanded $top must be a positive integer, not {self.top!r}"
            raise InvalidInput(msg)

    def render(self) -> str:
        options = []
        if self.select:
            options.append(f"$select={','.join(self.select)}")
        if self.filter is not None:
            options.append(f"$filter={self.filter.render()}")
        if self.orderby:
            options.append(f"$orderby={','.join(o.render() for o in self.orderby)}")
        if self.top is not None:
            options.append(f"$top={self.top}")
        return f"{self.navigation}({';'.join(options)})" if options else self.navigation


@lru_cache(maxsize=256)
def _check_select(names: tuple[str, ...]) -> None:
    # A model's full column list (~40 names) is checked once, not on every request.
    for name in names:
        identifier(name)


@dataclass(frozen=True)
class Query:
    """The system query options of one collection request."""

    select: tuple[str, ...] = ()
    filter: Predicate | None = None
    orderby: tuple[OrderBy, ...] = ()
    top: int | None = None
    count: bool = False
    expand: tuple[Expand, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_select(self.select)
        if self.top is not None and (isinstance(self.top, bool) or self.top < 0):
            msg = f"$top must be a non-negative integer, not {self.top!r}"
            raise InvalidInput(msg)

    def where(self, predicate: Predicate) -> Query:
        """A copy with `predicate` and-ed to the filter."""
        combined = predicate if self.filter is None else self.filter & predicate
        return replace(self, filter=combined)

    def with_select(self, *names: str) -> Query:
        return replace(self, select=tuple(names))

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.select:
            out.append(("$select", ",".join(self.select)))
        if self.expand:
            out.append(("$expand", ",".join(e.render() for e in self.expand)))
        if self.filter is not None:
            out.append(("$filter", self.filter.render()))
        if self.orderby:
            out.append(("$orderby", ",".join(o.render() for o in self.orderby)))
        if self.top is not None:
            out.append(("$top", str(self.top)))
        if self.count:
            out.append(("$count", "true"))
        return out


def encode_params(params: Sequence[tuple[str, str]]) -> str:
    """A query string with `%20` for spaces (not `+`, which OData servers may keep as is)."""
    return "&".join(f"{_encoded(k, '$')}={_encoded(v, _QUERY_SAFE)}" for k, v in params)


@lru_cache(maxsize=512)
def _encoded(text: str, safe: str) -> str:
    # The same `$select` lists (up to ~1 KB) go out with every read of a table.
    return quote(text, safe=safe)


def key_segment(entity_set: str, key: uuid.UUID) -> str:
    """`mailboxes(<guid>)`."""
    return f"{identifier(entity_set)}({key})"
