"""Operation results (dataverse.ops) as the result card shows them (cards.results)."""

from __future__ import annotations

from collections.abc import Sequence

from cards.results import ItemResult as CardItem
from cards.results import Outcome as CardOutcome
from cards.results import Reason
from dataverse.errors import (
    DataverseError,
    DataverseRequestError,
    DataverseStatusError,
    DataverseTimeout,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Throttled,
)
from dataverse.ops import NotApplied, TestFailed, TestNotFinished
from dataverse.ops.results import ItemResult, Outcome

_SKIPS = {
    "already approved": Reason.ALREADY_APPROVED,
    "already rejected": Reason.ALREADY_REJECTED,
}


def reason_for(error: DataverseError) -> Reason:
    match error:
        case TestNotFinished():
            return Reason.TIMEOUT
        case TestFailed():
            return Reason.TEST_FAILED
        case NotApplied():
            return Reason.NOT_APPLIED
        case NotFound():
            return Reason.NOT_FOUND
        case Forbidden():
            return Reason.DENIED
        case Throttled():
            return Reason.THROTTLED
        case PreconditionFailed():
            return Reason.CHANGED
        case DataverseTimeout():
            return Reason.TIMEOUT
        case DataverseRequestError() | ServiceUnavailable():
            return Reason.UNAVAILABLE
    return Reason.REFUSED


def card_item(name: str, item: ItemResult) -> CardItem:
    if item.outcome is Outcome.OK:
        return CardItem(name, CardOutcome.OK)
    if item.outcome is Outcome.SKIPPED:
        return CardItem(name, CardOutcome.SKIPPED, _SKIPS.get(item.reason, Reason.ALREADY_SET))
    error = item.error
    code = error.code if isinstance(error, DataverseStatusError) and error.code else None
    reason = reason_for(error) if error is not None else Reason.REFUSED
    return CardItem(name, CardOutcome.FAILED, reason, code)


def card_items(names: Sequence[str], items: Sequence[ItemResult]) -> list[CardItem]:
    return [card_item(name, item) for name, item in zip(names, items, strict=True)]
