"""Tokens, callers and the two functions (reference §6.1, §6.7, §6.8, §6.9, §3/S20)."""

from __future__ import annotations

import time

import httpx
import pytest

from sim import entra
from sim.entra import GRAPH_RESOURCE, SigningKey
from tests.sim.webapi_kit import (
    APP_USER,
    USER_ALICE,
    USER_GINA,
    client,
    dv,
    error_of,
    user_token,
)
from tests.simharness import RunningSim


def _assert_401(resp: httpx.Response, name: str) -> None:
    assert resp.status_code == 401, resp.text
    err = error_of(resp)
    assert err["message"].startswith(f"{name}: ")
    assert resp.headers["WWW-Authenticate"].startswith("Bearer ")


def test_missing_token_is_401(sim: RunningSim) -> None:
    """reference §6.1: 401 for a missing token, with a Dataverse error body."""
    with client(sim, None) as c:
        _assert_401(c.get("WhoAmI"), "RequestIsNotAuthenticated")
        _assert_401(
            c.get("mailboxes", headers={"Authorization": "Basic Zm9vOmJhcg=="}), "BadAuthTicket"
        )


def test_expired_token_is_401(sim: RunningSim) -> None:
    """reference §6.1: ExpiredAuthTicket."""
    token = sim.thread.call(
        lambda: entra.issue_app_token(sim.sim, audience=sim.origin, lifetime_s=-60)
    )
    with client(sim, token) as c:
        _assert_401(c.get("mailboxes"), "ExpiredAuthTicket")


def test_forged_and_malformed_tokens_are_401(sim: RunningSim) -> None:
    """reference §6.1: a token signed by another key, a garbled one, one for another
    audience: all 401, nothing served."""
    now = int(time.time())
    claims = {
        "aud": sim.origin,
        "iss": entra.issuer(sim.sim),
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "tid": sim.tenant_id,
        "oid": sim.fixture.application.object_id,
        "appid": sim.client_id,
    }
    forged = sim.thread.call(lambda: entra.sign(sim.sim, claims, key=SigningKey.generate()))
    graph = sim.thread.call(lambda: entra.issue_app_token(sim.sim, audience=GRAPH_RESOURCE))
    for token, name in (
        (forged, "TamperedAuthTicket"),
        ("not.a.jwt", "BadAuthTicket"),
        (graph, "InvalidAuthTicket"),
    ):
        with client(sim, token) as c:
            _assert_401(c.get("mailboxes"), name)
            _assert_401(c.patch("mailboxes(3b000000-0000-4000-8000-000000000001)", json={}), name)


def test_who_am_i_and_retrieve_version(sim: RunningSim) -> None:
    """reference §6.8 (WhoAmI: BusinessUnitId, UserId, OrganizationId) and §3/S20
    (RetrieveVersion: Version)."""
    env = sim.fixture.environment
    with dv(sim) as c:
        who = c.get("WhoAmI")
        assert who.status_code == 200
        body = who.json()
        assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
        assert body["UserId"] == APP_USER
        assert body["BusinessUnitId"] == env.business_unit_id
        assert body["OrganizationId"] == env.organization_id
        assert c.get("WhoAmI()").json()["UserId"] == APP_USER
        version = c.get("RetrieveVersion").json()
        assert version["Version"] == env.version
        post = c.post("WhoAmI", json={})
        assert post.status_code == 404
        assert "No HTTP resource was found" in error_of(post)["message"]


def test_impersonation_with_caller_object_id(sim: RunningSim) -> None:
    """reference §6.7, §6.8: CallerObjectId makes WhoAmI answer the impersonated user; the
    admin recorder sees the effective caller's object id."""
    alice = sim.person("alice")
    with dv(sim) as c:
        resp = c.get("WhoAmI", headers={"CallerObjectId": alice.object_id})
    assert resp.json()["UserId"] == USER_ALICE
    recorded = [r for r in sim.requests() if r["path"].endswith("/WhoAmI")]
    assert recorded[-1]["caller_object_id"] == alice.object_id


def test_impersonation_needs_the_privilege(sim: RunningSim) -> None:
    """reference §6.7: without prvActOnBehalfOfAnotherUser → 403."""
    with dv(sim, user_token(sim, "alice")) as c:
        resp = c.get("WhoAmI", headers={"CallerObjectId": sim.person("gina").object_id})
    assert resp.status_code == 403
    assert error_of(resp)["code"] == "0x8004A110"


def test_delegated_token_acts_as_the_user(sim: RunningSim) -> None:
    """reference §6.9: a delegated token for the environment acts as that person."""
    with dv(sim, user_token(sim, "gina")) as c:
        assert c.get("WhoAmI").json()["UserId"] == USER_GINA


@pytest.mark.parametrize("header", ["not-a-guid", "{zz}"])
def test_bad_caller_object_id_is_400(sim: RunningSim, header: str) -> None:
    with dv(sim) as c:
        resp = c.get("WhoAmI", headers={"CallerObjectId": header})
    assert resp.status_code == 400
    error_of(resp)
