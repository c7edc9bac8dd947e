"""`GraphClient`: the few Microsoft Graph calls the bot needs, typed.

A person's *active* Entra directory roles, direct and through groups (reference/
dataverse.md §7): the groups come from `users/{id}/transitiveMemberOf/microsoft.graph.group`
(an advanced query: `ConsistencyLevel: eventual` with `$count=true`), then
`roleManagement/directory/roleAssignments?$filter=principalId eq '<id>'` runs once per
principal, concurrently. The v1.0 page documents `$filter` on `principalId` with `eq`
only, so no `in (...)` filter is used. PIM-eligible roles that are not activated do not
appear (§7 caveats).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from dataverse._http import HttpEngine, RetryPolicy, Sleep, json_object
from dataverse.concurrent import every
from dataverse.errors import InvalidIdentifier, InvalidInput, NotFound, UnexpectedResponse
from dataverse.models import DirectoryUser, EntraRoles, HeldRole, RoleAssignment, RoleMember
from dataverse.odata import Query, col, encode_params, parse_guid

G = TypeVar("G", bound=BaseModel)

GRAPH_V1: Final = "https://graph.microsoft.com/v1.0/"
_HEADERS: Final[Mapping[str, str]] = {"Accept": "application/json"}
_ADVANCED_QUERY: Final[Mapping[str, str]] = {"ConsistencyLevel": "eventual"}
# A UPN: local part, @, domain. Guests look like `name_domain#EXT#@tenant.onmicrosoft.com`.
_UPN: Final = re.compile(r"[A-Za-z0-9._%+'#!$&*=^`{|}~-]{1,113}@[A-Za-z0-9.-]{1,255}")


class _IdOnly(BaseModel):
    id: uuid.UUID


def _validate(model: type[G], data: Any) -> G:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        msg = f"a {model.__name__} answer from Microsoft Graph does not fit the model"
        raise UnexpectedResponse(msg, service="graph") from exc


def check_upn(upn: str) -> str:
    """A user principal name (`name@domain`), or InvalidIdentifier."""
    if not isinstance(upn, str) or not _UPN.fullmatch(upn):
        msg = f"not a user principal name: {upn!r}"
        raise InvalidIdentifier(msg)
    return upn


class GraphClient:
    """Async client for the Microsoft Graph calls the bot uses.

    Args:
        base_url: the Graph root with version, `https://graph.microsoft.com/v1.0/` in the
            public cloud.
        auth: an `httpx.Auth`, normally `EntraApp.graph_auth()`.
        ca_path: a PEM file holding the only CA to trust; None trusts the system store.
        transport, timeout, max_concurrency, retry, trust_env, sleep: as for `DataverseClient`.
    """

    def __init__(
        self,
        *,
        base_url: str = GRAPH_V1,
        auth: httpx.Auth | None = None,
        ca_path: str | Path | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        max_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        trust_env: bool = False,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._engine = HttpEngine(
            service="graph",
            base_url=base_url,
            default_headers=_HEADERS,
            auth=auth,
            ca_path=ca_path,
            transport=transport,
            timeout=timeout,
            max_concurrency=max_concurrency,
            retry=retry or RetryPolicy(),
            trust_env=trust_env,
            sleep=sleep,
        )

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._engine.aclose()

    async def _get(self, url: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        response = await self._engine.send("GET", url, headers=headers)
        return json_object(response, "graph")

    async def _collection(
        self,
        model: type[G],
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[G]:
        """Every item of a collection, following `@odata.nextLink`."""
        yielded = 0
        next_url: str | None = url
        while next_url is not None:
            data = await self._get(next_url, headers)
            values = data.get("value")
            if not isinstance(values, list):
                msg = "a Graph collection answer without a `value` list"
                raise UnexpectedResponse(msg, service="graph")
            for item in values:
                if limit is not None and yielded >= limit:
                    return
                yield _validate(model, item)
                yielded += 1
            link = data.get("@odata.nextLink")
            next_url = link if isinstance(link, str) and link else None

    async def _list(
        self,
        model: type[G],
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> list[G]:
        return [item async for item in self._collection(model, url, headers=headers, limit=limit)]

    # ---- users -------------------------------------------------------------------------

    async def get_user(self, user: str | uuid.UUID) -> DirectoryUser:
        """A user by object id or UPN. Raises NotFound when there is none."""
        if isinstance(user, uuid.UUID) or re.fullmatch(r"[0-9a-fA-F-]{36}", user):
            segment = str(parse_guid(user))
        else:
            segment = quote(check_upn(user), safe="@")
        query = encode_params(Query(select=DirectoryUser.SELECT).params())
        return _validate(DirectoryUser, await self._get(f"users/{segment}?{query}"))

    async def find_user(self, user: str | uuid.UUID) -> DirectoryUser | None:
        """`get_user`, or None when the directory has no such user."""
        try:
            return await self.get_user(user)
        except NotFound:
            return None

    async def users_by_upn(self, upn: str) -> list[DirectoryUser]:
        """`users?$filter=userPrincipalName eq '…'` (zero or one user)."""
        query = Query(
            select=DirectoryUser.SELECT, filter=col("userPrincipalName").eq(check_upn(upn))
        )
        return await self._list(DirectoryUser, f"users?{encode_params(query.params())}")

    async def users_named(self, prefix: str, *, limit: int = 10) -> list[DirectoryUser]:
        """Users whose display name starts with `prefix`."""
        if not prefix.strip():
            msg = "a name prefix is required"
            raise InvalidInput(msg)
        query = Query(
            select=DirectoryUser.SELECT,
            filter=col("displayName").startswith(prefix.strip()),
            top=min(limit, 999),
        )
        return await self._list(
            DirectoryUser, f"users?{encode_params(query.params())}", limit=limit
        )

    # ---- groups and roles --------------------------------------------------------------

    async def group_ids_of(self, user_id: str | uuid.UUID) -> list[uuid.UUID]:
        """Ids of every group the user belongs to, directly or through nested groups."""
        user = parse_guid(user_id)
        query = encode_params([("$select", "id"), ("$count", "true")])
        url = f"users/{user}/transitiveMemberOf/microsoft.graph.group?{query}"
        groups = await self._list(_IdOnly, url, headers=_ADVANCED_QUERY)
        return [g.id for g in groups]

    async def group_members(self, group_id: str | uuid.UUID) -> list[DirectoryUser]:
        """The users in a group, following `@odata.nextLink`: GET
        `groups/{id}/transitiveMembers/microsoft.graph.user` with `ConsistencyLevel: eventual`
        and `$count=true` (an OData cast on a transitive members list is an advanced query).
        Needs GroupMember.Read.All (or Group.Read.All, Directory.Read.All, …); an unknown
        group is NotFound. Sources: learn.microsoft.com/graph/api/group-list-transitivemembers
        and learn.microsoft.com/graph/aad-advanced-queries.

        A role can only be assigned to a role-assignable group, which cannot contain groups
        (learn.microsoft.com/entra/identity/role-based-access-control/groups-concept), so for
        those its direct and transitive members are the same people. The transitive list is
        used because its cast to users, with `$select`, is documented as one advanced query
        (the same form as `group_ids_of`), the cast leaves devices, contacts and service
        principals out on Graph's side, and it stays right for any other group. The index
        behind advanced queries may lag a membership change a little."""
        group = parse_guid(group_id)
        query = encode_params(Query(select=DirectoryUser.SELECT, count=True).params())
        url = f"groups/{group}/transitiveMembers/microsoft.graph.user?{query}"
        return await self._list(DirectoryUser, url, headers=_ADVANCED_QUERY)

    async def role_assignments_of(self, principal_id: str | uuid.UUID) -> list[RoleAssignment]:
        """Active directory role assignments held by one user or group (not transitive)."""
        principal = parse_guid(principal_id)
        # principalId is an Edm.String in Graph: the GUID goes in quotes.
        query = Query(filter=col("principalId").eq(str(principal)))
        url = f"roleManagement/directory/roleAssignments?{encode_params(query.params())}"
        return await self._list(RoleAssignment, url)

    async def role_members(self, template_id: str) -> list[RoleMember]:
        """Active assignments of one directory role (by its template id, §7), each with its
        principal: `roleAssignments?$filter=roleDefinitionId eq '…'&$expand=principal`.
        Groups are listed as groups; `group_members` lists their users."""
        role = str(parse_guid(template_id))
        params = [
            *Query(filter=col("roleDefinitionId").eq(role)).params(),
            ("$expand", "principal"),
        ]
        url = f"roleManagement/directory/roleAssignments?{encode_params(params)}"
        return await self._list(RoleMember, url)

    async def active_roles(self, user_id: str | uuid.UUID) -> EntraRoles:
        """The user's active Entra directory roles, direct and through groups."""
        user = parse_guid(user_id)
        groups = await self.group_ids_of(user)
        principals: list[uuid.UUID] = [user, *groups]
        # The engine's limiter bounds how many of these run at once.
        per_principal = await every(self.role_assignments_of(p) for p in principals)
        held: list[HeldRole] = []
        for principal, assignments in zip(principals, per_principal, strict=True):
            via = None if principal == user else principal
            held.extend(HeldRole(assignment=a, via_group=via) for a in assignments)
        return EntraRoles(user_id=user, group_ids=tuple(groups), held=tuple(held))
