"""OData casts through the namespace alias on the Graph face.

Graph's CSDL declares `graph` as the alias of its namespace `microsoft.graph`, and OData CSDL
lets a qualified name use either; Microsoft's SDKs send the alias (`…/transitiveMemberOf/
graph.group`, `…/transitiveMembers/graph.user`), and Graph answers it as the full name
(reference/dataverse.md §7; user-list-transitivememberof, group-list-transitivemembers).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sim.entra import GRAPH_RESOURCE
from sim.tls import client_context
from tests.simharness import RunningSim

ADVANCED = {"ConsistencyLevel": "eventual"}


@pytest.fixture
def graph(sim: RunningSim) -> Iterator[httpx.Client]:
    with httpx.Client(verify=client_context(sim.ca_path)) as auth:
        token = (
            auth.post(
                f"{sim.authority}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": sim.client_id,
                    "client_secret": sim.client_secret,
                    "scope": f"{GRAPH_RESOURCE}/.default",
                },
            )
            .raise_for_status()
            .json()["access_token"]
        )
    with httpx.Client(
        base_url=sim.graph_base,
        verify=client_context(sim.ca_path),
        headers={"Authorization": f"Bearer {token}", **ADVANCED},
    ) as client:
        yield client


def _answer(resp: httpx.Response) -> tuple[int, Any]:
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        body = resp.json()
        if "error" in body:  # ids and dates differ per call
            return resp.status_code, body["error"]["code"]
        return resp.status_code, body
    return resp.status_code, resp.text


def _group_id(sim: RunningSim, name: str) -> str:
    gid: str = next(g.id for g in sim.fixture.groups if g.name == name)
    return gid


@pytest.mark.parametrize(
    ("route", "cast"),
    [
        ("users/{tess}/transitiveMemberOf/{ns}.{cast}", "group"),
        ("users/{tess}/transitiveMemberOf/{ns}.{cast}", "directoryRole"),
        ("users/{tess}/transitiveMemberOf/{ns}.{cast}/$count", "group"),
        ("groups/{group}/transitiveMembers/{ns}.{cast}", "user"),
        ("groups/{group}/transitiveMembers/{ns}.{cast}/$count", "user"),
        ("groups/{group}/transitiveMembers/{ns}.{cast}", "device"),
        ("users/{tess}/transitiveMemberOf/{ns}.{cast}", "nosuchtype"),
        ("groups/{group}/transitiveMembers/{ns}.{cast}", "nosuchtype"),
    ],
)
def test_alias_cast_answers_as_the_full_name(
    sim: RunningSim, graph: httpx.Client, route: str, cast: str
) -> None:
    """reference §7: `graph.<type>` and `microsoft.graph.<type>` are the same cast, for the
    answer and for its errors alike."""
    ids = {"tess": sim.person("tess").object_id, "group": _group_id(sim, "Exchange Operators")}
    params = {"$count": "true"} if not route.endswith("$count") else {}
    full = graph.get(route.format(ns="microsoft.graph", cast=cast, **ids), params=params)
    alias = graph.get(route.format(ns="graph", cast=cast, **ids), params=params)
    assert _answer(alias) == _answer(full)
    if cast != "nosuchtype":
        assert full.status_code == 200, full.text


def test_alias_cast_finds_the_members(sim: RunningSim, graph: httpx.Client) -> None:
    """user-list-transitivememberof: tess is in "Exchange Operators" (through the alias)."""
    tess = sim.person("tess").object_id
    body = graph.get(
        f"users/{tess}/transitiveMemberOf/graph.group", params={"$count": "true"}
    ).json()
    assert [g["id"] for g in body["value"]] == [_group_id(sim, "Exchange Operators")]
    assert body["@odata.count"] == 1


def test_only_the_declared_alias_is_taken(sim: RunningSim, graph: httpx.Client) -> None:
    """The alias is `graph` alone: another prefix is no type Graph knows."""
    tess = sim.person("tess").object_id
    resp = graph.get(f"users/{tess}/transitiveMemberOf/msgraph.group", params={"$count": "true"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] in {"Request_BadRequest", "Request_UnsupportedQuery"}
