"""The verbs and data keys that card buttons send back: the contract between the cards and
the router in ``dialogs/``.

An Action.Execute click arrives as an ``adaptiveCard/action`` invoke with ``action.verb`` and
``action.data``; the Action.Submit fallback arrives as a message whose ``value`` is the same
data plus ``verb`` (:data:`cards.common.VERB_KEY`). Input values (``reason``) are merged into
the data by the client.
"""

from __future__ import annotations

from typing import Final

# Mailbox buttons (data: MAILBOX_ID)
MAILBOX_APPROVE: Final = "mailbox.approve"
MAILBOX_REJECT: Final = "mailbox.reject"
MAILBOX_TEST_AND_ENABLE: Final = "mailbox.test-and-enable"
MAILBOX_ALERTS: Final = "mailbox.alerts"
MAILBOX_STATUS: Final = "mailbox.status"

# Picking one of several matches (data: CANDIDATE_ID plus what the asking dialog put in)
CHOICE_PICK: Final = "choice.pick"

# Running a typed command from a card: "did you mean", help examples (data: TEXT)
COMMAND_RUN: Final = "command.run"

# Bulk changes (data: PREVIEW_TOKEN)
PREVIEW_CONFIRM: Final = "preview.confirm"
PREVIEW_CANCEL: Final = "preview.cancel"

# Asking someone allowed to do it (data: OPERATION, TARGET_ID; input REASON)
APPROVAL_REQUEST: Final = "approval.request"
# A routed request's card (data: REQUEST_ID, ENVIRONMENT): decide it, or (the card's refresh)
# show it as it stands now for the person looking at it
APPROVAL_APPROVE: Final = "approval.approve"
APPROVAL_REJECT: Final = "approval.reject"
APPROVAL_VIEW: Final = "approval.view"
REQUEST_ID: Final = "requestId"
ENVIRONMENT: Final = "environment"
"""The environment a button acts in; the router builds the turn's context for it."""

MAILBOX_ID: Final = "mailboxId"
CANDIDATE_ID: Final = "candidateId"
TEXT: Final = "text"
PREVIEW_TOKEN: Final = "previewToken"  # noqa: S105 - a data key, not a credential
OPERATION: Final = "operation"
TARGET_ID: Final = "targetId"
REASON: Final = "reason"
"""The id of the optional "reason" Input.Text on the permission-denied card."""
REASON_MAX_CHARS: Final = 500

# Server profile buttons (data: PROFILE_ID)
PROFILE_TEST_MAILBOXES: Final = "profile.test-mailboxes"
PROFILE_MAKE_DEFAULT: Final = "profile.make-default"
PROFILE_ID: Final = "profileId"

# Lists reached from the health summary (no data)
LIST_FAILING: Final = "list.failing"
LIST_PENDING_APPROVALS: Final = "list.pending-approvals"

# Incident buttons in the on-call channel (data: INCIDENT_ID; silences add HOURS and the
# REASON input)
INCIDENT_ACK: Final = "incident.ack"
INCIDENT_RETEST: Final = "incident.retest"
INCIDENT_SILENCE: Final = "incident.silence"
INCIDENT_OPEN: Final = "incident.open"
INCIDENT_ID: Final = "incidentId"
HOURS: Final = "hours"
SILENCE_HOURS: Final = (1, 8, 24)
"""The durations the incident card offers; the reason goes in the REASON input."""
