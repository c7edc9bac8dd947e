"""Fixtures for the dataverse clients: real clients, over HTTPS, against the running sim."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from sim.tls import client_context, ensure_tls
from tests.simharness import FAST_RETRY, RunningSim

# The client fixtures (entra, dv, graph) live in tests/conftest.py: other packages use them.
__all__ = ["FAST_RETRY"]


def admin_post(sim: RunningSim, path: str, body: dict[str, Any]) -> None:
    """POST to the sim's admin face (`/_sim/<path>`)."""
    with sim.admin() as client:
        client.post(path, json=body).raise_for_status()


def mint_user_token(sim: RunningSim, object_id: str, **extra: Any) -> str:
    """A Teams-SSO-like user token for the bot (sim only), the on-behalf-of assertion."""
    with sim.admin() as client:
        response = client.post("token", json={"object_id": object_id, **extra})
        token: str = response.raise_for_status().json()["access_token"]
    return token


def oid(sim: RunningSim, name: str) -> str:
    value: str = sim.person(name).object_id
    return value


def systemuser_id(sim: RunningSim, name: str) -> str:
    value: str = sim.person(name).systemuser_id
    return value


def mailbox_id(sim: RunningSim, name: str) -> str:
    value: str = sim.person(name).mailbox.id
    return value


def dataverse_requests(sim: RunningSim) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r["path"].startswith("/api/data/")]


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A CA that did not sign the sim's certificate."""
    return ensure_tls(tmp_path / "other-ca").ca_cert


def sim_client(sim: RunningSim) -> httpx.Client:
    return httpx.Client(verify=client_context(sim.ca_path))


def row_ids(sim: RunningSim, entity_set: str, primary_key: str) -> list[str]:
    """Primary keys of the rows the sim holds in `entity_set`, in its order."""
    return [str(row[primary_key]) for row in sim.state()[entity_set]]


def add_alert(
    sim: RunningSim,
    regarding: str,
    text: str,
    when: str,
    *,
    level: int = 3,
    regarding_type: str = "mailbox",
) -> None:
    """An alert (`tracelog` row) written straight into the sim's state, dated `when`."""

    def insert() -> None:
        key = str(uuid.uuid4())
        sim.sim.state.insert(
            "tracelogs",
            key,
            {
                "tracelogid": key,
                "_regardingobjectid_value": regarding,
                "regardingobjecttypecode": regarding_type,
                "level": level,
                "text": text,
                "tracecode": 7,
                "tracestatus": False,
            },
        )
        sim.sim.state.tables["tracelogs"][key]["modifiedon"] = when

    sim.thread.call(insert)
