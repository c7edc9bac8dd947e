"""Errors of the mailbox operations, on top of the package's error tree.

They extend `dataverse.errors` (so `except DataverseError` still catches everything)::

    DataverseError
    ├── InvalidInput
    │   └── UnknownName                   a name that matches nothing (a role, a profile …)
    ├── DataverseStatusError
    │   ├── BadRequest
    │   │   └── DelegatedApproverNotForTeams   0x80090905: the role cannot go to a team
    │   └── Forbidden
    │       ├── EmailApprovalDenied            0x8009000B: the permission table said no
    │       └── DelegatedApproverAssignDenied  0x80090904: only a Global/Exchange admin
    └── OperationError                    the service said yes, but the result is wrong
        ├── NotApplied                    a write answered success and a re-read disagrees
        ├── ProfileExists                 a server profile with that name is already there
        ├── MissingDefault                the organization has no default to apply
        └── TestFailed                    Test & Enable ran and failed (with its alerts)
            └── TestNotFinished           still scheduled when the deadline passed

`refine` is the only place that turns a status error with one of the codes above into its
subclass; everything else keeps the class `error_from_response` gave it.
"""

from __future__ import annotations

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
)

if TYPE_CHECKING:
    from dataverse.models import Alert, Mailbox

# reference/dataverse.md §4.1, §4.3 (codes compared case-insensitively: "0x8009000B").
O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL: Final = "0x8009000b"
ASSIGN_DMA_REQUIRES_ADMIN: Final = "0x80090904"
ASSIGN_DMA_TO_TEAM: Final = "0x80090905"
_DMA_TEAM_NAME: Final = "CannotAssignDelegatedMailboxApproverRoleToTeam"


class UnknownName(InvalidInput):
    """A name given to an operation (role, profile, person) matches no row."""


class EmailApprovalDenied(Forbidden):
    """403 0x8009000B O365RoleUnsupportedForEmailApproval: the caller's roles may not approve
    this address (the seed's permission table)."""


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


def refine(error: DataverseError) -> DataverseError:
    """The most specific class for a status error whose code this module knows."""
    if not isinstance(error, DataverseStatusError) or type(error) not in (Forbidden, BadRequest):
        return error
    code = error.code.lower()
    target: type[DataverseStatusError] | None = None
    if isinstance(error, Forbidden) and code == O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL:
        target = EmailApprovalDenied
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
