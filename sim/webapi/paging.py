"""Ordering and paging of collection results (reference/dataverse.md §6.6).

Rows are ordered by `$orderby` and then by primary key (Dataverse orders by the primary key
when nothing else decides), nulls first in ascending order. A page ends with
`@odata.nextLink`: the same URL plus an opaque `$skiptoken` that names the last row served by
its sort key, so rows inserted or deleted between pages neither repeat nor vanish. The token
is signed with a per-sim secret and bound to the rest of the query string: a client that edits
the link, or reuses a token with a different query, gets a 400.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sim.state import Row
from sim.webapi import errors
from sim.webapi.odata import OrderBy, sort_value
from sim.webapi.tables import Table

SortKey = list[Any]


def _component(ob: OrderBy, row: Row) -> Any:
    return sort_value(ob.column, row.get(ob.column.json_name))


def _cmp_values(a: Any, b: Any) -> int:
    if a == b:
        return 0
    if a is None:
        return -1
    if b is None:
        return 1
    try:
        return -1 if a < b else 1
    except TypeError:
        sa, sb = str(a), str(b)
        return (sa > sb) - (sa < sb)


def sort_rows(rows: list[Row], table: Table, orderby: list[OrderBy]) -> list[Row]:
    """Order `rows` in place: `$orderby` first, then the primary key."""
    pk = table.primary_key
    rows.sort(key=lambda r: str(r.get(pk) or ""))
    for ob in reversed(orderby):

        def key(row: Row, ob: OrderBy = ob) -> tuple[int, Any]:
            v = _component(ob, row)
            return (0, "") if v is None else (1, v)

        def text_key(row: Row, ob: OrderBy = ob) -> tuple[int, str]:
            v = _component(ob, row)
            return (0, "") if v is None else (1, str(v))

        try:
            rows.sort(key=key, reverse=ob.descending)
        except TypeError:  # mixed value types in one column: order them as text
            rows.sort(key=text_key, reverse=ob.descending)
    return rows


def sort_key(row: Row, table: Table, orderby: list[OrderBy]) -> SortKey:
    return [_component(ob, row) for ob in orderby] + [str(row.get(table.primary_key) or "")]


def _comparator(orderby: list[OrderBy]) -> functools.partial[int]:
    return functools.partial(_compare_keys, tuple(ob.descending for ob in orderby))


def _compare_keys(descending: tuple[bool, ...], a: SortKey, b: SortKey) -> int:
    for i, desc in enumerate(descending):
        c = _cmp_values(a[i], b[i])
        if c:
            return -c if desc else c
    return _cmp_values(a[-1], b[-1])


@dataclass(frozen=True)
class Continuation:
    """What a `$skiptoken` carries: where the previous page ended and how much was served."""

    last: SortKey
    served: int


class Pager:
    """Signs and reads `$skiptoken` values and cuts pages out of ordered rows."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @staticmethod
    def query_fingerprint(path: str, params: Iterable[tuple[str, str]]) -> str:
        """The request a token belongs to: its path and every option but `$skiptoken`."""
        kept = sorted((k, v) for k, v in params if k != "$skiptoken")
        raw = json.dumps([path, kept], separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()

    def _sign(self, payload: str, fingerprint: str) -> str:
        mac = hmac.new(self._secret, f"{payload}.{fingerprint}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:18]).decode().rstrip("=")

    def encode(self, cont: Continuation, fingerprint: str) -> str:
        body = json.dumps({"k": cont.last, "n": cont.served}, separators=(",", ":"))
        payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{payload}.{self._sign(payload, fingerprint)}"

    def decode(self, token: str, fingerprint: str, key_length: int) -> Continuation:
        invalid = errors.bad_query(
            "The $skiptoken is not valid for this query: follow @odata.nextLink unchanged."
        )
        payload, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(signature, self._sign(payload, fingerprint)):
            raise invalid
        try:
            raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
            data: Any = json.loads(raw)
        except (binascii.Error, ValueError):
            raise invalid from None
        if (
            not isinstance(data, Mapping)
            or not isinstance(data.get("k"), list)
            or len(data["k"]) != key_length
            or not isinstance(data.get("n"), int)
        ):
            raise invalid
        return Continuation(list(data["k"]), int(data["n"]))

    @staticmethod
    def start_index(
        rows: list[Row], table: Table, orderby: list[OrderBy], cont: Continuation | None
    ) -> int:
        """Index of the first row after the one the continuation names (rows are ordered)."""
        if cont is None:
            return 0
        wrap = functools.cmp_to_key(_comparator(orderby))
        return bisect.bisect_right(
            rows, wrap(cont.last), key=lambda r: wrap(sort_key(r, table, orderby))
        )
