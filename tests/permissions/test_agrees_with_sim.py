"""`decide` allows exactly what the sim accepts (issue 3: a property test over random worlds).

The sim's rules are written from the seed on their own; the bot's are in `permissions/`.
Here the bot's facts are read the way the bot reads them (Graph and the Web API, through
`dialogs.facts.LiveFacts`), `decide` is asked, and then the approval is really attempted
against the sim acting as that person. Both must agree on every random world.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataverse import DataverseClient, EntraApp, GraphClient
from dataverse.errors import Forbidden
from dataverse.models import Mailbox, ServerProfile
from dialogs.facts import LiveFacts
from permissions import (
    Action,
    ApprovalState,
    Deployment,
    FactsCache,
    MailboxKind,
    MailboxTarget,
    decide,
)
from sim.fixture import Fixture
from tests.simharness import FAST_RETRY, RunningSim

ACTOR_OID = "ac000000-0000-4000-8000-000000000001"
ACTOR_USER = "5e000000-0000-4000-8000-0000000000c1"
ACTOR_MAILBOX = "3b000000-0000-4000-8000-0000000000c1"
OLIVE_MAILBOX = "3b000000-0000-4000-8000-0000000000c2"
PROFILE_ID = "e5000000-0000-4000-8000-0000000000c1"
DATAVERSE_ROLES = [
    "System Administrator",
    "Delegated Mailbox Approver",
    "Basic User",
    "Read-only User",
    "Email Address Approver",
]


@dataclass(frozen=True)
class World:
    deployment: str
    version: str
    servertype: int
    entra_roles: frozenset[str]
    entra_through_group: bool
    direct_roles: frozenset[str]
    team_roles: frozenset[str]
    own_mailbox: bool
    require_privilege_to_self_approve: bool
    action: Action


worlds = st.builds(
    World,
    deployment=st.sampled_from(["online", "onprem"]),
    version=st.sampled_from(
        ["9.2.22104.00169", "9.2.22104.00170", "9.2.25093.00214", "9.1.27.11"]
    ),
    servertype=st.sampled_from([0, 2, 3]),
    entra_roles=st.frozensets(
        st.sampled_from(["global_admin", "exchange_admin", "dynamics_admin"]), max_size=2
    ),
    entra_through_group=st.booleans(),
    direct_roles=st.frozensets(st.sampled_from(DATAVERSE_ROLES), max_size=3),
    team_roles=st.frozensets(
        st.sampled_from(["System Administrator", "Delegated Mailbox Approver"]), max_size=2
    ),
    own_mailbox=st.booleans(),
    require_privilege_to_self_approve=st.booleans(),
    action=st.sampled_from([Action.APPROVE_EMAIL, Action.REJECT_EMAIL]),
)


def _world_fixture(base: Fixture, world: World) -> Fixture:
    """The demo tenant's app and roles, with one actor and one other person (olive)."""
    data: dict[str, Any] = copy.deepcopy(base.model_dump(mode="json"))
    data["generated"] = None
    data["queues"] = []
    data["environment"]["deployment"] = world.deployment
    data["environment"]["version"] = world.version
    data["environment"]["settings"]["require_privilege_to_self_approve"] = (
        world.require_privilege_to_self_approve
    )
    data["profiles"] = [
        {
            "name": "Profile under test",
            "id": PROFILE_ID,
            "exchange": "online",
            "servertype": world.servertype,
            "default": True,
        }
    ]
    data["teams"] = [
        {"name": "Actors", "id": "7e000000-0000-4000-8000-0000000000c1", "roles": []},
    ]
    data["teams"][0]["roles"] = sorted(world.team_roles)
    data["groups"] = [
        {
            "name": "Admins",
            "id": "96000000-0000-4000-8000-0000000000c1",
            "entra_roles": sorted(world.entra_roles) if world.entra_through_group else [],
        }
    ]
    mailbox = {"profile": "Profile under test", "approval": "pending"}
    data["people"] = [
        {
            "name": "actor",
            "display_name": "Acting Person",
            "object_id": ACTOR_OID,
            "systemuser_id": ACTOR_USER,
            "entra_roles": [] if world.entra_through_group else sorted(world.entra_roles),
            "groups": ["Admins"],
            "dataverse_roles": sorted(world.direct_roles),
            "teams": ["Actors"],
            "mailbox": {"id": ACTOR_MAILBOX, **mailbox},
        },
        {
            "name": "olive",
            "display_name": "Olive Other",
            "object_id": "ac000000-0000-4000-8000-000000000002",
            "systemuser_id": "5e000000-0000-4000-8000-0000000000c2",
            "dataverse_roles": ["Basic User"],
            "mailbox": {"id": OLIVE_MAILBOX, **mailbox},
        },
    ]
    return Fixture.model_validate(data)


@pytest.fixture
def world_sim(sim: RunningSim) -> Iterator[RunningSim]:
    """The running sim, handed back to the demo fixture afterwards."""
    original = sim.sim.fixture
    yield sim
    sim.thread.call(lambda: setattr(sim.sim, "fixture", original))
    sim.reset()


async def _judge(sim: RunningSim, world: World) -> tuple[bool, bool, str]:
    """(what decide says, what the sim did, decide's explanation) for one world."""
    entra = EntraApp(
        authority=sim.authority,
        client_id=sim.client_id,
        client_credential=sim.client_secret,
        ca_path=sim.ca_path,
    )
    try:
        async with (
            DataverseClient(
                sim.dataverse_url,
                auth=entra.dataverse_auth(sim.dataverse_url),
                ca_path=sim.ca_path,
                retry=FAST_RETRY,
            ) as dv,
            GraphClient(
                base_url=sim.graph_base, auth=entra.graph_auth(), ca_path=sim.ca_path
            ) as graph,
        ):
            facts = FactsCache(LiveFacts(dv, graph, Deployment(world.deployment)), ttl_seconds=0)
            actor, environment = await facts.facts(ACTOR_OID)
            mailbox_id = ACTOR_MAILBOX if world.own_mailbox else OLIVE_MAILBOX
            mailbox = await dv.get_mailbox(mailbox_id)
            assert mailbox.server_profile_id is not None
            profile = await dv.get_server_profile(mailbox.server_profile_id)
            target = MailboxTarget(
                kind=MailboxKind.PERSON,
                email=mailbox.email_address,
                owner_systemuser_id=str(mailbox.owner_id).lower() if mailbox.owner_id else None,
                servertype=int(profile.server_type) if profile.server_type is not None else None,
                approval=ApprovalState(int(mailbox.approval or 0)),
            )
            decision = decide(world.action, actor, environment, target)
            value = 1 if world.action is Action.APPROVE_EMAIL else 3
            try:
                await dv.acting_for(ACTOR_OID).update_row(
                    Mailbox, mailbox_id, {"emailrouteraccessapproval": value}
                )
            except Forbidden:
                accepted = False
            else:
                after = await dv.get_mailbox(mailbox_id)
                accepted = int(after.approval or 0) == value
            return decision.allowed, accepted, decision.explain()
    finally:
        entra.close()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds)
def test_decide_allows_exactly_what_the_sim_accepts(world_sim: RunningSim, world: World) -> None:
    """Seed's permission table (all four rows), version gate, self-approval, team roles."""
    sim = world_sim
    fixture = _world_fixture(sim.sim.fixture, world)

    def install() -> None:
        sim.sim.fixture = fixture
        sim.sim.reset()

    original = sim.sim.fixture
    sim.thread.call(install)
    try:
        allowed, accepted, why = asyncio.run(_judge(sim, world))
    finally:
        sim.thread.call(lambda: setattr(sim.sim, "fixture", original))
    assert allowed == accepted, f"{world}\ndecide: {why}"


def test_the_world_builder_reads_the_profile_it_is_given() -> None:
    """Guards the property test itself: the profile's servertype reaches the sim's rows."""
    base = Fixture.load("sim/fixtures/contoso.yaml")
    world = World(
        "online",
        "9.2.25093.00214",
        2,
        frozenset(),
        False,
        frozenset(),
        frozenset(),
        False,
        False,
        Action.APPROVE_EMAIL,
    )
    fixture = _world_fixture(base, world)
    assert fixture.profiles[0].servertype == 2
    assert ServerProfile.columns()  # the model the test reads the profile with
