"""The approval decision through the bot, for every person of the demo fixture.

Seed, permission table, row "Customer engagement apps + Exchange Online": Global admin +
System admin, Exchange admin + System admin and Delegated Mailbox Approver + System admin
(from 9.2.22104.00170; the fixture is later) may approve; System admin alone, service admin,
Exchange admin alone and Global admin alone may not. Team-held System Administrator counts
(tess); the approval privilege on its own does not (pria); nobody else's own-mailbox rule
applies to alice's mailbox.
"""

from __future__ import annotations

import pytest

from dialogs.router import Router
from tests.dialogs.kit import say, text_of
from tests.simharness import RunningSim

MAY_APPROVE = {"gina", "eddie", "dana", "tess"}
PEOPLE = [
    "gina", "eddie", "dana", "sam", "gary", "xena", "steve",
    "una", "alice", "bob", "tess", "otto", "olga", "pria",
]  # fmt: skip


@pytest.mark.parametrize("name", PEOPLE)
async def test_approve_alice_as(name: str, router: Router, sim: RunningSim) -> None:
    card = text_of(await say(router, sim, name, "approve mailbox for alice"))
    alice = sim.person("alice").mailbox.id
    row = next(m for m in sim.state()["mailboxes"] if m["mailboxid"] == alice)
    if name in MAY_APPROVE:
        assert "Done" in card
        assert row["emailrouteraccessapproval"] == 1
    else:
        assert "Request approval" in card or "can't" in card
        assert row["emailrouteraccessapproval"] == 2
        writes = [r for r in sim.requests() if r["method"] in ("PATCH", "POST", "DELETE")]
        assert writes == []
