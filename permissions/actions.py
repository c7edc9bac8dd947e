"""What a person can ask MailOps to do, as far as permissions are concerned."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    """An operation whose permission :func:`permissions.decide` judges.

    Approve and reject cover a person's and a queue's mailbox alike; the target says which.
    """

    APPROVE_EMAIL = "approve-email"
    REJECT_EMAIL = "reject-email"
    TEST_AND_ENABLE = "test-and-enable"
    APPLY_DEFAULT_EMAIL_SETTINGS = "apply-default-email-settings"
    CHANGE_MAILBOX_DELIVERY = "change-mailbox-delivery"
    """Delivery methods (incoming, outgoing, appointments/contacts/tasks) or server profile."""
    SET_SYNC_FROM_THIS_ORG_ONLY = "set-sync-from-this-org-only"
    CREATE_SERVER_PROFILE = "create-server-profile"
    CHANGE_SERVER_PROFILE = "change-server-profile"
    SET_DEFAULT_SERVER_PROFILE = "set-default-server-profile"
    CHANGE_ORG_EMAIL_SETTINGS = "change-org-email-settings"
    REMOVE_APPROVAL_REQUIREMENT = "remove-approval-requirement"
    """Turn off requireapprovalforuseremail / requireapprovalforqueueemail."""
    ASSIGN_DELEGATED_APPROVER = "assign-delegated-mailbox-approver"
    REMOVE_DELEGATED_APPROVER = "remove-delegated-mailbox-approver"
    VIEW = "view"
    """Read-only views: mailbox status, alerts, lists."""
