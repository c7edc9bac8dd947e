"""Writes: create, update, upsert, delete, and N:N associate / disassociate.

The payload is checked against the table metadata before anything is stored: unknown
properties, values of the wrong JSON type, strings over MaxLength, numbers out of range,
choice values not in the option set, read-only columns (IsValidForCreate / IsValidForUpdate
false), lookups written directly instead of through `<navigation property>@odata.bind`, and
binds to rows that do not exist. Every accepted write then goes through the rules hooks
(`sim.rules`): `before_create` / `before_update` decide what is stored, `after_update` runs once
the change is stored (or once the change set commits), `before_delete`, `before_associate`
and `before_disassociate` may refuse.

An impersonated write records the effective caller in `modifiedby` and the real caller in
`modifiedonbehalfby` (reference §6.7).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Final

from sim import rules
from sim.errors import INVALID_ARGUMENT, DataverseFault
from sim.state import Row
from sim.webapi import errors
from sim.webapi.model import API_PREFIX, DvRequest
from sim.webapi.odata import canonical_datetime, parse_datetime, parse_guid
from sim.webapi.tables import RELATIONSHIPS, TABLES, Column, Kind, ManyToMany, Table

_ENTITY_REF: Final = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(([^()]*)\)$")
_INT32: Final = (-(2**31), 2**31 - 1)
_INT64: Final = (-(2**63), 2**63 - 1)


# ---- payload -----------------------------------------------------------------------------


def parse_body(req: DvRequest) -> dict[str, Any]:
    """The request body as a JSON object; 400 when it is not one."""
    if not req.body.strip():
        raise errors.bad_query("The request body is empty; a JSON object was expected.")
    try:
        data = json.loads(req.body)
    except (ValueError, RecursionError) as exc:
        raise errors.invalid_json(str(exc)) from None
    if not isinstance(data, dict):
        raise errors.bad_query("The request body must be a JSON object.")
    return data


def entity_ref(req: DvRequest, text: Any, *, what: str) -> tuple[Table, str]:
    """`/emailserverprofiles(<id>)`, an absolute URL, or `$<Content-ID>` → (table, key)."""
    if not isinstance(text, str):
        raise errors.bad_query(f"The value of '{what}' must be a URL string.")
    ref = text.strip()
    if ref.startswith("$"):
        resolved = req.content_ids.get(ref)
        if resolved is None:
            raise errors.bad_query(
                f"Content-ID Reference: '{ref}' does not exist in the batch context."
            )
        ref = resolved
    if API_PREFIX in ref:
        ref = ref.split(API_PREFIX, 1)[1]
    elif ref.startswith(("http://", "https://")):
        raise errors.bad_query(f"The URL '{text}' is not a URL of this service.")
    ref = ref.lstrip("/")
    m = _ENTITY_REF.match(ref)
    if m is None:
        raise errors.bad_query(f"The URL '{text}' does not identify a single record.")
    table = TABLES.get(m.group(1))
    if table is None:
        raise errors.resource_not_found(m.group(1))
    key = parse_guid(m.group(2).strip())
    if key is None:
        raise errors.bad_guid(m.group(2))
    return table, key


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _convert_error(entity_set: str, value: Any, edm: str) -> DataverseFault:
    return errors.payload(
        entity_set,
        f"Cannot convert the literal '{_literal(value)}' to the expected type '{edm}'.",
    )


def check_value(table: Table, col: Column, value: Any) -> Any:
    """Validate one JSON value for `col`; returns the value to store (normalized)."""
    if value is None:
        return None
    es = table.entity_set
    kind = col.kind
    if kind in (Kind.STRING, Kind.MEMO, Kind.ENTITYNAME):
        if not isinstance(value, str):
            raise _convert_error(es, value, kind.edm)
        if col.max_length is not None and len(value) > col.max_length:
            raise DataverseFault(
                400,
                errors.VALIDATION_LENGTH,
                f"A validation error occurred.  The length of the '{col.name}' attribute of "
                f"the '{table.logical_name}' entity exceeded the maximum allowed length of "
                f"'{col.max_length}'.",
            )
        return value
    if kind in (Kind.INT, Kind.BIGINT, Kind.PICKLIST):
        lo, hi = _INT64 if kind is Kind.BIGINT else _INT32
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _convert_error(es, value, kind.edm)
        if kind is Kind.PICKLIST:
            if value not in col.options:
                accepted = ",".join(str(v) for v in col.options)
                raise DataverseFault(
                    400,
                    errors.VALIDATION_OPTION,
                    f"A validation error occurred. The value {value} of '{col.name}' on record "
                    f"of type '{table.logical_name}' is outside the valid range. Accepted "
                    f"Values: {accepted}",
                )
            return value
        if (col.min_value is not None and value < col.min_value) or (
            col.max_value is not None and value > col.max_value
        ):
            raise DataverseFault(
                400,
                errors.VALIDATION_RANGE,
                f"A validation error occurred. The value {value} of '{col.name}' on record of "
                f"type '{table.logical_name}' is outside the valid range. Accepted Range: "
                f"{col.min_value} to {col.max_value}",
            )
        return value
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise _convert_error(es, value, kind.edm)
        return value
    if kind is Kind.DATETIME:
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise _convert_error(es, value, kind.edm)
        return canonical_datetime(parsed)
    if kind is Kind.GUID:
        guid = parse_guid(value) if isinstance(value, str) else None
        if guid is None:
            raise _convert_error(es, value, kind.edm)
        return guid
    raise _convert_error(es, value, kind.edm)


def _not_valid(table: Table, col: Column, create: bool) -> DataverseFault:
    action = "create" if create else "update"
    return DataverseFault(
        400,
        INVALID_ARGUMENT,
        f"The attribute '{col.name}' of entity '{table.logical_name}' is read-only: it is not "
        f"valid for {action}.",
    )


def payload_values(
    req: DvRequest, table: Table, data: dict[str, Any], *, create: bool
) -> dict[str, Any]:
    """Check a create/update payload; returns stored-name → value (lookups as `_x_value`)."""
    values: dict[str, Any] = {}
    es = table.entity_set
    for key, value in data.items():
        if key.endswith("@odata.bind"):
            nav = key[: -len("@odata.bind")]
            target = table.navigations.get(nav)
            if target is None:
                col_by_name = table.by_logical.get(nav)
                if col_by_name is not None and len(col_by_name.targets) == 1:
                    target = (col_by_name, next(iter(col_by_name.targets)))
            if target is None:
                raise errors.payload(
                    es,
                    f"An undeclared property '{nav}' which only has property annotations in "
                    "the payload but no property value was found in the payload. In OData, "
                    "only declared navigation properties and declared named streams can be "
                    "represented as properties without values.",
                )
            col, target_set = target
            if not (col.create if create else col.update):
                raise _not_valid(table, col, create)
            if value is None:
                values[col.json_name] = None
                continue
            ref_table, ref_key = entity_ref(req, value, what=key)
            if col.owner and ref_table.entity_set in col.targets:
                target_set = ref_table.entity_set  # ownerid binds a user or a team
            if ref_table.entity_set != target_set:
                raise errors.payload(
                    es,
                    f"The navigation property '{nav}' refers to '{target_set}', not to "
                    f"'{ref_table.entity_set}'.",
                )
            if ref_key not in req.sim.state.tables.get(target_set, {}):
                raise errors.does_not_exist(ref_table.logical_name, ref_key)
            values[col.json_name] = ref_key
            continue
        if key.startswith("@") or "@" in key:
            continue  # instance and property annotations (@odata.type, @odata.etag, …)
        found = table.columns.get(key)
        if found is None:
            raise errors.payload(
                es,
                f"The property '{key}' does not exist on type '{table.type_name}'. Make sure to "
                "only use property names that are defined by the type or mark the type as "
                "open type.",
            )
        col = found
        if col.kind is Kind.LOOKUP:
            raise DataverseFault(
                400,
                errors.PAYLOAD_ERROR,
                "CRM do not support direct update of Entity Reference properties, Use "
                "Navigation properties instead.",
            )
        if not (col.create if create else col.update):
            raise _not_valid(table, col, create)
        values[key] = check_value(table, col, value)
    return values


# ---- rows --------------------------------------------------------------------------------


def _audit(req: DvRequest) -> tuple[str, str | None]:
    """(by, on behalf of) for state.touch: the effective caller, and the real one when
    impersonating (reference §6.7)."""
    on_behalf = req.real_user_id if req.caller.impersonating else None
    return req.user_id, on_behalf


def create(req: DvRequest, table: Table, values: dict[str, Any], key: str | None = None) -> Row:
    if not table.can_create:
        raise errors.unsupported_message("Create", table.logical_name)
    pk = table.primary_key
    given = values.get(pk)
    if key is not None and given is not None and given != key:
        raise errors.bad_query(
            f"The value of '{pk}' in the body does not match the key in the URL."
        )
    row_id = key or given or str(uuid.uuid4())
    rows = req.sim.state.tables[table.entity_set]
    if row_id in rows:
        raise errors.already_exists()
    values = dict(values)
    values[pk] = row_id
    stored = rules.before_create(req.sim, req.caller, table.entity_set, values)
    row: Row = {}
    for col in table.columns.values():
        if col.default is not None:
            row[col.json_name] = col.default
    row.update(stored)
    row[pk] = row_id
    if "_ownerid_value" in table.columns and row.get("_ownerid_value") is None:
        row["_ownerid_value"] = req.user_id
    by, on_behalf = _audit(req)
    row["_createdby_value"] = by
    row["_createdonbehalfby_value"] = on_behalf
    req.sim.state.insert(table.entity_set, row_id, row, by=by, on_behalf_of=on_behalf)
    entity_set = table.entity_set

    def undo() -> None:
        req.sim.state.tables[entity_set].pop(row_id, None)

    req.undo(undo)
    return row


def update(req: DvRequest, table: Table, row: Row, changes: dict[str, Any]) -> Row:
    if not table.can_update:
        raise errors.unsupported_message("Update", table.logical_name)
    entity_set = table.entity_set
    applied = rules.before_update(req.sim, req.caller, entity_set, row, dict(changes))
    if not applied:
        return row  # nothing to change: 204, nothing stored (the rules' contract)
    snapshot = dict(row)
    row.update(applied)
    by, on_behalf = _audit(req)
    req.sim.state.touch(row, by=by, on_behalf_of=on_behalf)
    key = str(row[table.primary_key])

    def undo() -> None:
        row.clear()
        row.update(snapshot)
        req.sim.state.tables[entity_set][key] = row

    req.undo(undo)
    sim, caller = req.sim, req.caller
    req.after_write(lambda: rules.after_update(sim, caller, entity_set, row, applied))
    return row


def delete(req: DvRequest, table: Table, row: Row) -> None:
    if not table.can_delete:
        raise errors.unsupported_message("Delete", table.logical_name)
    entity_set = table.entity_set
    rules.before_delete(req.sim, req.caller, entity_set, row)
    state = req.sim.state
    key = str(row[table.primary_key])
    state.tables[entity_set].pop(key, None)
    removed: list[tuple[str, tuple[str, str]]] = []
    for rel, (first_set, second_set) in _relationships_of(entity_set):
        pairs = state.associations.get(rel, set())
        for pair in [
            p
            for p in pairs
            if (first_set == entity_set and p[0] == key)
            or (second_set == entity_set and p[1] == key)
        ]:
            pairs.discard(pair)
            removed.append((rel, pair))

    def undo() -> None:
        state.tables[entity_set][key] = row
        for rel, pair in removed:
            state.associations.setdefault(rel, set()).add(pair)

    req.undo(undo)


def _relationships_of(entity_set: str) -> list[tuple[str, tuple[str, str]]]:
    return [(rel, sets) for rel, sets in RELATIONSHIPS.items() if entity_set in sets]


# ---- associations ------------------------------------------------------------------------


def _pair(coll: ManyToMany, key: str, other: str) -> tuple[str, str]:
    return (key, other) if coll.forward else (other, key)


def associate(req: DvRequest, coll: ManyToMany, key: str, other: str) -> None:
    first, second = _pair(coll, key, other)
    rules.before_associate(req.sim, req.caller, coll.relationship, first, second)
    pairs = req.sim.state.associations.setdefault(coll.relationship, set())
    if (first, second) in pairs:
        raise errors.already_exists()
    pairs.add((first, second))
    req.undo(lambda: pairs.discard((first, second)))


def disassociate(req: DvRequest, coll: ManyToMany, key: str, other: str) -> None:
    first, second = _pair(coll, key, other)
    rules.before_disassociate(req.sim, req.caller, coll.relationship, first, second)
    pairs = req.sim.state.associations.setdefault(coll.relationship, set())
    if (first, second) in pairs:
        pairs.discard((first, second))
        req.undo(lambda: pairs.add((first, second)))
