"""Dataverse-shaped failures raised anywhere in the sim and answered by the Web API face.

The body is `{"error": {"code": "0x8004....", "message": "..."}}` (reference/dataverse.md
§6.1); the codes are the documented ones (§6.2, §4.3, §4.1).
"""

from __future__ import annotations

from typing import Final

OBJECT_DOES_NOT_EXIST: Final = "0x80040217"
PRIVILEGE_DENIED: Final = "0x80040220"
PRINCIPAL_PRIVILEGE_DENIED: Final = "0x80040231"
ACCESS_DENIED: Final = "0x80048405"
O365_ROLE_UNSUPPORTED_FOR_EMAIL_APPROVAL: Final = "0x8009000B"
ASSIGN_DMA_REQUIRES_ADMIN: Final = "0x80090904"
ASSIGN_DMA_TO_TEAM: Final = "0x80090905"
REQUESTS_LIMIT: Final = "0x80072322"
EXECUTION_TIME_LIMIT: Final = "0x80072321"
CONCURRENCY_LIMIT: Final = "0x80072326"
# Identity and access checks (sim.rules): web-service error codes list (reference S12),
# impersonation (§6.7), and the answers the platform gives for unknown and disabled users.
INVALID_ARGUMENT: Final = "0x80040203"
USER_DISABLED: Final = "0x80040225"  # "The specified user(Id = …) is disabled."
ACCESS_CHECK_FAILED: Final = "0x80048306"  # SecLib::AccessCheckEx: privilege depth too narrow
CANNOT_ACT_ON_BEHALF_OF_ANOTHER_USER: Final = "0x8004A110"
USER_NOT_MEMBER_OF_ORGANIZATION: Final = "0x80072560"


class DataverseFault(Exception):
    """An error the Web API answers with `status` and the Dataverse error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}
