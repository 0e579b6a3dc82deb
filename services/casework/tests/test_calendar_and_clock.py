"""The working-day calendar (statutory holidays, make-up working days, overrides) and the
clock of a case, with hypothesis properties: the clock counts exactly the working days of its
running spans across suspensions, extensions, weekends, holidays and make-up days."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.domain.calendar import LIBRARY_YEARS, WorkingCalendar, national_working_day
from casework.domain.clock import Clock

CALENDAR = WorkingCalendar()


def test_statutory_holidays_and_make_up_days() -> None:
    assert not CALENDAR.is_working_day(date(2026, 10, 1))  # National Day
    assert not CALENDAR.is_working_day(date(2026, 2, 17))  # Spring Festival, a Tuesday
    assert CALENDAR.is_working_day(date(2026, 2, 14))  # a Saturday made up (调休)
    assert not CALENDAR.is_working_day(date(2026, 11, 28))  # an ordinary Saturday
    assert CALENDAR.is_working_day(date(2026, 11, 30))  # an ordinary Monday
    assert LIBRARY_YEARS[0] <= 2026 <= LIBRARY_YEARS[1]


def test_overrides_win_over_the_national_schedule() -> None:
    city = WorkingCalendar({date(2026, 11, 30): False, date(2026, 11, 28): True})
    assert not city.is_working_day(date(2026, 11, 30))
    assert city.is_working_day(date(2026, 11, 28))


def test_after_the_library_statutory_holidays_still_count() -> None:
    year = LIBRARY_YEARS[1] + 1
    assert not national_working_day(date(year, 1, 1))  # New Year's Day by law
    assert not national_working_day(date(year, 10, 1))  # National Day by law
    monday = date(year, 3, 1) + timedelta(days=(7 - date(year, 3, 1).weekday()) % 7)
    assert national_working_day(monday)
    assert not national_working_day(monday + timedelta(days=5))


def test_the_golden_week_moves_a_deadline() -> None:
    # Accepted on 30 September 2026: 1–7 October are off, so day 1 is Thursday 8 October;
    # Saturday 10 October is a make-up working day (day 3), Sunday 11 is off, Monday 12 is
    # day 4.
    assert CALENDAR.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert CALENDAR.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert CALENDAR.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert CALENDAR.working_days_between(date(2026, 9, 30), date(2026, 10, 11)) == 3


days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 6, 30))
overrides = st.dictionaries(days, st.booleans(), max_size=10)


@settings(max_examples=200, deadline=None)
@given(start=days, count=st.integers(min_value=0, max_value=60), extra=overrides)
def test_adding_and_counting_agree(start: date, count: int, extra: dict[date, bool]) -> None:
    calendar = WorkingCalendar(extra)
    end = calendar.add_working_days(start, count)
    assert calendar.working_days_between(start, end) == count
    if count:
        assert calendar.is_working_day(end)


# A clock's life: (days after the previous step, action) with action start/suspend/resume/
# extend N; checked against a brute-force count of the days the clock ran.
steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=12),
        st.sampled_from(["suspend", "resume", "extend"]),
        st.integers(min_value=1, max_value=5),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    start=days,
    limit=st.integers(min_value=1, max_value=30),
    life=steps,
    extra=overrides,
    tail=st.integers(min_value=0, max_value=40),
)
def test_the_clock_counts_exactly_its_running_working_days(
    start: date, limit: int, life: list[tuple[int, str, int]], extra: dict[date, bool], tail: int
) -> None:
    calendar = WorkingCalendar(extra)
    clock = Clock(limit_days=limit).start(start)
    counted: set[date] = set()
    running_since: date | None = start
    extended = 0
    day = start
    for gap, action, amount in life:
        day += timedelta(days=gap)
        if action == "suspend" and running_since is not None:
            counted |= _running_days(calendar, running_since, day)
            running_since = None
            clock = clock.suspend(calendar, day)
        elif action == "resume" and running_since is None:
            running_since = day
            clock = clock.resume(day)
        elif action == "extend":
            extended += amount
            clock = clock.extend(amount)
    today = day + timedelta(days=tail)
    if running_since is not None:
        counted |= _running_days(calendar, running_since, today)
    assert clock.used(calendar, today) == len(counted)
    assert clock.remaining(calendar, today) == limit + extended - len(counted)
    due = clock.due_on(calendar)
    if running_since is None:
        assert due is None
    else:
        left = limit + extended - clock.used_days
        assert due is not None
        if left > 0:
            # the due day is the last working day with time left
            assert calendar.is_working_day(due)
            assert clock.remaining(calendar, due) == 0
            assert clock.remaining(calendar, due - timedelta(days=1)) > 0 or due == running_since


def _running_days(calendar: WorkingCalendar, since: date, until: date) -> set[date]:
    return {
        since + timedelta(days=offset)
        for offset in range(1, (until - since).days + 1)
        if calendar.is_working_day(since + timedelta(days=offset))
    }


def test_a_stopped_clock_keeps_its_count() -> None:
    clock = Clock(limit_days=5).start(date(2026, 11, 30))  # a Monday
    stopped = clock.stop(CALENDAR, date(2026, 12, 4))  # Friday: 4 working days
    assert stopped.used_days == 4
    assert stopped.stopped
    assert not stopped.running
    assert stopped.remaining(CALENDAR, date(2027, 1, 1)) == 1
