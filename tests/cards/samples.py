"""Sample domain values for card tests: Dataverse rows as the Web API returns them, parsed
through the real models, and one call of every card builder."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cards.access import Denial, Need, NeedKind, RuleRef, permission_denied
from cards.choices import Candidate, choice, did_you_mean
from cards.common import Card, ErrorKind, Mention, error_card
from cards.health import ChartKind, HealthState, health_summary
from cards.help import help_card
from cards.i18n import Strings
from cards.labels import Field, Operation
from cards.lists import ListKind, alert_list, mailbox_list
from cards.mailboxes import MailboxAction, mailbox_status
from cards.previews import Change, MailboxChange, bulk_preview, preview_closed
from cards.profiles import ProfileAction, profile_view
from cards.results import ItemResult, Outcome, Reason, operation_result
from cards.settings import org_email_settings
from dataverse.models import Alert, Mailbox, OrgEmailSettings, ServerProfile

ENV: Final = "contoso-prod"
NOW: Final = datetime(2025, 11, 27, 9, 44, tzinfo=UTC)
PROFILE_ID: Final = uuid.UUID("5e1d3a8c-0000-4000-8000-000000000001")


def _id(n: int) -> str:
    return str(uuid.UUID(int=0x3B1E_0000_0000_4000_8000_000000000000 + n))


def mailbox(n: int = 1, **overrides: Any) -> Mailbox:
    """A mailbox row with the columns the bot selects; ``overrides`` use logical names."""
    row: dict[str, Any] = {
        "@odata.etag": 'W/"1234"',
        "mailboxid": _id(n),
        "name": f"Alice Smith {n}" if n > 1 else "Alice Smith",
        "emailaddress": f"alice{n}@contoso.com" if n > 1 else "alice@contoso.com",
        "emailrouteraccessapproval": 2,
        "_emailserverprofile_value": str(PROFILE_ID),
        "incomingemaildeliverymethod": 2,
        "outgoingemaildeliverymethod": 2,
        "actdeliverymethod": 1,
        "incomingemailstatus": 2,
        "outgoingemailstatus": 1,
        "actstatus": 0,
        "mailboxstatus": 2,
        "enabledforincomingemail": True,
        "enabledforoutgoingemail": True,
        "enabledforact": False,
        "testemailconfigurationscheduled": False,
        "testmailboxaccesscompletedon": "2025-11-27T08:30:00Z",
        "orgmarkedasprimaryforexchangesync": True,
        "_regardingobjectid_value": _id(1000 + n),
        "_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser",
        "statecode": 0,
    }
    row.update(overrides)
    return Mailbox.model_validate(row)


def alert(n: int, level: int = 3, text: str | None = None) -> Alert:
    """A mailbox alert (tracelog row); later ``n`` are newer."""
    when = (NOW - timedelta(minutes=10 * (100 - n))).isoformat()
    return Alert.model_validate(
        {
            "tracelogid": _id(5000 + n),
            "level": level,
            "text": text
            or (
                "Test and Enable failed because no user was found with the email address "
                f"alice@contoso.com in the Microsoft 365 tenant ({n})."
            ),
            "tracecode": 1000 + n,
            "_regardingobjectid_value": _id(1),
            "createdon": when,
            "modifiedon": when,
        }
    )


def profile(**overrides: Any) -> ServerProfile:
    """The automatically created "Microsoft Exchange Online" profile."""
    row: dict[str, Any] = {
        "emailserverprofileid": str(PROFILE_ID),
        "name": "Microsoft Exchange Online",
        "servertype": 0,
        "incomingcredentialretrieval": 2,
        "outgoingcredentialretrieval": 2,
        "useautodiscover": True,
        "usedefaulttenantid": True,
        "statecode": 0,
    }
    row.update(overrides)
    return ServerProfile.model_validate(row)


def org_settings() -> OrgEmailSettings:
    """An organization row with the documented defaults for Exchange Online."""
    return OrgEmailSettings.model_validate(
        {
            "organizationid": _id(9000),
            "name": "Contoso",
            "_defaultemailserverprofileid_value": str(PROFILE_ID),
            "defaultemailsettings": (
                "<EmailSettings><IncomingEmailDeliveryMethod>2</IncomingEmailDeliveryMethod>"
                "<OutgoingEmailDeliveryMethod>2</OutgoingEmailDeliveryMethod>"
                "<ACTDeliveryMethod>1</ACTDeliveryMethod></EmailSettings>"
            ),
            "requireapprovalforuseremail": True,
            "requireapprovalforqueueemail": True,
            "emailconnectionchannel": 0,
            "generatealertsforerrors": True,
            "generatealertsforwarnings": True,
            "generatealertsforinformation": False,
            "notifymailboxownerofemailserverlevelalerts": False,
            "orgdborgsettings": "<OrgSettings><RequirePrivilegeToSelfApproveEmailAddress>false"
            "</RequirePrivilegeToSelfApproveEmailAddress></OrgSettings>",
        }
    )


def bulk_items(count: int) -> list[ItemResult]:
    """``count`` results: every seventh failed, every fifth skipped, the rest ok."""
    items = []
    for n in range(count):
        if n % 7 == 3:
            items.append(
                ItemResult(
                    f"mailbox-{n}@contoso.com", Outcome.FAILED, Reason.REFUSED, "0x8005E222"
                )
            )
        elif n % 5 == 4:
            items.append(
                ItemResult(f"mailbox-{n}@contoso.com", Outcome.SKIPPED, Reason.ALREADY_APPROVED)
            )
        else:
            items.append(ItemResult(f"mailbox-{n}@contoso.com", Outcome.OK))
    return items


def preview_items(count: int) -> list[MailboxChange]:
    """``count`` mailboxes moving to server-side synchronization."""
    return [
        MailboxChange(
            f"Mailbox {n}",
            [
                Change(Field.INCOMING_DELIVERY, 0, 2),
                Change(Field.OUTGOING_DELIVERY, 1, 2),
            ],
        )
        for n in range(count)
    ]


def denial() -> Denial:
    """sam (System Administrator only) asking to approve alice's mailbox online."""
    return Denial(
        operation=Operation.APPROVE_EMAIL,
        rule=RuleRef(
            "online/exchange-online/sa",
            "Customer engagement apps (online) with Exchange Online: System admin alone",
            "No",
        ),
        missing=(
            Need(
                NeedKind.ENTRA_ROLE,
                "62e90394-69f5-4237-9190-012177145e10",
                "Entra role Global Administrator",
            ),
            Need(NeedKind.PRIVILEGE, "prvApproveRejectEmailAddress", "privilege ..."),
        ),
        alternatives=(
            RuleRef("online/exchange-online/ga+sa", "...", "Yes"),
            RuleRef("online/exchange-online/ea+sa", "...", "Yes"),
            RuleRef("online/exchange-online/dma+sa", "...", "Yes¹"),
        ),
        people=(Mention("Dana Lee", "29:1dana"),),
        target="Alice Smith",
        target_id=_id(1),
        requestable=True,
    )


HELP: Final = [
    ("approve", "approve mailbox for alice", "Approve the email address of a mailbox."),
    ("test", "test mailbox bob", "Run Test & Enable on a mailbox and report the result."),
    ("status", "status of alice", "Show a mailbox's approval, tests and alerts."),
]

CardBuilder = Callable[[Strings], Card]

BUILDERS: Final[dict[str, CardBuilder]] = {
    "mailbox_status": lambda s: mailbox_status(
        s,
        mailbox(),
        environment=ENV,
        profile=profile(),
        alerts=[alert(n) for n in range(8)],
        allowed=frozenset(MailboxAction),
        refresh_for=["29:1dana", "29:1eddie"],
    ),
    "mailbox_status_minimal": lambda s: mailbox_status(
        s, Mailbox.model_validate({"mailboxid": _id(77)}), environment=ENV
    ),
    # In the middle of a sync: processingstatecode 1 with the host's name in hostid.
    "mailbox_status_syncing": lambda s: mailbox_status(
        s,
        mailbox(
            2,
            mailboxstatus=1,
            incomingemailstatus=1,
            enabledforact=True,
            processingstatecode=1,
            hostid="CRM-ASYNC-07",
        ),
        environment=ENV,
        profile=profile(),
    ),
    "operation_result_single": lambda s: operation_result(
        s,
        Operation.APPROVE_EMAIL,
        [ItemResult("Alice Smith", Outcome.OK)],
        environment=ENV,
    ),
    "operation_result_empty": lambda s: operation_result(
        s, Operation.TEST_AND_ENABLE, [], environment=ENV
    ),
    "operation_result_bulk": lambda s: operation_result(
        s, Operation.TEST_AND_ENABLE, bulk_items(20), environment=ENV
    ),
    "error": lambda s: error_card(
        s,
        ErrorKind.THROTTLED,
        correlation_id="f:8d2b1c0e",
        environment=ENV,
        subject="Alice Smith",
        code="0x80072321",
        retry_after=12.4,
    ),
    "error_unexpected": lambda s: error_card(s, ErrorKind.UNEXPECTED, correlation_id="f:8d2b1c0e"),
    "permission_denied": lambda s: permission_denied(s, denial(), environment=ENV),
    "help": lambda s: help_card(s, HELP, environment=ENV),
    "help_empty": lambda s: help_card(s, []),
    "choice": lambda s: choice(
        s,
        "alice",
        [
            Candidate(_id(1), "Alice Smith", "alice@contoso.com · user"),
            Candidate(_id(2), "Alice Wong", "alice.wong@contoso.com · user"),
            Candidate(_id(3), "Alice Support", "alice-support@contoso.com · queue"),
        ],
        environment=ENV,
        data={"command": "approve"},
    ),
    "did_you_mean": lambda s: did_you_mean(
        s, "aprove alice", ["approve mailbox for alice", "approve alice"], environment=ENV
    ),
    "did_you_mean_nothing": lambda s: did_you_mean(s, "xyzzy", []),
    "bulk_preview": lambda s: bulk_preview(
        s,
        Operation.CHANGE_MAILBOX_DELIVERY,
        preview_items(3),
        environment=ENV,
        token="pv-7f3a",
        unchanged=2,
        expires_at=NOW + timedelta(minutes=15),
    ),
    "preview_cancelled": lambda s: preview_closed(
        s, Operation.CHANGE_MAILBOX_DELIVERY, environment=ENV, cancelled=True
    ),
    "preview_expired": lambda s: preview_closed(
        s, Operation.CHANGE_MAILBOX_DELIVERY, environment=ENV, cancelled=False
    ),
    "profile_view": lambda s: profile_view(
        s,
        profile(),
        environment=ENV,
        is_default=False,
        mailbox_count=1234,
        alerts=[alert(1, level=2)],
        allowed=frozenset(ProfileAction),
    ),
    "profile_view_cross_tenant": lambda s: profile_view(
        s,
        profile(
            incomingcredentialretrieval=7,
            outgoingcredentialretrieval=2,
            useautodiscover=False,
            usedefaulttenantid=False,
            exchangeonlinetenantid="7d1f0c2e-5a4b-4c3d-9e8f-0a1b2c3d4e5f",
            defaultserverlocation="https://partner.outlook.cn/EWS/Exchange.asmx",
            statecode=1,
        ),
        environment=ENV,
        is_default=True,
    ),
    "org_email_settings": lambda s: org_email_settings(
        s, org_settings(), environment=ENV, default_profile=profile()
    ),
    "health_donut": lambda s: health_summary(
        s,
        {
            HealthState.HEALTHY: 120,
            HealthState.FAILING: 7,
            HealthState.PENDING_APPROVAL: 12,
            HealthState.NOT_TESTED: 3,
        },
        environment=ENV,
        as_of=NOW,
    ),
    "health_bars": lambda s: health_summary(
        s,
        {HealthState.HEALTHY: 5, HealthState.DISABLED: 1},
        environment=ENV,
        chart_kind=ChartKind.VERTICAL_BAR,
    ),
    "health_empty": lambda s: health_summary(s, {}, environment=ENV),
    "pending_approvals": lambda s: mailbox_list(
        s, ListKind.PENDING_APPROVALS, [mailbox(n) for n in range(1, 6)], environment=ENV
    ),
    "failing_empty": lambda s: mailbox_list(s, ListKind.FAILING, [], environment=ENV),
    "alert_list": lambda s: alert_list(
        s, [alert(n, level=1 + n % 3) for n in range(6)], environment=ENV, subject="Alice Smith"
    ),
    "alert_list_across": lambda s: alert_list(
        s,
        [alert(n) for n in range(3)],
        environment=ENV,
        regarding_names={uuid.UUID(_id(1)): "Alice Smith"},
    ),
}
"""Every card builder, called with typical values; tests run each in both languages."""
