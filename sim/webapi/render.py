"""Rows as the Web API shows them: `@odata.etag`, the selected columns, annotations, expansions.

- Every row carries `"@odata.etag": W/"<versionnumber>"` (reference §6.4) and its primary key,
  selected or not.
- `Prefer: odata.include-annotations=…` adds `<column>@OData.Community.Display.V1.FormattedValue`
  (choice labels, Yes/No, the related row's primary name, formatted numbers and dates) and, for
  lookups, `@Microsoft.Dynamics.CRM.lookuplogicalname` and `…associatednavigationproperty`
  (reference §0).
- `$expand` puts the related row (or null) under a single-valued navigation property and a
  list under a collection-valued one.
"""

from __future__ import annotations

from typing import Any, Final

from sim import rules
from sim.state import Row
from sim.webapi.model import DvRequest
from sim.webapi.odata import Expand, annotation_wanted, parse_datetime
from sim.webapi.paging import sort_rows
from sim.webapi.tables import YES_NO, Column, Kind, ManyToMany, OneToMany, Table
from sim.webapi.tables import table as table_for

FORMATTED: Final = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME: Final = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAV: Final = "Microsoft.Dynamics.CRM.associatednavigationproperty"


def etag(row: Row) -> str:
    return f'W/"{row.get("versionnumber", 0)}"'


def lookup_target(req: DvRequest, col: Column, key: Any) -> tuple[str, Row] | None:
    """The entity set and row a lookup value points to (polymorphic lookups: any target)."""
    if not isinstance(key, str):
        return None
    tables = req.sim.state.tables
    for target_set in col.targets:
        row = tables.get(target_set, {}).get(key)
        if row is not None:
            return target_set, row
    return None


def related_rows(
    req: DvRequest, table: Table, key: str, coll: OneToMany | ManyToMany
) -> list[Row]:
    """The rows a collection-valued navigation property of row `key` leads to."""
    state = req.sim.state
    if isinstance(coll, OneToMany):
        return [
            r for r in state.tables[coll.child_set].values() if r.get(coll.child_column) == key
        ]
    pairs = state.associations.get(coll.relationship, set())
    target_rows = state.tables.get(coll.target_set, {})
    ids = (
        [b for (a, b) in pairs if a == key]
        if coll.forward
        else [a for (a, b) in pairs if b == key]
    )
    return [target_rows[i] for i in ids if i in target_rows]


def can_read(req: DvRequest, entity_set: str, row: Row) -> bool:
    return rules.can_read(req.sim, req.caller, entity_set, row)


def _format_number(value: int) -> str:
    return f"{value:,}"


def _format_datetime(value: str) -> str | None:
    parsed = parse_datetime(value)
    if parsed is None:
        return None
    hour = parsed.hour % 12 or 12
    suffix = "AM" if parsed.hour < 12 else "PM"
    return f"{parsed.month}/{parsed.day}/{parsed.year} {hour}:{parsed.minute:02d} {suffix}"


class Renderer:
    """Renders rows for one request (its annotation preferences and caller)."""

    def __init__(self, req: DvRequest) -> None:
        self.req = req
        self.patterns = req.prefs.annotations
        self.formatted = bool(self.patterns) and annotation_wanted(self.patterns, FORMATTED)
        self.logical = bool(self.patterns) and annotation_wanted(
            self.patterns, LOOKUP_LOGICAL_NAME
        )
        self.navprop = bool(self.patterns) and annotation_wanted(self.patterns, ASSOCIATED_NAV)
        self.annotated = self.formatted or self.logical or self.navprop
        # (table, $select) -> the columns to show, each with whether it can carry an
        # annotation here: a request renders many rows with the same projection.
        self._plans: dict[tuple[str, tuple[str, ...] | None], list[tuple[str, Column, bool]]]
        self._plans = {}

    def _plan(self, table: Table, select: list[str] | None) -> list[tuple[str, Column, bool]]:
        key = (table.entity_set, None if select is None else tuple(select))
        plan = self._plans.get(key)
        if plan is None:
            columns = table.readable() if select is None else [table.columns[n] for n in select]
            # Only lookups carry annotations unless formatted values are asked for.
            plan = [(c.json_name, c, self.formatted or c.kind is Kind.LOOKUP) for c in columns]
            self._plans[key] = plan
        return plan

    def row(
        self,
        table: Table,
        row: Row,
        select: list[str] | None,
        expand: list[Expand],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": etag(row)}
        if self.annotated:
            get = row.get
            for name, col, annotatable in self._plan(table, select):
                value = get(name)
                out[name] = value
                if annotatable and value is not None:
                    self._annotate(out, col, name, value)
        else:
            names = table.readable_names() if select is None else select
            get = row.get
            out.update({name: get(name) for name in names})
        pk = table.primary_key
        if pk not in out:
            out[pk] = row.get(pk)
        for exp in expand:
            out[exp.nav] = self._expanded(table, row, exp)
        return out

    def _annotate(self, out: dict[str, Any], col: Column, name: str, value: Any) -> None:
        """The annotations of one column's non-null value, after the value itself."""
        kind = col.kind
        if kind is Kind.LOOKUP:
            found = lookup_target(self.req, col, value)
            if found is None:
                return
            target_set, target_row = found
            target = table_for(target_set)
            if target is None:
                return
            if self.formatted:
                label = target_row.get(target.primary_name)
                if label is not None:
                    out[f"{name}@{FORMATTED}"] = label
            if self.navprop:
                out[f"{name}@{ASSOCIATED_NAV}"] = col.targets[target_set]
            if self.logical:
                out[f"{name}@{LOOKUP_LOGICAL_NAME}"] = target.logical_name
            return
        if not self.formatted:
            return
        text: str | None = None
        if kind is Kind.PICKLIST and isinstance(value, int):
            text = col.options.get(value)
        elif kind is Kind.BOOL and isinstance(value, bool):
            text = YES_NO[int(value)]
        elif kind in (Kind.INT, Kind.BIGINT) and isinstance(value, int):
            text = _format_number(value)
        elif kind is Kind.DATETIME and isinstance(value, str):
            text = _format_datetime(value)
        if text is not None:
            out[f"{name}@{FORMATTED}"] = text

    def _expanded(self, table: Table, row: Row, exp: Expand) -> Any:
        req = self.req
        if exp.single is not None:
            col, target_set = exp.single
            ref = row.get(col.json_name)
            target_row = req.sim.state.tables.get(target_set, {}).get(ref) if ref else None
            if target_row is None or not can_read(req, target_set, target_row):
                return None
            return self.row(exp.target, target_row, exp.select, exp.expand)
        assert exp.collection is not None
        key = str(row.get(table.primary_key))
        rows = [
            r
            for r in related_rows(req, table, key, exp.collection)
            if (exp.filter is None or exp.filter(r)) and can_read(req, exp.target.entity_set, r)
        ]
        sort_rows(rows, exp.target, exp.orderby)
        if exp.top is not None:
            rows = rows[: exp.top]
        return [self.row(exp.target, r, exp.select, exp.expand) for r in rows]


def context_fragment(select: list[str] | None, expand: list[Expand]) -> str:
    """The `(…)` of `@odata.context` for a projection: `(name,emailserverprofile(name))`."""
    if select is None and not expand:
        return ""
    parts = list(select) if select is not None else []
    for exp in expand:
        parts.append(f"{exp.nav}({context_fragment(exp.select, exp.expand).strip('()')})")
    return f"({','.join(parts)})"
