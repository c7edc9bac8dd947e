"""A running sim for tests: started once per session on a free port, reset before each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dataverse import RetryPolicy
from sim.context import Fault, Sim
from sim.fixture import FIXTURES_DIR, Fixture
from sim.server import SimThread
from sim.state import DirectoryGroup, DirectoryUser, RoleAssignment
from sim.tls import client_context

CONTOSO = FIXTURES_DIR / "contoso.yaml"

# Short waits keep retry paths fast in tests; the logic under test is the same.
FAST_RETRY = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05, throttle_budget=10.0)
ONPREM = FIXTURES_DIR / "onprem.yaml"


@dataclass
class RunningSim:
    """What a test needs to talk to the sim like a client would, plus its admin face."""

    thread: SimThread

    @property
    def sim(self) -> Sim:
        return self.thread.sim

    @property
    def fixture(self) -> Fixture:
        return self.thread.sim.fixture

    @property
    def origin(self) -> str:
        return self.thread.sim.origin

    @property
    def ca_path(self) -> Path:
        return self.thread.tls.ca_cert

    @property
    def tenant_id(self) -> str:
        return self.fixture.tenant_id

    @property
    def client_id(self) -> str:
        return self.fixture.application.client_id

    @property
    def client_secret(self) -> str:
        return self.fixture.application.client_secret

    @property
    def authority(self) -> str:
        return f"{self.origin}/{self.tenant_id}"

    @property
    def dataverse_url(self) -> str:
        """The environment URL: the Web API lives under it, and tokens name it as audience."""
        return self.origin

    @property
    def graph_base(self) -> str:
        return f"{self.origin}/v1.0/"

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.origin}/_sim/", verify=client_context(self.ca_path))

    def reset(self) -> None:
        self.thread.call(self.sim.reset)

    def state(self) -> dict[str, Any]:
        with self.admin() as client:
            data: dict[str, Any] = client.get("state").raise_for_status().json()
            return data

    def requests(self) -> list[dict[str, Any]]:
        with self.admin() as client:
            data: list[dict[str, Any]] = client.get("requests").raise_for_status().json()
            return data

    def fault(self, match: str, status: int, **kw: Any) -> None:
        fault = Fault(match=match, status=status, **kw)
        self.thread.call(lambda: self.sim.faults.append(fault))

    def person(self, name: str) -> Any:
        return next(p for p in self.fixture.people if p.name == name)

    def add_user(self, display_name: str, *, enabled: bool = True) -> str:
        """An Entra user (no Dataverse row) written straight into the sim; its object id."""
        object_id = str(uuid.uuid4())
        upn = f"{object_id[:8]}@{self.fixture.domain}"
        user = DirectoryUser(object_id, display_name, upn, upn, account_enabled=enabled)
        self.thread.call(lambda: self.sim.state.users.__setitem__(object_id, user))
        return object_id

    def add_group(self, name: str, members: Iterable[str] = (), roles: Iterable[str] = ()) -> str:
        """An Entra group with `members` (object ids) and the directory roles `roles`
        (template ids) assigned to it tenant-wide, written straight into the sim; its id.
        The sim is reset before each test, so it lasts for one test."""
        group_id = str(uuid.uuid4())
        group = DirectoryGroup(group_id, name, {m.lower() for m in members})
        assignments = [RoleAssignment(str(uuid.uuid4()), group_id, r.lower()) for r in roles]

        def seed() -> None:
            self.sim.state.groups[group_id] = group
            self.sim.state.role_assignments.extend(assignments)

        self.thread.call(seed)
        return group_id
