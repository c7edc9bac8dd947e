"""The organization's email settings: default profile, default delivery methods (the
`defaultemailsettings` XML), and whether addresses of users and of queues need approval
(reference §3, §4.1 "Removing the approval requirement"; the seed's "Pengaturan email").

The organization row is written with its ETag in If-Match; a 412 is answered by reading it
again: when the row already shows the change it counts as done, otherwise the
`PreconditionFailed` is raised (someone else changed the settings meanwhile).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Final
from xml.sax.saxutils import escape

from pydantic import Field

from dataverse._xml import flat_settings
from dataverse.client import DataverseClient
from dataverse.errors import InvalidInput, PreconditionFailed, UnexpectedResponse
from dataverse.models import (
    ActDelivery,
    DataverseRow,
    IncomingDelivery,
    OrgEmailSettings,
    OutgoingDelivery,
    ServerProfile,
)
from dataverse.odata import Query, parse_guid
from dataverse.ops._bulk import Caller, as_caller
from dataverse.ops.errors import refined

SETTINGS_ROOT: Final = "EmailSettings"
# Element names of `defaultemailsettings` (reference §3; S31, S32b).
XML_INCOMING: Final = "IncomingEmailDeliveryMethod"
XML_OUTGOING: Final = "OutgoingEmailDeliveryMethod"
XML_ACT: Final = "ACTDeliveryMethod"
REQUIRE_USERS: Final = "requireapprovalforuseremail"
REQUIRE_QUEUES: Final = "requireapprovalforqueueemail"
DEFAULT_PROFILE_BIND: Final = "defaultemailserverprofileid@odata.bind"


class OrgEmailRow(DataverseRow):
    """The organization columns this module writes, as stored (the XML kept as text)."""

    entity_set: ClassVar[str] = "organizations"
    primary_key: ClassVar[str] = "organizationid"

    id: uuid.UUID = Field(alias="organizationid")
    default_profile_id: uuid.UUID | None = Field(
        default=None, alias="_defaultemailserverprofileid_value"
    )
    default_email_settings: str | None = Field(default=None, alias="defaultemailsettings")
    require_approval_for_user_email: bool | None = Field(default=None, alias=REQUIRE_USERS)
    require_approval_for_queue_email: bool | None = Field(default=None, alias=REQUIRE_QUEUES)


@dataclass(frozen=True)
class OrgChange:
    """What a settings change did: `changed` False when everything was already so."""

    changed: bool
    settings: OrgEmailSettings


async def get_org_email_settings(
    client: DataverseClient, *, acting_for: Caller = None
) -> OrgEmailSettings:
    """The organization's email settings."""
    return await as_caller(client, acting_for).org_email_settings()


async def _org_row(client: DataverseClient) -> OrgEmailRow:
    rows = await client.list_rows(OrgEmailRow, Query(top=1))
    if not rows:
        msg = "Dataverse returned no organization row"
        raise UnexpectedResponse(msg)
    return rows[0]


def rewrite_email_settings(
    document: str | None,
    *,
    incoming: IncomingDelivery | int | None = None,
    outgoing: OutgoingDelivery | int | None = None,
    act: ActDelivery | int | None = None,
) -> str:
    """`defaultemailsettings` with the given delivery methods replaced (or added).

    Other elements of the document are kept, in their order; the document is read with the
    hardened reader (no DTD, no entities).
    """
    values = flat_settings(document, root=SETTINGS_ROOT) if document and document.strip() else {}
    for name, kind, value in (
        (XML_INCOMING, IncomingDelivery, incoming),
        (XML_OUTGOING, OutgoingDelivery, outgoing),
        (XML_ACT, ActDelivery, act),
    ):
        if value is None:
            continue
        try:
            values[name] = str(int(kind(value)))
        except (ValueError, TypeError) as exc:
            msg = f"{value!r} is not a {kind.__name__} value"
            raise InvalidInput(msg) from exc
    body = "".join(f"<{name}>{escape(text)}</{name}>" for name, text in values.items())
    return f"<{SETTINGS_ROOT}>{body}</{SETTINGS_ROOT}>"


def _shows(row: OrgEmailRow, changes: dict[str, Any]) -> bool:
    for name, wanted in changes.items():
        if name == DEFAULT_PROFILE_BIND:
            if f"/{ServerProfile.entity_set}({row.default_profile_id})" != wanted:
                return False
        elif name == "defaultemailsettings":
            current = flat_settings(
                row.default_email_settings or f"<{SETTINGS_ROOT}/>", root=SETTINGS_ROOT
            )
            if current != flat_settings(wanted, root=SETTINGS_ROOT):
                return False
        elif row.model_dump(by_alias=True).get(name) != wanted:
            return False
    return True


async def _write(client: DataverseClient, changes: dict[str, Any], row: OrgEmailRow) -> OrgChange:
    if _shows(row, changes):
        return OrgChange(False, await client.org_email_settings())
    try:
        with refined():
            await client.update_row(OrgEmailRow, row.id, changes, etag=row.etag or "*")
    except PreconditionFailed:
        fresh = await _org_row(client)
        if not _shows(fresh, changes):
            raise
    return OrgChange(True, await client.org_email_settings())


async def change_org_email_settings(
    client: DataverseClient,
    *,
    default_profile_id: str | uuid.UUID | None = None,
    incoming: IncomingDelivery | int | None = None,
    outgoing: OutgoingDelivery | int | None = None,
    act: ActDelivery | int | None = None,
    require_approval_for_users: bool | None = None,
    require_approval_for_queues: bool | None = None,
    acting_for: Caller = None,
) -> OrgChange:
    """Change the organization's email settings; arguments left None stay as they are.

    Turning the approval requirements off is what the seed calls "removing the requirement
    to approve mailboxes"; Dataverse lets only the permission table's admins do it.
    """
    for name, flag in (
        ("require_approval_for_users", require_approval_for_users),
        ("require_approval_for_queues", require_approval_for_queues),
    ):
        if flag is not None and not isinstance(flag, bool):
            msg = f"{name} must be true, false or None"
            raise InvalidInput(msg)
    caller = as_caller(client, acting_for)
    profile = parse_guid(default_profile_id) if default_profile_id is not None else None
    row = await _org_row(caller)
    changes: dict[str, Any] = {}
    if profile is not None:
        await caller.get_row(ServerProfile, profile, select=["emailserverprofileid"])
        changes[DEFAULT_PROFILE_BIND] = f"/{ServerProfile.entity_set}({profile})"
    if (incoming, outgoing, act) != (None, None, None):
        changes["defaultemailsettings"] = rewrite_email_settings(
            row.default_email_settings, incoming=incoming, outgoing=outgoing, act=act
        )
    if require_approval_for_users is not None:
        changes[REQUIRE_USERS] = require_approval_for_users
    if require_approval_for_queues is not None:
        changes[REQUIRE_QUEUES] = require_approval_for_queues
    if not changes:
        msg = "nothing to change"
        raise InvalidInput(msg)
    return await _write(caller, changes, row)


async def set_default_profile(
    client: DataverseClient, profile_id: str | uuid.UUID, *, acting_for: Caller = None
) -> OrgChange:
    """Make a profile the default for new mailboxes (`organization.defaultemailserverprofileid`;
    that the UI toggle writes this column is inferred, reference §2, §12.8)."""
    return await change_org_email_settings(
        client, default_profile_id=profile_id, acting_for=acting_for
    )
