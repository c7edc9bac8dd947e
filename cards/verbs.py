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
