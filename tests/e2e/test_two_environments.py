"""Two environments in the demo: prod (contoso.yaml) and onprem (onprem.yaml, another
tenant). sara, a Fabrikam System Administrator, has a Playground in her tenant and asks
about a Fabrikam mailbox `in onprem`; eddie's `in prod` is answered from the other sim."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e


def test_sara_asks_in_onprem_and_eddie_in_prod(
    open_chat: Callable[[str], Chat], stack: Stack
) -> None:
    assert set(stack.running.other_sims) == {"onprem"}
    sara = open_chat("sara")

    sara.say("status of paul in onprem")

    card = sara.card("Paul Plain", "Environment: onprem")
    sara.screenshot(card, "status-onprem", said="status of paul in onprem")
    assert "paul@fabrikam.com" in card.inner_text()

    eddie = open_chat("eddie")
    eddie.say("status of alice in prod")

    card = eddie.card("Alice Anders", "Environment: prod")
    assert "alice@contoso.com" in card.inner_text()
