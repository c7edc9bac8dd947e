"""Settings from the environment: Microsoft's variable names plus DATAVERSE_URL and MAILOPS_*.

`Settings.from_env(environ)` is the only place that reads variables; a bad or missing value
fails startup with a message naming the key. Secrets are `SecretStr`, so they print masked.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from permissions import Deployment


class AppType(StrEnum):
    MULTI_TENANT = "MultiTenant"
    SINGLE_TENANT = "SingleTenant"
    USER_ASSIGNED_MSI = "UserAssignedMSI"


class HostSdk(StrEnum):
    """The SDK that hosts `/api/messages` (MAILOPS_HOST_SDK; README, "Choosing the host")."""

    BOTBUILDER = "botbuilder"  # the Bot Framework SDK, which the product brief names
    AGENTS = "agents"  # the Microsoft 365 Agents SDK, its successor


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TENANT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""An Entra tenant id as activities carry it (lower case)."""


class ConfigError(Exception):
    """Startup configuration is invalid; the message names every bad key."""


_ENVIRONMENT_NAME = r"^[A-Za-z0-9_-]+$"


class EnvironmentSpec(BaseModel):
    """One Dataverse environment of MAILOPS_ENVIRONMENTS (a JSON list of these).

    `tenant_id`, `client_id`, `client_secret`, `authority_host`, `graph_url` and `ca_bundle`
    default to the top-level MAILOPS_* values: environments of the same tenant share one
    Entra application and one Graph client; an environment of another tenant (a
    Customer Engagement on-premises organisation federated with its own directory, say)
    names its own.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=40, pattern=_ENVIRONMENT_NAME)
    url: str
    deployment: Deployment = Deployment.ONLINE
    default: bool = False
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    authority_host: str | None = None
    graph_url: str | None = None
    ca_bundle: Path | None = None

    @field_validator("url", "authority_host", "graph_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            msg = "must be an https:// URL"
            raise ValueError(msg)
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            msg = f"no such file: {value}"
            raise ValueError(msg)
        return value


@dataclass(frozen=True)
class ResolvedEnvironment:
    """An environment with its identity filled in from the top-level settings."""

    name: str
    url: str
    deployment: Deployment
    is_default: bool
    tenant_id: str
    client_id: str
    client_secret: SecretStr
    authority_host: str
    graph_url: str
    ca_bundle: Path | None

    @property
    def identity(self) -> tuple[str, str, str, str, Path | None]:
        """Environments with the same identity share one Entra application."""
        secret = self.client_secret.get_secret_value()
        return (
            self.authority_host.rstrip("/"),
            self.tenant_id,
            self.client_id,
            secret,
            self.ca_bundle,
        )


_ENVIRONMENTS = TypeAdapter(list[EnvironmentSpec])


def _parse_environments(value: Any) -> Any:
    """MAILOPS_ENVIRONMENTS: JSON text naming the environments; errors name the entry."""
    if not isinstance(value, str):
        return value
    try:
        raw = json.loads(value)
    except json.JSONDecodeError as exc:
        msg = f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise ValueError(msg) from None
    if not isinstance(raw, list) or not raw:
        msg = "must be a non-empty JSON list of environments"
        raise ValueError(msg)
    try:
        specs = _ENVIRONMENTS.validate_python(raw)
    except ValidationError as exc:
        raise ValueError(_describe_entries(exc, raw)) from None
    names = [spec.name.casefold() for spec in specs]
    twice = sorted({spec.name for spec in specs if names.count(spec.name.casefold()) > 1})
    if twice:
        msg = f"environment names must differ (ignoring case): {', '.join(twice)}"
        raise ValueError(msg)
    defaults = [spec.name for spec in specs if spec.default]
    if len(specs) > 1 and len(defaults) != 1:
        shown = ", ".join(defaults) if defaults else "none"
        msg = f"exactly one environment must be the default (default: true); found {shown}"
        raise ValueError(msg)
    return tuple(specs)


def _describe_entries(exc: ValidationError, raw: list[Any]) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        index, *rest = error["loc"]
        entry = raw[index] if isinstance(index, int) and index < len(raw) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"entry {index}" + (f" ({name!r})" if isinstance(name, str) else "")
        field_name = ".".join(str(p) for p in rest) or "?"
        message = "is required" if error["type"] == "missing" else error["msg"]
        parts.append(f"{where} {field_name}: {message}")
    return "; ".join(parts)


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", case_sensitive=True, populate_by_name=False
    )

    # Bot Framework identity (the names Azure's docs and templates use).
    app_id: str = Field(default="", validation_alias=_alias("MicrosoftAppId"))
    app_password: SecretStr = Field(
        default=SecretStr(""), validation_alias=_alias("MicrosoftAppPassword")
    )
    app_type: AppType = Field(
        default=AppType.MULTI_TENANT, validation_alias=_alias("MicrosoftAppType")
    )
    app_tenant_id: str = Field(default="", validation_alias=_alias("MicrosoftAppTenantId"))

    # Which SDK hosts the bot; botbuilder unless set (the product brief names it).
    host_sdk: HostSdk = Field(
        default=HostSdk.BOTBUILDER, validation_alias=_alias("MAILOPS_HOST_SDK")
    )

    # Where the bot listens.
    host: str = Field(default="127.0.0.1", validation_alias=_alias("MAILOPS_HOST"))
    port: int = Field(default=3978, ge=1, le=65535, validation_alias=_alias("MAILOPS_PORT"))

    # Dataverse, Graph and Entra.
    # Required unless MAILOPS_ENVIRONMENTS names the environments (then "").
    dataverse_url: str = Field(validation_alias=_alias("DATAVERSE_URL"))
    tenant_id: str = Field(validation_alias=_alias("MAILOPS_TENANT_ID"))
    client_id: str = Field(validation_alias=_alias("MAILOPS_CLIENT_ID"))
    client_secret: SecretStr = Field(validation_alias=_alias("MAILOPS_CLIENT_SECRET"))
    authority_host: str = Field(
        default="https://login.microsoftonline.com",
        validation_alias=_alias("MAILOPS_AUTHORITY_HOST"),
    )
    graph_url: str = Field(
        default="https://graph.microsoft.com/v1.0/", validation_alias=_alias("MAILOPS_GRAPH_URL")
    )
    ca_bundle: Path | None = Field(default=None, validation_alias=_alias("MAILOPS_CA_BUNDLE"))
    environment_name: str = Field(
        default="prod",
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        validation_alias=_alias("MAILOPS_ENVIRONMENT_NAME"),
    )
    deployment: Deployment = Field(
        default=Deployment.ONLINE, validation_alias=_alias("MAILOPS_DEPLOYMENT")
    )
    # Several environments (issue 5): a JSON list of EnvironmentSpec; when absent, the one
    # environment is DATAVERSE_URL, named MAILOPS_ENVIRONMENT_NAME.
    environments: tuple[EnvironmentSpec, ...] = Field(
        default=(), validation_alias=_alias("MAILOPS_ENVIRONMENTS")
    )
    # Signs card buttons. Production must set it: without it every start makes a new one,
    # and cards sent before a restart (routed approval requests waiting for a click) are
    # refused as out of date.
    card_secret: SecretStr | None = Field(
        default=None, validation_alias=_alias("MAILOPS_CARD_SECRET")
    )

    # Persistence and routed approvals (issue 5).
    db_url: str = Field(
        default="sqlite+aiosqlite:///var/mailops.db",
        min_length=1,
        validation_alias=_alias("MAILOPS_DB_URL"),
    )
    approval_expiry_h: float = Field(
        default=24.0, gt=0, le=24 * 30, validation_alias=_alias("MAILOPS_APPROVAL_EXPIRY_HOURS")
    )
    approval_remind_before_h: float = Field(
        default=4.0,
        ge=0,
        le=24 * 30,
        validation_alias=_alias("MAILOPS_APPROVAL_REMIND_BEFORE_HOURS"),
    )
    # The Teams conversation (channel or group chat) that gets the approval requests of people
    # MailOps cannot reach in a personal chat: its `conversation.id`.
    approvers_conversation_id: str | None = Field(
        default=None, min_length=1, validation_alias=_alias("MAILOPS_APPROVERS_CONVERSATION_ID")
    )

    # The mailbox monitor and on call (issue 6). MAILOPS_MONITOR: on/off (default on);
    # the poll interval; the fixed on-call list (comma-separated UPNs or Entra object ids,
    # first on call first); the conversation the incident cards go to, when no System
    # Administrator said `set on-call channel here` (its `conversation.id`).
    monitor_enabled: bool = Field(default=True, validation_alias=_alias("MAILOPS_MONITOR"))
    monitor_interval_s: float = Field(
        default=60.0, gt=0, le=24 * 3600, validation_alias=_alias("MAILOPS_MONITOR_INTERVAL_S")
    )
    # How long the monitor's leader lease lasts without renewal (unset: three intervals):
    # with several replicas, another one takes over within this time when the leader dies.
    # It must exceed the interval, or the leader would lose its lease between two polls.
    monitor_lease_ttl_s: float | None = Field(
        default=None,
        gt=0,
        le=7 * 24 * 3600,
        validation_alias=_alias("MAILOPS_MONITOR_LEASE_TTL_S"),
    )
    on_call: tuple[str, ...] = Field(default=(), validation_alias=_alias("MAILOPS_ONCALL"))
    on_call_conversation_id: str | None = Field(
        default=None, min_length=1, validation_alias=_alias("MAILOPS_ONCALL_CONVERSATION_ID")
    )

    # Behaviour.
    facts_ttl_s: float = Field(
        default=30.0, ge=0, le=3600, validation_alias=_alias("MAILOPS_FACTS_TTL_S")
    )
    act_as_caller: bool = Field(default=True, validation_alias=_alias("MAILOPS_ACT_AS_CALLER"))
    log_level: str = Field(default="INFO", validation_alias=_alias("MAILOPS_LOG_LEVEL"))

    # Who may talk to the bot, and how fast (bot/guards.py): tenant ids, comma-separated
    # (empty: MAILOPS_TENANT_ID only; "*": any); a token bucket per person (0: no limit).
    allowed_tenants: tuple[str, ...] = Field(
        default=(), validation_alias=_alias("MAILOPS_ALLOWED_TENANTS")
    )
    rate_per_minute: int = Field(
        default=20, ge=0, le=6000, validation_alias=_alias("MAILOPS_RATE_PER_MINUTE")
    )
    rate_burst: int = Field(
        default=10, ge=1, le=1000, validation_alias=_alias("MAILOPS_RATE_BURST")
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The mapping given to `from_env` is the only source. pydantic-settings would also
        # read the process environment itself and decode list-typed fields there as JSON
        # before our validators run, so `mailops serve` refused MAILOPS_ONCALL=a,b and
        # MAILOPS_ALLOWED_TENANTS=t1,t2 (and the demo failed on any such exported variable)
        # while the same values passed in a mapping were fine.
        return (init_settings,)

    @field_validator("app_type", mode="before")
    @classmethod
    def _app_type_any_case(cls, value: Any) -> Any:
        # botbuilder reads MicrosoftAppType case-insensitively; so do we.
        if isinstance(value, str):
            for member in AppType:
                if member.value.lower() == value.strip().lower():
                    return member
        return value

    @field_validator("dataverse_url", "authority_host", "graph_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        if value and not value.startswith("https://"):  # "" : DATAVERSE_URL not given
            msg = "must be an https:// URL"
            raise ValueError(msg)
        return value

    @model_validator(mode="before")
    @classmethod
    def _url_from_environments(cls, data: Any) -> Any:
        # With MAILOPS_ENVIRONMENTS, DATAVERSE_URL is not needed (and not used).
        if isinstance(data, dict) and data.get("MAILOPS_ENVIRONMENTS") is not None:
            return {"DATAVERSE_URL": "", **data}
        return data

    @field_validator("environments", mode="before")
    @classmethod
    def _environment_list(cls, value: Any) -> Any:
        return _parse_environments(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        # logging.basicConfig would otherwise fail later with a traceback naming no key.
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            msg = f"must be one of {', '.join(_LOG_LEVELS)}"
            raise ValueError(msg)
        return level

    @field_validator("on_call", mode="before")
    @classmethod
    def _people_list(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))

    @field_validator("allowed_tenants", mode="before")
    @classmethod
    def _tenant_list(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        tenants = tuple(t.strip().lower() for t in value.split(",") if t.strip())
        if tenants != ("*",):
            bad = [t for t in tenants if not TENANT_ID.fullmatch(t)]
            if bad:
                msg = f"not tenant ids (GUIDs), or '*' alone: {', '.join(bad)}"
                raise ValueError(msg)
        return tenants

    @field_validator("ca_bundle")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            msg = f"no such file: {value}"
            raise ValueError(msg)
        return value

    def resolved_environments(self) -> tuple[ResolvedEnvironment, ...]:
        """Every configured environment, its identity filled in; the default one first."""
        specs = self.environments or (
            EnvironmentSpec(
                name=self.environment_name,
                url=self.dataverse_url,
                deployment=self.deployment,
                default=True,
            ),
        )
        resolved = [
            ResolvedEnvironment(
                name=spec.name,
                url=spec.url,
                deployment=spec.deployment,
                is_default=spec.default or len(specs) == 1,
                tenant_id=spec.tenant_id or self.tenant_id,
                client_id=spec.client_id or self.client_id,
                client_secret=spec.client_secret or self.client_secret,
                authority_host=spec.authority_host or self.authority_host,
                graph_url=spec.graph_url or self.graph_url,
                ca_bundle=spec.ca_bundle or self.ca_bundle,
            )
            for spec in specs
        ]
        return tuple(sorted(resolved, key=lambda env: not env.is_default))

    @property
    def authentication_enabled(self) -> bool:
        """Bot Framework authentication is on whenever an app id is configured."""
        return bool(self.app_id)

    @property
    def listens_on_loopback_only(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from a mapping (tests pass a dict); raise ConfigError naming keys."""
        try:
            settings = cls.model_validate(dict(environ))
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None
        problems = settings._consistency_problems()
        if problems:
            raise ConfigError("; ".join(problems))
        return settings

    def _consistency_problems(self) -> list[str]:
        problems = []
        if self.app_type is AppType.SINGLE_TENANT and not (
            self.app_id and self.app_tenant_id and self.app_password.get_secret_value()
        ):
            problems.append(
                "MicrosoftAppType=SingleTenant needs MicrosoftAppId, MicrosoftAppTenantId and "
                "MicrosoftAppPassword"
            )
        if self.app_type is AppType.USER_ASSIGNED_MSI and not (self.app_id and self.app_tenant_id):
            problems.append(
                "MicrosoftAppType=UserAssignedMSI needs MicrosoftAppId and MicrosoftAppTenantId"
            )
        if (
            self.app_id
            and self.app_type is AppType.MULTI_TENANT
            and not self.app_password.get_secret_value()
        ):
            # Inbound checks would pass, and every reply would then fail to get a token.
            problems.append("MicrosoftAppId is set: MicrosoftAppPassword is required")
        if (
            self.monitor_lease_ttl_s is not None
            and self.monitor_lease_ttl_s <= self.monitor_interval_s
        ):
            problems.append(
                f"MAILOPS_MONITOR_LEASE_TTL_S: must be longer than MAILOPS_MONITOR_INTERVAL_S "
                f"({self.monitor_interval_s:g} s)"
            )
        if self.card_secret is not None and len(self.card_secret.get_secret_value()) < 16:
            problems.append("MAILOPS_CARD_SECRET: must be at least 16 characters")
        if not self.authentication_enabled and not self.listens_on_loopback_only:
            problems.append(
                f"MAILOPS_HOST={self.host}: without MicrosoftAppId the bot accepts "
                "unauthenticated activities, so it listens on loopback only"
            )
        return problems


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        key = ".".join(str(p) for p in error["loc"]) or "?"
        message = "is required" if error["type"] == "missing" else error["msg"]
        parts.append(f"{key}: {message}")
    return "invalid configuration: " + "; ".join(parts)
