"""Two `mailops serve` processes on one database: kill -9 the monitor's leader while it polls.

Issue 6, "done when": two bot processes on one database (an SQLite file, and PostgreSQL) —
kill -9 the leader while it polls, the other continues within the lease time, no incident is
lost and none is announced twice. Here the two processes are the product itself, each
configured only by environment variables, as an operator would run two replicas:
DATAVERSE_URL and the Entra app registration point at the sim (private CA in
MAILOPS_CA_BUNDLE for Dataverse, Graph and Entra; REQUESTS_CA_BUNDLE for the Bot Connector,
which botbuilder reaches through requests' trust settings), MAILOPS_DB_URL names the shared
store, MAILOPS_MONITOR_INTERVAL_S and MAILOPS_MONITOR_LEASE_TTL_S are short, and
MAILOPS_ONCALL_CONVERSATION_ID names the on-call channel. Teams is the sim's Bot Connector
recorder: the app is installed in that channel (the `conversationUpdate` Teams sends when a
bot is added to a team, whose `serviceUrl` is the recorder), and every incident card either
process posts there is counted at the recorder (`GET /_sim/activities`).

Which process leads is read from the lease row through the store's public API
(`store.leases.current`): the product exposes it nowhere else (neither /healthz nor /metrics
say which replica holds the monitor's lease); its holder is `host:pid`.

Real processes, real clocks, a real database; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Final

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from dataverse import DataverseClient
from monitor.leader import LEASE_PREFIX
from store import Store, SubjectKind
from tests.bot.activities import BOT_ID, connector_url
from tests.bot.conftest import environment
from tests.bot.serving import free_port
from tests.monitor.kit import BOB, ENV, fail, healthy_approved
from tests.simharness import RunningSim
from tests.store.kit import Backend

INTERVAL_S: Final = 0.5
LEASE_TTL_S: Final = 1.5
# A follower retries when the lease can expire, then its first cycle of a new term is a
# full sweep over the slowed-down sim (every Dataverse call waits LATENCY_MS); the failure
# made after the kill may land just after that sweep's read, and is then seen one interval
# later. This is the allowance for those reads and the post, on top of TTL + interval.
SLACK_S: Final = 2.5
LATENCY_MS: Final = 150
STALL_MS: Final = 3000  # the read the leader is killed in: longer than finding it takes
ON_CALL_CHANNEL: Final = "19:oncall-failover@thread.tacv2"
CARD_SECRET: Final = "failover-card-secret-0123456789"  # shared: a click may reach either one
START_TIMEOUT_S: Final = 60.0
LEASE: Final = LEASE_PREFIX + ENV
GROUPED: Final = "mailboxes failing the same way"
DIGEST: Final = "Daily mailbox digest"  # posted once a day after 08:00 UTC, not an incident


@dataclass
class Replica:
    """One `mailops serve` process, its port and its log file."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    handle: BinaryIO = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        self.handle.flush()
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""


@dataclass
class Replicas:
    members: dict[str, Replica] = field(default_factory=dict)

    def by_pid(self, pid: int) -> Replica | None:
        return next((r for r in self.members.values() if r.pid == pid), None)

    def logs(self) -> str:
        """Every process's output, for assertion messages."""
        return "\n".join(
            f"----- {r.name} (pid {r.pid}, port {r.port}, exit {r.process.poll()}) -----\n"
            f"{r.output()[-12000:]}"
            for r in self.members.values()
        )


def _serve_environment(sim: RunningSim, db_url: str, port: int) -> dict[str, str]:
    """What an operator sets for one replica; the process inherits nothing else of ours (the
    autouse `_clean_environ` fixture removed any MAILOPS_* the developer exported)."""
    return {
        **os.environ,
        **environment(
            sim,
            MAILOPS_DB_URL=db_url,
            MAILOPS_HOST="127.0.0.1",
            MAILOPS_PORT=str(port),
            MAILOPS_CARD_SECRET=CARD_SECRET,
            MAILOPS_MONITOR="on",
            MAILOPS_MONITOR_INTERVAL_S=str(INTERVAL_S),
            MAILOPS_MONITOR_LEASE_TTL_S=str(LEASE_TTL_S),
            MAILOPS_ONCALL="dana@contoso.com,eddie@contoso.com",
            MAILOPS_ONCALL_CONVERSATION_ID=ON_CALL_CHANNEL,
            MAILOPS_LOG_LEVEL="INFO",
        ),
        # botbuilder's connector calls honour requests' CA variable (bot/outbound.py).
        "REQUESTS_CA_BUNDLE": str(sim.ca_path),
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def _replicas(
    sim: RunningSim, db_url: str, tmp_path: Path, names: list[str]
) -> Iterator[Replicas]:
    """Start `mailops serve` once per name; on the way out stop what still runs (SIGTERM,
    then SIGKILL after 15 s) and close the logs, whatever happened."""
    replicas = Replicas()
    try:
        for name in names:
            port = free_port()
            log = tmp_path / f"{name}.log"
            handle = log.open("wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                cwd=tmp_path,  # the product's relative defaults (var/) stay in tmp_path
                env=_serve_environment(sim, db_url, port),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
            replicas.members[name] = Replica(name, port, log, process, handle)
        yield replicas
    finally:
        for replica in replicas.members.values():
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in replicas.members.values():
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
            replica.handle.close()


@asynccontextmanager
async def _database(backend: Backend) -> AsyncIterator[str]:
    """The URL both replicas get in MAILOPS_DB_URL: the backend's SQLite file, or on
    PostgreSQL a database of its own (MAILOPS_DB_URL names a database, not a schema, so the
    backend's fresh schema name becomes a fresh database), dropped afterwards."""
    if backend.schema is None:
        yield backend.url
        return
    name = backend.schema
    admin = create_async_engine(backend.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(backend.url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _until(
    check: Callable[[], Awaitable[Any]], within: float, what: str, replicas: Replicas
) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    msg = f"timed out after {within:g} s waiting for {what}\n{replicas.logs()}"
    raise AssertionError(msg)


async def _healthy(replica: Replica, client: httpx.AsyncClient, replicas: Replicas) -> None:
    async def up() -> bool:
        if replica.process.poll() is not None:
            msg = f"{replica.name} exited while starting\n{replicas.logs()}"
            raise AssertionError(msg)
        try:
            response = await client.get(f"http://127.0.0.1:{replica.port}/healthz")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    await _until(up, START_TIMEOUT_S, f"{replica.name}'s /healthz", replicas)


def _install_in_channel(sim: RunningSim) -> dict[str, Any]:
    """The `conversationUpdate` Teams sends when a person adds the app to a team: the bot
    joins the team's General channel (whose id is the team's), and the activity's
    `serviceUrl` is where the bot writes to that channel from then on."""
    dana = sim.person("dana")
    return {
        "type": "conversationUpdate",
        "id": f"install-{time.time_ns()}",
        "timestamp": "2026-11-27T10:00:00.000Z",
        "channelId": "msteams",
        "serviceUrl": connector_url(sim),
        "from": {
            "id": f"29:{dana.object_id}",
            "name": dana.display_name,
            "aadObjectId": dana.object_id,
        },
        "recipient": {"id": BOT_ID, "name": "MailOps"},
        "conversation": {
            "id": ON_CALL_CHANNEL,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": sim.tenant_id,
        },
        "membersAdded": [{"id": BOT_ID}],
        "channelData": {
            "eventType": "teamMemberAdded",
            "team": {"id": ON_CALL_CHANNEL, "name": "Mail operations"},
            "tenant": {"id": sim.tenant_id},
        },
        "locale": "en-US",
    }


def _posts(sim: RunningSim) -> list[dict[str, Any]]:
    """New messages in the on-call channel at the Bot Connector recorder (the greeting on
    install and the incident cards; not card updates), oldest first, each with its card's
    title (`fallbackText`)."""
    with sim.admin() as admin:
        recorded: list[dict[str, Any]] = admin.get("activities").raise_for_status().json()
    found = []
    for entry in recorded:
        if entry["op"] != "send" or entry["conversation_id"] != ON_CALL_CHANNEL:
            continue
        cards = [
            a["content"]
            for a in (entry["activity"] or {}).get("attachments") or []
            if a.get("contentType") == "application/vnd.microsoft.card.adaptive"
        ]
        title = str(cards[0].get("fallbackText")) if cards else ""
        found.append({**entry, "title": title})
    return found


def _titled(sim: RunningSim, words: str) -> list[dict[str, Any]]:
    return [p for p in _posts(sim) if words in p["title"]]


async def _open_for(store: Store, mailbox: str) -> list[Any]:
    return [
        i
        for i in await store.incidents.open(environment=ENV)
        if i.subject_kind is SubjectKind.MAILBOX and i.subject_id == mailbox
    ]


async def test_kill_9_the_leading_bot_process_while_it_polls(
    sim: RunningSim, dv: DataverseClient, backend: Backend, tmp_path: Path
) -> None:
    with sim.admin() as admin:
        admin.post("latency", json={"ms": 0}).raise_for_status()
    (other,) = healthy_approved(sim, 1)
    other_name = sim.thread.call(lambda: str(sim.sim.state.tables["mailboxes"][other]["name"]))
    async with _database(backend) as db_url, httpx.AsyncClient(timeout=5) as client:
        store: Store | None = None
        stall_started: float | None = None
        try:
            with _replicas(sim, db_url, tmp_path, ["bot-a", "bot-b"]) as replicas:
                # Both start at once and both migrate the new database (the store makes
                # that safe); the test reads the same store only once both are up.
                for replica in replicas.members.values():
                    await _healthy(replica, client, replicas)
                store = await Store.open(db_url, migrate=False)

                # Someone adds the app to the on-call team; one replica hears it and stores
                # the channel's reference, which the leader (either one) then posts through.
                installed = await client.post(
                    f"http://127.0.0.1:{replicas.members['bot-a'].port}/api/messages",
                    json=_install_in_channel(sim),
                )
                assert installed.status_code == 201, replicas.logs()
                # The greeting is the channel's only message so far: no replica could post
                # there before it knew the channel.
                greeting = {p["activity_id"] for p in _posts(sim)}

                async def leading() -> Replica | None:
                    assert store is not None
                    lease = await store.leases.current(LEASE)
                    if lease is None:
                        return None
                    return replicas.by_pid(int(lease.holder.rsplit(":", 1)[1]))

                first: Replica = await _until(leading, 30, "a leader", replicas)
                first_lease = await store.leases.current(LEASE)
                assert first_lease is not None and first_lease.holder.endswith(f":{first.pid}")

                async def grouped() -> list[dict[str, Any]]:
                    return _titled(sim, GROUPED)

                await _until(grouped, 30, "the fixture's grouped incident card", replicas)

                # Every Dataverse call now takes a while (a slow tenant): polls fill most of
                # the interval, and the survivor's take-over sweep is timed against that.
                with sim.admin() as admin:
                    admin.post("latency", json={"ms": LATENCY_MS}).raise_for_status()
                await fail(sim, dv, [BOB])

                async def bobs() -> list[dict[str, Any]]:
                    return _titled(sim, "Bob Brown")

                await _until(bobs, 30, "bob's incident card", replicas)

                async def recorded() -> bool:
                    assert store is not None
                    return any(i.card is not None for i in await _open_for(store, BOB))

                # Once the leader has stored where bob's card is, its next mailbox read
                # hangs at the sim: when the read has reached the sim (the one-shot fault is
                # used up) the leader is inside a poll, and it is killed there. Not earlier:
                # a kill -9 between a post and its record would announce that incident twice
                # (Teams takes no idempotency key for proactive messages, so that window can
                # only be kept short, not closed), and a poll posts nothing until it is read.
                await _until(recorded, 30, "bob's card location in the store", replicas)
                sim.fault(r"^GET /api/data/v9\.2/mailboxes\?", 200, latency_ms=STALL_MS)

                async def stalled() -> bool:
                    return not sim.thread.call(lambda: len(sim.sim.faults))

                await _until(stalled, 30, "the leader's next poll", replicas)
                stall_started = time.monotonic()
                first.process.send_signal(signal.SIGKILL)
                killed_at = time.time()
                first.process.wait(timeout=10)
                survivor = next(r for r in replicas.members.values() if r is not first)

                await fail(sim, dv, [other], code=9, text="Mailbox locked.")

                async def late() -> list[dict[str, Any]]:
                    return _titled(sim, other_name)

                late_post = (await _until(late, 30, "the failure after the kill", replicas))[0]
                lease = await store.leases.current(LEASE)
                output = replicas.logs()
            # Both stopped now (the survivor by SIGTERM): nothing more is in flight.

            posts = _posts(sim)
            history = "\n".join(
                f"{p['received_at']:.3f} {p['activity_id']} {p['title']}" for p in posts
            )
            context = f"killed {first.name} at {killed_at:.3f}\n{history}\n{output}"
            # The survivor took the lease over, under a new fencing token.
            assert lease is not None, context
            assert lease.holder.endswith(f":{survivor.pid}"), context
            assert lease.token > first_lease.token, context
            # Within the lease time (plus one poll and the slowed-down reads).
            took = late_post["received_at"] - killed_at
            assert took <= LEASE_TTL_S + INTERVAL_S + SLACK_S, f"{took:.2f} s\n{context}"
            # Nothing lost, nothing twice: bob's, the new one, the fixture's grouped card.
            assert len([p for p in posts if "Bob Brown" in p["title"]]) == 1, context
            assert len([p for p in posts if other_name in p["title"]]) == 1, context
            assert len([p for p in posts if GROUPED in p["title"]]) == 1, context
            titles = [p["title"] for p in posts]
            assert len(titles) == len(set(titles)), context
            # The open incident carried on: one row for bob, pointing at the one card.
            (bob,) = await _open_for(store, BOB)
            assert bob.card is not None, context
            (bob_post,) = _titled(sim, "Bob Brown")
            assert bob.card.activity_id == bob_post["activity_id"], context
            assert bob.card.conversation.conversation_id == ON_CALL_CHANNEL, context
            (late_incident,) = await _open_for(store, other)
            assert late_incident.card is not None, context
            # Across every incident: each open one points at a message that was posted (none
            # lost), and every posted message but the greeting and the daily digest is the
            # card of an open incident (a post whose record was lost would be announced
            # again, and show up here as a message no incident points at).
            everything = await store.incidents.open(environment=ENV)
            cards = {i.card.activity_id for i in everything if i.card is not None}
            assert all(i.card is not None for i in everything), context
            assert cards <= {p["activity_id"] for p in posts}, context
            unclaimed = [
                p["title"]
                for p in posts
                if p["activity_id"] not in cards | greeting and p["title"] != DIGEST
            ]
            assert not unclaimed, context
        finally:
            with sim.admin() as admin:
                admin.post("latency", json={"ms": 0}).raise_for_status()
                admin.delete("faults").raise_for_status()
            if stall_started is not None:
                # The sim still serves the dead leader's stalled read, and records it when
                # the stall ends: let that happen here, not in the middle of the next test.
                left = STALL_MS / 1000 - (time.monotonic() - stall_started)
                await asyncio.sleep(max(0.0, left) + 0.5)
            if store is not None:
                await store.close()
