"""URL dispatch of the Web API face under /api/data/v9.2/.

| path | methods |
|---|---|
| `` (service document) | GET |
| `WhoAmI`, `RetrieveVersion` (functions, with or without `()`) | GET |
| `<set>` | GET (query), POST (create) |
| `<set>(<id>)` | GET, PATCH (update / upsert), DELETE |
| `<set>(<id>)/<collection navigation>` | GET |
| `<set>(<id>)/<single-valued navigation>` | GET |
| `<set>(<id>)/<column>` | GET, PUT, DELETE |
| `<set>(<id>)/<N:N navigation>/$ref` | POST (associate), DELETE with `?$id=` (disassociate) |
| `<set>(<id>)/<N:N navigation>(<id>)/$ref` | DELETE (disassociate) |
| `<set>(<id>)/<single-valued navigation>/$ref` | PUT (set the lookup), DELETE (clear it) |
| `EntityDefinitions…` (table definitions) | GET, see `sim.webapi.metadata` |

Names are case-sensitive, as in Dataverse: `Mailboxes` is "Resource not found for the segment".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from sim.state import Row
from sim.webapi import errors, metadata, reads, writes
from sim.webapi.model import DvRequest, DvResponse, empty_response, json_response
from sim.webapi.odata import parse_guid
from sim.webapi.reads import query_for
from sim.webapi.render import Renderer, etag
from sim.webapi.tables import ManyToMany, Table, table

_SEGMENT: Final = re.compile(r"^([^()]*)(?:\((.*)\))?$", re.DOTALL)
FUNCTIONS: Final = {"WhoAmI": reads.who_am_i, "RetrieveVersion": reads.retrieve_version}
BOUND_FUNCTIONS: Final = {
    "systemusers": {
        "Microsoft.Dynamics.CRM.RetrieveUserPrivileges": reads.retrieve_user_privileges,
    },
}


@dataclass(frozen=True)
class Segment:
    name: str
    key: str | None  # the raw text inside (), None without parentheses


def _segments(path: str) -> list[Segment]:
    result: list[Segment] = []
    for raw in path.split("/"):
        m = _SEGMENT.match(raw)
        if m is None:
            raise errors.resource_not_found(raw)
        result.append(Segment(m.group(1), m.group(2)))
    return result


def _key(seg: Segment) -> str:
    assert seg.key is not None
    text = seg.key.strip()
    if "=" in text:  # alternate keys are not served
        raise errors.bad_query(f"The key '{text}' is not valid: only the primary key is served.")
    if text.startswith("'") or text.lower().startswith("guid'"):
        raise errors.bad_guid(text)
    key = parse_guid(text)
    if key is None:
        raise errors.bad_guid(text)
    return key


def dispatch(req: DvRequest) -> DvResponse:
    """Answer one Web API request (already authenticated and admitted)."""
    path = req.path
    method = req.method
    if path in ("", "/"):
        if method != "GET":
            raise errors.method_not_allowed(method)
        return reads.service_document(req)
    segs = _segments(path)
    first = segs[0]
    if first.name in FUNCTIONS and len(segs) == 1 and first.key in (None, ""):
        if method != "GET":
            raise errors.no_http_resource(req.url)
        return FUNCTIONS[first.name](req)
    if first.name == "$batch":
        raise errors.bad_query("A $batch request cannot be nested inside a $batch request.")
    if first.name == "$metadata":
        raise errors.DataverseFault(501, "", "The sim does not serve $metadata.")
    if first.name == metadata.ENTITY_SET:
        return metadata.dispatch(req, segs)
    tbl = table(first.name)
    if tbl is None:
        raise errors.resource_not_found(first.name)
    if first.key is None:
        if len(segs) > 1:
            raise errors.resource_not_found(segs[1].name)
        return _collection(req, tbl)
    key = _key(first)
    if len(segs) == 1:
        return _entity(req, tbl, key)
    if len(segs) == 2 and segs[1].name in BOUND_FUNCTIONS.get(first.name, {}):
        if method != "GET":
            raise errors.no_http_resource(req.url)
        return BOUND_FUNCTIONS[first.name][segs[1].name](req, key)
    if len(segs) == 2:
        return _navigation(req, tbl, key, segs[1])
    if len(segs) == 3 and segs[2].name == "$ref" and segs[2].key is None:
        return _reference(req, tbl, key, segs[1])
    raise errors.resource_not_found(segs[-1].name)


# ---- <set> -------------------------------------------------------------------------------


def _collection(req: DvRequest, tbl: Table) -> DvResponse:
    if req.method == "GET":
        return reads.collection(
            req, tbl, req.sim.state.tables[tbl.entity_set].values(), tbl.entity_set
        )
    if req.method == "POST":
        values = writes.payload_values(req, tbl, writes.parse_body(req), create=True)
        row = writes.create(req, tbl, values)
        return _written(req, tbl, row, created=True)
    raise errors.method_not_allowed(req.method)


def _entity_url(req: DvRequest, tbl: Table, row: Row) -> str:
    return f"{req.root}{tbl.entity_set}({row[tbl.primary_key]})"


def _written(req: DvRequest, tbl: Table, row: Row, *, created: bool) -> DvResponse:
    """204 with OData-EntityId, or the row itself with `Prefer: return=representation`."""
    url = _entity_url(req, tbl, row)
    if req.prefs.return_representation:
        query = query_for(req, tbl, collection=False)
        body: dict[str, Any] = {"@odata.context": f"{req.root}$metadata#{tbl.entity_set}/$entity"}
        body.update(Renderer(req).row(tbl, row, query.select, query.expand))
        resp = json_response(
            201 if created else 200,
            body,
            {
                "Preference-Applied": "return=representation",
                "OData-EntityId": url,
                "Location": url,
                "ETag": etag(row),
            },
        )
    else:
        resp = empty_response(204, {"OData-EntityId": url, "Location": url})
    resp.entity_url = url
    return resp


# ---- <set>(<id>) -------------------------------------------------------------------------


def _etag_matches(header: str, row: Row) -> bool:
    current = etag(row)
    for tag in (t.strip() for t in header.split(",")):
        if tag == "*" or tag == current or tag == current.removeprefix("W/"):
            return True
    return False


def _entity(req: DvRequest, tbl: Table, key: str) -> DvResponse:
    method = req.method
    if method == "GET":
        return reads.single(req, tbl, key)
    rows = req.sim.state.tables[tbl.entity_set]
    row = rows.get(key)
    if_match = req.headers.get("If-Match")
    if_none_match = req.headers.get("If-None-Match")
    if method == "PATCH":
        data = writes.parse_body(req)
        if row is None:
            # Upsert: a PATCH for a missing id creates the row unless If-Match forbids it.
            if if_match is not None or not tbl.can_upsert:
                raise errors.does_not_exist(tbl.logical_name, key)
            values = writes.payload_values(req, tbl, data, create=True)
            created = writes.create(req, tbl, values, key)
            return _written(req, tbl, created, created=True)
        if if_none_match is not None and if_none_match.strip() == "*":
            raise errors.already_exists()
        if if_match is not None and not _etag_matches(if_match, row):
            raise errors.version_mismatch()
        values = writes.payload_values(req, tbl, data, create=False)
        writes.update(req, tbl, row, values)
        return _written(req, tbl, row, created=False)
    if method == "DELETE":
        if row is None:
            raise errors.does_not_exist(tbl.logical_name, key)
        if if_match is not None and not _etag_matches(if_match, row):
            raise errors.version_mismatch()
        writes.delete(req, tbl, row)
        return empty_response(204)
    raise errors.method_not_allowed(method)


# ---- <set>(<id>)/<segment> ---------------------------------------------------------------


def _navigation(req: DvRequest, tbl: Table, key: str, seg: Segment) -> DvResponse:
    name = seg.name
    coll = tbl.collections.get(name)
    if coll is not None and seg.key is None:
        if req.method != "GET":
            raise errors.method_not_allowed(req.method)
        return reads.navigation_collection(req, tbl, key, name, coll)
    single = tbl.navigations.get(name)
    if single is not None and seg.key is None:
        if req.method != "GET":
            raise errors.method_not_allowed(req.method)
        return reads.navigation_single(req, tbl, key, name, single[0], single[1])
    col = tbl.columns.get(name)
    if col is not None and col.read and seg.key is None:
        if req.method == "GET":
            return reads.property_value(req, tbl, key, col)
        if req.method in ("PUT", "DELETE"):
            row = req.sim.state.tables[tbl.entity_set].get(key)
            if row is None:
                raise errors.does_not_exist(tbl.logical_name, key)
            value = writes.parse_body(req).get("value") if req.method == "PUT" else None
            values = writes.payload_values(req, tbl, {name: value}, create=False)
            writes.update(req, tbl, row, values)
            return empty_response(204)
        raise errors.method_not_allowed(req.method)
    raise errors.resource_not_found(name)


def _reference(req: DvRequest, tbl: Table, key: str, seg: Segment) -> DvResponse:
    """`$ref` on a navigation property: (dis)associate N:N, or set / clear a lookup."""
    name = seg.name
    rows = req.sim.state.tables[tbl.entity_set]
    coll = tbl.collections.get(name)
    if isinstance(coll, ManyToMany):
        if key not in rows:
            raise errors.does_not_exist(tbl.logical_name, key)
        if req.method == "POST":
            if seg.key is not None:
                raise errors.method_not_allowed(req.method)
            target, other = writes.entity_ref(
                req, writes.parse_body(req).get("@odata.id"), what="@odata.id"
            )
            _check_target(req, coll, target, other)
            writes.associate(req, coll, key, other)
            return empty_response(204)
        if req.method == "DELETE":
            if seg.key is not None:
                other = _key(seg)
                target_table = table(coll.target_set)
                assert target_table is not None
            else:
                ids = [v for k, v in req.params if k == "$id"]
                if len(ids) != 1:
                    raise errors.bad_query(
                        "A DELETE of a collection reference needs the related row: "
                        "<navigation>(<id>)/$ref or $ref?$id=<URL>."
                    )
                target_table, other = writes.entity_ref(req, ids[0], what="$id")
            _check_target(req, coll, target_table, other)
            writes.disassociate(req, coll, key, other)
            return empty_response(204)
        raise errors.method_not_allowed(req.method)
    single = tbl.navigations.get(name)
    if single is not None and seg.key is None:
        row = rows.get(key)
        if row is None:
            raise errors.does_not_exist(tbl.logical_name, key)
        col, _target_set = single
        if req.method == "PUT":
            ref = writes.parse_body(req).get("@odata.id")
            values = writes.payload_values(req, tbl, {f"{name}@odata.bind": ref}, create=False)
        elif req.method == "DELETE":
            values = writes.payload_values(req, tbl, {f"{name}@odata.bind": None}, create=False)
        else:
            raise errors.method_not_allowed(req.method)
        writes.update(req, tbl, row, values)
        return empty_response(204)
    if coll is not None:
        raise errors.bad_query(f"The navigation property '{name}' cannot be changed through $ref.")
    raise errors.resource_not_found(name)


def _check_target(req: DvRequest, coll: ManyToMany, target: Table, other: str) -> None:
    if target.entity_set != coll.target_set:
        raise errors.bad_query(
            f"The relationship '{coll.relationship}' relates '{coll.target_set}', not "
            f"'{target.entity_set}'."
        )
    if other not in req.sim.state.tables[target.entity_set]:
        raise errors.does_not_exist(target.logical_name, other)
