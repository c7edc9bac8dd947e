"""Settings: fail fast naming the key, mask secrets everywhere, loopback only without an app id."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import httpx
import pytest

from bot import serve
from bot.adapter import botbuilder_configuration
from bot.config import ConfigError, HostSdk, Settings
from tests.bot.activities import message
from tests.bot.conftest import APP_ID, APP_PASSWORD, environment, without
from tests.bot.serving import free_port
from tests.simharness import RunningSim

BASE = {
    "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
    "MAILOPS_TENANT_ID": "0f0e0d0c-0b0a-4909-8807-060504030201",
    "MAILOPS_CLIENT_ID": "c1c1c1c1-0000-4000-8000-000000000001",
    "MAILOPS_CLIENT_SECRET": "client-secret-that-must-never-be-logged",
}
SECRETS = (BASE["MAILOPS_CLIENT_SECRET"], APP_PASSWORD, "card-secret-that-must-never-be-logged")


def _error(**changes: str) -> str:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, **changes})
    return str(caught.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MAILOPS_PORT", "eighty"),
        ("MAILOPS_PORT", "70000"),
        ("DATAVERSE_URL", "http://contoso.crm.dynamics.com"),
        ("MAILOPS_GRAPH_URL", "graph.microsoft.com"),
        ("MAILOPS_AUTHORITY_HOST", "ftp://login"),
        ("MicrosoftAppType", "EveryTenant"),
        ("MAILOPS_DEPLOYMENT", "moon"),
        ("MAILOPS_CA_BUNDLE", "/nowhere/ca.pem"),
        ("MAILOPS_FACTS_TTL_S", "-1"),
        ("MAILOPS_ACT_AS_CALLER", "perhaps"),
        ("MAILOPS_ENVIRONMENT_NAME", "prod env!"),
        ("MAILOPS_LOG_LEVEL", "LOUD"),
        ("MAILOPS_CARD_SECRET", "short"),
        ("MAILOPS_HOST_SDK", "teams"),
    ],
)
def test_a_bad_value_fails_fast_naming_its_key(key: str, value: str) -> None:
    assert key in _error(**{key: value})


@pytest.mark.parametrize("key", sorted(BASE))
def test_a_missing_key_is_named(key: str) -> None:
    with pytest.raises(ConfigError, match=f"{key}: is required"):
        Settings.from_env(without(BASE, key))


def test_every_missing_key_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    assert all(key in str(caught.value) for key in BASE)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"MicrosoftAppType": "SingleTenant", "MicrosoftAppId": APP_ID}, "MicrosoftAppTenantId"),
        (
            {
                "MicrosoftAppType": "SingleTenant",
                "MicrosoftAppTenantId": "t",
                "MicrosoftAppPassword": APP_PASSWORD,
            },
            "MicrosoftAppId",
        ),
        (
            {"MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppId": APP_ID},
            "MicrosoftAppTenantId",
        ),
        ({"MicrosoftAppType": "UserAssignedMSI", "MicrosoftAppTenantId": "t"}, "MicrosoftAppId"),
        ({"MicrosoftAppId": APP_ID}, "MicrosoftAppPassword"),
    ],
)
def test_incomplete_bot_identities_are_refused(changes: dict[str, str], named: str) -> None:
    assert named in _error(**changes)


def test_botbuilder_hosts_unless_the_agents_sdk_is_asked_for() -> None:
    """The product brief names botbuilder: it stays the default (issue 17)."""
    assert Settings.from_env(BASE).host_sdk is HostSdk.BOTBUILDER
    chosen = Settings.from_env({**BASE, "MAILOPS_HOST_SDK": "agents"})
    assert chosen.host_sdk is HostSdk.AGENTS


def test_the_app_type_is_read_in_any_case() -> None:
    settings = Settings.from_env(
        {**BASE, "MicrosoftAppType": "singletenant", "MicrosoftAppId": APP_ID}
        | {"MicrosoftAppTenantId": "t", "MicrosoftAppPassword": APP_PASSWORD}
    )
    assert settings.app_type.value == "SingleTenant"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.4", "bot.contoso.com"])  # noqa: S104
def test_a_non_loopback_host_without_an_app_id_is_refused(host: str) -> None:
    refused = _error(MAILOPS_HOST=host)
    assert f"MAILOPS_HOST={host}" in refused
    assert "MicrosoftAppId" in refused


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_loopback_hosts_need_no_app_id(host: str) -> None:
    assert Settings.from_env({**BASE, "MAILOPS_HOST": host}).listens_on_loopback_only


def test_any_host_is_fine_with_an_app_id() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "MAILOPS_HOST": "0.0.0.0",  # noqa: S104 - the container's setting
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": APP_PASSWORD,
        }
    )
    assert settings.authentication_enabled


def _full() -> Settings:
    return Settings.from_env(
        {
            **BASE,
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppPassword": APP_PASSWORD,
            "MAILOPS_CARD_SECRET": SECRETS[2],
        }
    )


def test_secrets_are_masked_in_repr_str_and_json() -> None:
    settings = _full()
    for shown in (repr(settings), str(settings), settings.model_dump_json(), f"{settings!r}"):
        assert not any(secret in shown for secret in SECRETS), shown
    assert settings.app_password.get_secret_value() == APP_PASSWORD


def test_botbuilders_configuration_masks_the_password() -> None:
    configuration = botbuilder_configuration(_full())
    assert configuration.APP_PASSWORD == APP_PASSWORD  # botbuilder reads it in clear
    assert APP_PASSWORD not in repr(configuration)
    assert APP_PASSWORD not in str(configuration)
    assert APP_ID in repr(configuration)


@pytest.mark.parametrize("key", ["MAILOPS_CLIENT_SECRET", "MicrosoftAppPassword"])
def test_a_secret_is_not_echoed_when_its_own_value_is_refused(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, key: ["a", "list"]})  # type: ignore[dict-item]
    assert key in str(caught.value)
    assert "list" not in str(caught.value)


def test_serve_names_the_bad_key_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {**BASE, "MAILOPS_PORT": "eighty"}.items():
        monkeypatch.setenv(key, value)
    assert serve.main([]) == 2
    out = capsys.readouterr()
    assert "MAILOPS_PORT" in out.out + out.err
    assert BASE["MAILOPS_CLIENT_SECRET"] not in out.out + out.err


def test_serve_refuses_to_listen_beyond_loopback_without_an_app_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in {**BASE, "MAILOPS_HOST": "0.0.0.0"}.items():  # noqa: S104
        monkeypatch.setenv(key, value)
    assert serve.main([]) == 2
    assert "loopback" in capsys.readouterr().out


def test_the_ca_bundle_must_exist(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    assert "MAILOPS_CA_BUNDLE" in _error(MAILOPS_CA_BUNDLE=str(bundle))
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert Settings.from_env({**BASE, "MAILOPS_CA_BUNDLE": str(bundle)}).ca_bundle == bundle


def test_the_log_level_is_read_in_any_case() -> None:
    assert Settings.from_env({**BASE, "MAILOPS_LOG_LEVEL": "debug"}).log_level == "DEBUG"


async def test_no_secret_reaches_the_logs_over_a_whole_served_turn(
    sim: RunningSim,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """`mailops serve` against the sim at DEBUG: start, a turn that fetches tokens, stop."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sim.ca_path))
    port = free_port()
    card_secret = SECRETS[2]
    settings = Settings.from_env(
        environment(
            sim,
            MAILOPS_PORT=str(port),
            MAILOPS_LOG_LEVEL="DEBUG",
            MAILOPS_CARD_SECRET=card_secret,
            MAILOPS_DB_URL=f"sqlite+aiosqlite:///{tmp_path / 'mailops.db'}",
        )
    )
    caplog.set_level(logging.DEBUG)
    stop = asyncio.Event()
    served = asyncio.create_task(serve.run(settings, stop=stop))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            response = await client.post(
                "/api/messages", json=message(sim, "eddie", "status of alice")
            )
            assert response.status_code == 201
    finally:
        stop.set()
        await served
    assert any(r["op"] == "reply" for r in sim.sim.state.activities)
    assert any(r.name.startswith("msal") for r in caplog.records), "tokens were not fetched"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (sim.client_secret, card_secret):
        assert secret not in logged


def test_comma_separated_lists_are_read_from_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mailops serve` passes os.environ itself: MAILOPS_ONCALL and MAILOPS_ALLOWED_TENANTS
    are comma-separated there too (pydantic-settings would have read them as JSON lists)."""
    tenant = "c0ffee00-0000-4000-8000-000000000001"
    for key, value in {
        **BASE,
        "MAILOPS_ONCALL": "dana@contoso.com, eddie@contoso.com",
        "MAILOPS_ALLOWED_TENANTS": f"{tenant},{BASE['MAILOPS_TENANT_ID']}",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env(os.environ)
    assert settings.on_call == ("dana@contoso.com", "eddie@contoso.com")
    assert settings.allowed_tenants == (tenant, BASE["MAILOPS_TENANT_ID"])


def test_only_the_given_mapping_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the demo and the benchmarks build from a mapping is what they get: a variable
    the developer exported is not read behind their back."""
    monkeypatch.setenv("MAILOPS_ONCALL", "nobody@contoso.com")
    monkeypatch.setenv("MAILOPS_PORT", "not-a-port")
    settings = Settings.from_env(BASE)
    assert settings.on_call == ()
    assert settings.port == 3978
