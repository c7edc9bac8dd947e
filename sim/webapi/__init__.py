"""The Dataverse Web API face of the sim, under /api/data/v9.2/ (reference/dataverse.md §6).

| module | concept |
|---|---|
| `tables` | metadata of the eight tables: columns, types, limits, option sets, navigation |
| `odata` | `$select`, `$filter` (AST → predicate), `$orderby`, `$top`, `$count`, `$expand` |
| `paging` | ordering and signed `$skiptoken` continuation (§6.6) |
| `render` | rows as JSON: etag, annotations, expansions |
| `reads` | collections, single rows, navigation, WhoAmI, RetrieveVersion |
| `writes` | payload checks, create / update / upsert / delete, associate / disassociate |
| `batch` | `$batch` with change sets (§6.5) |
| `throttle` | service protection limits (§6.3) |
| `errors` | Dataverse's error codes and messages |
| `routes`, `handler` | URL dispatch; auth, caller, protection in front of it |
"""

from __future__ import annotations

from aiohttp import web

from sim.context import SIM
from sim.webapi.handler import handle
from sim.webapi.model import API_PREFIX, service


def setup(app: web.Application) -> None:
    """Add the Web API routes under /api/data/v9.2/."""
    service(app[SIM])
    app.router.add_route("*", API_PREFIX + "{tail:.*}", handle)
