"""Who is on call: a pure function of the schedule and a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store import (
    FixedList,
    Handover,
    InvalidInput,
    Responder,
    Rotation,
    escalation_order,
    who_is_on_call,
)

DANA = Responder("Dana Delegate", "aa000000-0000-4000-8000-000000000003")
EDDIE = Responder("Eddie Exchange", "aa000000-0000-4000-8000-000000000002")
GINA = Responder("Gina Global", "aa000000-0000-4000-8000-000000000001")

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_a_fixed_list_always_starts_with_its_first_person() -> None:
    schedule = FixedList((DANA, EDDIE, GINA))
    for moment in (MONDAY, MONDAY + 100 * WEEK, MONDAY - WEEK):
        assert who_is_on_call(schedule, moment) == DANA
        assert escalation_order(schedule, moment) == (DANA, EDDIE, GINA)


def test_a_weekly_rotation_hands_over_and_repeats() -> None:
    rotation = Rotation.weekly(MONDAY, [DANA, EDDIE, GINA], WEEK)
    assert rotation.period == 3 * WEEK
    cases = [
        (MONDAY, DANA),
        (MONDAY + WEEK - timedelta(seconds=1), DANA),
        (MONDAY + WEEK, EDDIE),
        (MONDAY + 2 * WEEK + timedelta(days=3), GINA),
        (MONDAY + 3 * WEEK, DANA),
        (MONDAY + 31 * WEEK, EDDIE),  # 31 = 3 * 10 + 1
        (MONDAY - timedelta(seconds=1), GINA),  # the week before the first hand-over
    ]
    for moment, person in cases:
        assert who_is_on_call(rotation, moment) == person, moment
    assert escalation_order(rotation, MONDAY + WEEK) == (EDDIE, GINA, DANA)


def test_hand_overs_at_given_times_within_a_week() -> None:
    rotation = Rotation(
        (
            Handover(MONDAY, DANA),  # Monday 09:00
            Handover(MONDAY + timedelta(days=2), EDDIE),  # Wednesday 09:00
            Handover(MONDAY + timedelta(days=4, hours=8), DANA),  # Friday 17:00
        ),
        period=WEEK,
    )
    assert who_is_on_call(rotation, MONDAY + timedelta(days=3)) == EDDIE
    assert who_is_on_call(rotation, MONDAY + timedelta(days=5)) == DANA
    assert who_is_on_call(rotation, MONDAY + WEEK + timedelta(days=2, hours=1)) == EDDIE
    # A person on the list twice is called once.
    assert escalation_order(rotation, MONDAY + timedelta(days=5)) == (DANA, EDDIE)


def test_a_one_off_rotation_keeps_the_last_hand_over() -> None:
    rotation = Rotation((Handover(MONDAY, DANA), Handover(MONDAY + WEEK, EDDIE)))
    assert who_is_on_call(rotation, MONDAY - WEEK) == DANA
    assert who_is_on_call(rotation, MONDAY + 10 * WEEK) == EDDIE


@pytest.mark.parametrize(
    "build",
    [
        lambda: FixedList(()),
        lambda: Rotation(()),
        lambda: Rotation((Handover(MONDAY + WEEK, DANA), Handover(MONDAY, EDDIE))),
        lambda: Rotation((Handover(MONDAY.replace(tzinfo=None), DANA),)),
        lambda: Rotation((Handover(MONDAY, DANA), Handover(MONDAY + WEEK, EDDIE)), period=WEEK),
        lambda: Rotation.weekly(MONDAY, [], WEEK),
    ],
)
def test_bad_schedules_are_refused(build: object) -> None:
    with pytest.raises(InvalidInput):
        build()  # type: ignore[operator]
