"""Errors of the mailbox operations, on top of the package's error tree.

They extend `dataverse.errors` (so `except DataverseError` still catches everything)::

    DataverseError
    ├── InvalidInput
    │   └── UnknownName                   a name that matches nothing (a role, a profile …)
    ├── DataverseStatusError
    │   ├── BadRequest
    │   │   └── DelegatedApproverNotForTeams   0x80090905: the role cannot go to a team
    │   └── Forbidden
    │       ├── EmailApprovalDenied            the permission table said no (0x8009000B,
    │       │                                  0x80040256, 0x80040216 with its text)
    │       └── DelegatedApproverAssignDenied  0x80090904: only a Global/Exchange admin
    └── OperationError                    the service said yes, but the result is wrong
        ├── NotApplied                    a write answered success and a re-read disagrees
        │   └── ApprovalNotApplied        an approval answered success and did not apply
        ├── ProfileExists                 a server profile with that name is already there
        ├── MissingDefault                the organization has no default to apply
        └── TestFailed                    Test & Enable ran and failed (with its alerts)
            └── TestNotFinished           still scheduled when the deadline passed

`refine` is the only place that turns a status error with one of the codes above into its
subclass; everything else keeps the class `error_from_response` gave it. An approval is
refused in one of the ways of `APPROVAL_REFUSALS`; `is_approval_refusal` tells them apart
from other failures.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from dataverse.errors import (
    BadRequest,
    DataverseError,
    DataverseStatusError,
    Forbidden,
    InvalidInput,
    ServerError,
)

if TYPE_CHECKING:
    from dataverse.models import Alert, Mailbox

# reference/dataverse.md §4.1, §4.3 (codes compared case-insensitively: "0x8009000B").
O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL: Final = "0x8009000b"
# The refusals of approval seen in the field besides the documented 0x8009000B (reference
# §4.3). S40 (support article "A failure occurred in CrmSecurity") shows the inner fault
# 0x80040256 (-2147220906) "… should be a global administrator to approve mailbox …" under
# the outer 0x80040216 (-2147220970); S41 and S42 quote the same refusal without a code.
# Which one the Web API answers, and with which status, is unconfirmed, so any status with
# 0x80040256 is a refusal, and so is any error whose text is one of those sentences (the
# outer 0x80040216 alone is a generic "unexpected error" and is not enough).
CRM_SECURITY_APPROVAL: Final = "0x80040256"
_APPROVAL_REFUSED_TEXT: Final = re.compile(
    r"should be a global administrator\b.*\bto approve mailbox"
    r"|can only be approved by a user with the global administrator",
    re.IGNORECASE | re.DOTALL,
)
ASSIGN_DMA_REQUIRES_ADMIN: Final = "0x80090904"
ASSIGN_DMA_TO_TEAM: Final = "0x80090905"
_DMA_TEAM_NAME: Final = "CannotAssignDelegatedMailboxApproverRoleToTeam"


class UnknownName(InvalidInput):
    """A name given to an operation (role, profile, person) matches no row."""


class EmailApprovalDenied(Forbidden):
    """The caller's roles may not approve this address (the seed's permission table).

    403 0x8009000B O365RoleUnsupportedForEmailApproval as documented, or one of the field
    shapes of reference §4.3 (0x80040256, or the refusal's text under another code); the
    status and code the service sent are kept as they came.
    """


class DelegatedApproverAssignDenied(Forbidden):
    """403 0x80090904: only a Global or Exchange admin may assign or remove Delegated
    Mailbox Approver."""


class DelegatedApproverNotForTeams(BadRequest):
    """0x80090905 CannotAssignDelegatedMailboxApproverRoleToTeam: the role is for users only."""


class OperationError(DataverseError):
    """The service accepted the request, but the outcome is not what was asked for."""


class NotApplied(OperationError):
    """A write answered success, but reading the row back shows the old value.

    The seed warns that an approval sent with other attributes may leave the address
    unapproved, and a community report says an app identity's approval can silently not
    apply (reference §4.3): success is only reported once a re-read confirms it.
    """

    def __init__(self, mailbox_id: uuid.UUID, column: str, wanted: object, found: object):
        self.mailbox_id = mailbox_id
        self.column = column
        self.wanted = wanted
        self.found = found
        super().__init__(
            f"mailbox {mailbox_id}: {column} is {found!r} after writing {wanted!r}; "
            "the change did not apply"
        )


class ApprovalNotApplied(NotApplied):
    """An approval or rejection answered success, and reading the row back shows it did not
    apply: a refusal without an error. Reported for an application user approving as itself
    (reference §4.3, S43); the seed also warns about an approval sent with other columns."""


# Every way an approval is refused: with an error, or silently (found by the read-back).
APPROVAL_REFUSALS: Final = (EmailApprovalDenied, ApprovalNotApplied)


def is_approval_refusal(error: BaseException | None) -> bool:
    """Whether `error` says the address was not approved because approval was refused."""
    return isinstance(error, APPROVAL_REFUSALS)


class ProfileExists(OperationError):
    """An email server profile with this name exists already; nothing was created."""


class MissingDefault(OperationError):
    """The organization has no default (server profile or delivery methods) to apply."""


class TestFailed(OperationError):
    """Test & Enable ran and reported a failure; `alerts` are what it wrote (newest first)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        mailbox_id: uuid.UUID,
        alerts: tuple[Alert, ...] = (),
        message: str | None = None,
        *,
        mailbox: Mailbox | None = None,
    ) -> None:
        self.mailbox_id = mailbox_id
        self.mailbox = mailbox
        self.alerts = alerts
        if message is None:
            text = next((a.text for a in alerts if a.text), None)
            message = f"Test & Enable failed for mailbox {mailbox_id}" + (
                f": {text}" if text else ""
            )
        super().__init__(message)


class TestNotFinished(TestFailed):
    """The test was still scheduled when the wait's deadline passed; it may finish later."""


def _approval_refused(error: DataverseStatusError) -> bool:
    code = error.code.lower()
    if isinstance(error, Forbidden) and code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL:
        return True
    return code == CRM_SECURITY_APPROVAL or bool(_APPROVAL_REFUSED_TEXT.search(error.message))


def refine(error: DataverseError) -> DataverseError:
    """The most specific class for a status error whose code this module knows."""
    if not isinstance(error, DataverseStatusError) or type(error) not in (
        Forbidden,
        BadRequest,
        ServerError,
    ):
        return error
    code = error.code.lower()
    target: type[DataverseStatusError] | None = None
    if _approval_refused(error):
        target = EmailApprovalDenied
    elif type(error) is ServerError:
        return error
    elif isinstance(error, Forbidden) and code == ASSIGN_DMA_REQUIRES_ADMIN:
        target = DelegatedApproverAssignDenied
    elif code == ASSIGN_DMA_TO_TEAM or _DMA_TEAM_NAME in error.message:
        target = DelegatedApproverNotForTeams
    if target is None:
        return error
    refined = target(
        service=error.service,
        status=error.status,
        code=error.code,
        message=error.message,
        request_id=error.request_id,
    )
    refined.__cause__ = error
    return refined


@contextmanager
def refined() -> Iterator[None]:
    """Re-raise a status error as its `refine`d class (single operations use this)."""
    try:
        yield
    except DataverseStatusError as exc:
        better = refine(exc)
        if better is exc:
            raise
        raise better from exc
