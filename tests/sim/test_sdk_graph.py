"""Microsoft's Graph SDK for Python (msgraph-sdk), unchanged, against the sim's Graph face:
every kind of call the bot makes (dataverse/graph.py).

The SDK addresses OData casts through the namespace alias, e.g.
`users/{id}/transitiveMemberOf/graph.group` and `groups/{id}/transitiveMembers/graph.user`,
which Graph accepts as it accepts `microsoft.graph.group` (reference §7). It authenticates
with an azure-core AsyncTokenCredential: here one that gets a real app-only token from the
sim's Entra face with client credentials (reference §6.9), through the bot's EntraApp. Its
HTTP client is httpx with the SDK's default middleware, trusting the sim's CA only.

The sim runs in its own thread; the SDK is asyncio-based and runs in the test's loop.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any, Final
from urllib.parse import urlparse

import httpx
import pytest
from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

from dataverse import EntraApp
from sim.entra import GRAPH_RESOURCE, issue_user_token
from sim.fixture import ENTRA_ROLE_TEMPLATE_IDS, EntraRole
from sim.tls import client_context
from tests.simharness import RunningSim

# msgraph-sdk's generated request builders, and kiota-abstractions under them, warn about
# their own deprecated classes as they are imported (at import here, and lazily when a test
# walks a path); not ours to fix, as botbuilder's are not (pyproject's filterwarnings).
_SDK_DEPRECATIONS: Final = ("msgraph.*", "kiota_abstractions.*")
pytestmark = [
    pytest.mark.filterwarnings(f"ignore::DeprecationWarning:{m}") for m in _SDK_DEPRECATIONS
]

with warnings.catch_warnings():
    for module in _SDK_DEPRECATIONS:
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph.generated.groups.item.transitive_members.graph_user.graph_user_request_builder import (  # noqa: E501
        GraphUserRequestBuilder,
    )
    from msgraph.generated.models.group import Group
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.user import User
    from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (  # noqa: E501
        RoleAssignmentsRequestBuilder,
    )
    from msgraph.generated.users.item.transitive_member_of.graph_directory_role.graph_directory_role_request_builder import (  # noqa: E501
        GraphDirectoryRoleRequestBuilder,
    )
    from msgraph.generated.users.item.transitive_member_of.graph_group.graph_group_request_builder import (  # noqa: E501
        GraphGroupRequestBuilder,
    )
    from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory  # type: ignore[import-untyped]


EXCHANGE_ADMIN = ENTRA_ROLE_TEMPLATE_IDS[EntraRole.EXCHANGE_ADMIN]
GRAPH_SCOPE = f"{GRAPH_RESOURCE}/.default"


class EntraCredential(AsyncTokenCredential):
    """An azure-core AsyncTokenCredential over the sim's Entra face: client credentials."""

    def __init__(self, app: EntraApp) -> None:
        self.app = app
        self.scopes: list[tuple[str, ...]] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        token = await self.app.acquire_for_client(scopes)
        return AccessToken(token.value, int(token.expires_at))

    async def close(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class FixedToken(AsyncTokenCredential):
    """A credential holding one token the sim's Entra face minted (a delegated user's)."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, 2**31 - 1)

    async def close(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


@pytest.fixture
async def connect(sim: RunningSim) -> AsyncIterator[Any]:
    """`connect(credential)` → a GraphServiceClient on the sim's /v1.0 (closed afterwards)."""
    # msgraph-core's AsyncGraphTransport wraps the client's transport and has no aclose(), so
    # closing the client leaves the connections open: the test keeps and closes its own.
    opened: list[httpx.AsyncHTTPTransport | httpx.AsyncClient] = []

    def make(credential: AsyncTokenCredential) -> GraphServiceClient:
        host = urlparse(sim.origin).hostname
        assert host is not None
        auth = AzureIdentityAuthenticationProvider(
            credential, scopes=[GRAPH_SCOPE], allowed_hosts=[host]
        )
        transport = httpx.AsyncHTTPTransport(verify=client_context(sim.ca_path))
        client = httpx.AsyncClient(transport=transport)
        opened.extend([client, transport])
        adapter = GraphRequestAdapter(
            auth, GraphClientFactory.create_with_default_middleware(client=client)
        )
        adapter.base_url = f"{sim.origin}/v1.0"
        return GraphServiceClient(request_adapter=adapter)

    yield make
    for resource in opened:
        await resource.aclose()


@pytest.fixture
def credential(entra: EntraApp) -> EntraCredential:
    return EntraCredential(entra)


@pytest.fixture
def graph_sdk(connect: Any, credential: EntraCredential) -> GraphServiceClient:
    client: GraphServiceClient = connect(credential)
    return client


def _oid(sim: RunningSim, name: str) -> str:
    oid: str = sim.person(name).object_id
    return oid


def _group_id(sim: RunningSim, name: str) -> str:
    gid: str = next(g.id for g in sim.fixture.groups if g.name == name)
    return gid


def _graph_paths(sim: RunningSim) -> list[str]:
    return [r["path"] for r in sim.requests() if r["path"].startswith("/v1.0/")]


def _raw(sim: RunningSim, path: str, **params: str) -> Any:
    """The sim's own answer over plain HTTP, for comparison."""
    headers = {"Authorization": f"Bearer {_app_token(sim)}", "ConsistencyLevel": "eventual"}
    with httpx.Client(verify=client_context(sim.ca_path), headers=headers) as client:
        resp = client.get(f"{sim.graph_base}{path}", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _app_token(sim: RunningSim) -> str:
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        resp = client.post(
            f"{sim.authority}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
                "scope": GRAPH_SCOPE,
            },
        )
    token: str = resp.raise_for_status().json()["access_token"]
    return token


def _advanced() -> RequestConfiguration[Any]:
    """An advanced query: `ConsistencyLevel: eventual` (aad-advanced-queries)."""
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("ConsistencyLevel", "eventual")
    return config


# ---- role assignments ----------------------------------------------------------------------


async def test_role_assignments_with_principals(
    sim: RunningSim, graph_sdk: GraphServiceClient, credential: EntraCredential
) -> None:
    """rbacapplication-list-roleassignments (reference §7): `$filter=roleDefinitionId eq '…'`
    with `$expand=principal`; each principal is typed by its `@odata.type`."""
    query = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
        filter=f"roleDefinitionId eq '{EXCHANGE_ADMIN}'", expand=["principal"]
    )
    answer = await graph_sdk.role_management.directory.role_assignments.get(
        RequestConfiguration(query_parameters=query)
    )
    assert answer is not None and answer.value
    expected = _raw(
        sim,
        "roleManagement/directory/roleAssignments",
        **{"$filter": f"roleDefinitionId eq '{EXCHANGE_ADMIN}'", "$expand": "principal"},
    )["value"]
    assert [(a.id, a.principal_id) for a in answer.value] == [
        (e["id"], e["principalId"]) for e in expected
    ]
    for assignment, raw in zip(answer.value, expected, strict=True):
        assert assignment.role_definition_id == EXCHANGE_ADMIN
        assert assignment.principal is not None
        assert assignment.principal.id == assignment.principal_id
        assert assignment.principal.odata_type == raw["principal"]["@odata.type"]
    kinds = {type(a.principal) for a in answer.value}
    assert kinds == {User, Group}  # eddie directly, "Exchange Operators" as a group
    assert credential.scopes[0] == (GRAPH_SCOPE,)


async def test_role_assignments_of_a_principal(
    sim: RunningSim, graph_sdk: GraphServiceClient
) -> None:
    """reference §7: `$filter=principalId eq '<objectId>'` lists direct assignments only."""
    query = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
        filter=f"principalId eq '{_oid(sim, 'eddie')}'"
    )
    answer = await graph_sdk.role_management.directory.role_assignments.get(
        RequestConfiguration(query_parameters=query)
    )
    assert answer is not None and answer.value is not None
    assert [a.role_definition_id for a in answer.value] == [EXCHANGE_ADMIN]


# ---- transitive memberships ----------------------------------------------------------------


async def test_transitive_member_of_cast_by_alias_with_count(
    sim: RunningSim, graph_sdk: GraphServiceClient
) -> None:
    """user-list-transitivememberof + aad-advanced-queries: the cast (sent by the SDK as
    `graph.group`, the CSDL alias, reference §7) with `$count=true` and `ConsistencyLevel:
    eventual`; then the `/$count` segment."""
    tess = _oid(sim, "tess")
    config = _advanced()
    config.query_parameters = GraphGroupRequestBuilder.GraphGroupRequestBuilderGetQueryParameters(
        count=True, select=["id"]
    )
    member_of = graph_sdk.users.by_user_id(tess).transitive_member_of
    groups = await member_of.graph_group.get(config)
    assert groups is not None and groups.value is not None
    assert [g.id for g in groups.value] == [_group_id(sim, "Exchange Operators")]
    assert groups.odata_count == 1
    assert await member_of.graph_group.count.get(_advanced()) == 1

    role_config = _advanced()
    role_config.query_parameters = (
        GraphDirectoryRoleRequestBuilder.GraphDirectoryRoleRequestBuilderGetQueryParameters(
            count=True
        )
    )
    roles = await member_of.graph_directory_role.get(role_config)
    assert roles is not None and roles.value is not None
    assert [r.role_template_id for r in roles.value] == [EXCHANGE_ADMIN]
    assert _graph_paths(sim) == [
        f"/v1.0/users/{tess}/transitiveMemberOf/graph.group",
        f"/v1.0/users/{tess}/transitiveMemberOf/graph.group/$count",
        f"/v1.0/users/{tess}/transitiveMemberOf/graph.directoryRole",
    ]


async def test_group_transitive_members_cast_to_users(
    sim: RunningSim, graph_sdk: GraphServiceClient
) -> None:
    """group-list-transitivemembers: `transitiveMembers/graph.user` with `$select`, `$count`
    and `ConsistencyLevel: eventual` lists the users, as the bot's `group_members` does."""
    group = _group_id(sim, "Exchange Operators")
    config = _advanced()
    config.query_parameters = GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters(
        count=True, select=["id", "displayName", "userPrincipalName", "accountEnabled"]
    )
    members = graph_sdk.groups.by_group_id(group).transitive_members
    users = await members.graph_user.get(config)
    assert users is not None and users.value is not None
    expected = _raw(
        sim,
        f"groups/{group}/transitiveMembers/microsoft.graph.user",
        **{"$count": "true", "$select": "id,displayName,userPrincipalName,accountEnabled"},
    )["value"]
    assert [(u.id, u.display_name, u.user_principal_name) for u in users.value] == [
        (e["id"], e["displayName"], e["userPrincipalName"]) for e in expected
    ]
    assert _oid(sim, "tess") in {u.id for u in users.value}
    assert users.odata_count == len(expected)
    assert await members.graph_user.count.get(_advanced()) == len(expected)


async def test_cast_without_consistency_level_is_odata_error(
    sim: RunningSim, graph_sdk: GraphServiceClient
) -> None:
    """aad-advanced-queries: a cast on transitiveMemberOf without the advanced-query header is
    400 Request_UnsupportedQuery; the SDK raises it as an ODataError with Graph's body."""
    with pytest.raises(ODataError) as caught:
        await graph_sdk.users.by_user_id(_oid(sim, "tess")).transitive_member_of.graph_group.get()
    assert caught.value.response_status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "Request_UnsupportedQuery"


# ---- users ---------------------------------------------------------------------------------


async def test_user_by_id(sim: RunningSim, graph_sdk: GraphServiceClient) -> None:
    """user-get: a user by object id with `$select`."""
    gina = _oid(sim, "gina")
    config = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "displayName", "userPrincipalName", "mail", "accountEnabled"]
        )
    )
    user = await graph_sdk.users.by_user_id(gina).get(config)
    raw = _raw(sim, f"users/{gina}")
    assert user is not None
    assert user.id == gina
    assert user.display_name == raw["displayName"]
    assert user.user_principal_name == raw["userPrincipalName"]
    assert user.account_enabled is True


async def test_users_by_filter_follow_next_link(
    sim: RunningSim, graph_sdk: GraphServiceClient
) -> None:
    """user-list and graph/paging: `$top` pages with `@odata.nextLink`, which the SDK follows
    through `with_url`; `$filter` with startswith on displayName and eq on userPrincipalName,
    as the bot's `users_named` and `users_by_upn` list users."""
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        select=["id", "displayName", "userPrincipalName"], top=5
    )
    page = await graph_sdk.users.get(RequestConfiguration(query_parameters=query))
    seen: list[str] = []
    pages = 0
    while page is not None:
        pages += 1
        seen.extend(u.id for u in page.value or [] if u.id)
        link = page.odata_next_link
        page = await graph_sdk.users.with_url(link).get() if link else None
    expected = [u["id"] for u in _raw(sim, "users", **{"$top": "999"})["value"]]
    assert seen == expected
    assert pages == -(-len(expected) // 5) > 1

    named = await graph_sdk.users.get(
        RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                filter="startswith(displayName,'O')", top=10
            )
        )
    )
    assert named is not None and named.value is not None
    raw = _raw(sim, "users", **{"$filter": "startswith(displayName,'O')"})["value"]
    assert [u.display_name for u in named.value] == [u["displayName"] for u in raw]
    assert raw

    upn = _raw(sim, f"users/{_oid(sim, 'gina')}")["userPrincipalName"]
    by_upn = await graph_sdk.users.get(
        RequestConfiguration(
            query_parameters=UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
                filter=f"userPrincipalName eq '{upn}'"
            )
        )
    )
    assert by_upn is not None and by_upn.value is not None
    assert [u.id for u in by_upn.value] == [_oid(sim, "gina")]


async def test_unknown_user_is_404_odata_error(
    sim: RunningSim, graph_sdk: GraphServiceClient
) -> None:
    """user-get: an unknown id is 404 Request_ResourceNotFound, with Graph's innerError."""
    missing = "00000000-0000-4000-8000-00000000dead"
    with pytest.raises(ODataError) as caught:
        await graph_sdk.users.by_user_id(missing).get()
    assert caught.value.response_status_code == 404
    error = caught.value.error
    assert error is not None
    assert error.code == "Request_ResourceNotFound"
    assert error.message is not None and missing in error.message
    assert error.inner_error is not None
    assert error.inner_error.request_id


async def test_missing_permission_is_403_odata_error(sim: RunningSim, connect: Any) -> None:
    """rbacapplication-list-roleassignments: a token without RoleManagement.Read.Directory (or
    a higher permission) is 403 Authorization_RequestDenied."""
    token = sim.thread.call(
        lambda: issue_user_token(
            sim.sim, object_id=_oid(sim, "alice"), audience=GRAPH_RESOURCE, scopes=["User.Read"]
        )
    )
    client: GraphServiceClient = connect(FixedToken(token))
    with pytest.raises(ODataError) as caught:
        await client.role_management.directory.role_assignments.get()
    assert caught.value.response_status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.code == "Authorization_RequestDenied"
