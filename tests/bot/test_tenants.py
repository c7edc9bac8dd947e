"""The tenant an activity names: `conversation.tenantId` and `channelData.tenant.id`.

Teams names the tenant in both places (reference/teams.md §2.6). botbuilder 4.17.1's
ConversationAccount reads its `tenant_id` from the JSON key `tenantID`, so the allow-list
used to see `conversation.tenantId` never (issue 12 point 6): a message naming our tenant
only there was refused, and one whose two ids disagree was judged by `channelData` alone.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from dialogs.router import Router
from tests.bot.activities import execute, message
from tests.bot.operated import OperatedHost, operated_host
from tests.simharness import RunningSim

pytestmark = pytest.mark.usefixtures("trust_sim")

OTHER_TENANT = "5eed0000-0000-4000-8000-00000000beef"


def _naming(
    activity: dict[str, Any], *, conversation: str | None, channel_data: str | None
) -> dict[str, Any]:
    """The activity naming `conversation` as conversation.tenantId and `channel_data` as
    channelData.tenant.id (None: that one is left out)."""
    activity["conversation"].pop("tenantId", None)
    activity.pop("channelData", None)
    if conversation is not None:
        activity["conversation"]["tenantId"] = conversation
    if channel_data is not None:
        activity["channelData"] = {"tenant": {"id": channel_data}}
    return activity


async def _refused_untouched(host: OperatedHost, status: int) -> None:
    assert status == 403
    assert host.dispatcher.calls == [], "a refused activity reached the dialogs"
    assert host.sim.requests() == [], "a refused activity reached Dataverse, Graph or Entra"
    assert host.activities() == [], "a refused activity got a reply"


async def test_conversation_tenant_id_alone_is_read(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        ours = _naming(
            message(sim, "eddie", "help"), conversation=sim.tenant_id, channel_data=None
        )
        assert (await host.post(ours)).status == 201
        assert host.dispatcher.calls == ["message"]
        theirs = _naming(
            message(sim, "eddie", "help"), conversation=OTHER_TENANT, channel_data=None
        )
        assert (await host.post(theirs)).status == 403
        assert host.dispatcher.calls == ["message"]


@pytest.mark.parametrize(
    ("conversation", "channel_data"),
    [("ours", OTHER_TENANT), (OTHER_TENANT, "ours")],
    ids=["conversation ours, channelData theirs", "conversation theirs, channelData ours"],
)
async def test_disagreeing_tenant_ids_are_refused(
    sim: RunningSim,
    router: Router,
    caplog: pytest.LogCaptureFixture,
    conversation: str,
    channel_data: str,
) -> None:
    activity = _naming(
        message(sim, "eddie", "status of alice"),
        conversation=sim.tenant_id if conversation == "ours" else conversation,
        channel_data=sim.tenant_id if channel_data == "ours" else channel_data,
    )
    with caplog.at_level(logging.INFO):
        async with operated_host(sim, router) as host:
            response = await host.post(activity)
            await _refused_untouched(host, response.status)
            assert response.content_type == "application/problem+json"
            problem = await response.json()
            assert problem["status"] == 403
            assert "disagree" in problem["detail"]
    assert "names two tenants" in caplog.text
    assert not [r for r in caplog.records if r.exc_info], "a refusal is no error"


async def test_disagreeing_ids_are_refused_even_when_any_tenant_is_served(
    sim: RunningSim, router: Router
) -> None:
    """`*` serves any tenant, not an activity that cannot say which one it comes from."""
    async with operated_host(sim, router, MAILOPS_ALLOWED_TENANTS="*") as host:
        click = execute(sim, "eddie", {"verb": "status.show", "data": {}}, reply_to_id="1")
        activity = _naming(click, conversation=sim.tenant_id, channel_data=OTHER_TENANT)
        await _refused_untouched(host, (await host.post(activity)).status)


async def test_the_same_id_in_another_case_agrees(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        activity = _naming(
            message(sim, "eddie", "status of alice"),
            conversation=sim.tenant_id.upper(),
            channel_data=sim.tenant_id,
        )
        assert (await host.post(activity)).status == 201
        assert "Alice Anders" in str(host.cards())
