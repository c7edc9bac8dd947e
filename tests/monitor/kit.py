"""Helpers for the monitor tests: a recording stand-in for Teams, the on-call people of the
contoso fixture, and ways to make mailboxes fail or recover in the sim the way Dataverse
does it (Test & Enable scheduled through the Web API, run by the sim's background job)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cards.common import Card
from dataverse import DataverseClient
from dataverse.models import Mailbox
from monitor import Audience, FixedList, NoConversation, Responder
from sim import testenable
from sim.fixture import TestFailure
from store import CardLocation, ConversationKey, Person
from tests.cards.checks import walk
from tests.simharness import RunningSim

ENV: Final = "prod"
TENANT: Final = "c0ffee00-0000-4000-8000-000000000001"
DANA: Final = Responder("Dana Delegate", "aa000000-0000-4000-8000-000000000003")
EDDIE: Final = Responder("Eddie Exchange", "aa000000-0000-4000-8000-000000000002")
GINA: Final = Responder("Gina Global", "aa000000-0000-4000-8000-000000000001")
ON_CALL_LIST: Final = FixedList((DANA, EDDIE, GINA))
DANA_PERSON: Final = Person(DANA.user_id, DANA.name)
EDDIE_PERSON: Final = Person(EDDIE.user_id, EDDIE.name)
GINA_PERSON: Final = Person(GINA.user_id, GINA.name)

BOB: Final = "3b000000-0000-4000-8000-00000000000a"
OTTO: Final = "3b000000-0000-4000-8000-00000000000c"
OLGA: Final = "3b000000-0000-4000-8000-00000000000d"
ONPREM_PROFILE: Final = "e5000000-0000-4000-8000-000000000002"
EXCHANGE_ONLINE_PROFILE: Final = "e5000000-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class Post:
    """One message the monitor sent."""

    card: Card
    audience: Audience
    mentions: tuple[Responder, ...]
    location: CardLocation


@dataclass
class RecordingNotifier:
    """Teams as the monitor sees it: posts get activity ids, updates replace cards. A fake
    of the outside world only; `missing` audiences have no conversation yet."""

    posts: list[Post] = field(default_factory=list)
    updates: list[tuple[CardLocation, Card]] = field(default_factory=list)
    missing: set[Audience] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def post(
        self, card: Card, *, audience: Audience, mentions: Sequence[Responder] = ()
    ) -> CardLocation:
        if audience in self.missing:
            raise NoConversation(audience.value)
        location = CardLocation(
            ConversationKey(TENANT, f"19:{audience.value}@thread.tacv2"),
            f"activity-{next(self._ids)}",
        )
        self.posts.append(Post(card, audience, tuple(mentions), location))
        return location

    async def update(self, location: CardLocation, card: Card) -> None:
        if not any(p.location == location for p in self.posts):
            msg = f"no message at {location}"
            raise AssertionError(msg)
        self.updates.append((location, card))

    def current(self, location: CardLocation) -> Card:
        """The card the message at `location` shows now."""
        for where, card in reversed(self.updates):
            if where == location:
                return card
        return next(p.card for p in self.posts if p.location == location)

    def mark(self) -> int:
        """How many posts there are so far (to look at only the later ones)."""
        return len(self.posts)

    def since(self, mark: int) -> list[Post]:
        return self.posts[mark:]


def texts(card: Card) -> list[str]:
    """Every text, fact title and value, and button title of a card."""
    found = []
    for node in walk(card):
        for key in ("text", "title", "value"):
            value = node.get(key)
            if isinstance(value, str):
                found.append(value)
    return found


def flat(card: Card) -> str:
    return "\n".join(texts(card))


def facts(card: Card) -> dict[str, str]:
    return {f["title"]: f["value"] for n in walk(card) for f in n.get("facts", [])}


def verbs_of(card: Card) -> set[str]:
    return {str(n["verb"]) for n in walk(card) if n.get("type") == "Action.Execute"}


def script_failure(
    sim: RunningSim, mailbox_ids: Iterable[str], *, code: int, text: str, permanent: bool = False
) -> None:
    """What the next Test & Enable of each mailbox reports (sim state, like the fixture)."""
    ids = [m.lower() for m in mailbox_ids]
    failure = TestFailure(code=code, text=text, permanent=permanent)

    def apply() -> None:
        for key in ids:
            sim.sim.state.test_outcomes[key] = failure

    sim.thread.call(apply)


def script_success(sim: RunningSim, mailbox_ids: Iterable[str]) -> None:
    ids = [m.lower() for m in mailbox_ids]

    def apply() -> None:
        for key in ids:
            sim.sim.state.test_outcomes[key] = "success"

    sim.thread.call(apply)


async def run_tests(sim: RunningSim, dv: DataverseClient, mailbox_ids: Iterable[str]) -> None:
    """Schedule Test & Enable through the Web API (as the app), then let the sim's job run:
    statuses, `modifiedon` and the alert change as Dataverse would change them."""
    for key in mailbox_ids:
        await dv.update_row(Mailbox, key, {"testemailconfigurationscheduled": True})
    sim.thread.call_async(testenable.run_pending(sim.sim))


async def fail(
    sim: RunningSim,
    dv: DataverseClient,
    mailbox_ids: Iterable[str],
    *,
    code: int = 3,
    text: str = "Authentication failure: Exchange Online rejected the credentials.",
    permanent: bool = False,
) -> None:
    ids = list(mailbox_ids)
    script_failure(sim, ids, code=code, text=text, permanent=permanent)
    await run_tests(sim, dv, ids)


async def recover(sim: RunningSim, dv: DataverseClient, mailbox_ids: Iterable[str]) -> None:
    ids = list(mailbox_ids)
    script_success(sim, ids)
    await run_tests(sim, dv, ids)


def healthy_approved(sim: RunningSim, count: int) -> list[str]:
    """Generated mailboxes that are approved and tested successfully (so a scripted
    failure is the only thing their next test reports)."""

    def pick() -> list[str]:
        rows = sim.sim.state.tables["mailboxes"].values()
        found = sorted(
            str(r["mailboxid"])
            for r in rows
            if str(r["name"]).startswith("Generated ")
            and r["emailrouteraccessapproval"] == 1
            and r["mailboxstatus"] == 1
        )
        return found[:count]

    chosen = sim.thread.call(pick)
    assert len(chosen) == count, f"the fixture has only {len(chosen)} such mailboxes"
    return chosen
