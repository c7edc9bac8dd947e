"""Entra tokens through msal against the sim's token endpoint, over TLS with its own CA."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import jwt
import pytest

from dataverse import GRAPH_SCOPE, EntraApp, EntraApps, dataverse_scope
from dataverse.auth import normalize_authority
from dataverse.errors import AuthError, InvalidIdentifier, InvalidInput
from tests.dataverse.conftest import admin_post, mint_user_token, oid
from tests.simharness import RunningSim


def _claims(token: str) -> dict[str, object]:
    # Reading our own token's claims; the sim's signature is checked by the sim.
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_client_credentials_token_for_dataverse(sim: RunningSim, entra: EntraApp) -> None:
    token = await entra.acquire_for_client([dataverse_scope(sim.dataverse_url)])

    claims = _claims(token.value)
    assert claims["aud"] == sim.dataverse_url
    assert claims["appid"] == sim.client_id
    assert 3000 < token.remaining() <= 3600
    assert token.value not in repr(token)


async def test_client_credentials_token_for_graph(entra: EntraApp) -> None:
    token = await entra.acquire_for_client([GRAPH_SCOPE])

    assert _claims(token.value)["aud"] == "https://graph.microsoft.com"


async def test_a_wrong_ca_is_refused(sim: RunningSim, other_ca: Path) -> None:
    app = EntraApp(
        authority=sim.authority,
        client_id=sim.client_id,
        client_credential=sim.client_secret,
        ca_path=other_ca,
    )

    try:
        with pytest.raises(AuthError) as caught:
            await app.acquire_for_client([GRAPH_SCOPE])
    finally:
        app.close()

    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


async def test_a_wrong_secret_gives_entras_error_without_the_secret(sim: RunningSim) -> None:
    secret = "not-the-secret-" + uuid.uuid4().hex
    app = EntraApp(
        authority=sim.authority,
        client_id=sim.client_id,
        client_credential=secret,
        ca_path=sim.ca_path,
    )

    try:
        with pytest.raises(AuthError) as caught:
            await app.acquire_for_client([GRAPH_SCOPE])
    finally:
        app.close()

    assert caught.value.error == "invalid_client"
    assert caught.value.description.startswith("AADSTS")
    assert secret not in str(caught.value)
    assert secret not in repr(app)


async def test_concurrent_callers_share_one_renewal(entra: EntraApp) -> None:
    provider = entra.client_credentials([GRAPH_SCOPE])

    tokens = await asyncio.gather(*(provider.token() for _ in range(20)))

    # One renewal hands every caller the very same token object.
    assert len({id(t) for t in tokens}) == 1
    assert await provider.token() is tokens[0]


async def test_a_token_is_renewed_before_it_expires(sim: RunningSim, entra: EntraApp) -> None:
    admin_post(sim, "limits", {"token_lifetime_s": 4})
    provider = entra.client_credentials([GRAPH_SCOPE])
    first = await provider.token()
    assert await provider.token() is first

    # Past half its life (the skew shrinks for short-lived tokens) it is renewed, although
    # it has not expired yet.
    await asyncio.sleep(2.2)
    assert first.remaining() > 0
    second = await provider.token()

    assert second.value != first.value
    assert second.remaining() > 3


async def test_on_behalf_of_a_user(sim: RunningSim, entra: EntraApp) -> None:
    assertion = mint_user_token(sim, oid(sim, "gina"))
    provider = entra.on_behalf_of(assertion, [dataverse_scope(sim.dataverse_url)])

    token = await provider.token()

    claims = _claims(token.value)
    assert claims["oid"] == oid(sim, "gina")
    assert claims["aud"] == sim.dataverse_url
    assert assertion not in repr(provider)


async def test_on_behalf_of_refuses_an_expired_assertion(sim: RunningSim, entra: EntraApp) -> None:
    assertion = mint_user_token(sim, oid(sim, "gina"), lifetime_s=-60)

    with pytest.raises(AuthError) as caught:
        await entra.acquire_on_behalf_of(assertion, [GRAPH_SCOPE])

    assert caught.value.error == "invalid_grant"
    assert assertion not in str(caught.value)


def test_one_app_per_authority_and_client_id(sim: RunningSim) -> None:
    apps = EntraApps()

    def get(authority: str = sim.authority, secret: str = sim.client_secret) -> EntraApp:
        return apps.get(
            authority=authority,
            client_id=sim.client_id,
            client_credential=secret,
            ca_path=sim.ca_path,
        )

    first = get()

    assert get() is first
    assert get(authority=sim.authority.upper()) is first
    with pytest.raises(InvalidInput):
        get(secret="another secret")


@pytest.mark.parametrize(
    ("authority", "expected"),
    [
        (
            "https://login.microsoftonline.com/contoso.com",
            "https://login.microsoftonline.com/contoso.com",
        ),
        (
            "https://127.0.0.1:8765/c0ffee00-0000-4000-8000-000000000001/",
            "https://127.0.0.1:8765/c0ffee00-0000-4000-8000-000000000001",
        ),
    ],
)
def test_authority_is_normalized(authority: str, expected: str) -> None:
    assert normalize_authority(authority) == expected


@pytest.mark.parametrize(
    "authority",
    [
        "http://login.microsoftonline.com/contoso.com",
        "https://login.microsoftonline.com",
        "https://login.microsoftonline.com/a/b",
        "https://login.microsoftonline.com/contoso.com?x=1",
    ],
)
def test_a_malformed_authority_is_refused(authority: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_authority(authority)


def test_instance_discovery_only_for_the_public_cloud(sim: RunningSim) -> None:
    public = EntraApp(
        authority="https://login.microsoftonline.com/contoso.com",
        client_id=sim.client_id,
        client_credential="x",
    )
    local = EntraApp(authority=sim.authority, client_id=sim.client_id, client_credential="x")

    assert public.instance_discovery is True
    assert local.instance_discovery is False


def test_a_client_id_must_be_a_guid(sim: RunningSim) -> None:
    with pytest.raises(InvalidIdentifier):
        EntraApp(authority=sim.authority, client_id="mailops", client_credential="x")
