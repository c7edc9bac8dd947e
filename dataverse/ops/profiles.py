"""Email server profiles for Exchange Online (reference §2; the seed's "Membuat profil server
email untuk Exchange Online", "Pastikan Anda memiliki profil Microsoft Exchange Online" and
"Exchange Online di Tiongkok").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from pydantic import Field, SecretStr

from dataverse.client import DataverseClient
from dataverse.errors import BadRequest, InvalidInput, PreconditionFailed
from dataverse.models import CredentialRetrieval, DataverseRow, ServerProfile, ServerType
from dataverse.odata import Query, col, parse_guid
from dataverse.ops._bulk import Caller, as_caller
from dataverse.ops.errors import ProfileExists, refined
from dataverse.ops.org import set_default_profile

EXCHANGE_ONLINE_PROFILE: Final = "Microsoft Exchange Online"
# The seed's China script (Microsoft.Xrm.Data.PowerShell, `defaultserverlocation`).
CHINA_EWS_URL: Final = "https://partner.outlook.cn/EWS/Exchange.asmx"
CHINA_SERVER_AUTHORITY: Final = 2  # serverauthority: China (21Vianet) login.chinacloudapi.cn
MAX_NAME: Final = 100  # emailserverprofile.name is String(100)

# Which `servertype` an online environment's Exchange Online profile stores is not
# documented (reference §2 note, §12.1): no option is labelled plain "Exchange Online". The
# reading taken here is the "safest" one of the reference: 0 "Exchange Server", with
# server-to-server credential retrieval (2) for the same tenant, or OAuth with Microsoft
# Entra ID (7) across tenants. This is the only place that decides it.
# What is sent is that value; what reads back is that value and the read-only
# `emailservertypename`, which the platform fills ("Exchange Online" is the type the admin
# UI offers, seed "Membuat profil server email untuk Exchange Online" step 4). Cards label a
# profile by that name (`cards.labels.server_type_label`), never by the option label of 0
# alone, so a profile made here is never shown as "Exchange Server".
EXCHANGE_ONLINE_SERVER_TYPE: Final = ServerType.EXCHANGE_SERVER


@dataclass(frozen=True)
class ExchangeOnlineCheck:
    """Whether the "Microsoft Exchange Online" profile exists and is the default."""

    profile: ServerProfile | None
    default_profile: ServerProfile | None
    profiles: tuple[ServerProfile, ...]

    @property
    def exists(self) -> bool:
        return self.profile is not None

    @property
    def is_default(self) -> bool:
        return (
            self.profile is not None
            and self.default_profile is not None
            and (self.profile.id == self.default_profile.id)
        )

    @property
    def ok(self) -> bool:
        return self.exists and self.is_default


async def check_exchange_online_profile(
    client: DataverseClient, *, acting_for: Caller = None
) -> ExchangeOnlineCheck:
    """Look for the active "Microsoft Exchange Online" profile and the org's default."""
    caller = as_caller(client, acting_for)
    profiles = tuple(await caller.server_profiles(active_only=True))
    org = await caller.org_email_settings()
    wanted = EXCHANGE_ONLINE_PROFILE.casefold()
    found = next((p for p in profiles if (p.name or "").casefold() == wanted), None)
    default = next((p for p in profiles if p.id == org.default_profile_id), None)
    return ExchangeOnlineCheck(found, default, profiles)


@dataclass(frozen=True)
class SameTenant:
    """Server-to-Server Authentication (Same Tenant): Exchange in Dynamics 365's tenant."""


@dataclass(frozen=True)
class CrossTenantOAuth:
    """OAuth (Cross Tenant): Exchange in another tenant, reached through an Entra app.

    The secret is kept as a `SecretStr`: it prints as `**********`, and only the request
    body that creates the profile ever holds its value.
    """

    tenant_id: str
    client_id: str
    client_secret: SecretStr | str  # kept as a SecretStr once constructed
    resource_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tenant_id", str(parse_guid(self.tenant_id)))
        object.__setattr__(self, "client_id", str(parse_guid(self.client_id)))
        secret = self.client_secret
        if isinstance(secret, str):
            secret = SecretStr(secret)
        if not isinstance(secret, SecretStr) or not secret.get_secret_value().strip():
            msg = "the cross-tenant profile needs its app's client secret"
            raise InvalidInput(msg)
        object.__setattr__(self, "client_secret", secret)
        if self.resource_id is not None and (
            not isinstance(self.resource_id, str) or not self.resource_id.strip()
        ):
            msg = "resource_id must be a non-empty text when given"
            raise InvalidInput(msg)

    def secret_value(self) -> str:
        secret = self.client_secret
        return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


Authentication = SameTenant | CrossTenantOAuth


def _profile_body(name: str, auth: Authentication) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "servertype": int(EXCHANGE_ONLINE_SERVER_TYPE),
        "useautodiscover": True,  # Exchange Online: locations are found automatically
    }
    if isinstance(auth, SameTenant):
        retrieval = CredentialRetrieval.SERVER_TO_SERVER
        body["usedefaulttenantid"] = True
    else:
        retrieval = CredentialRetrieval.ENTRA_ID_OAUTH
        body["usedefaulttenantid"] = False
        body["exchangeonlinetenantid"] = auth.tenant_id
        body["oauthclientid"] = auth.client_id
        body["oauthclientsecret"] = auth.secret_value()
        if auth.resource_id is not None:
            body["aadresourceid"] = auth.resource_id
    body["incomingcredentialretrieval"] = int(retrieval)
    body["outgoingcredentialretrieval"] = int(retrieval)
    return body


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        msg = "a profile needs a name"
        raise InvalidInput(msg)
    text = name.strip()
    if len(text) > MAX_NAME or any(c in text for c in "\x00\r\n"):
        msg = f"a profile name is one line of at most {MAX_NAME} characters"
        raise InvalidInput(msg)
    return text


async def create_exchange_online_profile(
    client: DataverseClient,
    name: str,
    auth: Authentication | None = None,
    *,
    make_default: bool = False,
    acting_for: Caller = None,
) -> ServerProfile:
    """Create an Exchange Online profile (same tenant by default) and return it as stored.

    A profile with the same name raises `ProfileExists` and nothing is created; with
    `make_default` the new profile also becomes the default for new mailboxes.
    """
    text = _name(name)
    auth = auth or SameTenant()
    if not isinstance(auth, (SameTenant, CrossTenantOAuth)):
        msg = "auth must be SameTenant() or CrossTenantOAuth(...)"
        raise InvalidInput(msg)
    caller = as_caller(client, acting_for)
    same = await caller.list_rows(
        ServerProfile, Query(select=("emailserverprofileid",), filter=col("name").eq(text))
    )
    if same:
        msg = f"an email server profile named {text!r} exists already ({same[0].id})"
        raise ProfileExists(msg)
    with refined():
        created = await caller.create_row(ServerProfile, _profile_body(text, auth))
    if make_default:
        await set_default_profile(caller, created)
    return await caller.get_row(ServerProfile, created)


class _Location(DataverseRow):
    """The columns of a profile that say where it connects."""

    entity_set: ClassVar[str] = "emailserverprofiles"
    primary_key: ClassVar[str] = "emailserverprofileid"

    id: uuid.UUID = Field(alias="emailserverprofileid")
    name: str | None = Field(default=None, alias="name")
    default_server_location: str | None = Field(default=None, alias="defaultserverlocation")
    server_authority: int | None = Field(default=None, alias="serverauthority")


@dataclass(frozen=True)
class ChinaEndpoint:
    """The outcome of pointing a profile at Exchange Online operated by 21Vianet."""

    profile_id: uuid.UUID
    changed: bool
    # False when this environment's profile table has no `serverauthority` column (older).
    authority_set: bool


async def point_profile_to_china(
    client: DataverseClient, profile_id: str | uuid.UUID, *, acting_for: Caller = None
) -> ChinaEndpoint:
    """Set the profile's EWS endpoint to `CHINA_EWS_URL` (the seed's PowerShell script) and,
    where the column exists, `serverauthority` to China (21Vianet) (reference §2)."""
    key = parse_guid(profile_id)
    caller = as_caller(client, acting_for)
    with_authority = ("emailserverprofileid", "name", "defaultserverlocation", "serverauthority")
    try:
        row = await caller.get_row(_Location, key, select=with_authority)
        has_authority = True
    except BadRequest:
        # An environment without the newer column answers 400 to its name in $select.
        row = await caller.get_row(_Location, key, select=with_authority[:3])
        has_authority = False
    changes: dict[str, Any] = {}
    if row.default_server_location != CHINA_EWS_URL:
        changes["defaultserverlocation"] = CHINA_EWS_URL
    if has_authority and row.server_authority != CHINA_SERVER_AUTHORITY:
        changes["serverauthority"] = CHINA_SERVER_AUTHORITY
    if not changes:
        return ChinaEndpoint(key, False, has_authority)
    try:
        with refined():
            await caller.update_row(_Location, key, changes, etag=row.etag or "*")
    except PreconditionFailed:
        fresh = await caller.get_row(
            _Location, key, select=with_authority if has_authority else with_authority[:3]
        )
        if fresh.default_server_location != CHINA_EWS_URL or (
            has_authority and fresh.server_authority != CHINA_SERVER_AUTHORITY
        ):
            raise
    return ChinaEndpoint(key, True, has_authority)
