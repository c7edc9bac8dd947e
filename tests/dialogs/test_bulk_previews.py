"""Bulk-change previews kept in the store: a Confirm may reach another replica than the one
that showed the preview, or come after a restart, and still runs once, within the preview's
lifetime, with the checks it always had; without a store, the in-process book behaves the
same way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pytest
from sqlalchemy import text

from cards import verbs
from dataverse import GraphClient
from dialogs import bulk
from dialogs.app import build_router
from dialogs.context import Services
from dialogs.router import Router
from dialogs.signing import CardSigner
from store import Store
from tests.dialogs.conftest import CARD_SECRET, routed_services
from tests.dialogs.kit import EXO, ONPREM, click, find_action, text_of
from tests.dialogs.kit import say as say_without_store
from tests.dialogs.routing_kit import FakeMessenger, mailbox_patches, mailbox_row, press, say
from tests.simharness import RunningSim
from tests.store.kit import Backend, FakeClock

TTL: Final = timedelta(seconds=bulk.PREVIEW_TTL_S)
STALE: Final = "out of date"


class _NoMemoryBook:
    """In place of `bulk.BOOK`: with a store, previews must never go to process memory."""

    def now(self) -> datetime:
        raise AssertionError("the in-memory preview book was used although there is a store")

    async def add(self, token: str, record: Any, expires_at: datetime) -> None:
        raise AssertionError("the in-memory preview book was used although there is a store")

    async def take(self, token: str) -> dict[str, Any] | None:
        raise AssertionError("the in-memory preview book was used although there is a store")


@pytest.fixture
def no_memory_book(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "BOOK", _NoMemoryBook())


def _router_over(services: Services, graph: GraphClient, store: Store) -> Router:
    return build_router(
        routed_services(services, graph, store, FakeMessenger()), CardSigner(CARD_SECRET)
    )


@pytest.fixture
def replica(
    services: Services, graph: GraphClient, other_store: Store, no_memory_book: None
) -> Router:
    """A second bot process, sharing only the database and the card secret."""
    return _router_over(services, graph, other_store)


async def _kept(store: Store) -> int:
    async with store.engine.connect() as connection:
        return int((await connection.execute(text("SELECT count(*) FROM previews"))).scalar_one())


def _token(card: dict[str, Any]) -> str:
    token = find_action(card, "Confirm")["data"][verbs.PREVIEW_TOKEN]
    assert isinstance(token, str)
    return token


@dataclass(frozen=True)
class Kind:
    """A command whose bulk form is a preview, and how to see in the sim that it ran."""

    request: str
    names: tuple[str, ...]
    done: Callable[[dict[str, Any]], bool]


def _tested(row: dict[str, Any]) -> bool:
    # Scheduled, or already run by the sim's background job (300 ms later).
    return bool(row["testemailconfigurationscheduled"] or row["testmailboxaccesscompletedon"])


KINDS: Final = {
    "approve": Kind(
        "approve mailbox for alice and una",
        ("alice", "una"),
        lambda row: row["emailrouteraccessapproval"] == 1,
    ),
    "reject": Kind(
        "reject mailbox for alice and una",
        ("alice", "una"),
        lambda row: row["emailrouteraccessapproval"] == 3,
    ),
    "test-and-enable": Kind("test mailbox alice and una", ("alice", "una"), _tested),
    "apply-defaults": Kind(
        "apply default settings to otto and olga",
        ("otto", "olga"),
        lambda row: row["_emailserverprofile_value"] == EXO,
    ),
    "delivery": Kind(
        "set outgoing email for alice and una to outlook",
        ("alice", "una"),
        lambda row: row["outgoingemaildeliverymethod"] == 1,
    ),
    "profile": Kind(
        'use profile "Contoso Exchange (on-premises)" for alice and una',
        ("alice", "una"),
        lambda row: row["_emailserverprofile_value"] == ONPREM,
    ),
    "org-only": Kind(
        "sync alice and bob from this org only",
        ("alice", "bob"),
        lambda row: row["orgmarkedasprimaryforexchangesync"] is True,
    ),
    "profile-test-all": Kind(
        'test all mailboxes in profile "Contoso Exchange (on-premises)"',
        ("otto", "olga"),
        _tested,
    ),
}


# ---- with a store: any replica, after a restart ---------------------------------------------


@pytest.mark.parametrize("kind", KINDS.values(), ids=list(KINDS))
async def test_each_kind_shown_by_one_replica_runs_on_another(
    routed: Router,
    replica: Router,
    sim: RunningSim,
    store: Store,
    other_store: Store,
    kind: Kind,
) -> None:
    preview = await say(routed, sim, store, "eddie", kind.request)
    assert "2 mailboxes will change" in text_of(preview)
    assert await _kept(store) == 1
    assert not any(kind.done(mailbox_row(sim, name)) for name in kind.names)

    result = await press(replica, sim, other_store, "eddie", preview, "Confirm")

    assert "Done" in text_of(result), text_of(result)
    for name in kind.names:
        assert kind.done(mailbox_row(sim, name)), name
        patches = mailbox_patches(sim, name)
        assert patches
        assert {p["caller_object_id"] for p in patches} == {sim.person("eddie").object_id}
    assert await _kept(store) == 0


async def test_a_preview_survives_a_restart(
    routed: Router,
    sim: RunningSim,
    services: Services,
    graph: GraphClient,
    backend: Backend,
    clock: FakeClock,
    store: Store,
    no_memory_book: None,
) -> None:
    preview = await say(routed, sim, store, "eddie", "sync alice and bob from this org only")
    await store.close()

    async with await backend.open(clock) as restarted:
        after = _router_over(services, graph, restarted)
        result = await press(after, sim, restarted, "eddie", preview, "Confirm")

    assert "Done" in text_of(result)
    assert mailbox_row(sim, "alice")["orgmarkedasprimaryforexchangesync"] is True
    assert mailbox_row(sim, "bob")["orgmarkedasprimaryforexchangesync"] is True


async def test_a_second_confirm_anywhere_is_stale_and_changes_nothing(
    routed: Router, replica: Router, sim: RunningSim, store: Store, other_store: Store
) -> None:
    preview = await say(
        routed, sim, store, "eddie", "set outgoing email for alice and una to outlook"
    )
    first = await press(replica, sim, other_store, "eddie", preview, "Confirm")
    assert "Done" in text_of(first)
    patched = len(mailbox_patches(sim, "alice")), len(mailbox_patches(sim, "una"))

    for router, kept_in in ((routed, store), (replica, other_store)):
        again = await press(router, sim, kept_in, "eddie", preview, "Confirm")
        assert STALE in text_of(again)
    assert (len(mailbox_patches(sim, "alice")), len(mailbox_patches(sim, "una"))) == patched


async def test_two_replicas_confirming_at_once_run_it_once(
    routed: Router, replica: Router, sim: RunningSim, store: Store, other_store: Store
) -> None:
    preview = await say(routed, sim, store, "eddie", "sync alice and bob from this org only")

    results = await asyncio.gather(
        press(routed, sim, store, "eddie", preview, "Confirm"),
        press(replica, sim, other_store, "eddie", preview, "Confirm"),
    )

    shown = sorted(text_of(r) for r in results)
    assert sum("Done" in s for s in shown) == 1
    assert sum(STALE in s for s in shown) == 1
    assert len(mailbox_patches(sim, "alice")) == len(mailbox_patches(sim, "bob")) == 1


async def test_a_confirm_after_the_lifetime_is_stale_and_changes_nothing(
    routed: Router,
    replica: Router,
    sim: RunningSim,
    store: Store,
    other_store: Store,
    clock: FakeClock,
) -> None:
    on_time = await say(routed, sim, store, "eddie", "sync alice and bob from this org only")
    late = await say(
        routed, sim, store, "eddie", "set outgoing email for alice and una to outlook"
    )
    assert _token(on_time) != _token(late)

    clock.advance(TTL - timedelta(seconds=1))
    assert "Done" in text_of(await press(replica, sim, other_store, "eddie", on_time, "Confirm"))
    clock.advance(timedelta(seconds=1))
    result = await press(replica, sim, other_store, "eddie", late, "Confirm")

    assert STALE in text_of(result)
    assert mailbox_patches(sim, "una") == []
    assert mailbox_row(sim, "alice")["outgoingemaildeliverymethod"] != 1
    assert await _kept(store) == 0


async def test_a_cancel_on_one_replica_closes_the_preview_everywhere(
    routed: Router, replica: Router, sim: RunningSim, store: Store, other_store: Store
) -> None:
    preview = await say(routed, sim, store, "eddie", "sync alice and bob from this org only")

    cancelled = await press(replica, sim, other_store, "eddie", preview, "Cancel")
    late = await press(routed, sim, store, "eddie", preview, "Confirm")

    assert "Nothing was changed." in text_of(cancelled)
    assert STALE in text_of(late)
    assert mailbox_patches(sim, "alice") == mailbox_patches(sim, "bob") == []


async def test_a_confirm_by_someone_else_is_refused_and_leaves_the_preview_to_the_asker(
    routed: Router, replica: Router, sim: RunningSim, store: Store, other_store: Store
) -> None:
    preview = await say(routed, sim, store, "eddie", "sync alice and bob from this org only")

    # From her own chat (the signature is for eddie's conversation), and from his: as
    # another member of a group chat would click it.
    elsewhere = await press(replica, sim, other_store, "gina", preview, "Confirm")
    stolen = await press(
        replica, sim, other_store, "gina", preview, "Confirm", conversation="a:personal-eddie"
    )

    assert STALE in text_of(stolen)
    assert mailbox_patches(sim, "alice") == mailbox_patches(sim, "bob") == []
    assert "Confirm" not in str(elsewhere) and "Confirm" not in str(stolen)
    # Another member's click in the asker's conversation does not use up his preview.
    confirmed = await press(routed, sim, store, "eddie", preview, "Confirm")
    assert STALE not in text_of(confirmed)
    assert len(mailbox_patches(sim, "alice")) == len(mailbox_patches(sim, "bob")) == 1


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(record: dict[str, Any]) -> None:
        node: Any = record
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(record: dict[str, Any]) -> None:
        del record[key]

    return change


DAMAGE: Final = {
    "unknown-kind": _set(("run", "kind"), "delete-everything"),
    "value-out-of-range": _set(("run", "params"), {"outgoing": 99}),
    "bool-for-a-value": _set(("run", "params"), {"outgoing": True}),
    "text-for-a-value": _set(("run", "params"), {"outgoing": "outlook"}),
    "unknown-channel": _set(("run", "params"), {"fax": 1}),
    "no-channel": _set(("run", "params"), {}),
    "run-not-an-object": _set(("run",), "set-delivery-methods"),
    "params-not-an-object": _set(("run", "params"), [1]),
    "unknown-format": _set(("format",), 2),
    "unknown-action": _set(("action",), "launch-rockets"),
    "unknown-operation": _set(("operation",), None),
    "bad-mailbox-id": _set(("mailboxes", 0, 0), "not-a-guid"),
    "bad-version": _set(("mailboxes", 0, 2), "7"),
    "mailboxes-not-a-list": _set(("mailboxes",), {"a": 1}),
    "no-caller": _drop("caller"),
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=list(DAMAGE))
async def test_a_kept_preview_that_does_not_read_back_is_stale(
    routed: Router,
    sim: RunningSim,
    store: Store,
    clock: FakeClock,
    damage: Callable[[dict[str, Any]], None],
    no_memory_book: None,
) -> None:
    """Written by another version of the bot, or damaged: a stale card, never a traceback."""
    preview = await say(
        routed, sim, store, "eddie", "set outgoing email for alice and una to outlook"
    )
    token = _token(preview)
    record = await store.previews.take(token)
    assert record is not None
    damage(record)
    await store.previews.add(token, record, clock.current + TTL)

    result = await press(routed, sim, store, "eddie", preview, "Confirm")

    assert STALE in text_of(result)
    assert mailbox_patches(sim, "alice") == mailbox_patches(sim, "una") == []


async def test_kinds_of_other_parameters_are_checked_too(
    routed: Router, sim: RunningSim, store: Store, clock: FakeClock, no_memory_book: None
) -> None:
    for request, params in (
        ('use profile "Contoso Exchange (on-premises)" for alice and una', {"profile_id": 7}),
        ('use profile "Contoso Exchange (on-premises)" for alice and una', {"profile_id": "x"}),
        ("sync alice and una from this org only", {"enabled": "yes"}),
        ("approve mailbox for alice and una", {"force": True}),
    ):
        preview = await say(routed, sim, store, "eddie", request)
        token = _token(preview)
        record = await store.previews.take(token)
        assert record is not None
        record["run"]["params"] = params
        await store.previews.add(token, record, clock.current + TTL)
        result = await press(routed, sim, store, "eddie", preview, "Confirm")
        assert STALE in text_of(result), request
    assert mailbox_patches(sim, "alice") == mailbox_patches(sim, "una") == []


# ---- without a store: this process's book --------------------------------------------------


@pytest.fixture
def memory_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    clock = FakeClock(datetime.now(UTC))
    monkeypatch.setattr(bulk, "BOOK", bulk.MemoryBook(clock))
    return clock


async def test_without_a_store_a_preview_lives_as_long_and_runs_once(
    router: Router, sim: RunningSim, memory_clock: FakeClock
) -> None:
    on_time = await say_without_store(
        router, sim, "eddie", "sync alice and bob from this org only"
    )
    late = await say_without_store(
        router, sim, "eddie", "set outgoing email for alice and una to outlook"
    )

    memory_clock.advance(TTL - timedelta(seconds=1))
    assert "Done" in text_of(await click(router, sim, "eddie", on_time, "Confirm"))
    assert STALE in text_of(await click(router, sim, "eddie", on_time, "Confirm"))
    memory_clock.advance(timedelta(seconds=1))
    assert STALE in text_of(await click(router, sim, "eddie", late, "Confirm"))

    assert mailbox_row(sim, "bob")["orgmarkedasprimaryforexchangesync"] is True
    assert mailbox_patches(sim, "una") == []


async def test_the_memory_book_keeps_a_bounded_number() -> None:
    clock = FakeClock(datetime.now(UTC))
    book = bulk.MemoryBook(clock, limit=2)
    for token in ("a", "b", "c"):
        await book.add(token, {"token": token}, clock.current + TTL)
    assert await book.take("a") is None  # the oldest made room
    assert await book.take("b") == {"token": "b"}
    assert await book.take("b") is None
    assert await book.take("c") == {"token": "c"}
