"""The one object every face of the sim shares, stored on the aiohttp app under `SIM`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from sim.fixture import Fixture
from sim.state import SimState


@dataclass
class Limits:
    """Service protection limits (reference/dataverse.md §6.3, source S11).

    Per user (application users included), over a sliding window. A `$batch` counts as one
    request and holds one concurrency slot; each of its operations adds its own execution time
    (api-limits.md; `sim.webapi.throttle`). Tests shrink these through `POST /_sim/limits`.
    """

    requests_per_window: int = 6000
    window_seconds: float = 300.0
    execution_ms_per_window: int = 1_200_000
    concurrent_requests: int = 52
    retry_after_seconds: int = 5
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch_parts: int = 1000
    # Not a service protection limit: the lifetime of tokens the Entra face issues
    # (reference/dataverse.md §6.9, "about 60 minutes"); shortened for expiry tests.
    token_lifetime_s: int = 3600


@dataclass
class Fault:
    """A scripted failure: the next `times` requests matching `match` get `status`."""

    match: str
    status: int
    retry_after: int | None = None
    latency_ms: int = 0
    times: int = 1
    body: dict[str, Any] | None = None
    # The request is carried out, then the connection is cut instead of answering: what a
    # client sees when a gateway or the network drops the connection after the service did
    # the work (a write that took effect although no answer came).
    drop: bool = False


@dataclass
class Sim:
    """The running sim: its fixture, state, keys and knobs."""

    fixture_path: Path
    fixture: Fixture
    state: SimState
    state_dir: Path
    origin: str = ""  # https://127.0.0.1:<port>, known once the site is bound
    limits: Limits = field(default_factory=Limits)
    faults: list[Fault] = field(default_factory=list)
    base_latency_ms: int = 0
    # Filled by the faces that own them (sim.entra: the signing key; sim.webapi: timers).
    extras: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        """Back to the fixture: rows, directory, recordings, faults and limits."""
        self.state = SimState.from_fixture(self.fixture)
        self.faults.clear()
        self.limits = Limits()
        self.base_latency_ms = 0
        for hook in self.extras.get("reset_hooks", []):
            hook()


SIM: web.AppKey[Sim] = web.AppKey("sim", Sim)

CALLER_OBJECT_ID_KEY: web.RequestKey[str] = web.RequestKey("sim.caller_object_id", str)
"""Request key: the effective caller's Entra object id (the CallerObjectId header value or the
token's oid), set by the Dataverse and Graph faces once they have authenticated a call; the
request recorder (`sim.admin`) reads it after the handler. A plain string key
`request["sim.caller_object_id"]` is read too, but aiohttp warns (NotAppKeyWarning) on it."""
