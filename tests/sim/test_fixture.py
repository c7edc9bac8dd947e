"""The fixture format: both shipped fixtures load and seed, the schema is published, and
broken references are refused with a message that names them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from sim.fixture import Deployment, Fixture, fixture_json_schema
from sim.state import SERVERTYPE_EXCHANGE, SERVERTYPE_EXCHANGE_ONLINE_HYBRID, SimState
from tests.simharness import CONTOSO, ONPREM


def test_contoso_loads_and_seeds() -> None:
    """Issue 2, Fixtures: the demo tenant is Customer Engagement online, after 9.2.22104.00170."""
    fixture = Fixture.load(CONTOSO)
    assert fixture.environment.deployment is Deployment.ONLINE
    version = tuple(int(p) for p in fixture.environment.version.split("."))
    assert version > (9, 2, 22104, 170)
    state = SimState.from_fixture(fixture)
    assert len(state.tables["mailboxes"]) >= 200
    assert {p.name for p in fixture.people} >= {"gina", "eddie", "dana", "sam", "una", "bob"}


def test_onprem_loads_and_seeds() -> None:
    """Seed's permission table, the Customer Engagement (on-premises) rows: an on-premises
    Exchange profile (default) and an Exchange Online (hybrid) profile."""
    fixture = Fixture.load(ONPREM)
    assert fixture.environment.deployment is Deployment.ONPREM
    assert fixture.environment.version.startswith("9.1.")
    state = SimState.from_fixture(fixture)
    assert state.deployment == "onprem"
    profiles = {p["name"]: p for p in state.tables["emailserverprofiles"].values()}
    onprem = profiles["Fabrikam Exchange (on-premises)"]
    hybrid = profiles["Exchange Online (Hybrid)"]
    assert onprem["servertype"] == SERVERTYPE_EXCHANGE
    assert hybrid["servertype"] == SERVERTYPE_EXCHANGE_ONLINE_HYBRID
    (org,) = state.tables["organizations"].values()
    assert org["_defaultemailserverprofileid_value"] == onprem["emailserverprofileid"]
    pending = {
        m["_emailserverprofile_value"]
        for m in state.tables["mailboxes"].values()
        if m["emailrouteraccessapproval"] == 2 and m["regardingobjecttypecode"] == "systemuser"
    }
    assert pending == {onprem["emailserverprofileid"], hybrid["emailserverprofileid"]}
    assert len(state.tables["queues"]) == 1
    erin = next(p for p in fixture.people if p.name == "erin")
    assert erin.entra_roles and "System Administrator" not in erin.dataverse_roles


def test_json_schema_is_published() -> None:
    """Issue 2, Fixtures: a documented format (a pydantic model that publishes its schema)."""
    schema = json.loads(fixture_json_schema())
    assert schema["title"] == "Fixture"
    assert {"tenant_id", "application", "environment", "people"} <= schema["properties"].keys()
    assert "PersonSpec" in schema["$defs"]


def _broken(tmp_path: Path, edit: str) -> Path:
    data = yaml.safe_load(CONTOSO.read_text(encoding="utf-8"))
    if edit == "role":
        data["people"][0]["dataverse_roles"] = ["System Administrator", "Chief Wizard"]
    elif edit == "group":
        data["people"][0]["groups"] = ["Nobody's Group"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_unknown_role_reference_is_rejected(tmp_path: Path) -> None:
    """A fixture naming a role it does not define is refused, naming person and role."""
    with pytest.raises(ValidationError) as info:
        Fixture.load(_broken(tmp_path, "role"))
    assert "gina: unknown role 'Chief Wizard'" in str(info.value)
    with pytest.raises(ValidationError) as info:
        Fixture.load(_broken(tmp_path, "group"))
    assert "unknown group" in str(info.value)
