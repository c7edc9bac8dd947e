"""The permission model's facts, read live from Microsoft Graph and the Dataverse Web API.

`LiveFacts` implements `permissions.FactSource`; `permissions.FactsCache` in front of it
reads a person's facts concurrently and keeps them for a short time. Reads run as the bot's
application identity: the facts are about the person, not by the person.
"""

from __future__ import annotations

from typing import Final

from dataverse.client import DataverseClient
from dataverse.concurrent import both
from dataverse.graph import GraphClient
from dataverse.models import PrivilegeDepth, Role
from permissions import DataversePrincipalFacts, Deployment, Depth, Environment, RoleRef

_DEPTHS: Final[dict[PrivilegeDepth, Depth]] = {
    PrivilegeDepth.BASIC: Depth.USER,
    PrivilegeDepth.LOCAL: Depth.BUSINESS_UNIT,
    PrivilegeDepth.DEEP: Depth.PARENT_CHILD,
    PrivilegeDepth.GLOBAL: Depth.ORGANIZATION,
}
_WIDTH: Final[dict[Depth, int]] = {d: i for i, d in enumerate(_DEPTHS.values())}


def _role_ref(role: Role) -> RoleRef:
    return RoleRef(
        name=role.name or "",
        template_id=str(role.template_id).lower() if role.template_id else None,
    )


class LiveFacts:
    """Facts for one environment: Entra roles from Graph, the rest from Dataverse."""

    def __init__(
        self, dataverse: DataverseClient, graph: GraphClient, deployment: Deployment
    ) -> None:
        self._dataverse = dataverse
        self._graph = graph
        self._deployment = deployment

    async def entra_role_template_ids(self, object_id: str) -> frozenset[str]:
        roles = await self._graph.active_roles(object_id)
        # A role scoped to an administrative unit does not make someone a Global or
        # Exchange admin of the tenant, which is what the permission table means.
        return roles.tenant_wide_template_ids

    async def dataverse_principal(self, object_id: str) -> DataversePrincipalFacts:
        user = await self._dataverse.person_by_object_id(object_id)
        if user is None or user.is_disabled:
            return DataversePrincipalFacts(systemuser_id=None, upn=None)
        roles, held = await both(
            self._dataverse.security_roles(user.id), self._dataverse.user_privileges(user.id)
        )
        privileges: dict[str, Depth] = {}
        for privilege in held:
            depth = _DEPTHS[privilege.depth]
            current = privileges.get(privilege.name)
            if current is None or _WIDTH[depth] > _WIDTH[current]:
                privileges[privilege.name] = depth
        team_roles = {role for team in roles.through_teams for role in team.roles}
        return DataversePrincipalFacts(
            systemuser_id=str(user.id).lower(),
            upn=user.domain_name,
            is_application=user.application_id is not None,
            direct_roles=frozenset(_role_ref(r) for r in roles.direct),
            team_roles=frozenset(_role_ref(r) for r in team_roles),
            privileges=privileges,
        )

    async def environment(self) -> Environment:
        version, settings = await both(
            self._dataverse.retrieve_version(), self._dataverse.org_email_settings()
        )
        return Environment(
            deployment=self._deployment,
            version=str(version),
            require_privilege_to_self_approve=settings.require_privilege_to_self_approve,
        )
