"""Reads: collections (with paging), single rows, navigation properties, WhoAmI, RetrieveVersion.

Paging follows reference §6.6: `Prefer: odata.maxpagesize=N` (at most 5000, also the default)
answers `Preference-Applied` and ignores `$top`; `@odata.nextLink` repeats the query with a
`$skiptoken`; `@odata.count` counts at most 5000 rows. A conditional GET with
`If-None-Match: W/"<n>"` answers 304 when the row is unchanged, never with `$expand` or
annotations requested (§6.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from sim import privileges, rules
from sim.fixture import Depth
from sim.state import Row
from sim.webapi import errors
from sim.webapi.model import DvRequest, DvResponse, empty_response, json_response
from sim.webapi.odata import (
    MAX_COUNT,
    MAX_PAGE_SIZE,
    Query,
    parse_query,
    single_options,
)
from sim.webapi.paging import Continuation, Pager, sort_key, sort_rows
from sim.webapi.render import Renderer, context_fragment, etag, related_rows
from sim.webapi.tables import TABLES, Column, ManyToMany, OneToMany, Table


def row_lookup(req: DvRequest) -> Any:
    tables = req.sim.state.tables

    def lookup(entity_set: str, key: str) -> Row | None:
        return tables.get(entity_set, {}).get(key)

    return lookup


def query_for(req: DvRequest, table: Table, *, collection: bool) -> Query:
    options = single_options(req.param_lists())
    return parse_query(table, options, row_lookup(req), collection=collection)


_LINK_SAFE = "$(),'/:@"


def _preference_applied(req: DvRequest, page_size: int | None) -> dict[str, str]:
    applied: list[str] = []
    if page_size is not None:
        applied.append(f"odata.maxpagesize={page_size}")
    if req.prefs.annotations_text is not None:
        applied.append(f'odata.include-annotations="{req.prefs.annotations_text}"')
    return {"Preference-Applied": ",".join(applied)} if applied else {}


def _next_link(req: DvRequest, token: str) -> str:
    params = [(k, v) for k, v in req.params if k != "$skiptoken"]
    params.append(("$skiptoken", token))
    return f"{req.url}?{urlencode(params, quote_via=quote, safe=_LINK_SAFE)}"


def collection(
    req: DvRequest,
    table: Table,
    source: Iterable[Row],
    context: str,
) -> DvResponse:
    """A collection response: filter, order, page; `context` is the `@odata.context` head."""
    query = query_for(req, table, collection=True)
    if req.prefs.track_changes:
        # Whether mailbox (or any of these tables) has change tracking is unconfirmed
        # (reference §6.10, §12.10): refuse rather than pretend.
        raise errors.bad_query(
            f"Change tracking (Prefer: odata.track-changes) is not enabled for the entity "
            f"'{table.logical_name}' in the sim (reference §12.10: unconfirmed)."
        )
    pred = query.filter
    entity_set = table.entity_set
    readable = rules.reader(req.sim, req.caller, entity_set)
    rows = [r for r in source if (pred is None or pred(r)) and readable(r)]
    total = len(rows)
    sort_rows(rows, table, query.orderby)

    pager: Pager = req.api.pager
    fingerprint = Pager.query_fingerprint(req.path, req.params)
    cont: Continuation | None = None
    if query.skiptoken is not None:
        cont = pager.decode(query.skiptoken, fingerprint, len(query.orderby) + 1)
    served = cont.served if cont else 0
    start = Pager.start_index(rows, table, query.orderby, cont)

    wanted = req.prefs.max_page_size
    page_size = min(wanted, MAX_PAGE_SIZE) if wanted is not None else None
    if page_size is not None:  # $top is ignored with odata.maxpagesize (§6.6)
        limit, budget = page_size, None
    elif query.top is not None:
        budget = max(0, query.top - served)
        limit = min(MAX_PAGE_SIZE, budget)
    else:
        limit, budget = MAX_PAGE_SIZE, None
    page = rows[start : start + limit]
    more = start + len(page) < len(rows) and (budget is None or len(page) < budget)

    renderer = Renderer(req)
    body: dict[str, Any] = {
        "@odata.context": f"{req.root}$metadata#{context}"
        f"{context_fragment(query.select, query.expand)}",
    }
    if query.count:
        body["@odata.count"] = min(total, MAX_COUNT)
        body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = total > MAX_COUNT
    body["value"] = [renderer.row(table, r, query.select, query.expand) for r in page]
    if more and page:
        token = pager.encode(
            Continuation(sort_key(page[-1], table, query.orderby), served + len(page)),
            fingerprint,
        )
        body["@odata.nextLink"] = _next_link(req, token)
    return json_response(200, body, _preference_applied(req, page_size))


def _if_none_match(req: DvRequest, row: Row, query: Query) -> bool:
    header = req.headers.get("If-None-Match")
    if not header or header.strip().lower() == "null":
        return False
    if query.expand or req.prefs.annotations:
        return False
    tags = {t.strip() for t in header.split(",")}
    current = etag(row)
    return "*" in tags or current in tags or current.removeprefix("W/") in tags


def single(req: DvRequest, table: Table, key: str) -> DvResponse:
    row = req.sim.state.tables[table.entity_set].get(key)
    if row is None:
        raise errors.does_not_exist(table.logical_name, key)
    query = query_for(req, table, collection=False)
    rules.require_read(req.sim, req.caller, table.entity_set, row)
    if _if_none_match(req, row, query):
        return empty_response(304, {"ETag": etag(row)})
    body: dict[str, Any] = {
        "@odata.context": f"{req.root}$metadata#{table.entity_set}"
        f"{context_fragment(query.select, query.expand)}/$entity",
    }
    body.update(Renderer(req).row(table, row, query.select, query.expand))
    headers = {"ETag": etag(row)} | _preference_applied(req, None)
    return json_response(200, body, headers)


def parent_row(req: DvRequest, table: Table, key: str) -> Row:
    row = req.sim.state.tables[table.entity_set].get(key)
    if row is None:
        raise errors.does_not_exist(table.logical_name, key)
    rules.require_read(req.sim, req.caller, table.entity_set, row)
    return row


def navigation_collection(
    req: DvRequest, table: Table, key: str, nav: str, coll: OneToMany | ManyToMany
) -> DvResponse:
    parent_row(req, table, key)
    target_set = coll.child_set if isinstance(coll, OneToMany) else coll.target_set
    target = TABLES[target_set]
    rows = related_rows(req, table, key, coll)
    return collection(req, target, rows, f"{table.entity_set}({key})/{nav}")


def navigation_single(
    req: DvRequest, table: Table, key: str, nav: str, col: Column, target_set: str
) -> DvResponse:
    row = parent_row(req, table, key)
    target = TABLES.get(target_set)
    ref = row.get(col.json_name)
    related = req.sim.state.tables.get(target_set, {}).get(ref) if ref else None
    if target is None or related is None:
        return empty_response(204)
    rules.require_read(req.sim, req.caller, target_set, related)
    query = query_for(req, target, collection=False)
    body: dict[str, Any] = {
        "@odata.context": f"{req.root}$metadata#{target_set}"
        f"{context_fragment(query.select, query.expand)}/$entity",
    }
    body.update(Renderer(req).row(target, related, query.select, query.expand))
    return json_response(200, body, {"ETag": etag(related)})


def property_value(req: DvRequest, table: Table, key: str, col: Column) -> DvResponse:
    row = parent_row(req, table, key)
    value = row.get(col.json_name)
    if value is None:
        return empty_response(204)
    return json_response(
        200,
        {
            "@odata.context": f"{req.root}$metadata#{table.entity_set}({key})/{col.json_name}",
            "value": value,
        },
    )


def service_document(req: DvRequest) -> DvResponse:
    return json_response(
        200,
        {
            "@odata.context": f"{req.root}$metadata",
            "value": [{"name": name, "kind": "EntitySet", "url": name} for name in sorted(TABLES)],
        },
    )


def who_am_i(req: DvRequest) -> DvResponse:
    """WhoAmI (reference §6.8): UserId is the effective (possibly impersonated) caller."""
    orgs = req.sim.state.tables["organizations"]
    org_id = next(iter(orgs), "")
    return json_response(
        200,
        {
            "@odata.context": f"{req.root}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": req.caller.user.get("_businessunitid_value"),
            "UserId": req.user_id,
            "OrganizationId": org_id,
        },
    )


def retrieve_version(req: DvRequest) -> DvResponse:
    """RetrieveVersion (reference §3, S20): `{ Version: string }`."""
    return json_response(
        200,
        {
            "@odata.context": (
                f"{req.root}$metadata#Microsoft.Dynamics.CRM.RetrieveVersionResponse"
            ),
            "Version": req.sim.state.version,
        },
    )


_PRIVILEGE_DEPTHS = {
    Depth.USER: "Basic",
    Depth.BUSINESS_UNIT: "Local",
    Depth.PARENT_CHILD: "Deep",
    Depth.ORGANIZATION: "Global",
}


def retrieve_user_privileges(req: DvRequest, systemuser_id: str) -> DvResponse:
    """RetrieveUserPrivileges, bound to systemuser: privileges through roles and teams.

    Answers `RetrieveUserPrivilegesResponse { RolePrivileges: [RolePrivilege] }` with
    `Depth` as the PrivilegeDepth member name (Basic, Local, Deep, Global).
    """
    state = req.sim.state
    row = state.row("systemusers", systemuser_id)
    if row is None:
        raise errors.does_not_exist("systemuser", systemuser_id)
    rules.require_read(req.sim, req.caller, "systemusers", row)
    business_unit = row.get("_businessunitid_value")
    entries = [
        {
            "Depth": _PRIVILEGE_DEPTHS[depth],
            "PrivilegeId": privileges.privilege_id(name),
            "BusinessUnitId": business_unit,
            "PrivilegeName": name,
        }
        for name, depth in sorted(privileges.listed_privileges(state, systemuser_id).items())
    ]
    return json_response(
        200,
        {
            "@odata.context": (
                f"{req.root}$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegesResponse"
            ),
            "RolePrivileges": entries,
        },
    )
