"""What every dialog works with: the configured environments and one turn's context.

`Services` is built once at startup (`bot.serve`) and holds long-lived clients; `Ctx` is
built per turn and carries the caller, the chosen environment and the reply language.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from cards.i18n import Strings, translator
from dataverse.client import DataverseClient
from dataverse.graph import GraphClient
from dataverse.models import OrgEmailSettings, ServerProfile
from dialogs.errors import UnknownEnvironmentError
from dialogs.incidents import IncidentActions
from dialogs.turn import Messenger, Turn
from permissions import Actor, Deployment, Environment, FactsCache
from store import OnCallSchedule, Store

PROFILES_TTL_S = 60.0  # profiles change rarely; their servertype decides approvals


@dataclass
class EnvironmentServices:
    """One Dataverse environment the bot administers."""

    name: str
    deployment: Deployment
    dataverse: DataverseClient
    facts: FactsCache
    is_default: bool = False
    _profiles: tuple[float, dict[uuid.UUID, ServerProfile]] | None = field(
        default=None, repr=False
    )
    # Who holds the Global and Exchange administrator roles (routed approvals); None: only
    # the Delegated Mailbox Approvers of the environment are asked.
    graph: GraphClient | None = field(default=None, repr=False)

    async def profiles(self) -> dict[uuid.UUID, ServerProfile]:
        """Server profiles by id, kept for a minute: they are few and rarely change."""
        now = time.monotonic()
        if self._profiles is None or now - self._profiles[0] > PROFILES_TTL_S:
            rows = await self.dataverse.server_profiles(active_only=False)
            self._profiles = (now, {p.id: p for p in rows})
        return self._profiles[1]

    def forget_profiles(self) -> None:
        self._profiles = None

    async def org_settings(self) -> OrgEmailSettings:
        return await self.dataverse.org_email_settings()


@dataclass(frozen=True)
class ApprovalTimes:
    """How long a routed approval request waits, and when its approvers are reminded."""

    expires_after: timedelta = timedelta(hours=24)
    remind_before: timedelta | None = timedelta(hours=4)  # None: no reminder

    @property
    def remind_after(self) -> timedelta | None:
        """From creation; None when there is no room for a reminder before expiry."""
        if self.remind_before is None or self.remind_before >= self.expires_after:
            return None
        return self.expires_after - self.remind_before


@dataclass
class Services:
    """Everything long-lived the dialogs use."""

    environments: Mapping[str, EnvironmentServices]
    act_as_caller: bool = True  # send CallerObjectId so Dataverse's audit shows the person
    # Issue 5: persistence (approval requests, the audit log, conversation references) and
    # proactive messages. Without a store there are no routed approvals and no audit log.
    store: Store | None = None
    messenger: Messenger | None = None
    approval_times: ApprovalTimes = field(default_factory=ApprovalTimes)
    # Issue 6: the incident engines of the running monitors, by environment name (the
    # incident card's buttons), and who is on call (`who is on call`, MAILOPS_ONCALL).
    incidents: Mapping[str, IncidentActions] = field(default_factory=dict)
    on_call: OnCallSchedule | None = None

    @property
    def default(self) -> EnvironmentServices:
        for env in self.environments.values():
            if env.is_default:
                return env
        return next(iter(self.environments.values()))

    def environment(self, name: str | None) -> EnvironmentServices:
        if name is None:
            return self.default
        for key, env in self.environments.items():
            if key.casefold() == name.casefold():
                return env
        raise UnknownEnvironmentError(name, tuple(self.environments))


@dataclass
class Ctx:
    """One turn as the dialogs see it."""

    turn: Turn
    services: Services
    env: EnvironmentServices
    strings: Strings

    @classmethod
    def of(cls, turn: Turn, services: Services, environment: str | None = None) -> Ctx:
        return cls(
            turn=turn,
            services=services,
            env=services.environment(environment),
            strings=translator(turn.locale),
        )

    @property
    def caller_id(self) -> str:
        return self.turn.caller.object_id

    def with_environment(self, name: str | None) -> Ctx:
        return Ctx(self.turn, self.services, self.services.environment(name), self.strings)

    async def facts(self) -> tuple[Actor, Environment]:
        """The caller's permission facts, live (cached for a few seconds)."""
        return await self.env.facts.facts(self.caller_id)

    @property
    def acting_for(self) -> str | None:
        """The object id writes run as (CallerObjectId), or None to write as the app."""
        return self.caller_id if self.services.act_as_caller else None
