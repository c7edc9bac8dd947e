"""A request path is resolved against the service's base URL as RFC 3986 §5.2 says, whether
the engine appends it (its fast path) or joins it."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataverse._http import HttpEngine, RetryPolicy
from dataverse.errors import UnexpectedResponse

BASE = "https://contoso.crm.dynamics.com/api/data/v9.2/"

# Non-empty segments: urllib's join also drops empty ones ("a//b"), which RFC 3986 keeps.
_SEGMENT = st.text(alphabet="abcXYZ019$()=,'-_.~%@:", min_size=1, max_size=12)
# Non-empty: for a bare "?" urllib's join (under httpx's) drops the empty query, where
# RFC 3986 keeps it; the engine never sends one.
_QUERY = st.text(alphabet="abc$=&,'()%20 :/?.", min_size=1, max_size=30)


def _engine() -> HttpEngine:
    return HttpEngine(
        service="dataverse",
        base_url=BASE,
        default_headers={},
        auth=None,
        ca_path=None,
        transport=httpx.MockTransport(lambda request: httpx.Response(204)),
        timeout=5.0,
        max_concurrency=1,
        retry=RetryPolicy(),
        trust_env=False,
    )


@given(
    segments=st.lists(_SEGMENT, min_size=1, max_size=4),
    query=st.none() | _QUERY,
    absolute=st.booleans(),
)
def test_a_relative_reference_resolves_as_joining_it_would(
    segments: list[str], query: str | None, absolute: bool
) -> None:
    reference = ("/" if absolute else "") + "/".join(segments)
    if query is not None:
        reference += "?" + query
    try:
        expected = httpx.URL(BASE).join(reference)
    except httpx.InvalidURL:
        return
    if (expected.scheme, expected.host) != ("https", "contoso.crm.dynamics.com"):
        return  # `//other-host/...`: refused below, not a path
    assert _engine().resolve(reference) == expected


@pytest.mark.parametrize(
    "reference",
    [
        "mailboxes?$select=name&$filter=name eq 'a:b/../c'",
        "systemusers(00000000-0000-0000-0000-000000000001)/Microsoft.Dynamics.CRM.RetrieveUserPrivileges()",
        "$batch",
        "",
        "?$top=1",
        "../v9.1/WhoAmI",
        "./WhoAmI",
        "a/./b",
        "a/..",
        "/api/data/v9.2/WhoAmI",
        "https://contoso.crm.dynamics.com/api/data/v9.2/mailboxes?$skiptoken=x",
    ],
)
def test_known_references(reference: str) -> None:
    assert _engine().resolve(reference) == httpx.URL(BASE).join(reference)


@pytest.mark.parametrize("link", ["//evil.example/steal", "https://evil.example/api/data/v9.2/"])
def test_another_origin_is_refused(link: str) -> None:
    with pytest.raises(UnexpectedResponse):
        _engine().resolve(link)
