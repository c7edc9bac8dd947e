"""The Playground configuration written from a fixture, and the demo's parts on their own."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from devtools.demo import DemoOptions, demo_stack
from devtools.demo import main as demo_main
from devtools.playground import (
    OTHER_USERS,
    PlaygroundError,
    playground_config,
    start_playground,
    write_config,
)
from sim.fixture import Fixture
from tests.e2e import conftest as e2e_conftest
from tests.e2e.conftest import require_tools
from tests.simharness import CONTOSO, ONPREM


@pytest.fixture(scope="module")
def contoso() -> Fixture:
    return Fixture.load(CONTOSO)


def test_current_user_is_the_person_with_their_entra_object_id(contoso: Fixture) -> None:
    config = playground_config(contoso, "eddie")
    eddie = next(p for p in contoso.people if p.name == "eddie")

    assert config["tenantId"] == contoso.tenant_id
    assert config["currentUser"] == {
        "id": "29:eddie",
        "name": "Eddie Exchange",
        "userPrincipleName": "eddie@contoso.com",
        "aadObjectId": eddie.object_id,
        "givenName": "Eddie",
        "surname": "Exchange",
        "email": "eddie@contoso.com",
    }


def test_the_other_users_are_fixture_people_with_their_object_ids(contoso: Fixture) -> None:
    config = playground_config(contoso, "sam")
    object_ids = {p.name: p.object_id for p in contoso.people}

    users = config["users"]
    assert len(users) == OTHER_USERS
    for user in users:
        name = user["id"].removeprefix("29:")
        assert name != "sam"
        assert user["aadObjectId"] == object_ids[name]
    ids = [config["currentUser"]["id"]] + [u["id"] for u in users]
    assert len(set(ids)) == len(ids)


def test_conversations_belong_to_the_person(contoso: Fixture) -> None:
    eddie, sam = playground_config(contoso, "eddie"), playground_config(contoso, "sam")
    for key in ("personalChat", "groupChat", "team"):
        assert eddie[key]["id"] != sam[key]["id"]
    assert eddie["team"]["aadGroupId"] == sam["team"]["aadGroupId"]  # one team, two views


def test_a_small_fixture_is_filled_up_with_guests_unknown_to_the_sim() -> None:
    onprem = Fixture.load(ONPREM)
    assert len(onprem.people) < OTHER_USERS + 1
    person = onprem.people[0].name

    users = playground_config(onprem, person)["users"]

    assert len(users) == OTHER_USERS
    guests = [u for u in users if u["id"].startswith("29:guest-")]
    assert len(guests) == OTHER_USERS + 1 - len(onprem.people)
    known = {p.object_id for p in onprem.people}
    assert all(g["aadObjectId"] not in known for g in guests)


def test_an_unknown_person_is_named_with_the_people_there_are(contoso: Fixture) -> None:
    with pytest.raises(PlaygroundError, match=r"no person 'zed'.*gina, eddie"):
        playground_config(contoso, "zed")


@pytest.mark.e2e
async def test_the_playground_accepts_the_config_it_is_given(tmp_path: Path) -> None:
    require_tools(browser=False)
    onprem = Fixture.load(ONPREM)
    person = onprem.people[0].name
    config = write_config(tmp_path / f"{person}.yml", playground_config(onprem, person))

    playground = await start_playground(
        person,
        config,
        bot_endpoint="http://127.0.0.1:9/api/messages",
        port=0,
        log_path=tmp_path / f"{person}.log",
        work_dir=tmp_path,
    )
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            page = await client.get(playground.url)
        assert page.status_code == 200
        assert playground.process.returncode is None  # a rejected config ends it
    finally:
        await playground.stop()
    assert playground.process.returncode is not None


@pytest.mark.e2e
async def test_a_rejected_config_fails_with_the_playgrounds_reason(tmp_path: Path) -> None:
    require_tools(browser=False)
    config = playground_config(Fixture.load(CONTOSO), "eddie")
    config["version"] = "9.9.9"
    path = write_config(tmp_path / "eddie.yml", config)

    with pytest.raises(PlaygroundError, match=r"(?s)did not start.*/version"):
        await start_playground(
            "eddie",
            path,
            bot_endpoint="http://127.0.0.1:9/api/messages",
            port=0,
            log_path=tmp_path / "eddie.log",
            work_dir=tmp_path,
        )


async def test_a_missing_playground_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(PlaygroundError, match=r"make demo"):
        await start_playground(
            "eddie",
            tmp_path / "eddie.yml",
            bot_endpoint="http://127.0.0.1:9/api/messages",
            port=0,
            log_path=tmp_path / "eddie.log",
            work_dir=tmp_path,
            binary=tmp_path / "no-such-agentsplayground",
        )


async def test_without_playground_the_demo_is_sim_and_bot(tmp_path: Path) -> None:
    options = DemoOptions(
        var_dir=tmp_path, sim_port=0, bot_port=0, playground_port=0, playground=False
    )
    async with demo_stack(options) as running:
        async with httpx.AsyncClient(trust_env=False) as client:
            health = await client.get(running.bot_endpoint.replace("/api/messages", "/healthz"))
        assert health.status_code == 200
        assert running.playgrounds == {}
        assert "no Playground" in running.summary()
        assert running.settings.dataverse_url == running.sim.origin
        assert not running.settings.authentication_enabled
    assert running.bot.done()


def test_the_demo_refuses_people_the_fixture_lacks(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        demo_main(["--as", "eddie,zed"])

    assert exit_.value.code == 2
    assert "--as: no zed in the fixture (people: gina, eddie" in capsys.readouterr().err


@pytest.mark.npm  # the Playground half of the check wants node_modules
def test_missing_tools_fail_the_e2e_tests_saying_to_run_make_test(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(e2e_conftest, "CHROMIUM", tmp_path / "chromium")

    with pytest.raises(pytest.fail.Exception, match=r"chromium .*run `make test`"):
        e2e_conftest.require_tools()
    e2e_conftest.require_tools(browser=False)  # the Playground alone is there
