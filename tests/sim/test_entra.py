"""The Entra face: msal gets tokens unchanged, errors look like Entra's, and `authenticate`
rejects what a resource server must reject."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import msal
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from sim.context import SIM
from sim.entra import (
    CLOCK_SKEW_S,
    GRAPH_APP_ID,
    GRAPH_RESOURCE,
    AuthError,
    Caller,
    SigningKey,
    authenticate,
    issue_app_token,
    issue_user_token,
    sign,
    signing_key,
    validate_token,
)
from sim.tls import client_context
from tests.simharness import RunningSim


def _session(sim: RunningSim) -> requests.Session:
    """reference/teams.md §9: a session that ignores REQUESTS_CA_BUNDLE and trusts the CA."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sim.ca_path)
    return session


def _msal(sim: RunningSim, *, secret: str | None = None) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        sim.client_id,
        client_credential=secret or sim.client_secret,
        authority=sim.authority,
        instance_discovery=False,
        http_client=_session(sim),
    )


def _post_token(
    sim: RunningSim, data: dict[str, str], tenant: str | None = None
) -> httpx.Response:
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        return client.post(f"{sim.origin}/{tenant or sim.tenant_id}/oauth2/v2.0/token", data=data)


def _cc(sim: RunningSim, **overrides: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": sim.client_id,
        "client_secret": sim.client_secret,
        "scope": f"{sim.origin}/.default",
        **overrides,
    }


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _assert_entra_error(resp: httpx.Response, status: int, error: str, code: int) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()


def _validate(sim: RunningSim, token: str, audiences: set[str]) -> Caller:
    return sim.thread.call(lambda: validate_token(sim.sim, token, audiences=audiences))


# ---- msal, unchanged --------------------------------------------------------------------


def test_msal_client_credentials_for_dataverse(sim: RunningSim) -> None:
    """reference/dataverse.md §6.9 and teams.md §9: scope <environment-url>/.default."""
    result = _msal(sim).acquire_token_for_client([f"{sim.origin}/.default"])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3600
    claims = _claims(result["access_token"])
    app = sim.fixture.application
    assert claims["aud"] == sim.origin
    assert claims["iss"] == f"{sim.origin}/{sim.tenant_id}/v2.0"
    assert claims["tid"] == sim.tenant_id
    assert claims["oid"] == app.object_id
    assert claims["appid"] == claims["azp"] == app.client_id
    assert claims["exp"] - claims["iat"] == 3600
    assert "scp" not in claims
    assert jwt.get_unverified_header(result["access_token"])["kid"]
    caller = _validate(sim, result["access_token"], {sim.origin + "/"})
    assert caller.app_only
    assert caller.object_id == app.object_id


def test_msal_client_credentials_for_graph_carries_roles(sim: RunningSim) -> None:
    """reference/dataverse.md §7: Graph application permissions arrive as `roles`."""
    result = _msal(sim).acquire_token_for_client([f"{GRAPH_RESOURCE}/.default"])
    claims = _claims(result["access_token"])
    assert claims["aud"] == GRAPH_RESOURCE
    granted = {"RoleManagement.Read.Directory", "User.Read.All", "GroupMember.Read.All"}
    assert set(claims["roles"]) == granted
    caller = _validate(sim, result["access_token"], {GRAPH_APP_ID, GRAPH_RESOURCE})
    assert caller.roles == frozenset(granted)


def test_msal_on_behalf_of(sim: RunningSim) -> None:
    """reference/teams.md §6.3-§6.4: the bot trades a user's SSO token for a Graph token."""
    eddie = sim.person("eddie")
    sso = sim.thread.call(lambda: issue_user_token(sim.sim, object_id=eddie.object_id))
    assert _claims(sso)["aud"] == sim.client_id
    result = _msal(sim).acquire_token_on_behalf_of(sso, [f"{GRAPH_RESOURCE}/.default"])
    assert "access_token" in result, result
    claims = _claims(result["access_token"])
    assert claims["oid"] == eddie.object_id
    assert claims["upn"] == "eddie@contoso.com"
    assert claims["aud"] == GRAPH_RESOURCE
    assert "RoleManagement.Read.Directory" in claims["scp"].split()
    caller = _validate(sim, result["access_token"], {GRAPH_RESOURCE})
    assert not caller.app_only
    assert caller.upn == "eddie@contoso.com"


def test_obo_for_dataverse_gets_user_impersonation(sim: RunningSim) -> None:
    """reference/dataverse.md §6.9: the delegated Dataverse permission is user_impersonation."""
    alice = sim.person("alice")
    sso = sim.thread.call(lambda: issue_user_token(sim.sim, object_id=alice.object_id))
    result = _msal(sim).acquire_token_on_behalf_of(sso, [f"{sim.origin}/.default"])
    claims = _claims(result["access_token"])
    assert claims["scp"] == "user_impersonation"
    assert claims["aud"] == sim.origin


def test_msal_refuses_the_sim_without_its_ca(sim: RunningSim) -> None:
    """reference/teams.md §9: trust comes from the CA, never from turning verification off."""
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(requests.exceptions.SSLError):
        msal.ConfidentialClientApplication(
            sim.client_id,
            client_credential=sim.client_secret,
            authority=sim.authority,
            instance_discovery=False,
            http_client=session,
        )


def test_discovery_and_jwks_verify_issued_tokens(sim: RunningSim) -> None:
    """reference/teams.md §9: msal reads the token endpoint from the discovery document."""
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        config = client.get(f"{sim.authority}/v2.0/.well-known/openid-configuration").json()
        keys = client.get(config["jwks_uri"]).json()["keys"]
    assert config["issuer"] == f"{sim.origin}/{sim.tenant_id}/v2.0"
    assert config["token_endpoint"] == f"{sim.authority}/oauth2/v2.0/token"
    token = sim.thread.call(lambda: issue_app_token(sim.sim, audience=sim.origin))
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in keys if k["kid"] == kid]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["RS256"],
        audience=sim.origin,
        issuer=config["issuer"],
    )
    assert claims["tid"] == sim.tenant_id


def test_tenant_by_domain_issues_with_tenant_id(sim: RunningSim) -> None:
    """Entra accepts a verified domain in place of the tenant id; the issuer names the id."""
    resp = _post_token(sim, _cc(sim), tenant="contoso.com")
    assert resp.status_code == 200, resp.text
    assert _claims(resp.json()["access_token"])["tid"] == sim.tenant_id


def test_token_lifetime_is_configurable(sim: RunningSim) -> None:
    """reference/dataverse.md §6.9: about 60 minutes by default; shortened for expiry tests."""
    sim.thread.call(lambda: setattr(sim.sim.limits, "token_lifetime_s", 60))
    body = _post_token(sim, _cc(sim)).json()
    assert body["expires_in"] == 60
    claims = _claims(body["access_token"])
    assert claims["exp"] - claims["iat"] == 60


# ---- token endpoint errors ------------------------------------------------------------


def test_wrong_secret_is_invalid_client(sim: RunningSim) -> None:
    """Entra error AADSTS7000215 (invalid_client, 401) for a wrong client secret."""
    _assert_entra_error(
        _post_token(sim, _cc(sim, client_secret="not-the-secret")), 401, "invalid_client", 7000215
    )
    result = _msal(sim, secret="not-the-secret").acquire_token_for_client(
        [f"{sim.origin}/.default"]
    )
    assert result["error"] == "invalid_client"


def test_missing_secret_is_invalid_client(sim: RunningSim) -> None:
    """Entra error AADSTS7000218: neither client_secret nor client_assertion."""
    data = _cc(sim)
    del data["client_secret"]
    _assert_entra_error(_post_token(sim, data), 401, "invalid_client", 7000218)


def test_unknown_client_is_unauthorized_client(sim: RunningSim) -> None:
    """Entra error AADSTS700016: application not found in the directory."""
    resp = _post_token(sim, _cc(sim, client_id="11111111-2222-4333-8444-555555555555"))
    _assert_entra_error(resp, 400, "unauthorized_client", 700016)


def test_unknown_tenant(sim: RunningSim) -> None:
    """Entra error AADSTS90002: tenant not found (token endpoint and discovery)."""
    _assert_entra_error(
        _post_token(sim, _cc(sim), tenant="fabrikam.com"), 400, "invalid_tenant", 90002
    )
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        resp = client.get(f"{sim.origin}/fabrikam.com/v2.0/.well-known/openid-configuration")
    _assert_entra_error(resp, 400, "invalid_tenant", 90002)


@pytest.mark.parametrize(
    ("scope", "error", "code"),
    [
        ("https://graph.microsoft.com/User.Read.All", "invalid_scope", 1002012),
        ("User.Read", "invalid_scope", 1002012),
        (
            "https://graph.microsoft.com/.default https://127.0.0.1/.default",
            "invalid_scope",
            70011,
        ),
        ("https://contoso.crm.dynamics.com/.default", "invalid_resource", 500011),
    ],
)
def test_bad_scope(sim: RunningSim, scope: str, error: str, code: int) -> None:
    """reference/dataverse.md §6.9: client credentials take exactly one <resource>/.default."""
    _assert_entra_error(_post_token(sim, _cc(sim, scope=scope)), 400, error, code)


def test_grant_type_missing_or_unsupported(sim: RunningSim) -> None:
    """Entra errors AADSTS900144 (missing parameter) and AADSTS70003 (unsupported grant)."""
    data = _cc(sim)
    del data["grant_type"]
    _assert_entra_error(_post_token(sim, data), 400, "invalid_request", 900144)
    _assert_entra_error(
        _post_token(sim, _cc(sim, grant_type="password")), 400, "unsupported_grant_type", 70003
    )


def test_token_endpoint_with_json_body_is_a_shaped_error(sim: RunningSim) -> None:
    """The token endpoint takes a form; anything else is invalid_request, never a 500."""
    with httpx.Client(verify=client_context(sim.ca_path)) as client:
        resp = client.post(f"{sim.authority}/oauth2/v2.0/token", json=_cc(sim))
    _assert_entra_error(resp, 400, "invalid_request", 900144)


def _obo(sim: RunningSim, assertion: str, scope: str | None = None) -> httpx.Response:
    return _post_token(
        sim,
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "requested_token_use": "on_behalf_of",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "assertion": assertion,
            "scope": scope or f"{GRAPH_RESOURCE}/.default",
        },
    )


def test_obo_rejects_bad_assertions(sim: RunningSim) -> None:
    """The OBO assertion must be a valid user token whose audience is the calling app."""
    eddie = sim.person("eddie").object_id
    for_graph = sim.thread.call(
        lambda: issue_user_token(sim.sim, object_id=eddie, audience=GRAPH_RESOURCE)
    )
    _assert_entra_error(_obo(sim, for_graph), 400, "invalid_grant", 50013)
    expired = sim.thread.call(lambda: issue_user_token(sim.sim, object_id=eddie, lifetime_s=-60))
    _assert_entra_error(_obo(sim, expired), 400, "invalid_grant", 500133)
    app_only = sim.thread.call(lambda: issue_app_token(sim.sim, audience=sim.client_id))
    _assert_entra_error(_obo(sim, app_only), 400, "invalid_grant", 50013)
    _assert_entra_error(_obo(sim, "not-a-jwt"), 400, "invalid_grant", 50013)


def test_obo_with_two_resources(sim: RunningSim) -> None:
    """Entra error AADSTS28000: scope names more than one resource."""
    sso = sim.thread.call(
        lambda: issue_user_token(sim.sim, object_id=sim.person("eddie").object_id)
    )
    resp = _obo(sim, sso, scope=f"{GRAPH_RESOURCE}/.default {sim.origin}/.default")
    _assert_entra_error(resp, 400, "invalid_scope", 28000)


# ---- authenticate / validate_token -----------------------------------------------------


def _app_token(sim: RunningSim, **claims: Any) -> str:
    def make() -> str:
        base = _claims(issue_app_token(sim.sim, audience=sim.origin))
        return sign(sim.sim, base | claims)

    return sim.thread.call(make)


def test_forged_token_is_rejected(sim: RunningSim) -> None:
    """reference/dataverse.md §6.1: a forged token is a 401 (signed by another key)."""
    other = SigningKey.generate()
    same_kid = SigningKey(other.private_key, sim.thread.call(lambda: signing_key(sim.sim).kid))
    token = sim.thread.call(
        lambda: sign(sim.sim, _claims(issue_app_token(sim.sim, audience=sim.origin)), key=same_kid)
    )
    with pytest.raises(AuthError) as info:
        _validate(sim, token, {sim.origin})
    assert info.value.code == "invalid_signature"
    foreign_kid = sim.thread.call(
        lambda: sign(sim.sim, _claims(issue_app_token(sim.sim, audience=sim.origin)), key=other)
    )
    with pytest.raises(AuthError) as info:
        _validate(sim, foreign_kid, {sim.origin})
    assert info.value.code == "invalid_signature"


def test_expired_and_not_yet_valid_tokens_are_rejected(sim: RunningSim) -> None:
    """reference/dataverse.md §6.1: ExpiredAuthTicket is a 401; leeway is a few seconds."""
    now = int(time.time())
    with pytest.raises(AuthError) as info:
        _validate(sim, _app_token(sim, exp=now - 30), {sim.origin})
    assert info.value.code == "expired_token"
    with pytest.raises(AuthError) as info:
        _validate(sim, _app_token(sim, nbf=now + 60), {sim.origin})
    assert info.value.code == "token_not_yet_valid"
    # Inside the clock-skew allowance.
    assert _validate(sim, _app_token(sim, exp=now - 1), {sim.origin}).app_only


def test_a_token_seen_before_is_still_refused_once_expired_or_for_another_audience(
    sim: RunningSim,
) -> None:
    """The sim keeps what it learnt of a token it has accepted, but expiry and audience are
    checked on every request (reference/dataverse.md §6.1, §6.9)."""
    expires = int(time.time()) - CLOCK_SKEW_S + 2  # inside the allowance for two seconds
    token = _app_token(sim, exp=expires)
    assert _validate(sim, token, {sim.origin}).app_only
    with pytest.raises(AuthError) as info:
        _validate(sim, token, {GRAPH_RESOURCE})
    assert info.value.code == "invalid_audience"
    time.sleep(max(0.0, expires + CLOCK_SKEW_S - time.time()) + 0.05)
    with pytest.raises(AuthError) as info:
        _validate(sim, token, {sim.origin})
    assert info.value.code == "expired_token"


def test_wrong_audience_issuer_or_tenant_is_rejected(sim: RunningSim) -> None:
    """reference/dataverse.md §6.9: a Dataverse token names that environment as audience."""
    graph_token = sim.thread.call(lambda: issue_app_token(sim.sim, audience=GRAPH_RESOURCE))
    with pytest.raises(AuthError) as info:
        _validate(sim, graph_token, {sim.origin})
    assert info.value.code == "invalid_audience"
    with pytest.raises(AuthError) as info:
        _validate(
            sim, _app_token(sim, iss="https://login.microsoftonline.com/x/v2.0"), {sim.origin}
        )
    assert info.value.code == "invalid_issuer"
    with pytest.raises(AuthError) as info:
        _validate(sim, _app_token(sim, tid="11111111-1111-4111-8111-111111111111"), {sim.origin})
    assert info.value.code == "invalid_tenant"
    with pytest.raises(AuthError) as info:
        _validate(sim, "eyJhbGciOi.garbage", {sim.origin})
    assert info.value.code == "invalid_token"


def _request(sim: RunningSim, authorization: str | None) -> web.Request:
    app = web.Application()
    app[SIM] = sim.sim
    headers = {} if authorization is None else {"Authorization": authorization}
    return make_mocked_request("GET", "/api/data/v9.2/WhoAmI", headers=headers, app=app)


def test_authenticate_reads_the_bearer_header(sim: RunningSim) -> None:
    """reference/dataverse.md §6.1: missing token → 401; Dataverse audience with or without /."""
    token = sim.thread.call(lambda: issue_app_token(sim.sim, audience=sim.origin))
    for audience in (sim.origin, sim.origin + "/"):
        caller = authenticate(_request(sim, f"Bearer {token}"), audience=audience)
        assert caller.object_id == sim.fixture.application.object_id
        assert caller.app_id == sim.client_id
        assert caller.tenant_id == sim.tenant_id
    with pytest.raises(AuthError) as info:
        authenticate(_request(sim, None), audience=sim.origin)
    assert info.value.code == "missing_token"
    with pytest.raises(AuthError) as info:
        authenticate(_request(sim, f"Basic {token}"), audience=sim.origin)
    assert info.value.code == "invalid_token"
    with pytest.raises(AuthError) as info:
        authenticate(_request(sim, f"Bearer {token}"), audience=GRAPH_RESOURCE)
    assert info.value.code == "invalid_audience"


def test_graph_audience_accepts_the_graph_app_id(sim: RunningSim) -> None:
    """Graph tokens name https://graph.microsoft.com or Graph's app id as audience."""
    token = _app_token(sim, aud=GRAPH_APP_ID)
    assert authenticate(_request(sim, f"Bearer {token}"), audience=GRAPH_RESOURCE).app_only
