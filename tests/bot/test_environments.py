"""Several environments (issue 5): MAILOPS_ENVIRONMENTS names them; `mailops serve` opens one
set of services per entry; `… in onprem` reaches that environment's Dataverse and no other;
an unknown name gets the did-you-mean card and changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, Settings
from bot.serve import card_signer, open_services
from devtools.demo import DemoOptions, demo_stack
from dialogs.app import build_router
from dialogs.context import Services
from dialogs.router import Router
from dialogs.turn import Card
from permissions import Deployment
from sim.server import SimThread
from tests.bot.conftest import environment
from tests.dialogs.routing_kit import turn_of
from tests.simharness import ONPREM, RunningSim

BASE = {
    "MAILOPS_TENANT_ID": "c0ffee00-0000-4000-8000-000000000001",
    "MAILOPS_CLIENT_ID": "b0700000-0000-4000-8000-000000000001",
    "MAILOPS_CLIENT_SECRET": "secret",
}


def _with(entries: Any) -> dict[str, str]:
    return {**BASE, "MAILOPS_ENVIRONMENTS": json.dumps(entries)}


def _error(environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(environ)
    return str(caught.value)


# ---- configuration ---------------------------------------------------------------------


def test_without_environments_the_one_environment_is_dataverse_url() -> None:
    settings = Settings.from_env({**BASE, "DATAVERSE_URL": "https://contoso.crm.dynamics.com"})

    (only,) = settings.resolved_environments()

    assert (only.name, only.url, only.deployment, only.is_default) == (
        "prod",
        "https://contoso.crm.dynamics.com",
        Deployment.ONLINE,
        True,
    )
    assert only.tenant_id == BASE["MAILOPS_TENANT_ID"]


def test_environments_are_named_with_the_default_first_and_identity_inherited() -> None:
    settings = Settings.from_env(
        _with(
            [
                {"name": "onprem", "url": "https://crm.fabrikam.com", "deployment": "onprem"},
                {"name": "prod", "url": "https://contoso.crm.dynamics.com", "default": True},
            ]
        )
    )

    prod, onprem = settings.resolved_environments()

    assert (prod.name, prod.is_default) == ("prod", True)
    assert (onprem.name, onprem.deployment, onprem.is_default) == (
        "onprem",
        Deployment.ONPREM,
        False,
    )
    assert onprem.identity == prod.identity  # same tenant: one Entra app is shared
    assert settings.dataverse_url == ""  # not needed with MAILOPS_ENVIRONMENTS


def test_an_entry_of_another_tenant_names_its_own_identity() -> None:
    settings = Settings.from_env(
        _with(
            [
                {"name": "prod", "url": "https://a.crm.dynamics.com", "default": True},
                {
                    "name": "onprem",
                    "url": "https://crm.fabrikam.com",
                    "tenant_id": "c0ffee00-0000-4000-8000-000000000002",
                    "client_id": "other-app",
                    "client_secret": "other-secret",
                },
            ]
        )
    )

    prod, onprem = settings.resolved_environments()

    assert onprem.tenant_id == "c0ffee00-0000-4000-8000-000000000002"
    assert onprem.client_secret.get_secret_value() == "other-secret"
    assert onprem.identity != prod.identity
    assert "other-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("entries", "named"),
    [
        (
            [{"name": "prod", "url": "http://insecure", "default": True}],
            "entry 0 ('prod') url: Value error, must be an https:// URL",
        ),
        ([{"url": "https://a.crm.dynamics.com"}], "entry 0 name: is required"),
        (
            [{"name": "prod", "url": "https://a", "deployment": "cloudy"}],
            "entry 0 ('prod') deployment",
        ),
        (
            [{"name": "in prod", "url": "https://a"}],
            "entry 0 ('in prod') name: String should match pattern",
        ),
        (
            [{"name": "prod", "url": "https://a", "colour": "blue"}],
            "entry 0 ('prod') colour: Extra inputs are not permitted",
        ),
        (
            [
                {"name": "prod", "url": "https://a", "default": True},
                {"name": "PROD", "url": "https://b"},
            ],
            "environment names must differ (ignoring case): PROD, prod",
        ),
        (
            [{"name": "prod", "url": "https://a"}, {"name": "test", "url": "https://b"}],
            "exactly one environment must be the default (default: true); found none",
        ),
        (
            [
                {"name": "prod", "url": "https://a", "default": True},
                {"name": "test", "url": "https://b", "default": True},
            ],
            "found prod, test",
        ),
        ([], "must be a non-empty JSON list of environments"),
        ({"name": "prod"}, "must be a non-empty JSON list of environments"),
    ],
)
def test_a_bad_entry_is_named(entries: Any, named: str) -> None:
    message = _error(_with(entries))

    assert "MAILOPS_ENVIRONMENTS" in message
    assert named in message


def test_environments_that_are_not_json_say_so() -> None:
    message = _error({**BASE, "MAILOPS_ENVIRONMENTS": "[{name: prod}]"})

    assert "MAILOPS_ENVIRONMENTS: Value error, not JSON" in message


def test_without_either_dataverse_url_is_required() -> None:
    assert "DATAVERSE_URL: is required" in _error(dict(BASE))


# ---- two environments, two sims --------------------------------------------------------


@pytest.fixture(scope="module")
def onprem_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimThread]:
    thread = SimThread(ONPREM, tmp_path_factory.mktemp("onprem-state")).start()
    yield thread
    thread.stop()


@pytest.fixture
def onprem(onprem_thread: SimThread) -> RunningSim:
    running = RunningSim(onprem_thread)
    running.reset()
    return running


def two_environments(sim: RunningSim, onprem: RunningSim, tmp_path: Path) -> Settings:
    """What an operator would configure: prod (the contoso sim, the default) and onprem (the
    on-premises sim: another tenant, so its own application, authority and CA)."""
    entries = [
        {"name": "prod", "url": sim.dataverse_url, "default": True},
        {
            "name": "onprem",
            "url": onprem.dataverse_url,
            "deployment": "onprem",
            "tenant_id": onprem.tenant_id,
            "client_id": onprem.client_id,
            "client_secret": onprem.client_secret,
            "authority_host": onprem.origin,
            "graph_url": onprem.graph_base,
            "ca_bundle": str(onprem.ca_path),
        },
    ]
    return Settings.from_env(
        environment(
            sim,
            MAILOPS_ENVIRONMENTS=json.dumps(entries),
            MAILOPS_DB_URL=f"sqlite+aiosqlite:///{tmp_path / 'mailops.db'}",
        )
    )


@pytest.fixture
async def served(
    sim: RunningSim, onprem: RunningSim, tmp_path: Path
) -> AsyncIterator[tuple[Services, Router]]:
    settings = two_environments(sim, onprem, tmp_path)
    async with open_services(settings) as services:
        yield services, build_router(services, card_signer(settings))


def _text(card: Card) -> str:
    return json.dumps(card, ensure_ascii=False)


def _dataverse_paths(sim: RunningSim) -> list[str]:
    return [r["path"] for r in sim.requests() if "/api/data/" in r["path"]]


async def test_serve_opens_one_set_of_services_per_environment(
    served: tuple[Services, Router],
) -> None:
    services, _ = served

    assert list(services.environments) == ["prod", "onprem"]
    prod, onprem = services.environments["prod"], services.environments["onprem"]
    assert services.default is prod
    assert onprem.deployment is Deployment.ONPREM
    assert prod.dataverse is not onprem.dataverse
    assert prod.graph is not onprem.graph  # another tenant: its own Graph and Entra app


async def test_in_onprem_reaches_the_onprem_sim_and_in_prod_the_other(
    served: tuple[Services, Router], sim: RunningSim, onprem: RunningSim
) -> None:
    """The same command, `in prod` and `in onprem`, each answered from its own Dataverse.

    The on-premises fixture is another tenant: its people (sara) are the ones it knows, so
    sara asks there, as a Fabrikam admin would in her tenant's Teams."""
    _, router = served

    in_prod = turn_of(sim, "eddie", "status of alice in prod")
    await router.on_message(in_prod)

    assert "Alice Anders" in _text(in_prod.replies[0])
    assert "Environment: prod" in _text(in_prod.replies[0])
    assert _dataverse_paths(sim)
    assert _dataverse_paths(onprem) == []

    sim.reset()
    in_onprem = turn_of(onprem, "sara", "status of paul in onprem")
    await router.on_message(in_onprem)

    assert "Paul Plain" in _text(in_onprem.replies[0])
    assert "Environment: onprem" in _text(in_onprem.replies[0])
    assert _dataverse_paths(onprem)
    assert _dataverse_paths(sim) == []


async def test_without_in_the_default_environment_answers(
    served: tuple[Services, Router], sim: RunningSim, onprem: RunningSim
) -> None:
    _, router = served

    turn = turn_of(sim, "eddie", "status of alice")
    await router.on_message(turn)

    assert "Environment: prod" in _text(turn.replies[0])
    assert _dataverse_paths(onprem) == []


async def test_an_unknown_environment_gets_did_you_mean_with_the_known_ones(
    served: tuple[Services, Router], sim: RunningSim, onprem: RunningSim
) -> None:
    _, router = served

    turn = turn_of(sim, "eddie", "status of alice in staging")
    await router.on_message(turn)

    text = _text(turn.replies[0])
    assert "status of alice in prod" in text
    assert "status of alice in onprem" in text
    assert _dataverse_paths(sim) == []
    assert _dataverse_paths(onprem) == []


# ---- the demo --------------------------------------------------------------------------


async def test_the_demo_runs_the_two_fixtures_as_prod_and_onprem(tmp_path: Path) -> None:
    options = DemoOptions(
        var_dir=tmp_path, sim_port=0, bot_port=0, playground_port=0, playground=False
    )
    async with demo_stack(options) as running:
        prod, onprem = running.settings.resolved_environments()
        other = running.other_sims["onprem"]
        summary = running.summary()

    assert (prod.name, prod.url, prod.is_default) == ("prod", running.sim.origin, True)
    assert (onprem.name, onprem.url, onprem.deployment) == (
        "onprem",
        other.origin,
        Deployment.ONPREM,
    )
    # Another tenant: its own application, and that sim as its token authority.
    assert onprem.tenant_id == other.fixture.tenant_id != prod.tenant_id
    assert onprem.client_id == other.fixture.application.client_id
    assert onprem.authority_host == other.origin
    assert onprem.ca_bundle == prod.ca_bundle == running.tls.ca_cert  # one CA for both
    assert f"sim onprem  {other.origin}  (fixture onprem.yaml" in summary


async def test_the_demo_can_run_one_environment(tmp_path: Path) -> None:
    options = DemoOptions(
        var_dir=tmp_path,
        sim_port=0,
        bot_port=0,
        playground_port=0,
        playground=False,
        onprem_fixture=None,
    )
    async with demo_stack(options) as running:
        (only,) = running.settings.resolved_environments()

    assert (only.name, only.url) == ("prod", running.sim.origin)
    assert running.other_sims == {}


async def test_a_person_unknown_to_the_environment_is_told_so(
    served: tuple[Services, Router], sim: RunningSim, onprem: RunningSim
) -> None:
    """eddie exists in Contoso's directory only: asking `in onprem` is not an outage."""
    _, router = served

    turn = turn_of(sim, "eddie", "status of paul in onprem")
    await router.on_message(turn)

    text = _text(turn.replies[0])
    assert "not a user of this environment" in text
    assert "not available" not in text
    writes = [r for r in onprem.requests() if r["method"] in ("PATCH", "POST", "DELETE")]
    assert writes == []
