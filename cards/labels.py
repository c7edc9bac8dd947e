"""Localized labels for Dataverse option values and mailbox columns.

The option values are the stored integers of reference/dataverse.md §1.2, §2, §3 and §5.3.
English labels follow Microsoft's wording in sentence case; the Indonesian catalog uses the
vocabulary of Microsoft's Indonesian "Menyambungkan ke Exchange Online" page.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from cards.common import Tone, md_escape, safe_text
from cards.i18n import N_, NP_, Strings


class OptionSet(StrEnum):
    """A Dataverse choice column (or family of columns sharing one set of values)."""

    APPROVAL = "emailrouteraccessapproval"
    INCOMING_DELIVERY = "incomingemaildeliverymethod"
    OUTGOING_DELIVERY = "outgoingemaildeliverymethod"
    ACT_DELIVERY = "actdeliverymethod"
    TEST_STATUS = "mailboxstatus"
    """``incomingemailstatus``, ``outgoingemailstatus``, ``actstatus`` and ``mailboxstatus``."""
    ALERT_LEVEL = "tracelog.level"
    SERVER_TYPE = "servertype"
    CREDENTIALS = "credentialretrieval"
    AUTH_PROTOCOL = "authenticationprotocol"
    SERVER_AUTHORITY = "serverauthority"
    PROFILE_TEST_STATUS = "lasttestexecutionstatus"
    CONNECTION_CHANNEL = "emailconnectionchannel"


# Labels are marked with NP_ so the extractor finds them with their context, which tells
# translators (and gettext) that "None" as a delivery method is not "None" elsewhere.
_OPTIONS: Final[dict[OptionSet, dict[int, tuple[str, str]]]] = {
    OptionSet.APPROVAL: {
        0: NP_("approval", "Empty"),
        1: NP_("approval", "Approved"),
        2: NP_("approval", "Pending approval"),
        3: NP_("approval", "Rejected"),
    },
    # Value 2 is "Server-Side Synchronization" in the current mailbox.md (the Email Router
    # is retired; older versions of the page read "Server-Side Synchronization or Email
    # Router"), the same words as ACT's value 1.
    OptionSet.INCOMING_DELIVERY: {
        0: NP_("delivery method", "None"),
        1: NP_("delivery method", "Microsoft Dynamics 365 for Outlook"),
        2: NP_("delivery method", "Server-side synchronization"),
        3: NP_("delivery method", "Forward mailbox"),
    },
    OptionSet.OUTGOING_DELIVERY: {
        0: NP_("delivery method", "None"),
        1: NP_("delivery method", "Microsoft Dynamics 365 for Outlook"),
        2: NP_("delivery method", "Server-side synchronization"),
    },
    # The ACT column orders its values differently from the email columns (§1.2).
    OptionSet.ACT_DELIVERY: {
        0: NP_("delivery method", "Microsoft Dynamics 365 for Outlook"),
        1: NP_("delivery method", "Server-side synchronization"),
        2: NP_("delivery method", "None"),
    },
    OptionSet.TEST_STATUS: {
        0: NP_("test status", "Not run"),
        1: NP_("test status", "Success"),
        2: NP_("test status", "Failure"),
    },
    OptionSet.ALERT_LEVEL: {
        1: NP_("alert level", "Information"),
        2: NP_("alert level", "Warning"),
        3: NP_("alert level", "Error"),
    },
    OptionSet.SERVER_TYPE: {
        0: NP_("server type", "Exchange Server"),
        1: NP_("server type", "Other (POP3/SMTP)"),
        2: NP_("server type", "Exchange Server (Hybrid)"),
        3: NP_("server type", "Exchange Online (Hybrid)"),
        4: NP_("server type", "IMAP/SMTP"),
    },
    OptionSet.CREDENTIALS: {
        0: NP_("credentials", "Credentials specified by a user or queue"),
        1: NP_("credentials", "Credentials specified in email server profile"),
        2: NP_("credentials", "Server-to-server authentication"),
        3: NP_("credentials", "Windows integrated authentication"),
        4: NP_("credentials", "Without credentials (anonymous)"),
        5: NP_("credentials", "Gmail OAuth"),
        6: NP_("credentials", "Exchange Hybrid Modern Auth (HMA)"),
        7: NP_("credentials", "OAuth with Microsoft Entra ID"),
    },
    OptionSet.AUTH_PROTOCOL: {
        0: NP_("authentication protocol", "Auto detect"),
        1: NP_("authentication protocol", "Negotiate"),
        2: NP_("authentication protocol", "NTLM"),
        3: NP_("authentication protocol", "Basic"),
        4: NP_("authentication protocol", "OAuth"),
    },
    OptionSet.SERVER_AUTHORITY: {
        0: NP_("server authority", "Public (login.microsoftonline.com)"),
        1: NP_("server authority", "US Government (login.microsoftonline.us)"),
        2: NP_("server authority", "China, 21Vianet (login.chinacloudapi.cn)"),
        3: NP_("server authority", "Automatic"),
    },
    OptionSet.PROFILE_TEST_STATUS: {
        0: NP_("test status", "Failure"),
        1: NP_("test status", "Success"),
        2: NP_("test status", "Warning"),
    },
    OptionSet.CONNECTION_CHANNEL: {
        0: NP_("connection channel", "Server-side synchronization"),
        1: NP_("connection channel", "Microsoft Dynamics 365 Email Router"),
    },
}

_TONES: Final[dict[OptionSet, dict[int, Tone]]] = {
    OptionSet.APPROVAL: {1: Tone.GOOD, 2: Tone.WARNING, 3: Tone.ATTENTION},
    OptionSet.TEST_STATUS: {1: Tone.GOOD, 2: Tone.ATTENTION},
    OptionSet.ALERT_LEVEL: {1: Tone.ACCENT, 2: Tone.WARNING, 3: Tone.ATTENTION},
    OptionSet.PROFILE_TEST_STATUS: {0: Tone.ATTENTION, 1: Tone.GOOD, 2: Tone.WARNING},
}


def option_label(strings: Strings, options: OptionSet, value: int | None) -> str:
    """The localized label of a stored option value; "Not set" for ``None`` and "Unknown
    value (n)" for a value this table does not know (newer Dataverse versions add some)."""
    if value is None:
        return strings.gettext("Not set")
    label = _OPTIONS[options].get(int(value))
    if label is None:
        return strings.gettext("Unknown value ({value})", value=int(value))
    return strings.pgettext(*label)


def server_type_label(strings: Strings, server_type: int | None, type_name: str | None) -> str:
    """A server profile's type as the service names it.

    `servertype` 0 is labelled "Exchange Server" in the option set, yet it is also what an
    online environment's Exchange Online profile stores (reference §2, unconfirmed; the one
    place that reading is kept is ``dataverse.ops.profiles``). The read-only
    `emailservertypename` is the service's own name for the type, so it wins whenever it
    says something the option label does not; when it only repeats the option's English
    label (or is empty), the localized option label is shown.
    """
    name = (type_name or "").strip()
    if not name:
        return option_label(strings, OptionSet.SERVER_TYPE, server_type)
    label = (
        _OPTIONS[OptionSet.SERVER_TYPE].get(int(server_type)) if server_type is not None else None
    )
    if label is not None and label[1].casefold() == name.casefold():
        return strings.pgettext(*label)
    return safe_text(name, max_chars=100)


def option_tone(options: OptionSet, value: int | None) -> Tone:
    """The badge color for an option value (approved green, failure red, …)."""
    if value is None:
        return Tone.DEFAULT
    return _TONES.get(options, {}).get(int(value), Tone.DEFAULT)


class Field(StrEnum):
    """Columns a card can show a change of, by Dataverse logical name."""

    APPROVAL = "emailrouteraccessapproval"
    INCOMING_DELIVERY = "incomingemaildeliverymethod"
    OUTGOING_DELIVERY = "outgoingemaildeliverymethod"
    ACT_DELIVERY = "actdeliverymethod"
    SERVER_PROFILE = "emailserverprofile"
    SYNC_FROM_THIS_ORG_ONLY = "orgmarkedasprimaryforexchangesync"
    TEST_SCHEDULED = "testemailconfigurationscheduled"
    ENABLED_INCOMING = "enabledforincomingemail"
    ENABLED_OUTGOING = "enabledforoutgoingemail"
    ENABLED_ACT = "enabledforact"
    REQUIRE_APPROVAL_USERS = "requireapprovalforuseremail"
    REQUIRE_APPROVAL_QUEUES = "requireapprovalforqueueemail"
    DEFAULT_SERVER_PROFILE = "defaultemailserverprofileid"
    SERVER_LOCATION = "defaultserverlocation"
    PROFILE_NAME = "name"
    SERVER_TYPE = "servertype"
    INCOMING_CREDENTIALS = "incomingcredentialretrieval"
    OUTGOING_CREDENTIALS = "outgoingcredentialretrieval"
    # Not a column: whether a person holds the security role (systemuserroles_association),
    # which the audit log keeps before → after like a column.
    DELEGATED_APPROVER_ROLE = "delegatedmailboxapproverrole"


_FIELD_LABELS: Final[dict[Field, str]] = {
    Field.APPROVAL: N_("Email address approval"),
    Field.INCOMING_DELIVERY: N_("Incoming email"),
    Field.OUTGOING_DELIVERY: N_("Outgoing email"),
    Field.ACT_DELIVERY: N_("Appointments, contacts, and tasks"),
    Field.SERVER_PROFILE: N_("Server profile"),
    Field.SYNC_FROM_THIS_ORG_ONLY: N_("Sync items with Exchange from this org only"),
    Field.TEST_SCHEDULED: N_("Test & Enable scheduled"),
    Field.ENABLED_INCOMING: N_("Enabled for incoming email"),
    Field.ENABLED_OUTGOING: N_("Enabled for outgoing email"),
    Field.ENABLED_ACT: N_("Enabled for appointments, contacts, and tasks"),
    Field.REQUIRE_APPROVAL_USERS: N_("Process emails only for approved users"),
    Field.REQUIRE_APPROVAL_QUEUES: N_("Process emails only for approved queues"),
    Field.DEFAULT_SERVER_PROFILE: N_("Default server profile"),
    Field.SERVER_LOCATION: N_("Server location"),
    Field.PROFILE_NAME: N_("Profile name"),
    Field.SERVER_TYPE: N_("Email server type"),
    Field.INCOMING_CREDENTIALS: N_("Authentication, incoming"),
    Field.OUTGOING_CREDENTIALS: N_("Authentication, outgoing"),
    Field.DELEGATED_APPROVER_ROLE: N_("Delegated Mailbox Approver role"),
}

_FIELD_OPTIONS: Final[dict[Field, OptionSet]] = {
    Field.APPROVAL: OptionSet.APPROVAL,
    Field.INCOMING_DELIVERY: OptionSet.INCOMING_DELIVERY,
    Field.OUTGOING_DELIVERY: OptionSet.OUTGOING_DELIVERY,
    Field.ACT_DELIVERY: OptionSet.ACT_DELIVERY,
    Field.SERVER_TYPE: OptionSet.SERVER_TYPE,
    Field.INCOMING_CREDENTIALS: OptionSet.CREDENTIALS,
    Field.OUTGOING_CREDENTIALS: OptionSet.CREDENTIALS,
}


def field_label(strings: Strings, field: Field) -> str:
    """The localized name of a column, as the Dataverse forms call it."""
    return strings.gettext(_FIELD_LABELS[field])


FieldValue = int | bool | str | None


def field_value(strings: Strings, field: Field, value: FieldValue) -> str:
    """A column value as a card shows it: option labels for choices, Yes/No for booleans,
    the (escaped) text for names and URLs, "Not set" for ``None``."""
    if value is None:
        return strings.gettext("Not set")
    if isinstance(value, bool):
        return strings.yes_no(value)
    options = _FIELD_OPTIONS.get(field)
    if options is not None and isinstance(value, int):
        return option_label(strings, options, value)
    return md_escape(str(value))


class Operation(StrEnum):
    """What a person asked for, as a card names it. The values are those of
    ``permissions.Action`` so a dialog converts with ``Operation(action.value)``."""

    APPROVE_EMAIL = "approve-email"
    REJECT_EMAIL = "reject-email"
    TEST_AND_ENABLE = "test-and-enable"
    APPLY_DEFAULT_EMAIL_SETTINGS = "apply-default-email-settings"
    CHANGE_MAILBOX_DELIVERY = "change-mailbox-delivery"
    SET_SYNC_FROM_THIS_ORG_ONLY = "set-sync-from-this-org-only"
    CREATE_SERVER_PROFILE = "create-server-profile"
    CHANGE_SERVER_PROFILE = "change-server-profile"
    SET_DEFAULT_SERVER_PROFILE = "set-default-server-profile"
    CHANGE_ORG_EMAIL_SETTINGS = "change-org-email-settings"
    REMOVE_APPROVAL_REQUIREMENT = "remove-approval-requirement"
    ASSIGN_DELEGATED_APPROVER = "assign-delegated-mailbox-approver"
    REMOVE_DELEGATED_APPROVER = "remove-delegated-mailbox-approver"
    VIEW = "view"


_OPERATION_LABELS: Final[dict[Operation, str]] = {
    Operation.APPROVE_EMAIL: N_("Approve email"),
    Operation.REJECT_EMAIL: N_("Reject email"),
    Operation.TEST_AND_ENABLE: N_("Test & Enable mailbox"),
    Operation.APPLY_DEFAULT_EMAIL_SETTINGS: N_("Apply default email settings"),
    Operation.CHANGE_MAILBOX_DELIVERY: N_("Change delivery methods or server profile"),
    Operation.SET_SYNC_FROM_THIS_ORG_ONLY: N_("Sync items with Exchange from this org only"),
    Operation.CREATE_SERVER_PROFILE: N_("Create email server profile"),
    Operation.CHANGE_SERVER_PROFILE: N_("Change email server profile"),
    Operation.SET_DEFAULT_SERVER_PROFILE: N_("Set the default server profile"),
    Operation.CHANGE_ORG_EMAIL_SETTINGS: N_("Change email settings"),
    Operation.REMOVE_APPROVAL_REQUIREMENT: N_("Turn off the approval requirement"),
    Operation.ASSIGN_DELEGATED_APPROVER: N_("Assign the Delegated Mailbox Approver role"),
    Operation.REMOVE_DELEGATED_APPROVER: N_("Remove the Delegated Mailbox Approver role"),
    Operation.VIEW: N_("View mailboxes and alerts"),
}


def operation_label(strings: Strings, operation: Operation) -> str:
    """The localized name of an operation, as a card title."""
    return strings.gettext(_OPERATION_LABELS[operation])
