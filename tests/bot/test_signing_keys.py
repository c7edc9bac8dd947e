"""Token-signing keys fetched off the event loop, with a timeout, and kept.

botframework-connector 4.17.1 fetched a token issuer's OpenID metadata and JWKS with a
blocking `requests.get` without a timeout on the event loop: one token whose issuer's
metadata endpoint hangs froze every conversation (issue 12 point 6). Here the bot checks
real RS256 tokens, as Bot Framework signs them, against two metadata endpoints of the
test's own: Bot Framework channel tokens (issuer `https://api.botframework.com`) against
one that answers, tokens of the Emulator's issuers against one that accepts connections and
never answers. botbuilder picks the endpoint by the token's issuer, each configurable
(`TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL`, `TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL`);
the token rules themselves are botbuilder's, and this test follows them (reference/teams.md
§6.1: channel tokens carry `aud` = the bot's app id and `serviceurl`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from botbuilder.schema import CallerIdConstants
from botframework.connector.auth import jwt_token_extractor
from botframework.connector.auth.authentication_constants import AuthenticationConstants
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot import signing_keys
from bot.adapter import adapter_for, botbuilder_configuration, create_adapter
from bot.app import create_app
from bot.signing_keys import SigningKeys
from dialogs.router import Router
from tests.bot.activities import connector_url, execute
from tests.bot.conftest import APP_ID, APP_PASSWORD, RecordingDispatcher, settings_for
from tests.bot.operated import FakeClock
from tests.simharness import RunningSim

pytestmark = pytest.mark.usefixtures("trust_sim")

CHANNEL_ISSUER = "https://api.botframework.com"
EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"
KEY_ID = "test-key-1"
TIMEOUT_S = 1.0  # the fetch's whole budget in these tests (TIMEOUT_S in production)


@pytest.fixture(autouse=True)
def _botbuilders_cache_restored() -> Iterator[None]:
    """`install` replaces a class attribute of botbuilder: put the stock one back."""
    stock = jwt_token_extractor.JwtTokenExtractor.metadataCache
    yield
    jwt_token_extractor.JwtTokenExtractor.metadataCache = stock


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _token(private_key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    now = int(time.time())
    return jwt.encode(
        {"nbf": now - 60, "exp": now + 3600, **claims},
        private_key,
        algorithm="RS256",
        headers={"kid": KEY_ID},
    )


def channel_token(private_key: rsa.RSAPrivateKey, sim: RunningSim) -> str:
    """A Bot Framework channel token for the bot, as Teams' requests carry."""
    claims = {"iss": CHANNEL_ISSUER, "aud": APP_ID, "serviceurl": connector_url(sim)}
    return _token(private_key, claims)


def emulator_token(private_key: rsa.RSAPrivateKey) -> str:
    """A token of one of the Emulator's issuers (v1.0: the bot's app id in `appid`)."""
    claims = {"iss": EMULATOR_ISSUER, "aud": APP_ID, "appid": APP_ID, "ver": "1.0"}
    return _token(private_key, claims)


@dataclass
class KeysEndpoint:
    """OpenID metadata and its JWKS, served over HTTP; counts what is asked of it."""

    url: str
    hits: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def keys_endpoint(private_key: rsa.RSAPrivateKey) -> AsyncIterator[KeysEndpoint]:
    jwk = json.loads(RSAAlgorithm.to_jwk(private_key.public_key()))
    jwk.update(kid=KEY_ID, use="sig", endorsements=["msteams"])
    app = web.Application()
    server = TestServer(app)
    endpoint = KeysEndpoint("")

    async def openid(request: web.Request) -> web.Response:
        endpoint.hits.append("openid")
        return web.json_response(
            {"issuer": CHANNEL_ISSUER, "jwks_uri": str(server.make_url("/keys"))}
        )

    async def keys(request: web.Request) -> web.Response:
        endpoint.hits.append("keys")
        return web.json_response({"keys": [jwk]})

    app.router.add_get("/v1/.well-known/openidconfiguration", openid)
    app.router.add_get("/keys", keys)
    await server.start_server()
    endpoint.url = str(server.make_url("/v1/.well-known/openidconfiguration"))
    try:
        yield endpoint
    finally:
        await server.close()


@dataclass
class HangingEndpoint:
    """A TCP server that accepts connections, reads what is sent and never answers."""

    url: str
    connections: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def hanging_endpoint() -> AsyncIterator[HangingEndpoint]:
    endpoint = HangingEndpoint("")
    writers: list[asyncio.StreamWriter] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        endpoint.connections += 1
        endpoint.connected.set()
        writers.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(4096):
                pass

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    endpoint.url = f"http://127.0.0.1:{port}/v2.0/.well-known/openid-configuration"
    try:
        yield endpoint
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


@dataclass
class Secured:
    client: TestClient[Any, Any]
    dispatcher: RecordingDispatcher
    keys: SigningKeys
    channel: KeysEndpoint
    hanging: HangingEndpoint


@contextlib.asynccontextmanager
async def secured_bot(
    sim: RunningSim,
    router: Router,
    private_key: rsa.RSAPrivateKey,
    *,
    clock: FakeClock | None = None,
) -> AsyncIterator[Secured]:
    """The app with authentication on, its token issuers' metadata at the two endpoints."""
    settings = settings_for(sim, MicrosoftAppId=APP_ID, MicrosoftAppPassword=APP_PASSWORD)
    keys = SigningKeys(timeout_s=TIMEOUT_S, clock=clock or time.monotonic)
    async with keys_endpoint(private_key) as channel, hanging_endpoint() as hanging:
        configuration = botbuilder_configuration(settings)
        # Naming any one of these makes botbuilder read all of them (its "parameterized"
        # authentication): the public cloud's values, but for the two metadata URLs.
        configuration.TO_CHANNEL_FROM_BOT_LOGIN_URL = (
            AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX + "botframework.com"
        )
        configuration.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = (
            AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        )
        configuration.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = CHANNEL_ISSUER
        configuration.OAUTH_URL = AuthenticationConstants.OAUTH_URL
        configuration.CALLER_ID = CallerIdConstants.public_azure_channel
        configuration.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = channel.url
        configuration.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = hanging.url
        dispatcher = RecordingDispatcher(router)
        app = create_app(adapter_for(configuration, keys), dispatcher)
        async with TestClient(TestServer(app)) as client:
            yield Secured(client, dispatcher, keys, channel, hanging)


def _click(sim: RunningSim, person: str) -> dict[str, Any]:
    """An Action.Execute click: the dialogs answer it in the HTTP body, no reply is sent."""
    mailbox = sim.person("alice").mailbox.id
    return execute(
        sim,
        person,
        {"verb": "mailbox.approve", "data": {"mailboxId": mailbox}},
        reply_to_id="1",
        conversation_id=f"a:personal-{person}",
    )


async def _post(bot: Secured, activity: dict[str, Any], token: str) -> Any:
    return await bot.client.post(
        "/api/messages", json=activity, headers={"Authorization": f"Bearer {token}"}
    )


async def test_a_hanging_key_endpoint_delays_only_the_requests_that_need_it(
    sim: RunningSim,
    router: Router,
    private_key: rsa.RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with secured_bot(sim, router, private_key) as bot:
        # a conversation whose keys are fetched (once) and kept
        first = await _post(bot, _click(sim, "eddie"), channel_token(private_key, sim))
        assert first.status == 200, await first.text()
        assert bot.dispatcher.calls == ["execute"]

        stuck = asyncio.create_task(_post(bot, _click(sim, "gina"), emulator_token(private_key)))
        await asyncio.wait_for(bot.hanging.connected.wait(), TIMEOUT_S)
        started = time.monotonic()
        for _ in range(3):  # meanwhile other conversations are answered, from the kept keys
            answered = await _post(bot, _click(sim, "eddie"), channel_token(private_key, sim))
            assert answered.status == 200
        assert not stuck.done(), "the others were answered only after the stuck one"
        assert time.monotonic() - started < TIMEOUT_S

        refused = await stuck
        assert refused.status == 503
        assert refused.content_type == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        assert (await refused.json())["status"] == 503

    assert bot.dispatcher.calls == ["execute"] * 4, "the stuck request reached the dialogs"
    assert bot.channel.hits == ["openid", "keys"], "the kept keys were fetched again"
    assert [r for r in caplog.records if r.exc_info] == []
    assert "Traceback" not in caplog.text


async def test_requests_needing_the_same_keys_share_one_fetch_then_a_pause(
    sim: RunningSim, router: Router, private_key: rsa.RSAPrivateKey
) -> None:
    """Five at once wait for one fetch; after it failed, the next ones are answered 503
    at once until the pause is over, then the keys are asked for again."""
    clock = FakeClock()
    async with secured_bot(sim, router, private_key, clock=clock) as bot:
        token = emulator_token(private_key)
        at_once = await asyncio.gather(
            *(_post(bot, _click(sim, "eddie"), token) for _ in range(5))
        )
        assert [r.status for r in at_once] == [503] * 5
        assert bot.hanging.connections == 1

        started = time.monotonic()
        again = await _post(bot, _click(sim, "eddie"), token)
        assert again.status == 503
        assert time.monotonic() - started < TIMEOUT_S / 2, "it waited for the endpoint again"
        assert bot.hanging.connections == 1

        clock.advance(bot.keys.retry_after_s)
        assert (await _post(bot, _click(sim, "eddie"), token)).status == 503
        assert bot.hanging.connections == 2
    assert bot.dispatcher.calls == []


async def test_a_token_signed_by_an_unknown_key_is_401(
    sim: RunningSim, router: Router, private_key: rsa.RSAPrivateKey
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with secured_bot(sim, router, private_key) as bot:
        forged = await _post(bot, _click(sim, "eddie"), channel_token(stranger, sim))
        assert forged.status == 401
        other_kid = jwt.encode(
            {"iss": CHANNEL_ISSUER, "aud": APP_ID, "exp": int(time.time()) + 60},
            private_key,
            algorithm="RS256",
            headers={"kid": "not-published"},
        )
        assert (await _post(bot, _click(sim, "eddie"), other_kid)).status == 401
    assert bot.dispatcher.calls == []
    assert bot.channel.hits == ["openid", "keys"], "an unknown kid refetches at most hourly"


def test_create_adapter_installs_its_keys(sim: RunningSim) -> None:
    keys = SigningKeys()
    create_adapter(settings_for(sim), signing_keys=keys)
    cache = jwt_token_extractor.JwtTokenExtractor.metadataCache
    assert isinstance(cache, signing_keys._KeysByUrl)
    assert cache.source is keys


def test_botbuilder_still_looks_as_the_patch_expects() -> None:
    """Fails when botframework-connector changes: then look again at `bot.signing_keys`."""
    assert metadata.version("botframework-connector") == signing_keys.PATCHED_VERSION
    assert signing_keys.patchable() is None
    extractor = jwt_token_extractor.JwtTokenExtractor
    assert "JwtTokenExtractor.metadataCache.get(metadata_url" in inspect.getsource(
        extractor.get_open_id_metadata
    )
    validate = inspect.getsource(extractor._validate_token)
    assert "await self.open_id_metadata.get(key_id)" in validate
    assert "metadata.public_key" in validate and "metadata.endorsements" in validate
    # what the patch exists for is still there: a blocking fetch without a timeout
    assert "requests.get(self.url)" in inspect.getsource(jwt_token_extractor._OpenIdMetadata)


def test_another_botbuilder_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stock = jwt_token_extractor.JwtTokenExtractor.metadataCache
    monkeypatch.setattr(metadata, "version", lambda name: "4.18.0")
    with caplog.at_level(logging.WARNING, logger="mailops.signing_keys"):
        assert signing_keys.install(SigningKeys()) is False
    assert jwt_token_extractor.JwtTokenExtractor.metadataCache is stock
    assert "4.18.0" in caplog.text
