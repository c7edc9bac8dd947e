"""The sim's aiohttp application: one HTTPS origin serving every face.

| prefix | face | module |
|---|---|---|
| `/{tenant}/` | Entra ID (OpenID configuration, JWKS, token endpoint) | `sim.entra` |
| `/v1.0/` | Microsoft Graph subset | `sim.graph` |
| `/api/data/v9.2/` | Dataverse Web API subset | `sim.webapi` |
| `/_sim/` | admin face and Bot Connector recorder | `sim.admin` |
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from sim import admin, entra, graph, webapi
from sim.context import SIM, Sim
from sim.fixture import Fixture
from sim.state import SimState


def build_sim(fixture_path: Path, state_dir: Path) -> Sim:
    fixture = Fixture.load(fixture_path)
    return Sim(
        fixture_path=fixture_path,
        fixture=fixture,
        state=SimState.from_fixture(fixture),
        state_dir=state_dir,
    )


def create_sim_app(sim: Sim) -> web.Application:
    app = web.Application(
        client_max_size=sim.limits.max_body_bytes,
        middlewares=admin.middlewares(),
    )
    app[SIM] = sim
    entra.setup(app)
    graph.setup(app)
    webapi.setup(app)
    admin.setup(app)
    return app
