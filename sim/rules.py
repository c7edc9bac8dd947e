"""Rules Dataverse enforces itself, enforced here too (placeholder: being written).

The Web API face (`sim.webapi`) calls these hooks around every read and write. They are
written from the seed (connect-exchange-online) and reference/dataverse.md alone, and share
no code with the bot's `permissions/` package: the sim is the judge of that code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.context import Sim
from sim.state import Row


@dataclass(frozen=True)
class EffectiveCaller:
    """Who a Web API call acts as.

    `user` is the system user whose privileges apply (the impersonated person when the
    `CallerObjectId` header is used); `real` is the identity that holds the token.
    """

    user: Row
    real: Row

    @property
    def impersonating(self) -> bool:
        return self.user is not self.real

    @property
    def object_id(self) -> str:
        return str(self.user.get("azureactivedirectoryobjectid") or "")


def resolve_caller(
    sim: Sim, token_object_id: str, caller_object_id: str | None
) -> EffectiveCaller:
    """Map a validated token (and an optional CallerObjectId header) to the effective caller.

    Raises DataverseFault (401/403) when the token's identity is no system user, or the
    caller may not act on behalf of others (reference §6.7).
    """
    raise NotImplementedError


def can_read(sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row) -> bool:
    """Whether `caller` may see `row` (read privilege at a depth that reaches it)."""
    raise NotImplementedError


def before_create(
    sim: Sim, caller: EffectiveCaller, entity_set: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Check a create; return the values to store. Raises DataverseFault."""
    raise NotImplementedError


def before_update(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, changes: dict[str, Any]
) -> dict[str, Any]:
    """Check an update; return the changes to apply (may drop some). Raises DataverseFault."""
    raise NotImplementedError


def after_update(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, applied: dict[str, Any]
) -> None:
    """Side effects once an update is stored (e.g. queue Test & Enable)."""
    raise NotImplementedError


def before_delete(sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row) -> None:
    raise NotImplementedError


def before_associate(
    sim: Sim, caller: EffectiveCaller, relationship: str, first_id: str, second_id: str
) -> None:
    """Check an associate on an N:N relationship (e.g. assigning a security role)."""
    raise NotImplementedError


def before_disassociate(
    sim: Sim, caller: EffectiveCaller, relationship: str, first_id: str, second_id: str
) -> None:
    raise NotImplementedError
