"""GraphClient against the sim's Graph face: users, memberships, active directory roles."""

from __future__ import annotations

import uuid

import pytest

from dataverse import GraphClient
from dataverse.errors import InvalidIdentifier, NotFound
from dataverse.models import EntraRoleTemplate
from tests.dataverse.conftest import oid
from tests.simharness import RunningSim

EXCHANGE_ADMIN = EntraRoleTemplate.EXCHANGE_ADMINISTRATOR
GLOBAL_ADMIN = EntraRoleTemplate.GLOBAL_ADMINISTRATOR


def _group_id(sim: RunningSim, name: str) -> uuid.UUID:
    return uuid.UUID(next(g.id for g in sim.fixture.groups if g.name == name))


def _graph_requests(sim: RunningSim) -> list[dict[str, object]]:
    return [r for r in sim.requests() if str(r["path"]).startswith("/v1.0/")]


async def test_a_direct_role(sim: RunningSim, graph: GraphClient) -> None:
    roles = await graph.active_roles(oid(sim, "gina"))

    assert roles.has(GLOBAL_ADMIN)
    assert not roles.has(EXCHANGE_ADMIN)
    assert all(h.via_group is None for h in roles.held)


async def test_a_role_through_a_group(sim: RunningSim, graph: GraphClient) -> None:
    operators = _group_id(sim, "Exchange Operators")

    roles = await graph.active_roles(oid(sim, "tess"))

    assert roles.template_ids == {EXCHANGE_ADMIN}
    assert operators in roles.group_ids
    [held] = roles.held
    assert held.via_group == operators
    assert held.assignment.principal_id == operators
    assert held.assignment.tenant_wide


async def test_no_roles(sim: RunningSim, graph: GraphClient) -> None:
    roles = await graph.active_roles(oid(sim, "una"))

    assert roles.template_ids == frozenset()
    assert roles.held == ()


async def test_roles_are_asked_per_principal_with_quoted_ids(
    sim: RunningSim, graph: GraphClient
) -> None:
    user = oid(sim, "tess")

    await graph.active_roles(user)

    queries = [
        str(r["query"]) for r in _graph_requests(sim) if "roleAssignments" in str(r["path"])
    ]
    principals = (user, _group_id(sim, "Exchange Operators"))
    assert sorted(queries) == sorted(f"$filter=principalId eq '{p}'" for p in principals)
    [members] = [r for r in _graph_requests(sim) if "transitiveMemberOf" in str(r["path"])]
    assert members["path"] == f"/v1.0/users/{user}/transitiveMemberOf/microsoft.graph.group"
    assert "$count=true" in str(members["query"])


async def test_get_a_user_by_id_and_by_upn(sim: RunningSim, graph: GraphClient) -> None:
    by_id = await graph.get_user(oid(sim, "alice"))
    by_upn = await graph.get_user("alice@contoso.com")

    assert by_id == by_upn
    assert by_id.display_name == "Alice Anders"
    assert by_id.user_principal_name == "alice@contoso.com"


async def test_an_unknown_user(graph: GraphClient) -> None:
    missing = uuid.uuid4()

    with pytest.raises(NotFound) as caught:
        await graph.get_user(missing)

    assert caught.value.service == "graph"
    assert await graph.find_user(missing) is None


async def test_users_by_upn_and_by_name(sim: RunningSim, graph: GraphClient) -> None:
    [alice] = await graph.users_by_upn("alice@contoso.com")
    named = await graph.users_named("Ali")

    assert alice.id == uuid.UUID(oid(sim, "alice"))
    assert [u.id for u in named] == [alice.id]


async def test_a_quote_in_a_name_is_escaped(sim: RunningSim, graph: GraphClient) -> None:
    assert await graph.users_named("O'Brien') or startswith(displayName,'") == []

    [request] = _graph_requests(sim)
    assert "startswith(displayName,'O''Brien'') or startswith(displayName,''')" in str(
        request["query"]
    )


async def test_a_bad_identifier_is_refused_before_any_request(
    sim: RunningSim, graph: GraphClient
) -> None:
    with pytest.raises(InvalidIdentifier):
        await graph.active_roles("aa000000' or true")
    with pytest.raises(InvalidIdentifier):
        await graph.get_user("not a upn/../users")

    assert _graph_requests(sim) == []


# ---- a group's users ---------------------------------------------------------------------


async def test_the_users_of_a_group(sim: RunningSim, graph: GraphClient) -> None:
    """group-list-transitivemembers (learn.microsoft.com/graph/api/group-list-transitivemembers):
    the cast to microsoft.graph.user is an advanced query ($count=true with ConsistencyLevel:
    eventual, which the sim requires), with $select for accountEnabled."""
    operators = _group_id(sim, "Exchange Operators")

    [tess] = await graph.group_members(operators)

    assert tess.id == uuid.UUID(oid(sim, "tess"))
    assert (tess.display_name, tess.user_principal_name) == ("Tess Teamadmin", "tess@contoso.com")
    assert tess.account_enabled is True
    [request] = _graph_requests(sim)
    assert request["path"] == f"/v1.0/groups/{operators}/transitiveMembers/microsoft.graph.user"
    assert "$count=true" in str(request["query"])
    assert "$select=id,displayName,userPrincipalName,mail,accountEnabled" in str(request["query"])


async def test_the_users_of_a_large_group_come_page_by_page(
    sim: RunningSim, graph: GraphClient
) -> None:
    """group-list-members: more than 100 members page with @odata.nextLink, followed."""
    members = [sim.add_user(f"Member {i:03}", enabled=i % 2 == 0) for i in range(130)]
    group = sim.add_group("Many Members", members)

    users = await graph.group_members(group)

    assert [str(u.id) for u in users] == members
    assert [u.account_enabled for u in users[:3]] == [True, False, True]
    assert len(_graph_requests(sim)) == 2


async def test_the_users_of_an_unknown_group(sim: RunningSim, graph: GraphClient) -> None:
    with pytest.raises(NotFound) as caught:
        await graph.group_members(uuid.uuid4())

    assert caught.value.service == "graph"
    with pytest.raises(InvalidIdentifier):
        await graph.group_members("96000000' or true")
    assert len(_graph_requests(sim)) == 1
