"""The mailbox operations the bot runs: one module per family.

| module | what |
|---|---|
| `approval` | approve / reject email addresses (verified by a re-read) |
| `testing` | Test & Enable: schedule, or wait for the results and their alerts |
| `settings` | delivery methods, server profile, default settings, org-only sync |
| `org` | the organization's email settings and the default profile |
| `profiles` | the Exchange Online profile: check, create, China endpoint |
| `roles` | assign / remove Delegated Mailbox Approver |
| `search` | find mailboxes; resolve free text to people, queues, mailboxes |
| `alerts` | alerts of a mailbox or a profile |

Bulk forms return a `BulkResult` (one `ItemResult` per target: ok, skipped with a reason,
or failed with a typed error) and never raise because of one item. Every write can run as
a person: pass `acting_for=<Entra object id>` (the `CallerObjectId` header, §6.7).
"""

from __future__ import annotations

from dataverse.ops._bulk import DEFAULT_OPTIONS, BulkOptions, MailboxTarget, load_mailboxes
from dataverse.ops.alerts import list_alerts
from dataverse.ops.approval import (
    approve,
    approve_many,
    reject,
    reject_many,
    set_approval_many,
)
from dataverse.ops.errors import (
    APPROVAL_REFUSALS,
    ApprovalNotApplied,
    DelegatedApproverAssignDenied,
    DelegatedApproverNotForTeams,
    EmailApprovalDenied,
    MissingDefault,
    NotApplied,
    OperationError,
    ProfileExists,
    TestFailed,
    TestNotFinished,
    UnknownName,
    is_approval_refusal,
)
from dataverse.ops.org import (
    OrgChange,
    change_org_email_settings,
    get_org_email_settings,
    rewrite_email_settings,
    set_default_profile,
)
from dataverse.ops.profiles import (
    CHINA_EWS_URL,
    EXCHANGE_ONLINE_PROFILE,
    ChinaEndpoint,
    CrossTenantOAuth,
    ExchangeOnlineCheck,
    SameTenant,
    check_exchange_online_profile,
    create_exchange_online_profile,
    point_profile_to_china,
)
from dataverse.ops.results import (
    BulkResult,
    ItemResult,
    Outcome,
    TestReport,
    TestState,
)
from dataverse.ops.roles import (
    DELEGATED_MAILBOX_APPROVER,
    RoleChange,
    assign_delegated_approver,
    remove_delegated_approver,
)
from dataverse.ops.search import (
    Candidate,
    MailboxFilter,
    Resolution,
    find_mailboxes,
    resolve,
)
from dataverse.ops.settings import (
    apply_default_settings,
    set_delivery_methods,
    set_org_primary_sync,
    set_server_profile,
)
from dataverse.ops.testing import (
    Polling,
    test_and_enable,
    test_and_enable_many,
    test_and_enable_profile,
    test_and_enable_where,
)

__all__ = [
    "APPROVAL_REFUSALS",
    "CHINA_EWS_URL",
    "DEFAULT_OPTIONS",
    "DELEGATED_MAILBOX_APPROVER",
    "EXCHANGE_ONLINE_PROFILE",
    "ApprovalNotApplied",
    "BulkOptions",
    "BulkResult",
    "Candidate",
    "ChinaEndpoint",
    "CrossTenantOAuth",
    "DelegatedApproverAssignDenied",
    "DelegatedApproverNotForTeams",
    "EmailApprovalDenied",
    "ExchangeOnlineCheck",
    "ItemResult",
    "MailboxFilter",
    "MailboxTarget",
    "MissingDefault",
    "NotApplied",
    "OperationError",
    "OrgChange",
    "Outcome",
    "Polling",
    "ProfileExists",
    "Resolution",
    "RoleChange",
    "SameTenant",
    "TestFailed",
    "TestNotFinished",
    "TestReport",
    "TestState",
    "UnknownName",
    "apply_default_settings",
    "approve",
    "approve_many",
    "assign_delegated_approver",
    "change_org_email_settings",
    "check_exchange_online_profile",
    "create_exchange_online_profile",
    "find_mailboxes",
    "get_org_email_settings",
    "is_approval_refusal",
    "list_alerts",
    "load_mailboxes",
    "point_profile_to_china",
    "reject",
    "reject_many",
    "remove_delegated_approver",
    "resolve",
    "rewrite_email_settings",
    "set_approval_many",
    "set_default_profile",
    "set_delivery_methods",
    "set_org_primary_sync",
    "set_server_profile",
    "test_and_enable",
    "test_and_enable_many",
    "test_and_enable_profile",
    "test_and_enable_where",
]
