"""The Graph face: role assignments, users and memberships as Graph v1.0 documents them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from sim.entra import GRAPH_RESOURCE, issue_app_token, issue_user_token, sign
from sim.fixture import ENTRA_ROLE_TEMPLATE_IDS, EntraRole
from sim.tls import client_context
from tests.simharness import RunningSim

EXCHANGE_ADMIN = ENTRA_ROLE_TEMPLATE_IDS[EntraRole.EXCHANGE_ADMIN]
GLOBAL_ADMIN = ENTRA_ROLE_TEMPLATE_IDS[EntraRole.GLOBAL_ADMIN]
ASSIGNMENTS = "roleManagement/directory/roleAssignments"


def _app_token(sim: RunningSim) -> str:
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        resp = client.post(
            f"{sim.authority}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
                "scope": f"{GRAPH_RESOURCE}/.default",
            },
        )
    token: str = resp.raise_for_status().json()["access_token"]
    return token


def _client(sim: RunningSim, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(
        base_url=sim.graph_base, verify=client_context(sim.ca_path), headers=headers
    )


@pytest.fixture
def graph(sim: RunningSim) -> Iterator[httpx.Client]:
    with _client(sim, _app_token(sim)) as client:
        yield client


def _oid(sim: RunningSim, name: str) -> str:
    oid: str = sim.person(name).object_id
    return oid


def _group_id(sim: RunningSim, name: str) -> str:
    gid: str = next(g.id for g in sim.fixture.groups if g.name == name)
    return gid


def _graph_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["code"] == code
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()
    return error


# ---- role assignments ------------------------------------------------------------------


def test_direct_role_assignment(sim: RunningSim, graph: httpx.Client) -> None:
    """reference/dataverse.md §7: roleAssignments?$filter=principalId eq '<oid>' (eddie)."""
    eddie = _oid(sim, "eddie")
    resp = graph.get(ASSIGNMENTS, params={"$filter": f"principalId eq '{eddie}'"})
    assert resp.status_code == 200, resp.text
    value = resp.json()["value"]
    assert [a["roleDefinitionId"] for a in value] == [EXCHANGE_ADMIN]
    assert value[0]["principalId"] == eddie
    assert value[0]["directoryScopeId"] == "/"
    assert value[0]["id"]


def test_role_through_group(sim: RunningSim, graph: httpx.Client) -> None:
    """reference/dataverse.md §7: roleAssignments lists direct assignments only; tess holds
    Exchange admin through the group "Exchange Operators", seen via transitiveMemberOf."""
    tess = _oid(sim, "tess")
    group = _group_id(sim, "Exchange Operators")
    direct = graph.get(ASSIGNMENTS, params={"$filter": f"principalId eq '{tess}'"}).json()
    assert direct["value"] == []
    memberships = graph.get(f"users/{tess}/transitiveMemberOf").json()["value"]
    assert {m["@odata.type"] for m in memberships} == {
        "#microsoft.graph.group",
        "#microsoft.graph.directoryRole",
    }
    assert group in {m["id"] for m in memberships}
    by_group = graph.get(ASSIGNMENTS, params={"$filter": f"principalId eq '{group}'"}).json()
    assert [a["roleDefinitionId"] for a in by_group["value"]] == [EXCHANGE_ADMIN]
    roles = graph.get(
        f"users/{tess}/transitiveMemberOf/microsoft.graph.directoryRole",
        params={"$count": "true"},
        headers={"ConsistencyLevel": "eventual"},
    ).json()
    assert [r["roleTemplateId"] for r in roles["value"]] == [EXCHANGE_ADMIN]
    assert roles["@odata.count"] == 1


def test_cast_needs_consistency_level(sim: RunningSim, graph: httpx.Client) -> None:
    """user-list-transitivememberof: an OData cast needs ConsistencyLevel: eventual + $count."""
    tess = _oid(sim, "tess")
    resp = graph.get(f"users/{tess}/transitiveMemberOf/microsoft.graph.group")
    _graph_error(resp, 400, "Request_UnsupportedQuery")
    count = graph.get(
        f"users/{tess}/transitiveMemberOf/microsoft.graph.group/$count",
        headers={"ConsistencyLevel": "eventual"},
    )
    assert count.text == "1"


def test_role_assignment_filters(sim: RunningSim, graph: httpx.Client) -> None:
    """unifiedRoleAssignment: principalId and roleDefinitionId support eq and in; $expand."""
    gina, eddie = _oid(sim, "gina"), _oid(sim, "eddie")
    both = graph.get(ASSIGNMENTS, params={"$filter": f"principalId in ('{gina}', '{eddie}')"})
    assert {a["principalId"] for a in both.json()["value"]} == {gina, eddie}
    globals_ = graph.get(
        ASSIGNMENTS,
        params={"$filter": f"roleDefinitionId eq '{GLOBAL_ADMIN}'", "$expand": "principal"},
    ).json()
    names = {a["principal"]["userPrincipalName"] for a in globals_["value"]}
    assert names == {"gina@contoso.com", "gary@contoso.com"}
    assert globals_["value"][0]["principal"]["@odata.type"] == "#microsoft.graph.user"
    combined = graph.get(
        ASSIGNMENTS,
        params={"$filter": f"principalId eq '{gina}' and roleDefinitionId eq '{GLOBAL_ADMIN}'"},
    )
    assert len(combined.json()["value"]) == 1
    selected = graph.get(ASSIGNMENTS, params={"$select": "principalId"}).json()["value"]
    assert all(set(a) == {"principalId"} for a in selected)


@pytest.mark.parametrize(
    ("flt", "code"),
    [
        ("principalId eq", "Request_BadRequest"),
        ("principalId eq 'a' or principalId eq 'b'", "Request_UnsupportedQuery"),
        ("principalId ne 'a'", "Request_UnsupportedQuery"),
        ("startswith(principalId, 'a')", "Request_UnsupportedQuery"),
        ("nosuch eq 'a'", "BadRequest"),
        ("principalId eq 5", "Request_BadRequest"),
        ("((((", "Request_BadRequest"),
        ("principalId eq 'x' $$ ~~", "Request_BadRequest"),
    ],
)
def test_malformed_or_unsupported_filter_is_400(graph: httpx.Client, flt: str, code: str) -> None:
    """Graph answers malformed or unsupported $filter with 400, never a 500."""
    _graph_error(graph.get(ASSIGNMENTS, params={"$filter": flt}), 400, code)


# ---- users ----------------------------------------------------------------------------


def test_get_user_by_id_or_upn(sim: RunningSim, graph: httpx.Client) -> None:
    """user-get: GET /users/{id | userPrincipalName}; 404 Request_ResourceNotFound."""
    alice = _oid(sim, "alice")
    by_id = graph.get(f"users/{alice}").json()
    by_upn = graph.get("users/ALICE@contoso.com").json()
    assert by_id["id"] == by_upn["id"] == alice
    assert by_id["userPrincipalName"] == "alice@contoso.com"
    assert "accountEnabled" not in by_id  # not a default property
    picked = graph.get(f"users/{alice}", params={"$select": "id,accountEnabled"}).json()
    assert picked["accountEnabled"] is True
    assert "displayName" not in picked
    _graph_error(graph.get("users/nobody@contoso.com"), 404, "Request_ResourceNotFound")
    _graph_error(graph.get(f"users/{alice}", params={"$select": "bogus"}), 400, "BadRequest")


def test_user_filters(sim: RunningSim, graph: httpx.Client) -> None:
    """user-list: eq on userPrincipalName/mail, startswith(displayName), accountEnabled eq."""

    def names(flt: str, **headers: str) -> set[str]:
        params = {"$filter": flt}
        if headers:
            params["$count"] = "true"
        resp = graph.get("users", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        return {u["userPrincipalName"].split("@")[0] for u in resp.json()["value"]}

    assert names("userPrincipalName eq 'alice@contoso.com'") == {"alice"}
    assert names("mail eq 'BOB@contoso.com'") == {"bob"}
    assert names("startswith(displayName,'Eddie')") == {"eddie"}
    assert len(names("accountEnabled eq true")) == len(sim.fixture.people)
    assert names("userPrincipalName eq 'alice@contoso.com' or mail eq 'bob@contoso.com'") == {
        "alice",
        "bob",
    }
    # endswith is an advanced query.
    resp = graph.get("users", params={"$filter": "endswith(mail,'@contoso.com')"})
    _graph_error(resp, 400, "Request_UnsupportedQuery")
    everyone = names("endswith(mail,'@contoso.com')", ConsistencyLevel="eventual")
    assert len(everyone) == len(sim.fixture.people)


def test_users_paging(sim: RunningSim, graph: httpx.Client) -> None:
    """user-list: $top pages with @odata.nextLink ($skiptoken); 999 is the largest page."""
    seen: list[str] = []
    url: str | None = "users?$top=4&$select=id"
    pages = 0
    while url:
        body = graph.get(url).json()
        seen += [u["id"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert len(seen) == len(set(seen)) == len(sim.fixture.people)
    assert pages == -(-len(seen) // 4)
    _graph_error(graph.get("users", params={"$top": "1000"}), 400, "Request_BadRequest")
    _graph_error(graph.get("users", params={"$skiptoken": "garbage!"}), 400, "Request_BadRequest")


def test_count_needs_consistency_level(sim: RunningSim, graph: httpx.Client) -> None:
    """Advanced queries: $count needs ConsistencyLevel: eventual."""
    _graph_error(graph.get("users", params={"$count": "true"}), 400, "Request_BadRequest")
    body = graph.get(
        "users", params={"$count": "true"}, headers={"ConsistencyLevel": "eventual"}
    ).json()
    assert body["@odata.count"] == len(sim.fixture.people)


# ---- authorization ---------------------------------------------------------------------


def test_missing_or_wrong_token_is_401(sim: RunningSim) -> None:
    """Graph answers a missing or wrong-audience token with 401 InvalidAuthenticationToken."""
    with _client(sim, None) as anonymous:
        _graph_error(anonymous.get("users"), 401, "InvalidAuthenticationToken")
    dataverse = sim.thread.call(lambda: issue_app_token(sim.sim, audience=sim.origin))
    with _client(sim, dataverse) as wrong:
        _graph_error(wrong.get("users"), 401, "InvalidAuthenticationToken")


def test_token_without_the_permission_is_403(sim: RunningSim) -> None:
    """reference/dataverse.md §7: RoleManagement.Read.Directory / User.Read.All are needed."""

    def without_roles() -> str:
        claims = jwt.decode(
            issue_app_token(sim.sim, audience=GRAPH_RESOURCE), options={"verify_signature": False}
        )
        claims["roles"] = ["User.Read.All"]
        return sign(sim.sim, claims)

    with _client(sim, sim.thread.call(without_roles)) as client:
        _graph_error(client.get(ASSIGNMENTS), 403, "Authorization_RequestDenied")
        assert client.get("users").status_code == 200
    sso = sim.thread.call(
        lambda: issue_user_token(
            sim.sim, object_id=_oid(sim, "alice"), audience=GRAPH_RESOURCE, scopes=["User.Read"]
        )
    )
    with _client(sim, sso) as delegated:
        _graph_error(delegated.get(ASSIGNMENTS), 403, "Authorization_RequestDenied")


def test_unknown_segment_is_400(graph: httpx.Client) -> None:
    """Graph answers an unknown path segment with 400 BadRequest."""
    _graph_error(graph.get("groups"), 400, "BadRequest")
    _graph_error(graph.delete("users"), 405, "Request_BadRequest")


def test_graph_calls_are_recorded(sim: RunningSim, graph: httpx.Client) -> None:
    """Admin face: every Graph call is recorded with its caller."""
    graph.get("users", params={"$top": "1"})
    recorded = sim.requests()[-1]
    assert recorded["method"] == "GET"
    assert recorded["path"] == "/v1.0/users"
    assert recorded["query"] == "$top=1"
    assert recorded["caller_object_id"] == sim.fixture.application.object_id
    assert recorded["status"] == 200


# ---- a group's members -------------------------------------------------------------------
# https://learn.microsoft.com/graph/api/group-list-transitivemembers?view=graph-rest-1.0


def _members(graph: httpx.Client, group: str, cast: str = "", **params: str) -> httpx.Response:
    path = f"groups/{group}/transitiveMembers" + (f"/{cast}" if cast else "")
    headers = {"ConsistencyLevel": "eventual"} if params.get("$count") == "true" else {}
    return graph.get(path, params=params, headers=headers)


def test_group_transitive_members(sim: RunningSim, graph: httpx.Client) -> None:
    """group-list-transitivemembers: a flat list of directoryObjects, each with @odata.type;
    cast to microsoft.graph.user with $select and $count (an advanced query, aad-advanced-
    queries: "Use of OData cast with transitive members list"); accountEnabled on $select."""
    group, tess = _group_id(sim, "Exchange Operators"), _oid(sim, "tess")
    plain = _members(graph, group)
    assert plain.status_code == 200, plain.text
    [member] = plain.json()["value"]
    assert plain.json()["@odata.context"].endswith("$metadata#directoryObjects")
    assert member["@odata.type"] == "#microsoft.graph.user"
    assert (member["id"], member["displayName"]) == (tess, "Tess Teamadmin")
    assert "accountEnabled" not in member  # not a default property

    users = _members(
        graph,
        group,
        "microsoft.graph.user",
        **{"$count": "true", "$select": "id,displayName,accountEnabled"},
    ).json()
    assert users["@odata.context"].endswith("$metadata#users(id,displayName,accountEnabled)")
    assert users["@odata.count"] == 1
    assert users["value"] == [
        {"id": tess, "displayName": "Tess Teamadmin", "accountEnabled": True}
    ]
    # A role-assignable group holds no groups (Entra: groups-concept).
    groups = _members(graph, group, "microsoft.graph.group", **{"$count": "true"}).json()
    assert groups["value"] == []
    count = graph.get(
        f"groups/{group}/transitiveMembers/microsoft.graph.user/$count",
        headers={"ConsistencyLevel": "eventual"},
    )
    assert count.text == "1"


def test_group_members_of_other_types_and_the_cast(sim: RunningSim, graph: httpx.Client) -> None:
    """group-list-transitivemembers: members of every type are listed, each with its
    @odata.type; the cast to microsoft.graph.user keeps the users only."""
    tess, app = _oid(sim, "tess"), sim.fixture.application.object_id
    group = sim.add_group("Mixed", [app, tess])
    everyone = graph.get(f"groups/{group}/transitiveMembers").json()["value"]
    assert [(m["@odata.type"], m["id"]) for m in everyone] == [
        ("#microsoft.graph.user", tess),
        ("#microsoft.graph.servicePrincipal", app),
    ]
    assert "businessPhones" not in everyone[1]  # not shaped as a user
    users = _members(graph, group, "microsoft.graph.user", **{"$count": "true"}).json()
    assert [u["id"] for u in users["value"]] == [tess]
    apps = _members(graph, group, "microsoft.graph.servicePrincipal", **{"$count": "true"})
    assert [a["id"] for a in apps.json()["value"]] == [app]


def test_group_members_cast_and_filter_need_advanced_query(
    sim: RunningSim, graph: httpx.Client
) -> None:
    """group-list-transitivemembers: $filter and an OData cast need ConsistencyLevel:
    eventual with $count=true; a cast to a type no member can have is 400
    Request_UnsupportedQuery; options the sim does not carry are refused, never ignored."""
    group = _group_id(sim, "Exchange Operators")
    base = f"groups/{group}/transitiveMembers"
    _graph_error(graph.get(f"{base}/microsoft.graph.user"), 400, "Request_UnsupportedQuery")
    _graph_error(
        graph.get(f"{base}/microsoft.graph.user", headers={"ConsistencyLevel": "eventual"}),
        400,
        "Request_UnsupportedQuery",
    )
    flt = {"$filter": "startswith(displayName,'Tess')"}
    _graph_error(graph.get(base, params=flt), 400, "Request_UnsupportedQuery")
    found = _members(graph, group, **flt, **{"$count": "true"}).json()["value"]
    assert [m["displayName"] for m in found] == ["Tess Teamadmin"]
    _graph_error(
        _members(graph, group, "microsoft.graph.directoryRole", **{"$count": "true"}),
        400,
        "Request_UnsupportedQuery",
    )
    _graph_error(graph.get(base, params={"$expand": "manager"}), 400, "Request_UnsupportedQuery")
    _graph_error(graph.get(base, params={"$select": "bogus"}), 400, "BadRequest")
    _graph_error(graph.get(f"{base}/$count"), 400, "Request_BadRequest")


def test_group_members_paging(sim: RunningSim, graph: httpx.Client) -> None:
    """group-list-members / paging: a large membership pages with @odata.nextLink
    ($top 1…999, default 100)."""
    members = [sim.add_user(f"Member {i:03}") for i in range(105)]
    group = sim.add_group("Many Members", members)
    first = graph.get(f"groups/{group}/transitiveMembers").json()
    assert len(first["value"]) == 100
    assert first["@odata.nextLink"]
    seen: list[str] = []
    url: str | None = f"groups/{group}/transitiveMembers?$top=40&$select=id"
    pages = 0
    while url:
        body = graph.get(url).json()
        seen += [m["id"] for m in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert seen == members
    assert pages == 3


def test_unknown_group_is_404(sim: RunningSim, graph: httpx.Client) -> None:
    """Graph answers an id that is no group (unknown, or a user's) with 404
    Request_ResourceNotFound and its error body."""
    for key in (str(uuid.uuid4()), _oid(sim, "tess")):
        _graph_error(graph.get(f"groups/{key}/transitiveMembers"), 404, "Request_ResourceNotFound")
        resp = _members(graph, key, "microsoft.graph.user", **{"$count": "true"})
        _graph_error(resp, 404, "Request_ResourceNotFound")


def test_group_members_need_group_member_read(sim: RunningSim) -> None:
    """group-list-transitivemembers: GroupMember.Read.All is the least privileged permission
    (Group.Read.All, Directory.Read.All … also do); User.Read.All is not enough."""
    group = _group_id(sim, "Exchange Operators")

    def app_token(roles: list[str]) -> str:
        claims = jwt.decode(
            issue_app_token(sim.sim, audience=GRAPH_RESOURCE), options={"verify_signature": False}
        )
        claims["roles"] = roles
        return sign(sim.sim, claims)

    for roles, status in (
        (["User.Read.All", "RoleManagement.Read.Directory"], 403),
        (["GroupMember.Read.All"], 200),
        (["Directory.Read.All"], 200),
    ):
        with _client(sim, sim.thread.call(functools.partial(app_token, roles))) as client:
            resp = client.get(f"groups/{group}/transitiveMembers")
            assert resp.status_code == status, (roles, resp.text)
            if status == 403:
                _graph_error(resp, 403, "Authorization_RequestDenied")
