"""Issue 13 point 2: `processingstatecode` and `hostid` as the Web API serves them.

Sources: the mailbox table reference (MicrosoftDocs/powerapps-docs
reference/entities/mailbox.md) lists `processingstatecode` ("Mailbox Processing State",
Integer, read-only, no values) and `hostid` ("Unique identifier of the async host that is
processing this mailbox", String 256, read-only); Microsoft's field engineers read the first
as 0 normally and 1 while an asynchronous host is processing the mailbox, with `hostid` set
meanwhile (CRM in the Field, "How to read the Dynamics 365 Mailbox details file",
2019-02-14). reference/dataverse.md §1.1, §12.2. It is not a "disabled" flag: server-side
synchronization stops a mailbox through `enabledfor*` (tests/sim/test_testenable.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sim.fixture import Fixture
from sim.state import PROCESSING_BY_HOST, PROCESSING_IDLE, SimState
from tests.sim.webapi_kit import MAILBOX_GINA, PROFILE_EXO, dv, error_of
from tests.simharness import CONTOSO, RunningSim

COLUMNS = "processingstatecode,hostid,versionnumber"
BOB = "3b000000-0000-4000-8000-00000000000a"


def _read(sim: RunningSim, key: str) -> dict[str, Any]:
    with dv(sim) as client:
        resp = client.get(f"mailboxes({key})", params={"$select": COLUMNS})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def _process(sim: RunningSim, key: str, host: str | None) -> None:
    sim.thread.call(lambda: sim.sim.state.process_mailbox(key, host))


def test_an_idle_mailbox_reads_0_and_no_host(sim: RunningSim) -> None:
    row = _read(sim, MAILBOX_GINA)
    assert (row["processingstatecode"], row["hostid"]) == (PROCESSING_IDLE, None) == (0, None)


def test_a_host_picks_the_mailbox_up_and_lets_it_go(sim: RunningSim) -> None:
    """While an async host processes the mailbox: 1 and the host's name; after: 0 and null.
    The platform's update is a change of the row (a new version)."""
    before = _read(sim, MAILBOX_GINA)
    _process(sim, MAILBOX_GINA, "CRM-ASYNC-07")
    during = _read(sim, MAILBOX_GINA)
    assert (during["processingstatecode"], during["hostid"]) == (
        PROCESSING_BY_HOST,
        "CRM-ASYNC-07",
    )
    assert during["processingstatecode"] == 1
    assert during["versionnumber"] > before["versionnumber"]
    _process(sim, MAILBOX_GINA, None)
    after = _read(sim, MAILBOX_GINA)
    assert (after["processingstatecode"], after["hostid"]) == (0, None)


def test_hostid_filters_like_any_string_column(sim: RunningSim) -> None:
    _process(sim, MAILBOX_GINA, "CRM-ASYNC-07")
    with dv(sim) as client:
        resp = client.get(
            "mailboxes",
            params={"$select": "mailboxid", "$filter": "hostid eq 'CRM-ASYNC-07'"},
        )
    assert resp.status_code == 200, resp.text
    assert [r["mailboxid"] for r in resp.json()["value"]] == [MAILBOX_GINA]


@pytest.mark.parametrize(
    "body", [{"hostid": "CRM-ASYNC-07"}, {"processingstatecode": 1}, {"processingstatecode": 0}]
)
def test_both_columns_are_read_only(sim: RunningSim, body: dict[str, Any]) -> None:
    """mailbox.md: neither column is valid for create or update (the platform writes them)."""
    before = _read(sim, MAILBOX_GINA)
    with dv(sim) as client:
        update = client.patch(f"mailboxes({MAILBOX_GINA})", json=body, headers={"If-Match": "*"})
        create = client.post(
            "mailboxes",
            json={
                "name": "Shared box",
                "emailserverprofile@odata.bind": f"/emailserverprofiles({PROFILE_EXO})",
                **body,
            },
        )
    assert update.status_code == 400, update.text
    assert error_of(update)["code"] == "0x80040203"
    assert "not valid for update" in error_of(update)["message"]
    assert create.status_code == 400, create.text
    assert "not valid for create" in error_of(create)["message"]
    assert _read(sim, MAILBOX_GINA) == before


def test_the_demo_fleet_has_mailboxes_mid_sync(sim: RunningSim) -> None:
    """The contoso fixture's generated fleet (`syncing_every`): some mailboxes are being
    synchronized right now, and each of them names its host and is switched on; every other
    mailbox has no host."""
    switches = "enabledforincomingemail,enabledforoutgoingemail,enabledforact"
    with dv(sim) as client:
        resp = client.get(
            "mailboxes",
            params={"$select": f"{COLUMNS},{switches}", "$filter": "processingstatecode eq 1"},
        )
        idle = client.get(
            "mailboxes",
            params={
                "$select": "mailboxid",
                "$filter": "processingstatecode eq 0 and hostid ne null",
            },
        )
    assert resp.status_code == 200, resp.text
    syncing = resp.json()["value"]
    assert len(syncing) >= 10
    for row in syncing:
        assert str(row["hostid"]).startswith("async-host-")
        assert row["enabledforincomingemail"] and row["enabledforoutgoingemail"]
        assert row["enabledforact"]
    assert idle.status_code == 200 and idle.json()["value"] == []


def _contoso_with(tmp_path: Path, **mailbox: Any) -> Path:
    data = yaml.safe_load(CONTOSO.read_text(encoding="utf-8"))
    bob = next(p for p in data["people"] if p["name"] == "bob")
    bob["mailbox"].update(mailbox)
    path = tmp_path / "contoso.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_fixture_mailbox_can_be_mid_sync_or_stopped(tmp_path: Path) -> None:
    """`processing_host` seeds 1 and the host; `enabled_*` false seeds a stopped direction."""
    path = _contoso_with(tmp_path, processing_host="CRM-ASYNC-02", enabled_incoming=False)
    state = SimState.from_fixture(Fixture.load(path))
    bob = state.tables["mailboxes"][BOB]
    assert (bob["processingstatecode"], bob["hostid"]) == (1, "CRM-ASYNC-02")
    assert bob["enabledforincomingemail"] is False and bob["enabledforact"] is True


def test_a_host_name_longer_than_the_column_is_refused(tmp_path: Path) -> None:
    """mailbox.md: `hostid` is a String of at most 256 characters."""
    with pytest.raises(ValidationError) as info:
        Fixture.load(_contoso_with(tmp_path, processing_host="h" * 257))
    assert "processing_host" in str(info.value)
