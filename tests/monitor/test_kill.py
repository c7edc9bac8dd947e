"""Two monitor processes on one database (an SQLite file, and PostgreSQL): kill -9 the leader
while it polls; the other continues within the lease time, and no incident is lost or
announced twice. Real processes, real clocks (`tests/monitor/replica.py`)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Final

from dataverse import DataverseClient
from store import Store, SubjectKind
from tests.monitor.kit import BOB, ENV, fail, healthy_approved
from tests.simharness import RunningSim
from tests.store.kit import Backend

INTERVAL: Final = 0.5
TTL: Final = 1.5
ROOT: Final = Path(__file__).resolve().parents[2]


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


async def _posts_recorded(store: Store, mailbox: str) -> bool:
    return any(
        i.card is not None
        for i in await store.incidents.open(environment=ENV)
        if i.subject_kind is SubjectKind.MAILBOX and i.subject_id == mailbox
    )


async def _until(check: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.05)
    msg = f"timed out waiting for {what}"
    raise AssertionError(msg)


@contextmanager
def _replicas(
    sim: RunningSim, backend: Backend, tmp_path: Path, holders: list[str]
) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs: list[BinaryIO] = []
    try:
        for holder in holders:
            command = [
                sys.executable,
                "-m",
                "tests.monitor.replica",
                "--origin",
                sim.origin,
                "--ca",
                str(sim.ca_path),
                "--tenant",
                sim.tenant_id,
                "--client-id",
                sim.client_id,
                "--secret",
                sim.client_secret,
                "--db",
                backend.url,
                "--holder",
                holder,
                "--posts",
                str(tmp_path / "posts.jsonl"),
                "--reports",
                str(tmp_path / "reports.jsonl"),
                "--interval",
                str(INTERVAL),
                "--ttl",
                str(TTL),
            ]
            if backend.schema:
                command += ["--schema", backend.schema]
            log = (tmp_path / f"{holder}.log").open("wb")
            logs.append(log)
            processes[holder] = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ)
            )
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for handle in logs:
            handle.close()


async def test_kill_9_the_leader_while_it_polls(
    sim: RunningSim, dv: DataverseClient, backend: Backend, tmp_path: Path
) -> None:
    posts, reports = tmp_path / "posts.jsonl", tmp_path / "reports.jsonl"
    setup = await backend.open()  # migrate once, before the replicas start
    try:
        with _replicas(sim, backend, tmp_path, ["replica-a", "replica-b"]) as processes:

            def leader() -> str | None:
                led = [r for r in _lines(reports) if r["leader"]]
                return str(led[-1]["holder"]) if led else None

            first = await _until(leader, 60, "a leader")
            await _until(lambda: _lines(posts), 30, "the fixture's failing mailboxes")

            # Every poll now takes a while: the kill lands in the middle of one.
            with sim.admin() as admin:
                admin.post("latency", json={"ms": 150}).raise_for_status()
            await fail(sim, dv, [BOB])
            await _until(
                lambda: [p for p in _lines(posts) if "Bob Brown" in str(p["title"])],
                30,
                "bob's incident",
            )
            # Once the leader has recorded where bob's card is, it is back to polling (each
            # read now takes 150 ms; sending and recording take a few): kill it then. (A
            # kill -9 between a post and its record would announce that one incident twice;
            # Teams takes no idempotency key for proactive messages.)
            for _ in range(600):
                if await _posts_recorded(setup, BOB):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)
            processes[first].send_signal(signal.SIGKILL)
            killed_at = time.time()
            processes[first].wait(timeout=10)

            (other,) = healthy_approved(sim, 1)
            name = sim.thread.call(lambda: sim.sim.state.tables["mailboxes"][other]["name"])
            await fail(sim, dv, [other], code=9, text="Mailbox locked.")
            (late,) = await _until(
                lambda: [p for p in _lines(posts) if name in str(p["title"])],
                30,
                "the failure after the kill",
            )

        survivor = ({"replica-a", "replica-b"} - {first}).pop()
        history = (
            _lines(posts),
            [(r["holder"], r["leader"], r["token"]) for r in _lines(reports)],
        )
        assert late["holder"] == survivor, history
        # Within the lease time (plus one poll and the slowed-down reads).
        assert late["at"] - killed_at <= TTL + INTERVAL + 2.0, (late["at"] - killed_at, history)
        titles = [str(p["title"]) for p in _lines(posts)]
        assert sum("Bob Brown" in t for t in titles) == 1, history
        assert sum(name in t for t in titles) == 1, history
        assert sum("mailboxes failing the same way" in t for t in titles) == 1, history
        took_over = [r for r in _lines(reports) if r["holder"] == survivor and r["leader"]]
        assert took_over and all(r["token"] >= 1 for r in took_over)
        open_bob = [
            i
            for i in await setup.incidents.open(environment=ENV)
            if i.subject_kind is SubjectKind.MAILBOX and i.subject_id == BOB
        ]
        assert len(open_bob) == 1 and open_bob[0].card is not None
    finally:
        with sim.admin() as admin:
            admin.post("latency", json={"ms": 0}).raise_for_status()
        await setup.close()
