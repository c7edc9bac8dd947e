"""Per-item results of the mailbox operations.

A bulk operation never raises because one mailbox went wrong: it answers one `ItemResult`
per target, in the order given, and says for each whether it was done (`ok`), left alone
on purpose (`skipped`, with the reason), or not done (`failed`, with the typed error).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import overload

from dataverse.errors import DataverseError
from dataverse.models import Alert, Mailbox, TestStatus


class Outcome(StrEnum):
    """What happened to one item."""

    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"


class TestState(StrEnum):
    """Where a mailbox's Test & Enable stands when the operation returns."""

    __test__ = False  # not a pytest test class

    SCHEDULED = "scheduled"  # queued; not waited for
    PASSED = "passed"
    FAILED = "failed"
    PENDING = "pending"  # still queued when the wait's deadline passed


@dataclass(frozen=True)
class TestReport:
    """The result of one mailbox's Test & Enable, with the alerts the test wrote."""

    __test__ = False  # not a pytest test class

    state: TestState
    incoming: TestStatus | int | None = None
    outgoing: TestStatus | int | None = None
    act: TestStatus | int | None = None
    overall: TestStatus | int | None = None
    completed_on: datetime | None = None
    alerts: tuple[Alert, ...] = ()


@dataclass(frozen=True)
class ItemResult:
    """The outcome for one target.

    Attributes:
        target: the target as given (an id, or a mailbox's id when a row was given).
        id: the mailbox id, when the target was a well-formed id.
        outcome: ok, skipped or failed.
        reason: why it was skipped (or a note on an ok, e.g. "confirmed after a 412").
        error: the typed error of a failure.
        mailbox: the row as last read (after the change when it was verified).
        test: the Test & Enable report, for operations that test.
    """

    target: str
    id: uuid.UUID | None
    outcome: Outcome
    reason: str = ""
    error: DataverseError | None = None
    mailbox: Mailbox | None = None
    test: TestReport | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def skipped(self) -> bool:
        return self.outcome is Outcome.SKIPPED

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED


@dataclass(frozen=True)
class BulkResult:
    """One `ItemResult` per target, in the order the targets were given."""

    items: tuple[ItemResult, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterator[ItemResult]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> ItemResult: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[ItemResult, ...]: ...

    def __getitem__(self, index: int | slice) -> ItemResult | tuple[ItemResult, ...]:
        return self.items[index]

    def with_outcome(self, outcome: Outcome) -> list[ItemResult]:
        return [i for i in self.items if i.outcome is outcome]

    @property
    def succeeded(self) -> list[ItemResult]:
        return self.with_outcome(Outcome.OK)

    @property
    def skipped(self) -> list[ItemResult]:
        return self.with_outcome(Outcome.SKIPPED)

    @property
    def failed(self) -> list[ItemResult]:
        return self.with_outcome(Outcome.FAILED)

    def counts(self) -> dict[str, int]:
        return {o.value: len(self.with_outcome(o)) for o in Outcome}

    def mailboxes(self) -> list[Mailbox]:
        """The rows of the items that did not fail (e.g. to test what was just approved)."""
        return [i.mailbox for i in self.items if not i.failed and i.mailbox is not None]

    @classmethod
    def of(cls, items: Sequence[ItemResult]) -> BulkResult:
        return cls(tuple(items))
