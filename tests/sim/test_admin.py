"""The admin face: state, recordings, faults, latency, limits, reset, token minting, the
Bot Connector recorder, and the catch-all that keeps tracebacks away from clients."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sim.admin import middlewares
from sim.app import build_sim, create_sim_app
from sim.entra import GRAPH_RESOURCE, issue_app_token, validate_token
from sim.errors import REQUESTS_LIMIT
from sim.tls import client_context
from tests.sim.webapi_kit import app_token
from tests.simharness import CONTOSO, RunningSim

WHOAMI = "/api/data/v9.2/WhoAmI"


def _client(sim: RunningSim) -> httpx.Client:
    return httpx.Client(base_url=sim.origin, verify=client_context(sim.ca_path))


# ---- state --------------------------------------------------------------------------


def test_state_shape(sim: RunningSim) -> None:
    """ARCHITECTURE.md (admin face): state has tenant, app and one key per entity set."""
    state = sim.state()
    assert state["tenant"]["id"] == sim.tenant_id
    assert state["tenant"]["name"] == "Contoso"
    assert state["app"] == {
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "tenant_id": sim.tenant_id,
    }
    for entity_set in (
        "mailboxes",
        "systemusers",
        "queues",
        "emailserverprofiles",
        "organizations",
        "tracelogs",
        "roles",
        "teams",
    ):
        assert isinstance(state[entity_set], list), entity_set
    alice = next(u for u in state["systemusers"] if u["domainname"] == "alice@contoso.com")
    assert alice["azureactivedirectoryobjectid"] == sim.person("alice").object_id
    assert alice["emailrouteraccessapproval"] == 2
    mailbox = next(
        m for m in state["mailboxes"] if m["_regardingobjectid_value"] == alice["systemuserid"]
    )
    assert mailbox["emailaddress"] == "alice@contoso.com"
    roles = state["associations"]["systemuserroles_association"]
    assert {"systemuserid", "roleid"} == set(roles[0])
    entra = state["entra"]
    assert {"users", "groups", "roleAssignments"} <= entra.keys()
    assert any(a["principalId"] == sim.person("eddie").object_id for a in entra["roleAssignments"])


def test_health(sim: RunningSim) -> None:
    """ARCHITECTURE.md (admin face): GET health."""
    with sim.admin() as admin:
        body = admin.get("health").json()
    assert body["status"] == "ok"
    assert body["origin"] == sim.origin


# ---- faults, latency, recording --------------------------------------------------------


def test_fault_429_with_retry_after_counts_down(sim: RunningSim) -> None:
    """reference/dataverse.md §6.3: 429 with Retry-After; code 0x80072322 (§6.2)."""
    with sim.admin() as admin:
        created = admin.post(
            "faults",
            json={
                "match": r"^GET /api/data/v9\.2/WhoAmI",
                "status": 429,
                "retry_after": 2,
                "times": 2,
            },
        )
        assert created.status_code == 201, created.text
    with _client(sim) as client:
        for remaining in (1, 0):
            resp = client.get(WHOAMI)
            assert resp.status_code == 429
            assert resp.headers["Retry-After"] == "2"
            assert resp.json()["error"]["code"] == REQUESTS_LIMIT
            with sim.admin() as admin:
                faults = admin.get("faults").json()
            assert [f["times"] for f in faults] == ([remaining] if remaining else [])
        assert client.get(WHOAMI).status_code != 429
    statuses = [r["status"] for r in sim.requests() if r["path"] == WHOAMI]
    assert statuses[:2] == [429, 429]


def test_fault_matches_query_and_shapes_graph_errors(sim: RunningSim) -> None:
    """Faults match 'METHOD /path?query'; on Graph paths the body is Graph's error shape."""
    sim.fault(r"\$top=7", 503, retry_after=1)
    with _client(sim) as client:
        assert client.get("/v1.0/users", params={"$top": "6"}).status_code == 401
        resp = client.get("/v1.0/users", params={"$top": "7"})
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "1"
    assert "innerError" in resp.json()["error"]


def test_fault_latency_and_base_latency_do_not_block(sim: RunningSim) -> None:
    """reference/dataverse.md §6.3 (benchmarks): latency is asyncio.sleep, not a blocked loop."""
    with sim.admin() as admin:
        assert admin.post("latency", json={"ms": 300}).json() == {"ms": 300}

    token = app_token(sim)  # an unauthenticated call is refused before it is served

    async def three_at_once() -> float:
        async with httpx.AsyncClient(
            base_url=sim.origin,
            verify=client_context(sim.ca_path),
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            start = time.perf_counter()
            await asyncio.gather(*(client.get(WHOAMI) for _ in range(3)))
            return time.perf_counter() - start

    elapsed = asyncio.run(three_at_once())
    assert 0.3 <= elapsed < 0.8
    with _client(sim) as client:
        start = time.perf_counter()
        client.get("/_sim/health")
        assert time.perf_counter() - start < 0.25  # admin calls carry no latency
    sim.fault("^GET /v1.0/users", 200, latency_ms=250)
    with _client(sim) as client:
        start = time.perf_counter()
        resp = client.get("/v1.0/users")
        assert time.perf_counter() - start >= 0.25
    assert resp.status_code == 401  # latency-only faults pass the call on


def test_request_bodies_are_recorded(sim: RunningSim) -> None:
    """ARCHITECTURE.md (admin face): requests record method, path, query, caller, body, status."""
    sim.fault("^PATCH /api/data/", 412)
    sim.fault(r"^POST /api/data/v9\.2/\$batch", 400)
    with _client(sim) as client:
        client.patch(
            "/api/data/v9.2/mailboxes(3b000000-0000-4000-8000-000000000009)",
            json={"emailrouteraccessapproval": 1},
        )
        client.post(
            "/api/data/v9.2/$batch",
            content=b"--batch_1\r\nContent-Type: application/http\r\n\r\nGET WhoAmI HTTP/1.1\r\n",
            headers={"Content-Type": "multipart/mixed; boundary=batch_1"},
        )
    patch, batch = sim.requests()[-2:]
    assert patch["method"] == "PATCH"
    assert patch["body"] == {"emailrouteraccessapproval": 1}
    assert patch["status"] == 412
    assert isinstance(batch["body"], str)
    assert batch["body"].startswith("--batch_1")


@pytest.mark.parametrize(
    "body",
    [
        {"match": "(", "status": 429},
        {"match": "x", "status": 302},
        {"match": "x", "status": "429"},
        {"match": "x", "status": 429, "times": 0},
        {"match": "x", "status": 429, "color": "red"},
        {"status": 429},
        ["not", "an", "object"],
    ],
)
def test_bad_fault_is_400(sim: RunningSim, body: object) -> None:
    """Bad input gets a shaped 400, never a 500."""
    with sim.admin() as admin:
        resp = admin.post("faults", json=body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["message"]
        assert admin.get("faults").json() == []


def test_bad_latency_limits_and_json_are_400(sim: RunningSim) -> None:
    """Bad input gets a shaped 400, never a 500."""
    with sim.admin() as admin:
        assert admin.post("latency", json={"ms": -1}).status_code == 400
        assert admin.post("latency", content=b"{not json").status_code == 400
        assert admin.post("limits", json={"nonsense": 1}).status_code == 400
        assert admin.post("limits", json={"requests_per_window": 0}).status_code == 400


def test_limits_override_and_reset(sim: RunningSim) -> None:
    """reference/dataverse.md §6.3: limits are overridable for tests; reset restores them."""
    with sim.admin() as admin:
        limits = admin.post("limits", json={"requests_per_window": 5, "token_lifetime_s": 60})
        assert limits.json()["requests_per_window"] == 5
        assert sim.sim.limits.requests_per_window == 5
        admin.post("faults", json={"match": "x", "status": 500})
        admin.post("latency", json={"ms": 5})
        sim.thread.call(
            lambda: sim.sim.state.tables["mailboxes"].clear()  # a change reset must undo
        )
        assert admin.get("state").json()["mailboxes"] == []
        assert admin.post("reset").json() == {"reset": True}
        state = admin.get("state").json()
        assert len(state["mailboxes"]) > 200
        assert admin.get("faults").json() == []
        assert admin.get("requests").json() == []
    assert sim.sim.limits.requests_per_window == 6000
    assert sim.sim.limits.token_lifetime_s == 3600
    assert sim.sim.base_latency_ms == 0


# ---- token minting --------------------------------------------------------------------


def test_mint_user_token(sim: RunningSim) -> None:
    """reference/teams.md §6.4: what Teams SSO hands the bot (sim-only affordance)."""
    alice = sim.person("alice").object_id
    with sim.admin() as admin:
        body = admin.post("token", json={"object_id": alice}).json()
        assert body["sim_only"] is True
        caller = sim.thread.call(
            lambda: validate_token(sim.sim, body["access_token"], audiences=[sim.client_id])
        )
        assert caller.object_id == alice
        assert caller.scopes == frozenset({"access_as_user"})
        assert not caller.app_only
        graph = admin.post(
            "token", json={"object_id": alice, "audience": GRAPH_RESOURCE, "scopes": ["User.Read"]}
        ).json()
        assert sim.thread.call(
            lambda: validate_token(sim.sim, graph["access_token"], audiences=[GRAPH_RESOURCE])
        ).scopes == frozenset({"User.Read"})
        expired = admin.post("token", json={"object_id": alice, "lifetime_s": -60}).json()
        assert expired["expires_in"] == 0
        unknown = admin.post("token", json={"object_id": "00000000-0000-0000-0000-000000000000"})
        assert unknown.status_code == 404
        assert admin.post("token", json={}).status_code == 400


# ---- Bot Connector recorder -----------------------------------------------------------


def test_connector_round_trip(sim: RunningSim) -> None:
    """reference/teams.md §2.5 and §2.8: create, send, reply, update, delete, members."""
    base = "/_sim/connector/v3/conversations"
    alice = sim.person("alice")
    with _client(sim) as client:
        created = client.post(
            base,
            json={
                "isGroup": False,
                "bot": {"id": "28:bot"},
                "members": [{"id": f"29:{alice.object_id}"}],
                "tenantId": sim.tenant_id,
                "channelData": {"tenant": {"id": sim.tenant_id}},
            },
        )
        assert created.status_code in {200, 201}
        conversation = created.json()["id"]
        sent = client.post(
            f"{base}/{conversation}/activities", json={"type": "message", "text": "hi"}
        )
        first = sent.json()["id"]
        reply = client.post(
            f"{base}/{conversation}/activities/{first}",
            json={"type": "message", "text": "re", "replyToId": first},
        ).json()["id"]
        updated = client.put(
            f"{base}/{conversation}/activities/{first}", json={"type": "message", "text": "edited"}
        )
        assert updated.json() == {"id": first}
        assert client.delete(f"{base}/{conversation}/activities/{reply}").status_code == 200
        members = client.get(f"{base}/{conversation}/members").json()
        assert f"29:{alice.object_id}" in {m["id"] for m in members}
        member = client.get(f"{base}/{conversation}/members/29:{alice.object_id}").json()
        assert member["userPrincipalName"] == "alice@contoso.com"
        assert member["aadObjectId"] == alice.object_id
        assert member["tenantId"] == sim.tenant_id
        missing = client.get(f"{base}/{conversation}/members/29:nobody")
        assert missing.status_code == 404
        assert client.post(f"{base}/{conversation}/activities", content=b"{").status_code == 400
    with sim.admin() as admin:
        recorded = admin.get("activities").json()
    assert [r["op"] for r in recorded] == [
        "create_conversation",
        "send",
        "reply",
        "update",
        "delete",
    ]
    assert recorded[1]["activity"]["text"] == "hi"
    assert recorded[3]["activity_id"] == first
    assert {r["conversation_id"] for r in recorded} == {conversation}


def test_connector_token_is_optional_but_checked(sim: RunningSim) -> None:
    """Demo mode sends no token; a token, when sent, must be one this sim issued."""
    url = "/_sim/connector/v3/conversations/a:1/activities"
    token = sim.thread.call(
        lambda: issue_app_token(sim.sim, audience="https://api.botframework.com")
    )
    with _client(sim) as client:
        ok = client.post(
            url, json={"type": "message"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert ok.status_code == 201
        bad = client.post(url, json={"type": "message"}, headers={"Authorization": "Bearer x.y.z"})
        assert bad.status_code == 401
    with sim.admin() as admin:
        (recorded,) = admin.get("activities").json()
    assert recorded["app_id"] == sim.client_id


# ---- the catch-all -------------------------------------------------------------------


async def test_unhandled_errors_become_shaped_500s(tmp_path: Path) -> None:
    """Never a traceback for a client: an unhandled exception is a shaped 500."""
    sim = build_sim(CONTOSO, tmp_path)
    app = create_sim_app(sim)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app.router.add_get("/api/data/v9.2/boom", boom)
    app.router.add_get("/v1.0/boom", boom)
    app.router.add_get("/_sim/boom", boom)
    assert len(middlewares()) == 2
    async with TestClient(TestServer(app)) as client:
        dv = await client.get("/api/data/v9.2/boom")
        assert dv.status == 500
        body = await dv.json()
        assert set(body["error"]) == {"code", "message"}
        assert "secret" not in body["error"]["message"]
        assert "Traceback" not in await dv.text()
        graph = await client.get("/v1.0/boom")
        assert graph.status == 500
        assert "innerError" in (await graph.json())["error"]
        admin = await client.get("/_sim/boom")
        assert admin.status == 500
        assert (await admin.json())["error"]["code"] == "InternalServerError"
    assert [r.status for r in sim.state.requests] == [500, 500]
