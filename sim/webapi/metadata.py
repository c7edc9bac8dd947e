"""Table definitions (metadata) under `EntityDefinitions`, derived from `sim.webapi.tables`.

Microsoft's Python SDK for Dataverse (PowerPlatform-Dataverse-Client) resolves every table
through this endpoint before it reads or writes: `EntityDefinitions?$select=LogicalName,
EntitySetName,PrimaryIdAttribute&$filter=LogicalName eq '<name>'`, and, before a write with a
string value, the table's choice labels through `EntityDefinitions(LogicalName='<name>')/
Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=
OptionSet($select=Options)`.

| path (GET only) | query options |
|---|---|
| `EntityDefinitions` | `$select`, `$filter` |
| `EntityDefinitions(LogicalName='<name>')` or `(<MetadataId>)` | `$select` |
| `…/Attributes` | `$select`, `$filter` |
| `…/Attributes/Microsoft.Dynamics.CRM.<type>AttributeMetadata` | + `$expand=OptionSet` (choices) |
| `…/Attributes(LogicalName='<name>')` or `(<MetadataId>)` | `$select` |

Facts followed, from Microsoft's "Query table definitions using the Web API"
(powerapps-docs `developer/data-platform/webapi/query-metadata-web-api.md`) [M1] and the
Web API reference of the EntityMetadata, AttributeMetadata, OptionSetMetadata and Label types
and of the AttributeTypeCode enum [M2]:

- the `EntityDefinitions` entity set holds EntityMetadata; a definition is addressed by its
  `MetadataId` or by the alternate key `LogicalName='…'` [M1];
- `$select` takes EntityMetadata's properties, and `MetadataId` is always returned [M1];
  `$filter` works on properties with primitive values [M1];
- "There are no limits on the number of metadata entities that will be returned in a query.
  There is no paging." [M1]: no `@odata.nextLink`, no `$top`;
- the `Attributes` collection lists the common AttributeMetadata properties of every column,
  each item with its derived type in `@odata.type`; a cast (`/Attributes/Microsoft.Dynamics.
  CRM.PicklistAttributeMetadata`) keeps the columns of that type and adds its own properties;
  `OptionSet` is reached only through the cast of a choice type [M1];
- an option is `{"Value", "Label": {"LocalizedLabels": [{"Label", "LanguageCode", …}],
  "UserLocalizedLabel"}, …}` [M1] (the example response for `preferredappointmentdaycode`);
- AttributeType is an AttributeTypeCode name: `Picklist`, `State`, `Status`, `String`, `Memo`,
  `Integer`, `BigInt`, `Boolean`, `DateTime`, `Lookup`, `Owner`, `Uniqueidentifier`,
  `EntityName` [M2].

  [M1] https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api
  [M2] https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/entitymetadata
       …/reference/attributemetadata, …/reference/attributetypecode

Sim choices: a definition's `MetadataId` is a name-based UUID of the logical names (stable
across runs, as a real environment's are for its life); the labels are the English ones of
`tables.py`, language 1033; metadata is read-only here (writes are 405).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from sim.errors import OBJECT_DOES_NOT_EXIST
from sim.state import Row
from sim.webapi import errors
from sim.webapi.model import DvRequest, DvResponse, json_response
from sim.webapi.odata import parse_filter, parse_guid, parse_select
from sim.webapi.tables import BY_LOGICAL_NAME, Column, Kind, Table

if TYPE_CHECKING:
    from sim.webapi.routes import Segment

ENTITY_SET: Final = "EntityDefinitions"
ENGLISH: Final = 1033
_NAMESPACE: Final = uuid.UUID("0f1d5c52-7a0e-4d0a-9d0c-6d6574616461")

# SchemaName of each table, as its table reference page (powerapps-docs
# `developer/data-platform/reference/entities/<name>.md`, "Table properties") gives it.
SCHEMA_NAMES: Final = {
    "mailbox": "Mailbox",
    "emailserverprofile": "EmailServerProfile",
    "systemuser": "SystemUser",
    "queue": "Queue",
    "organization": "Organization",
    "tracelog": "TraceLog",
    "role": "Role",
    "team": "Team",
}

# ---- the metadata types, as tables (so `$select` / `$filter` follow the data rules) --------


def _prop(name: str, kind: Kind) -> Column:
    return Column(name, kind, create=False, update=False)


def _meta_table(type_name: str, entity_set: str, props: Iterable[Column]) -> Table:
    cols = [_prop("MetadataId", Kind.GUID), *props]
    return Table(type_name, entity_set, "MetadataId", "LogicalName", {c.name: c for c in cols})


ENTITY_METADATA: Final = _meta_table(
    "EntityMetadata",
    ENTITY_SET,
    [
        _prop("LogicalName", Kind.STRING),
        _prop("SchemaName", Kind.STRING),
        _prop("EntitySetName", Kind.STRING),
        _prop("PrimaryIdAttribute", Kind.STRING),
        _prop("PrimaryNameAttribute", Kind.STRING),
        _prop("IsCustomEntity", Kind.BOOL),
    ],
)
_ATTRIBUTE_PROPS: Final = [
    _prop("LogicalName", Kind.STRING),
    _prop("EntityLogicalName", Kind.STRING),
    _prop("AttributeType", Kind.STRING),
    _prop("IsPrimaryId", Kind.BOOL),
    _prop("IsPrimaryName", Kind.BOOL),
    _prop("IsValidForCreate", Kind.BOOL),
    _prop("IsValidForUpdate", Kind.BOOL),
    _prop("IsValidForRead", Kind.BOOL),
    _prop("IsCustomAttribute", Kind.BOOL),
]
ATTRIBUTE_METADATA: Final = _meta_table("AttributeMetadata", "Attributes", _ATTRIBUTE_PROPS)


@dataclass(frozen=True)
class AttributeType:
    """One derived AttributeMetadata type: the AttributeTypeCode names it holds, its extra
    properties, and whether it has an `OptionSet`."""

    name: str  # e.g. PicklistAttributeMetadata
    codes: frozenset[str]
    table: Table
    choices: bool = False

    @property
    def odata_type(self) -> str:
        return f"#Microsoft.Dynamics.CRM.{self.name}"


def _attribute_type(
    name: str, codes: Iterable[str], extra: Iterable[Column] = (), *, choices: bool = False
) -> AttributeType:
    table = _meta_table(name, "Attributes", [*_ATTRIBUTE_PROPS, *extra])
    return AttributeType(name, frozenset(codes), table, choices)


_LENGTH: Final = [_prop("MaxLength", Kind.INT)]
_RANGE: Final = [_prop("MinValue", Kind.INT), _prop("MaxValue", Kind.INT)]
ATTRIBUTE_TYPES: Final = {
    t.name: t
    for t in (
        _attribute_type("StringAttributeMetadata", ["String"], _LENGTH),
        _attribute_type("MemoAttributeMetadata", ["Memo"], _LENGTH),
        _attribute_type("IntegerAttributeMetadata", ["Integer"], _RANGE),
        _attribute_type("BigIntAttributeMetadata", ["BigInt"]),
        _attribute_type("BooleanAttributeMetadata", ["Boolean"]),
        _attribute_type("PicklistAttributeMetadata", ["Picklist"], choices=True),
        _attribute_type("StateAttributeMetadata", ["State"], choices=True),
        _attribute_type("StatusAttributeMetadata", ["Status"], choices=True),
        _attribute_type("DateTimeAttributeMetadata", ["DateTime"]),
        _attribute_type("LookupAttributeMetadata", ["Lookup", "Owner"]),
        _attribute_type("UniqueIdentifierAttributeMetadata", ["Uniqueidentifier"]),
        _attribute_type("EntityNameAttributeMetadata", ["EntityName"]),
    )
}
_CAST_PREFIX: Final = "Microsoft.Dynamics.CRM."

_CODE_OF_KIND: Final = {
    Kind.GUID: "Uniqueidentifier",
    Kind.STRING: "String",
    Kind.MEMO: "Memo",
    Kind.INT: "Integer",
    Kind.BIGINT: "BigInt",
    Kind.BOOL: "Boolean",
    Kind.PICKLIST: "Picklist",
    Kind.DATETIME: "DateTime",
    Kind.LOOKUP: "Lookup",
    Kind.ENTITYNAME: "EntityName",
}
# tables.py keeps State and Status columns as choices (reference §0); their AttributeType is
# their own [M2], and Dataverse names them statecode and statuscode on every table.
_CHOICE_CODES: Final = {"statecode": "State", "statuscode": "Status"}


def type_code(col: Column) -> str:
    """The column's AttributeTypeCode name."""
    if col.kind is Kind.PICKLIST:
        return _CHOICE_CODES.get(col.name, "Picklist")
    if col.kind is Kind.LOOKUP and col.owner:
        return "Owner"
    return _CODE_OF_KIND[col.kind]


def _type_of(col: Column) -> AttributeType:
    code = type_code(col)
    return next(t for t in ATTRIBUTE_TYPES.values() if code in t.codes)


# ---- rows ---------------------------------------------------------------------------------


def metadata_id(*names: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(names)))


def entity_row(tbl: Table) -> Row:
    return {
        "MetadataId": metadata_id(tbl.logical_name),
        "LogicalName": tbl.logical_name,
        "SchemaName": SCHEMA_NAMES.get(tbl.logical_name, tbl.logical_name),
        "EntitySetName": tbl.entity_set,
        "PrimaryIdAttribute": tbl.primary_key,
        "PrimaryNameAttribute": tbl.primary_name,
        "IsCustomEntity": False,
    }


def attribute_row(tbl: Table, col: Column) -> Row:
    row: Row = {
        "@odata.type": _type_of(col).odata_type,
        "MetadataId": metadata_id(tbl.logical_name, col.name),
        "LogicalName": col.name,
        "EntityLogicalName": tbl.logical_name,
        "AttributeType": type_code(col),
        "IsPrimaryId": col.name == tbl.primary_key,
        "IsPrimaryName": col.name == tbl.primary_name,
        "IsValidForCreate": col.create,
        "IsValidForUpdate": col.update,
        "IsValidForRead": col.read,
        "IsCustomAttribute": False,
    }
    if col.kind in (Kind.STRING, Kind.MEMO):
        row["MaxLength"] = col.max_length
    if col.kind is Kind.INT:
        row["MinValue"] = col.min_value
        row["MaxValue"] = col.max_value
    return row


def label(text: str, *names: str) -> dict[str, Any]:
    """A Label with its one English LocalizedLabel [M1]."""
    localized = {
        "Label": text,
        "LanguageCode": ENGLISH,
        "IsManaged": True,
        "MetadataId": metadata_id(*names, "label"),
        "HasChanged": None,
    }
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": localized}


def option_set(tbl: Table, col: Column) -> dict[str, Any]:
    """The column's OptionSet, shaped as in [M1]'s example response."""
    options: list[dict[str, Any]] = [
        {
            "Value": value,
            "Label": label(text, tbl.logical_name, col.name, str(value)),
            "Description": {"LocalizedLabels": [], "UserLocalizedLabel": None},
            "Color": None,
            "IsManaged": True,
            "MetadataId": None,
            "HasChanged": None,
        }
        for value, text in col.options.items()
    ]
    return {
        "MetadataId": metadata_id(tbl.logical_name, col.name, "optionset"),
        "Name": f"{tbl.logical_name}_{col.name}",
        "OptionSetType": type_code(col),
        "IsGlobal": False,
        "IsCustomOptionSet": False,
        "IsManaged": True,
        "Options": options,
    }


# ---- query options ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    select: str | None
    filter_text: str | None
    expand: str | None


def _options(req: DvRequest, allowed: Sequence[str]) -> _Options:
    """The `$` options of a metadata request: each at most once, only those this route takes
    (metadata has no paging [M1], so `$top`, `$skiptoken` and `$orderby` are refused)."""
    found: dict[str, str] = {}
    for key, values in req.param_lists().items():
        if not key.startswith("$"):
            continue
        if key not in allowed:
            raise errors.bad_query(
                f"The query parameter '{key}' is not supported on table definitions."
            )
        if len(values) > 1:
            raise errors.bad_query(
                f"Query option '{key}' was specified more than once, but it must be "
                "specified at most once."
            )
        found[key] = values[0]
    return _Options(found.get("$select"), found.get("$filter"), found.get("$expand"))


def _project(row: Row, selected: list[str] | None, *, keep_type: bool) -> Row:
    """`MetadataId` is always returned [M1]; `@odata.type` stays on an uncast list."""
    if selected is None:
        out = dict(row)
    else:
        out = {k: v for k, v in row.items() if k in selected or k == "MetadataId"}
        if "@odata.type" in row:
            out["@odata.type"] = row["@odata.type"]
    if not keep_type:
        out.pop("@odata.type", None)
    return out


def _no_row(_set: str, _key: str) -> Row | None:
    return None


def _filtered(meta: Table, rows: list[Row], text: str | None) -> list[Row]:
    predicate = parse_filter(meta, text, _no_row)
    return rows if predicate is None else [r for r in rows if predicate(r)]


def _context(req: DvRequest, path: str, selected: list[str] | None, *, entity: bool) -> str:
    fragment = f"{path}({','.join(selected)})" if selected else path
    return f"{req.root}$metadata#{fragment}{'/$entity' if entity else ''}"


# ---- addressing -----------------------------------------------------------------------------


def _key_of(text: str, what: str) -> tuple[str, str]:
    """`LogicalName='x'` → ("LogicalName", "x"); a GUID → ("MetadataId", guid)."""
    raw = text.strip()
    if "=" in raw:
        name, _, value = raw.partition("=")
        value = value.strip()
        quoted = len(value) >= 2 and value.startswith("'") and value.endswith("'")
        if name.strip() != "LogicalName" or not quoted:
            raise errors.bad_query(f"The key '{raw}' is not valid for {what}.")
        return "LogicalName", value[1:-1].replace("''", "'")
    guid = parse_guid(raw)
    if guid is None:
        raise errors.bad_guid(raw)
    return "MetadataId", guid


def _not_found(what: str, key: str) -> errors.DataverseFault:
    # Unconfirmed: Microsoft documents no error body for a missing definition; the sim answers
    # 404 with ObjectDoesNotExist, the code the data face uses for a missing row.
    return errors.DataverseFault(404, OBJECT_DOES_NOT_EXIST, f"Could not find {what} with {key}.")


def _find_table(key: str | None) -> Table:
    assert key is not None
    name, value = _key_of(key, "EntityDefinitions")
    for tbl in BY_LOGICAL_NAME.values():
        if entity_row(tbl)[name] == value:
            return tbl
    raise _not_found("an entity", f"{name} = '{value}'")


def _find_column(tbl: Table, key: str) -> Column:
    name, value = _key_of(key, "Attributes")
    for col in tbl.columns.values():
        if attribute_row(tbl, col)[name] == value:
            return col
    raise _not_found("an attribute", f"{name} = '{value}' on entity '{tbl.logical_name}'")


# ---- dispatch -----------------------------------------------------------------------------


def dispatch(req: DvRequest, segs: Sequence[Segment]) -> DvResponse:
    """Answer a request whose first segment is `EntityDefinitions` (read-only)."""
    if req.method != "GET":
        raise errors.method_not_allowed(req.method)
    first = segs[0]
    if first.key is None:
        if len(segs) > 1:
            raise errors.resource_not_found(segs[1].name)
        return _entities(req)
    tbl = _find_table(first.key)
    if len(segs) == 1:
        return _entity(req, tbl)
    attrs = segs[1]
    if attrs.name != "Attributes":
        raise errors.resource_not_found(attrs.name)
    if attrs.key is not None:
        if len(segs) > 2:
            raise errors.resource_not_found(segs[2].name)
        return _attribute(req, tbl, _find_column(tbl, attrs.key))
    if len(segs) == 2:
        return _attributes(req, tbl, None)
    cast = segs[2]
    kind = None
    if cast.name.startswith(_CAST_PREFIX):
        kind = ATTRIBUTE_TYPES.get(cast.name.removeprefix(_CAST_PREFIX))
    if len(segs) > 3 or cast.key is not None or kind is None:
        raise errors.resource_not_found(cast.name)
    return _attributes(req, tbl, kind)


def _entities(req: DvRequest) -> DvResponse:
    opts = _options(req, ("$select", "$filter"))
    selected = parse_select(ENTITY_METADATA, opts.select)
    rows = [entity_row(t) for t in BY_LOGICAL_NAME.values()]
    rows = _filtered(ENTITY_METADATA, rows, opts.filter_text)
    body = {
        "@odata.context": _context(req, ENTITY_SET, selected, entity=False),
        "value": [_project(r, selected, keep_type=False) for r in rows],
    }
    return json_response(200, body)


def _entity(req: DvRequest, tbl: Table) -> DvResponse:
    opts = _options(req, ("$select",))
    selected = parse_select(ENTITY_METADATA, opts.select)
    body = {"@odata.context": _context(req, ENTITY_SET, selected, entity=True)}
    body.update(_project(entity_row(tbl), selected, keep_type=False))
    return json_response(200, body)


def _attributes(req: DvRequest, tbl: Table, kind: AttributeType | None) -> DvResponse:
    allowed = (
        ("$select", "$filter", "$expand") if kind and kind.choices else ("$select", "$filter")
    )
    opts = _options(req, allowed)
    meta = ATTRIBUTE_METADATA if kind is None else kind.table
    selected = parse_select(meta, opts.select)
    option_sets = _expand_option_set(opts.expand)
    cols = [c for c in tbl.columns.values() if kind is None or _type_of(c) is kind]
    rows = _filtered(meta, [attribute_row(tbl, c) for c in cols], opts.filter_text)
    by_name = {c.name: c for c in cols}
    items: list[Row] = []
    for row in rows:
        item = _project(row, selected, keep_type=kind is None)
        if option_sets is not None:
            full = option_set(tbl, by_name[str(row["LogicalName"])])
            item["OptionSet"] = _project(full, option_sets, keep_type=False)
        items.append(item)
    path = f"{ENTITY_SET}('{tbl.logical_name}')/Attributes"
    if kind is not None:
        path += f"/{_CAST_PREFIX}{kind.name}"
    body = {"@odata.context": _context(req, path, selected, entity=False), "value": items}
    return json_response(200, body)


def _attribute(req: DvRequest, tbl: Table, col: Column) -> DvResponse:
    opts = _options(req, ("$select",))
    selected = parse_select(ATTRIBUTE_METADATA, opts.select)
    path = f"{ENTITY_SET}('{tbl.logical_name}')/Attributes"
    body = {"@odata.context": _context(req, path, selected, entity=True)}
    body.update(_project(attribute_row(tbl, col), selected, keep_type=True))
    return json_response(200, body)


_OPTION_SET_PROPS: Final = frozenset(
    {
        "MetadataId",
        "Name",
        "OptionSetType",
        "IsGlobal",
        "IsCustomOptionSet",
        "IsManaged",
        "Options",
    }
)


def _expand_option_set(text: str | None) -> list[str] | None:
    """`$expand=OptionSet` or `OptionSet($select=…)` [M1]: the selected OptionSet properties
    (None when not expanded, every property when no `$select` is nested)."""
    if text is None:
        return None
    raw = text.strip()
    name, _, rest = raw.partition("(")
    if name.strip() != "OptionSet":
        raise errors.bad_query(
            f"Could not find a property named '{name.strip()}' on type "
            "'Microsoft.Dynamics.CRM.PicklistAttributeMetadata'."
        )
    if not rest:
        return sorted(_OPTION_SET_PROPS)
    if not rest.endswith(")") or not rest[:-1].startswith("$select="):
        raise errors.bad_query(f"The $expand option '{raw}' is not supported on OptionSet.")
    wanted = [p.strip() for p in rest[:-1].removeprefix("$select=").split(",")]
    for prop in wanted:
        if prop not in _OPTION_SET_PROPS:
            raise errors.property_not_found(prop, "Microsoft.Dynamics.CRM.OptionSetMetadata")
    return wanted
