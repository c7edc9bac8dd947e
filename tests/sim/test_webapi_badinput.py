"""Bad input gets a Dataverse-shaped error and never a 500 (issue 2, reference §6.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sim.webapi_kit import MAILBOX_ALICE, app_token, client, dv, error_of, limits
from tests.simharness import RunningSim


def _dataverse_error(resp: httpx.Response, status: int | None = None) -> dict[str, str]:
    assert resp.status_code != 500, resp.text
    if status is not None:
        assert resp.status_code == status, resp.text
    assert 400 <= resp.status_code < 500, resp.text
    return error_of(resp)


def test_unknown_tables_and_segments(sim: RunningSim) -> None:
    """troubleshoot web-api-client-errors: names are case-sensitive; 0x8006088a."""
    with dv(sim) as c:
        for path in (
            "Mailboxes",
            "accounts",
            f"mailboxes({MAILBOX_ALICE})/nosuch",
            f"mailboxes({MAILBOX_ALICE})/a/b/c",
            "mailboxes/x",
        ):
            err = _dataverse_error(c.get(path), 404)
            assert err["message"].startswith("Resource not found for the segment"), path
        assert _dataverse_error(c.get("Mailboxes"))["code"] == "0x8006088a"


def test_invalid_guids(sim: RunningSim) -> None:
    with dv(sim) as c:
        for key in (
            "abc",
            "'3b000000-0000-4000-8000-000000000001'",
            "",
            "1",
            "mailboxid=1",
            "3b000000-0000-4000-8000-00000000000",
            "3b000000-0000-4000-8000-00000000000g",
        ):
            _dataverse_error(c.get(f"mailboxes({key})"), 400)
            _dataverse_error(c.patch(f"mailboxes({key})", json={"name": "x"}), 400)


def test_malformed_odata(sim: RunningSim) -> None:
    with dv(sim) as c:
        for params in (
            {"$select": ""},
            {"$select": "name,,emailaddress"},
            {"$orderby": "name sideways"},
            {"$orderby": "nosuch"},
            {"$top": "-1"},
            {"$top": "ten"},
            {"$count": "maybe"},
            {"$skip": "10"},
            {"$search": "x"},
            {"$frobnicate": "1"},
            {"$filter": ""},
            {"$filter": "name eq 'unterminated"},
            {"$expand": "emailserverprofile($select=nosuch)"},
            {"$expand": "emailserverprofile($top=1)"},
            {"$skiptoken": "garbage"},
        ):
            _dataverse_error(c.get("mailboxes", params=params), 400)
        deep = c.get("mailboxes", params={"$filter": "(" * 1000 + "name eq 'x'" + ")" * 1000})
        assert deep.status_code in (200, 400), deep.text
        twice = c.get("mailboxes?$top=1&$top=2")
        assert "more than once" in _dataverse_error(twice, 400)["message"]


def test_invalid_json_and_wrong_shapes(sim: RunningSim) -> None:
    with dv(sim) as c:
        for body in (b"{not json", b"[1,2]", b"", b'"text"', b"\xff\xfe", b"[" * 100000):
            resp = c.post("mailboxes", content=body, headers={"Content-Type": "application/json"})
            _dataverse_error(resp, 400)


def test_wrong_methods_are_405(sim: RunningSim) -> None:
    with dv(sim) as c:
        assert _dataverse_error(c.put("mailboxes", json={}), 405)
        assert _dataverse_error(c.delete("mailboxes"), 405)
        assert _dataverse_error(c.post(f"mailboxes({MAILBOX_ALICE})", json={}), 405)
        assert _dataverse_error(c.request("PATCH", ""), 405)


def test_oversized_bodies_are_413(sim: RunningSim) -> None:
    """reference §6.1: 413 request too large."""
    limits(sim, max_body_bytes=2048)
    big = json.dumps({"name": "x" * 4096}).encode()
    with dv(sim) as c:
        _dataverse_error(
            c.post("mailboxes", content=big, headers={"Content-Type": "application/json"}), 413
        )

        def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
            yield big[:1000]
            yield big[1000:]

        _dataverse_error(
            c.post("mailboxes", content=chunks(), headers={"Content-Type": "application/json"}),
            413,
        )


_TEXT = st.text(
    alphabet=st.sampled_from(list("abcdemnortsxyz_0123456789 '()/,;=$-.:*@eqandornotnull")),
    max_size=40,
)
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_COLUMNS = st.sampled_from(
    [
        "name",
        "emailaddress",
        "emailrouteraccessapproval",
        "testemailconfigurationscheduled",
        "postponesendinguntil",
        "emailserverprofile@odata.bind",
        "mailboxstatus",
        "x",
        "@odata.type",
        "verboseloggingenabled",
        "_emailserverprofile_value",
        "mailboxid",
    ]
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(option=st.sampled_from(["$filter", "$select", "$orderby", "$expand", "$top"]), text=_TEXT)
def test_fuzzed_query_options_never_500(sim: RunningSim, option: str, text: str) -> None:
    token = _cached_token(sim)
    extra = {"$count": "true"} if option == "$top" else {"$top": "1"}
    with client(sim, token) as c:
        resp = c.get("mailboxes", params={option: text, **extra})
    assert resp.status_code in (200, 400), resp.text
    if resp.status_code == 400:
        error_of(resp)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.dictionaries(_COLUMNS, _VALUES, max_size=4))
def test_fuzzed_payloads_never_500(sim: RunningSim, body: dict[str, Any]) -> None:
    token = _cached_token(sim)
    with client(sim, token) as c:
        resp = c.patch(f"mailboxes({MAILBOX_ALICE})", json=body, headers={"If-Match": "*"})
    assert resp.status_code in (204, 400, 403, 404), resp.text
    if resp.status_code != 204:
        error_of(resp)


_TOKENS: dict[str, str] = {}


def _cached_token(sim: RunningSim) -> str:
    """One token per sim origin: hypothesis runs many examples inside one test."""
    if sim.origin not in _TOKENS:
        _TOKENS[sim.origin] = app_token(sim)
    return _TOKENS[sim.origin]


_SEGMENTS = st.lists(
    st.sampled_from(
        [
            "mailboxes",
            f"mailboxes({MAILBOX_ALICE})",
            "systemusers(x)",
            "$ref",
            "$batch",
            "WhoAmI",
            "WhoAmI()",
            "tracelog_Mailbox",
            "emailserverprofile",
            "name",
            "(",
            ")",
            "",
            "systemuserroles_association(1)",
            "$metadata",
            "roles",
            "%28",
            "teams()",
        ]
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=_SEGMENTS,
    method=st.sampled_from(["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]),
)
def test_fuzzed_paths_never_500(sim: RunningSim, segments: list[str], method: str) -> None:
    token = _cached_token(sim)
    with client(sim, token) as c:
        resp = c.request(method, "/".join(segments), json={"name": "fuzz"})
    assert resp.status_code < 500 or resp.status_code == 501, resp.text
    if resp.status_code >= 400:
        error_of(resp)
