"""The headers every request carries.

The sim records method, path, query, caller and body but not headers, so this one test
looks at the wire through `httpx.MockTransport`; everything else runs against the sim.
"""

from __future__ import annotations

import json
import uuid

import httpx

from dataverse import DataverseClient
from dataverse.models import Mailbox

ORG = "https://contoso.crm.dynamics.com"
CALLER = "aa000000-0000-4000-8000-000000000001"
NEXT = f"{ORG}/api/data/v9.2/mailboxes?$select=mailboxid&$skiptoken=%3Ccookie%20page%3D%222%22%3E"


def _row() -> dict[str, str]:
    return {"mailboxid": str(uuid.uuid4()), "@odata.etag": 'W/"1"'}


async def test_standard_headers_paging_and_conditional_writes() -> None:
    seen: list[httpx.Request] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PATCH":
            return httpx.Response(204)
        if "$skiptoken" in str(request.url):
            return httpx.Response(200, json={"value": [_row()]})
        return httpx.Response(200, json={"value": [_row(), _row()], "@odata.nextLink": NEXT})

    async with DataverseClient(ORG, transport=httpx.MockTransport(service), page_size=2) as client:
        view = client.acting_for(CALLER)
        rows = await view.list_rows(Mailbox)
        await view.update_row(Mailbox, rows[0].id, {"name": "Ünïcode ✓"})

    first, follow_up, patch = seen
    for request in seen:
        assert request.headers["Accept"] == "application/json"
        assert request.headers["OData-MaxVersion"] == "4.0"
        assert request.headers["OData-Version"] == "4.0"
        assert request.headers["If-None-Match"] == "null"
        assert request.headers["CallerObjectId"] == CALLER
    assert str(follow_up.url) == NEXT  # the link is followed unchanged
    for page in (first, follow_up):
        assert "odata.maxpagesize=2" in page.headers["Prefer"]
    assert patch.headers["If-Match"] == "*"
    assert patch.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(patch.content) == {"name": "Ünïcode ✓"}
    assert len(rows) == 3
