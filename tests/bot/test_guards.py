"""The tenant allow-list and the per-person rate limit, through the real app and the sim."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.config import ConfigError
from bot.guards import Guards, RateLimiter, TenantAllowList
from dialogs.router import Router
from tests.bot.activities import execute, message
from tests.bot.conftest import APP_ID, APP_PASSWORD, settings_for
from tests.bot.operated import FakeClock, OperatedHost, operated_host
from tests.simharness import RunningSim

pytestmark = pytest.mark.usefixtures("trust_sim")

OTHER_TENANT = "5eed0000-0000-4000-8000-00000000beef"
TURNS = "mailops_turns_total"


def _from(activity: dict[str, Any], tenant: str | None) -> dict[str, Any]:
    """The activity as if sent from `tenant` (None: naming no tenant at all)."""
    activity["conversation"].pop("tenantId", None)
    activity.pop("channelData", None)
    if tenant is not None:
        activity["conversation"]["tenantId"] = tenant
        activity["channelData"] = {"tenant": {"id": tenant}}
    return activity


async def _nothing_happened(host: OperatedHost) -> None:
    assert host.dispatcher.calls == [], "a refused activity reached the dialogs"
    assert host.sim.requests() == [], "a refused activity reached Dataverse, Graph or Entra"
    assert host.activities() == [], "a refused activity got a reply"


# ---- tenants --------------------------------------------------------------------------------


async def test_a_message_from_another_tenant_is_refused(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        response = await host.post(_from(message(sim, "eddie", "status of alice"), OTHER_TENANT))
        assert response.status == 403
        assert (await response.json())["status"] == 403
        await _nothing_happened(host)
        assert await host.value(TURNS, activity="message", outcome="refused") == 1


async def test_a_click_from_another_tenant_is_refused(sim: RunningSim, router: Router) -> None:
    mailbox = sim.person("alice").mailbox.id
    click = execute(
        sim, "eddie", {"verb": "mailbox.approve", "data": {"mailboxId": mailbox}}, reply_to_id="1"
    )
    async with operated_host(sim, router) as host:
        assert (await host.post(_from(click, OTHER_TENANT))).status == 403
        await _nothing_happened(host)


async def test_the_tenant_may_come_from_channel_data_alone(
    sim: RunningSim, router: Router
) -> None:
    async with operated_host(sim, router) as host:
        ours = _from(message(sim, "eddie", "help"), None)
        ours["channelData"] = {"tenant": {"id": sim.tenant_id.upper()}}
        assert (await host.post(ours)).status == 201
        theirs = _from(message(sim, "eddie", "help"), None)
        theirs["channelData"] = {"tenant": {"id": OTHER_TENANT}}
        assert (await host.post(theirs)).status == 403
        assert host.dispatcher.calls == ["message"]


async def test_an_activity_naming_no_tenant_is_refused(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router) as host:
        assert (await host.post(_from(message(sim, "eddie", "help"), None))).status == 403
        await _nothing_happened(host)


async def test_listed_tenants_are_served(sim: RunningSim, router: Router) -> None:
    listed = f"{sim.tenant_id}, {OTHER_TENANT.upper()}"
    async with operated_host(sim, router, MAILOPS_ALLOWED_TENANTS=listed) as host:
        response = await host.post(_from(message(sim, "eddie", "status of alice"), OTHER_TENANT))
        assert response.status == 201
        assert "Alice Anders" in str(host.cards())


async def test_a_star_serves_any_tenant(sim: RunningSim, router: Router) -> None:
    async with operated_host(sim, router, MAILOPS_ALLOWED_TENANTS="*") as host:
        assert (await host.post(_from(message(sim, "eddie", "help"), OTHER_TENANT))).status == 201
        assert (await host.post(_from(message(sim, "eddie", "help"), None))).status == 201
        assert host.dispatcher.calls == ["message", "message"]


async def test_authentication_comes_before_the_tenant(sim: RunningSim, router: Router) -> None:
    """An unauthenticated caller learns nothing about the allow-list: 401, not 403."""
    async with operated_host(
        sim, router, MicrosoftAppId=APP_ID, MicrosoftAppPassword=APP_PASSWORD
    ) as host:
        activity = _from(message(sim, "eddie", "help"), OTHER_TENANT)
        assert (await host.post(activity)).status == 401
        await _nothing_happened(host)
        assert await host.value(TURNS, activity="message", outcome="unauthorized") == 1


@pytest.mark.parametrize(
    "value", ["contoso.onmicrosoft.com", f"*, {OTHER_TENANT}", "5eed0000-0000-4000-8000"]
)
def test_the_allow_list_holds_tenant_ids_or_a_star_alone(sim: RunningSim, value: str) -> None:
    with pytest.raises(ConfigError, match="MAILOPS_ALLOWED_TENANTS"):
        settings_for(sim, MAILOPS_ALLOWED_TENANTS=value)


def test_the_allow_list_from_the_settings(sim: RunningSim) -> None:
    own = TenantAllowList.from_settings(settings_for(sim))
    assert own.tenants == frozenset({sim.tenant_id})
    listed = TenantAllowList.from_settings(
        settings_for(sim, MAILOPS_ALLOWED_TENANTS=f" {OTHER_TENANT.upper()} ,")
    )
    assert listed.tenants == frozenset({OTHER_TENANT})
    assert TenantAllowList.from_settings(settings_for(sim, MAILOPS_ALLOWED_TENANTS="*")).admits("")


def test_a_tenant_named_by_domain_refuses_all_and_says_so(
    sim: RunningSim, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(sim, MAILOPS_TENANT_ID="contoso.onmicrosoft.com")
    with caplog.at_level(logging.WARNING, logger="mailops.guards"):
        allowed = TenantAllowList.from_settings(settings)
    assert not allowed.admits(sim.tenant_id)
    assert "MAILOPS_ALLOWED_TENANTS" in caplog.text


# ---- the rate limit -------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _limited(sim: RunningSim, clock: FakeClock) -> Guards:
    """3 at once, then one every 10 s."""
    settings = settings_for(sim, MAILOPS_RATE_PER_MINUTE="6", MAILOPS_RATE_BURST="3")
    return Guards.from_settings(settings, clock=clock)


async def test_one_request_over_the_burst_gets_a_polite_card_and_no_dataverse_call(
    sim: RunningSim, router: Router, clock: FakeClock
) -> None:
    async with operated_host(sim, router, guards=_limited(sim, clock)) as host:
        for _ in range(3):
            assert (await host.post(message(sim, "eddie", "status of alice"))).status == 201
        dataverse_calls = len(host.dataverse_requests())
        assert dataverse_calls > 0

        assert (await host.post(message(sim, "eddie", "status of alice"))).status == 201

        assert len(host.dataverse_requests()) == dataverse_calls
        assert host.dispatcher.calls == ["message"] * 3
        last = host.cards()[-1]
        assert "Slow down a little" in str(last)
        assert "Try again in 10 seconds." in str(last)
        assert "Alice Anders" not in str(last)
        assert len(host.cards()) == 4
        assert await host.value(TURNS, activity="message", outcome="limited") == 1
        assert await host.value(TURNS, activity="message", outcome="ok") == 3


async def test_another_person_is_not_affected(
    sim: RunningSim, router: Router, clock: FakeClock
) -> None:
    async with operated_host(sim, router, guards=_limited(sim, clock)) as host:
        for _ in range(4):
            await host.post(message(sim, "eddie", "help"))
        assert "Slow down a little" in str(host.cards()[-1])
        await host.post(message(sim, "gina", "status of alice"))
        assert "Alice Anders" in str(host.cards()[-1])
        assert host.dispatcher.calls == ["message"] * 4


async def test_the_bucket_refills(sim: RunningSim, router: Router, clock: FakeClock) -> None:
    async with operated_host(sim, router, guards=_limited(sim, clock)) as host:
        for _ in range(4):
            await host.post(message(sim, "eddie", "help"))
        assert len(host.dispatcher.calls) == 3

        clock.advance(5)
        await host.post(message(sim, "eddie", "help"))
        assert "Try again in 5 seconds." in str(host.cards()[-1])

        clock.advance(5)
        await host.post(message(sim, "eddie", "status of alice"))
        assert "Alice Anders" in str(host.cards()[-1])
        assert len(host.dispatcher.calls) == 4

        clock.advance(3600)  # a long pause refills the burst, no more
        for _ in range(4):
            await host.post(message(sim, "eddie", "help"))
        assert len(host.dispatcher.calls) == 7


async def test_a_click_over_the_limit_gets_a_message_in_the_persons_language(
    sim: RunningSim, router: Router, clock: FakeClock
) -> None:
    """The clicked card stays as it was; the answer is a message, not a replacement card."""
    async with operated_host(sim, router, guards=_limited(sim, clock)) as host:
        for _ in range(3):
            await host.post(message(sim, "eddie", "help"))
        click = execute(sim, "eddie", {"verb": "x"}, reply_to_id="1", locale="id-ID")
        response = await host.post(click)
        assert response.status == 200
        body = await response.json()
        assert body["type"] == "application/vnd.microsoft.activity.message"
        assert body["value"].startswith("Pelan-pelan sebentar.")
        assert "10" in body["value"]
        assert host.dispatcher.calls == ["message"] * 3


async def test_installing_the_app_is_not_limited(
    sim: RunningSim, router: Router, clock: FakeClock
) -> None:
    async with operated_host(sim, router, guards=_limited(sim, clock)) as host:
        for _ in range(3):
            await host.post(message(sim, "eddie", "help"))
        installed = message(sim, "eddie", "")
        installed.update(type="installationUpdate", action="add")
        assert (await host.post(installed)).status == 201
        assert host.dispatcher.calls == ["message"] * 3 + ["installed"]


def test_a_rate_of_zero_turns_the_limit_off(sim: RunningSim) -> None:
    assert Guards.from_settings(settings_for(sim, MAILOPS_RATE_PER_MINUTE="0")).limiter is None
    assert Guards.from_settings(settings_for(sim)).limiter is not None  # on by default


def test_the_bucket_arithmetic(clock: FakeClock) -> None:
    limiter = RateLimiter(per_minute=30, burst=2, clock=clock)  # one token every 2 s
    assert limiter.take("a") is None
    assert limiter.take("a") is None
    assert limiter.take("a") == pytest.approx(2.0)
    clock.advance(0.5)
    assert limiter.take("a") == pytest.approx(1.5)  # a refused request spends nothing
    clock.advance(1.5)
    assert limiter.take("a") is None
    assert limiter.take("b") is None  # each key its own bucket


def test_full_buckets_are_forgotten(clock: FakeClock) -> None:
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock, max_buckets=10)
    for n in range(10):
        limiter.take(f"idle-{n}")
    clock.advance(60)  # all refilled
    limiter.take("busy")
    assert len(limiter) == 1
    with pytest.raises(ValueError, match="per_minute"):
        RateLimiter(per_minute=0, burst=1)
