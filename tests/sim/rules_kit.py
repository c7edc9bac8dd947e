"""Building blocks for the tests of the sim's own rules (sim.rules, sim.testenable).

These tests call the hooks directly on a `Sim` built from a fixture, the way the Web API
face calls them, so that they do not depend on HTTP. `patch` mimics the face: check, store
what the check returned, then run the after-update side effects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim import rules
from sim.context import Sim
from sim.fixture import (
    FIXTURES_DIR,
    Deployment,
    Depth,
    EntraRole,
    Fixture,
    MailboxSpec,
    PersonSpec,
    RoleSpec,
)
from sim.rules import EffectiveCaller
from sim.state import Row, SimState

CONTOSO_PATH = FIXTURES_DIR / "contoso.yaml"
_CONTOSO = Fixture.load(CONTOSO_PATH)

EXO_PROFILE = "Microsoft Exchange Online"
ONPREM_PROFILE = "Contoso Exchange (on-premises)"
GATE = "9.2.22104.00170"

# A role with everything an approver needs except the table's roles: so that a refusal of
# someone holding it is the permission table's doing, not a missing privilege.
APPROVER_PRIVILEGES = RoleSpec(
    name="Mailbox Approval Privileges",
    id="70000000-0000-4000-8000-0000000000a0",
    privileges={
        "prvApproveRejectEmailAddress": Depth.ORGANIZATION,
        "prvReadMailbox": Depth.ORGANIZATION,
        "prvWriteMailbox": Depth.ORGANIZATION,
        "prvReadUser": Depth.ORGANIZATION,
        "prvWriteUser": Depth.ORGANIZATION,
        "prvReadQueue": Depth.ORGANIZATION,
        "prvWriteQueue": Depth.ORGANIZATION,
        "prvReadOrganization": Depth.ORGANIZATION,
        "prvWriteOrganization": Depth.ORGANIZATION,
    },
)


def _person(
    name: str,
    n: int,
    *,
    entra: list[EntraRole] | None = None,
    roles: list[str] | None = None,
    teams: list[str] | None = None,
) -> PersonSpec:
    return PersonSpec(
        name=name,
        display_name=name.title(),
        object_id=f"aa000000-0000-4000-8000-0000000001{n:02x}",
        systemuser_id=f"5e000000-0000-4000-8000-0000000001{n:02x}",
        entra_roles=entra or [],
        dataverse_roles=roles or [],
        teams=teams or [],
        mailbox=MailboxSpec(
            id=f"3b000000-0000-4000-8000-0000000001{n:02x}",
            profile=EXO_PROFILE,
            approval="approved",
        ),
    )


# The permission table's columns that the demo tenant has no clean person for: each holds
# the approver privileges, so only the table can refuse them.
EXTRA_PEOPLE = [
    _person("gabe", 1, entra=[EntraRole.GLOBAL_ADMIN], roles=[APPROVER_PRIVILEGES.name]),
    _person("exie", 2, entra=[EntraRole.EXCHANGE_ADMIN], roles=[APPROVER_PRIVILEGES.name]),
    _person("serv", 3, entra=[EntraRole.DYNAMICS_ADMIN], roles=[APPROVER_PRIVILEGES.name]),
    _person("nora", 4, roles=[APPROVER_PRIVILEGES.name]),
]


def contoso(
    *,
    deployment: Deployment | None = None,
    version: str | None = None,
    extra_people: bool = False,
    extra_roles: list[RoleSpec] | None = None,
    people: list[PersonSpec] | None = None,
    generated: bool = False,
) -> Fixture:
    """The demo tenant, varied: deployment, version, more people and roles."""
    env_update: dict[str, Any] = {}
    if deployment is not None:
        env_update["deployment"] = deployment
    if version is not None:
        env_update["version"] = version
    roles = list(_CONTOSO.roles)
    everyone = list(_CONTOSO.people)
    if extra_people:
        roles.append(APPROVER_PRIVILEGES)
        everyone += EXTRA_PEOPLE
    roles += extra_roles or []
    everyone += people or []
    update: dict[str, Any] = {
        "environment": _CONTOSO.environment.model_copy(update=env_update),
        "roles": roles,
        "people": everyone,
    }
    if not generated:
        update["generated"] = None
    return Fixture.model_validate(_CONTOSO.model_copy(update=update).model_dump())


def make_sim(fixture: Fixture | None = None) -> Sim:
    fx = fixture or contoso()
    return Sim(
        fixture_path=CONTOSO_PATH,
        fixture=fx,
        state=SimState.from_fixture(fx),
        state_dir=Path("/nonexistent-sim-state"),
    )


def person(sim: Sim, name: str) -> PersonSpec:
    return next(p for p in sim.fixture.people if p.name == name)


def who(sim: Sim, name: str, *, as_user: str | None = None) -> EffectiveCaller:
    """A person's caller; `as_user` impersonates someone (CallerObjectId)."""
    target = person(sim, as_user).object_id if as_user else None
    return rules.resolve_caller(sim, person(sim, name).object_id, target)


def app(sim: Sim, *, as_user: str | None = None) -> EffectiveCaller:
    """The bot's application user, as itself or impersonating a person."""
    target = person(sim, as_user).object_id if as_user else None
    return rules.resolve_caller(sim, sim.fixture.application.object_id, target)


def mailbox(sim: Sim, name: str) -> Row:
    spec = person(sim, name).mailbox
    assert spec is not None
    row = sim.state.row("mailboxes", spec.id)
    assert row is not None
    return row


def user_row(sim: Sim, name: str) -> Row:
    row = sim.state.row("systemusers", person(sim, name).systemuser_id)
    assert row is not None
    return row


def queue(sim: Sim, name: str = "Support") -> tuple[Row, Row]:
    """(queue row, its mailbox row)."""
    spec = next(q for q in sim.fixture.queues if q.name == name)
    q = sim.state.row("queues", spec.id)
    m = sim.state.row("mailboxes", spec.mailbox.id)
    assert q is not None and m is not None
    return q, m


def role_id(sim: Sim, name: str) -> str:
    return next(r.id.lower() for r in sim.fixture.roles if r.name == name)


def team_id(sim: Sim, name: str) -> str:
    return next(t.id.lower() for t in sim.fixture.teams if t.name == name)


def organization(sim: Sim) -> Row:
    return next(iter(sim.state.tables["organizations"].values()))


def patch(
    sim: Sim, caller: EffectiveCaller, entity_set: str, row: Row, changes: dict[str, Any]
) -> dict[str, Any]:
    """What the Web API face does with a PATCH: check, store, side effects."""
    stored = rules.before_update(sim, caller, entity_set, row, changes)
    if stored:
        row.update(stored)
        sim.state.touch(row, by=caller.user_id)
        rules.after_update(sim, caller, entity_set, row, stored)
    return stored


def approve(sim: Sim, caller: EffectiveCaller, name: str, value: int = 1) -> dict[str, Any]:
    return patch(
        sim, caller, "mailboxes", mailbox(sim, name), {"emailrouteraccessapproval": value}
    )
