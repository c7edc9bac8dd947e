"""Helpers for the operations tests: rows and recorded requests from the sim's admin face."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from dataverse import DataverseClient, EntraApp, RetryPolicy
from tests.dataverse.conftest import dataverse_requests
from tests.simharness import RunningSim

# A client that never waits on a 429 itself: every refusal reaches the bulk engine.
NO_WAIT = RetryPolicy(attempts=3, backoff_base=0.01, backoff_cap=0.05, throttle_budget=0.0)


def row(sim: RunningSim, entity_set: str, key: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        r for r in sim.state()[entity_set] if str(r[_pk(entity_set)]).lower() == key.lower()
    )
    return found


def _pk(entity_set: str) -> str:
    return {
        "mailboxes": "mailboxid",
        "systemusers": "systemuserid",
        "queues": "queueid",
        "emailserverprofiles": "emailserverprofileid",
        "organizations": "organizationid",
        "tracelogs": "tracelogid",
        "roles": "roleid",
        "teams": "teamid",
    }[entity_set]


_REQUEST_LINE = re.compile(r"^(GET|PATCH|POST|DELETE|PUT) (\S+) HTTP/1\.1", re.M)


def batch_parts(
    sim: RunningSim, method: str | None = None, *, status: int | None = 200
) -> list[str]:
    """Request lines (`METHOD url`) of the operations sent inside `$batch` requests that got
    `status` (None: any), in order."""
    lines: list[str] = []
    for request in dataverse_requests(sim):
        if not request["path"].endswith("$batch") or not isinstance(request["body"], str):
            continue
        if status is not None and request["status"] != status:
            continue
        found = _REQUEST_LINE.finditer(request["body"])
        lines.extend(f"{m[1]} {m[2]}" for m in found if method in (None, m[1]))
    return lines


def patches_of(sim: RunningSim, mailbox: str) -> list[str]:
    return [line for line in batch_parts(sim, "PATCH") if f"mailboxes({mailbox.lower()})" in line]


def statuses(sim: RunningSim) -> list[int]:
    return [int(r["status"]) for r in dataverse_requests(sim)]


async def wait_until(check: Callable[[], bool], limit_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            msg = "the condition did not hold in time"
            raise AssertionError(msg)
        await asyncio.sleep(0.02)


def admin_post(sim: RunningSim, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with sim.admin() as client:
        data: dict[str, Any] = client.post(path, json=body).raise_for_status().json()
        return data


def stored(sim: RunningSim, entity_set: str, key: str) -> dict[str, Any]:
    """A stored row read in-process (cheaper than the admin face, for polling)."""
    found = sim.sim.state.row(entity_set, key)
    assert found is not None
    return found


def set_row(sim: RunningSim, entity_set: str, key: str, **values: Any) -> None:
    """Change a stored row directly (another writer), bumping its version like a write does."""

    def change() -> None:
        stored = sim.sim.state.row(entity_set, key)
        assert stored is not None
        stored.update(values)
        sim.sim.state.touch(stored)

    sim.thread.call(change)


@pytest.fixture
async def dv_nowait(sim: RunningSim, entra: EntraApp) -> AsyncIterator[DataverseClient]:
    async with DataverseClient(
        sim.dataverse_url,
        auth=entra.dataverse_auth(sim.dataverse_url),
        ca_path=sim.ca_path,
        retry=NO_WAIT,
        timeout=10.0,
    ) as client:
        yield client
