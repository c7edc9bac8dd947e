"""Throttling, transient failures, timeouts and the concurrency limit, by fault injection."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dataverse import DataverseClient, EntraApp, RetryPolicy
from dataverse.errors import (
    DataverseRequestError,
    DataverseTimeout,
    ServiceUnavailable,
    Throttled,
    UnexpectedResponse,
)
from dataverse.models import Mailbox, Role, SystemUser
from sim.tls import ensure_tls
from tests.dataverse.conftest import (
    FAST_RETRY,
    admin_post,
    dataverse_requests,
    mailbox_id,
    systemuser_id,
)
from tests.silent_tls import SilentTlsServer, cancel_once_sent, resource_warnings
from tests.simharness import RunningSim
from tests.waits import RecordedWaits

WHOAMI = r"^GET /api/data/v9\.2/WhoAmI"
ASSOCIATE = r"^POST /api/data/v9\.2/systemusers\(.*\)/systemuserroles_association/\$ref"


def _statuses(sim: RunningSim, method: str | None = None) -> list[int]:
    return [
        int(r["status"])
        for r in dataverse_requests(sim)
        if method is None or r["method"] == method
    ]


async def _approver_role(dv: DataverseClient) -> uuid.UUID:
    [role] = await dv.roles_named("Email Address Approver")
    return role.id


@pytest.fixture
async def impatient(sim: RunningSim, entra: EntraApp) -> AsyncIterator[DataverseClient]:
    """A client with a short timeout, for latency faults."""
    async with DataverseClient(
        sim.dataverse_url,
        auth=entra.dataverse_auth(sim.dataverse_url),
        ca_path=sim.ca_path,
        retry=FAST_RETRY,
        timeout=0.5,
    ) as client:
        await client.whoami()  # the token is fetched before the clock matters
        yield client


async def test_429_is_retried_after_retry_after(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    sim.fault(WHOAMI, 429, retry_after=1)

    await dv.whoami()

    assert waits.waits == [1.0]  # the client's recorded sleep: the 1 s Retry-After asked for
    assert _statuses(sim) == [429, 200]


async def test_429_past_the_budget_raises_throttled(
    sim: RunningSim, entra: EntraApp, waits: RecordedWaits
) -> None:
    sim.fault(WHOAMI, 429, retry_after=30)
    async with DataverseClient(
        sim.dataverse_url,
        auth=entra.dataverse_auth(sim.dataverse_url),
        ca_path=sim.ca_path,
        retry=RetryPolicy(throttle_budget=5.0),
        sleep=waits,
    ) as client:
        with pytest.raises(Throttled) as caught:
            await client.whoami()

    assert waits.waits == []  # raised at once, not after waiting
    assert caught.value.retry_after == 30
    assert _statuses(sim) == [429]


async def test_429_retries_a_post_too(
    sim: RunningSim, dv: DataverseClient, waits: RecordedWaits
) -> None:
    # Service protection refuses a request before running it, so even a POST is safe to resend.
    una = systemuser_id(sim, "una")
    role = await _approver_role(dv)
    sim.fault(ASSOCIATE, 429, retry_after=1)

    await dv.associate(SystemUser, una, "systemuserroles_association", Role, role)

    assert _statuses(sim, "POST") == [429, 204]
    assert waits.waits == [1.0]


async def test_503_is_retried_for_get(sim: RunningSim, dv: DataverseClient) -> None:
    sim.fault(WHOAMI, 503, times=2)

    await dv.whoami()

    assert _statuses(sim) == [503, 503, 200]


async def test_503_retries_are_bounded(sim: RunningSim, dv: DataverseClient) -> None:
    sim.fault(WHOAMI, 503, times=10)

    with pytest.raises(ServiceUnavailable):
        await dv.whoami()

    assert _statuses(sim) == [503] * FAST_RETRY.attempts


async def test_503_is_not_retried_for_post(sim: RunningSim, dv: DataverseClient) -> None:
    una = systemuser_id(sim, "una")
    role = await _approver_role(dv)
    sim.fault(ASSOCIATE, 503, times=5)

    with pytest.raises(ServiceUnavailable):
        await dv.associate(SystemUser, una, "systemuserroles_association", Role, role)

    assert _statuses(sim, "POST") == [503]


async def test_503_retries_a_patch_only_with_an_etag(sim: RunningSim, dv: DataverseClient) -> None:
    mailbox = await dv.get_mailbox(mailbox_id(sim, "alice"))
    assert mailbox.etag is not None
    patch = r"^PATCH /api/data/v9\.2/mailboxes\("

    sim.fault(patch, 503)
    await dv.update_row(
        Mailbox, mailbox.id, {"orgmarkedasprimaryforexchangesync": True}, etag=mailbox.etag
    )
    sim.fault(patch, 503)
    with pytest.raises(ServiceUnavailable):
        await dv.update_row(Mailbox, mailbox.id, {"orgmarkedasprimaryforexchangesync": False})
    sim.fault(patch, 503)
    await dv.update_row(
        Mailbox, mailbox.id, {"orgmarkedasprimaryforexchangesync": False}, idempotent=True
    )

    assert _statuses(sim, "PATCH") == [503, 204, 503, 503, 204]


async def test_a_timeout_is_retried_for_get(sim: RunningSim, impatient: DataverseClient) -> None:
    sim.fault(WHOAMI, 200, latency_ms=1500)

    await impatient.whoami()

    await asyncio.sleep(1.2)  # let the sim finish (and record) the slow one
    assert sorted(_statuses(sim)) == [200, 200, 200]  # warm-up, the slow one, the retry


async def test_a_timeout_is_not_retried_for_post(
    sim: RunningSim, impatient: DataverseClient
) -> None:
    una = systemuser_id(sim, "una")
    role = await _approver_role(impatient)
    sim.fault(ASSOCIATE, 200, latency_ms=1500)

    with pytest.raises(DataverseTimeout):
        await impatient.associate(SystemUser, una, "systemuserroles_association", Role, role)

    await asyncio.sleep(1.2)  # let the sim finish (and record) the slow one
    # The server may have acted after the client gave up: a POST is never sent twice.
    assert len(_statuses(sim, "POST")) == 1


@pytest.mark.parametrize("how", ["timed-out", "cancelled"])
def test_a_request_given_up_on_leaves_no_socket_open_when_the_loop_ends(
    tmp_path: Path, how: str
) -> None:
    """The client gives up on a request (a read timeout, a cancelled call), is closed, and
    its loop ends at once, as a test's does. aiohttp closes such a TLS connection with a
    graceful shutdown, which waits for the server's close_notify, and forgets it: unless the
    client aborts it when it closes, the socket outlives the loop and is reported ("unclosed
    transport") wherever the garbage collector meets it, in some later test. This server
    never answers the close, as a busy or vanished peer may not."""
    tls = ensure_tls(tmp_path)
    server = SilentTlsServer(tls.server_context())

    async def give_up() -> None:
        async with DataverseClient(
            f"https://127.0.0.1:{server.port}",
            ca_path=tls.ca_cert,
            retry=RetryPolicy(attempts=1),
            timeout=0.2 if how == "timed-out" else 30.0,
        ) as client:
            call = asyncio.ensure_future(client.whoami())
            if how == "timed-out":
                with pytest.raises(DataverseTimeout):
                    await call
                return
            await cancel_once_sent(call, server)

    assert resource_warnings(server, give_up) == []


async def test_a_dropped_connection_is_retried_for_get(
    sim: RunningSim, dv: DataverseClient
) -> None:
    sim.fault(WHOAMI, 200, drop=True)

    await dv.whoami()

    # The first answer never arrived; the GET was safe to send again.
    assert _statuses(sim) == [200, 200]


async def test_a_connection_dropped_after_a_write_is_not_retried(
    sim: RunningSim, dv: DataverseClient
) -> None:
    una = systemuser_id(sim, "una")
    role = await _approver_role(dv)
    sim.fault(ASSOCIATE, 200, drop=True)

    with pytest.raises(DataverseRequestError) as raised:
        await dv.associate(SystemUser, una, "systemuserroles_association", Role, role)

    # The service made the association, then the line went dead: the client cannot know
    # whether a write it sent took effect, so it says so rather than sending it twice.
    assert not isinstance(raised.value, DataverseTimeout)
    assert len(_statuses(sim, "POST")) == 1
    assert role in {r.id for r in (await dv.security_roles(una)).direct}


async def test_the_limiter_bounds_requests_in_flight(sim: RunningSim, entra: EntraApp) -> None:
    admin_post(sim, "latency", {"ms": 100})
    async with DataverseClient(
        sim.dataverse_url,
        auth=entra.dataverse_auth(sim.dataverse_url),
        ca_path=sim.ca_path,
        max_concurrency=2,
    ) as client:
        await client.whoami()  # token first, so only the 8 below are timed
        started = time.monotonic()
        await asyncio.gather(*(client.whoami() for _ in range(8)))
        elapsed = time.monotonic() - started

    # 8 requests of at least 100 ms each, 2 at a time, cannot finish sooner than 400 ms.
    assert elapsed >= 0.4
    assert _statuses(sim) == [200] * 9


async def test_a_401_renews_the_token_once(sim: RunningSim, dv: DataverseClient) -> None:
    await dv.whoami()
    sim.fault(WHOAMI, 401)

    await dv.whoami()

    assert _statuses(sim) == [200, 401, 200]


async def test_connection_refused(sim: RunningSim) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with DataverseClient(
        f"https://127.0.0.1:{port}", ca_path=sim.ca_path, retry=FAST_RETRY
    ) as client:
        with pytest.raises(DataverseRequestError) as caught:
            await client.whoami()

    assert not isinstance(caught.value, DataverseTimeout)
    assert "ConnectError" in str(caught.value)


@pytest.mark.parametrize(
    "link",
    [
        "https://attacker.example/api/data/v9.2/mailboxes",
        "//attacker.example/api/data/v9.2/mailboxes",
        "http://contoso.crm.dynamics.com/api/data/v9.2/mailboxes",
        "https://contoso.crm.dynamics.com:8443/api/data/v9.2/mailboxes",
    ],
)
async def test_a_next_link_to_another_origin_is_not_followed(link: str) -> None:
    # The sim never sends a foreign link; this is the one case faked with MockTransport.
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.host))
        return httpx.Response(200, json={"value": [], "@odata.nextLink": link})

    async with DataverseClient(
        "https://contoso.crm.dynamics.com", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(UnexpectedResponse, match="another origin"):
            await client.list_rows(Mailbox)

    assert seen == ["contoso.crm.dynamics.com"]


async def test_logs_carry_no_token_or_secret(
    sim: RunningSim, entra: EntraApp, dv: DataverseClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.fault(WHOAMI, 429, retry_after=0)
    sim.fault(WHOAMI, 503)

    await dv.whoami()

    token = await entra.client_credentials([f"{sim.dataverse_url}/.default"]).token()
    assert "throttled" in caplog.text
    assert token.value not in caplog.text
    assert sim.client_secret not in caplog.text
