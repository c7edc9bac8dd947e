"""Who is on call: a fixed list, or a rotation of people with hand-over times.

`who_is_on_call(schedule, at)` and `escalation_order(schedule, at)` are pure functions of
the schedule and a time, so that `who is on call` in chat, the incident card's mention and
the escalation agree, and tests need no clock.

Nothing here is persisted. It lives in `store` because both the monitor (mentions,
escalation) and the dialogs (`who is on call`) read the same schedule, the dialogs may not
import the monitor, and the schedule is plain data over the store's `Person`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeAlias

from store.errors import InvalidInput
from store.models import Person


@dataclass(frozen=True, slots=True)
class Responder:
    """A person who can be on call. `user_id` is what a Teams mention names: the Entra
    object id (Teams accepts it), a `29:` id, or the UPN."""

    name: str
    user_id: str

    def __post_init__(self) -> None:
        if not self.name.strip() or not self.user_id.strip():
            msg = "a responder needs a name and a user id"
            raise InvalidInput(msg)

    @property
    def person(self) -> Person:
        return Person(self.user_id, self.name)


@dataclass(frozen=True, slots=True)
class FixedList:
    """The same order every day: the first person is on call, the next one is escalated to."""

    people: tuple[Responder, ...]

    def __post_init__(self) -> None:
        if not self.people:
            msg = "an on-call list needs at least one person"
            raise InvalidInput(msg)


@dataclass(frozen=True, slots=True)
class Handover:
    """From `at`, `responder` is on call."""

    at: datetime
    responder: Responder


@dataclass(frozen=True, slots=True)
class Rotation:
    """People taking over from each other at given times.

    With `period` (e.g. seven days) the hand-overs repeat: the pattern that starts at the
    first hand-over starts again every period, so a weekly rotation needs one week of
    hand-overs. Without it, the last hand-over at or before a time decides, and before the
    first one the first person is on call.
    """

    handovers: tuple[Handover, ...]
    period: timedelta | None = None

    def __post_init__(self) -> None:
        if not self.handovers:
            msg = "a rotation needs at least one hand-over"
            raise InvalidInput(msg)
        times = [h.at for h in self.handovers]
        if any(t.tzinfo is None for t in times):
            msg = "hand-over times must be timezone-aware"
            raise InvalidInput(msg)
        if times != sorted(times) or len(set(times)) != len(times):
            msg = "hand-overs must be in time order, one per moment"
            raise InvalidInput(msg)
        if self.period is not None and (
            self.period <= timedelta(0) or times[-1] - times[0] >= self.period
        ):
            msg = "a repeating rotation's hand-overs must all fall within one period"
            raise InvalidInput(msg)

    @classmethod
    def weekly(cls, start: datetime, people: Sequence[Responder], shift: timedelta) -> Rotation:
        """`people` take turns of `shift` each from `start`, round and round."""
        if not people:
            msg = "a rotation needs at least one person"
            raise InvalidInput(msg)
        handovers = tuple(Handover(start + n * shift, p) for n, p in enumerate(people))
        return cls(handovers, period=shift * len(people))


OnCallSchedule: TypeAlias = FixedList | Rotation


def _current_index(rotation: Rotation, at: datetime) -> int:
    first = rotation.handovers[0].at
    if rotation.period is not None:
        at = first + (at - first) % rotation.period
    index = 0
    for n, handover in enumerate(rotation.handovers):
        if handover.at <= at:
            index = n
    return index


def escalation_order(schedule: OnCallSchedule, at: datetime) -> tuple[Responder, ...]:
    """Everyone on the schedule in the order they are called at `at`: who is on call
    first, then who comes next, each person once."""
    if isinstance(schedule, FixedList):
        people: Sequence[Responder] = schedule.people
        start = 0
    else:
        people = [h.responder for h in schedule.handovers]
        start = _current_index(schedule, at)
    ordered = [*people[start:], *people[:start]]
    return tuple(dict.fromkeys(ordered))


def who_is_on_call(schedule: OnCallSchedule, at: datetime) -> Responder:
    """The person on call at `at`."""
    return escalation_order(schedule, at)[0]
