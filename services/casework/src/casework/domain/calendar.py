"""Working days: China's statutory holidays and make-up working days (调休), with a city's own
announcements laid over them.

The State Council's schedule comes from the ``chinese-calendar`` library (2004 to the last year
it knows, holidays and make-up working days as announced). For a later year, before any library
has its announcement, the ``holidays`` library's China calendar gives the statutory holidays the
law fixes (New Year, Spring Festival, Qingming, Labour Day, Dragon Boat, Mid-Autumn, National
Day) with its rule-based days in lieu; make-up working days are then unknown. A city that
announces a day itself (or the year's schedule before the libraries know it) records an
override, which always wins. The clock of a case counts working days *after* a start day: the
day a case is accepted does not count, the next working day is day 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar  # type: ignore[import-untyped]
import holidays

_STATUTORY_HOLIDAYS: Mapping[date, object] = chinese_calendar.holidays
_MAKE_UP_WORKING_DAYS: Mapping[date, object] = chinese_calendar.workdays
LIBRARY_YEARS: tuple[int, int] = (
    min(day.year for day in _STATUTORY_HOLIDAYS),
    max(day.year for day in _STATUTORY_HOLIDAYS),
)
"""First and last year whose national schedule the library knows."""

MAX_SPAN_DAYS = 3660
"""Longest walk through the calendar (ten years): a bound for malformed overrides."""


_BY_LAW = holidays.country_holidays("CN")
"""Statutory holidays by rule, for the years after :data:`LIBRARY_YEARS` (filled per year on
first use)."""


def national_working_day(day: date) -> bool:
    """Whether ``day`` is a working day by the national schedule alone."""
    if day.year > LIBRARY_YEARS[1]:
        return day.weekday() < 5 and day not in _BY_LAW
    if day in _MAKE_UP_WORKING_DAYS:
        return True
    if day in _STATUTORY_HOLIDAYS:
        return False
    return day.weekday() < 5


@dataclass(frozen=True)
class WorkingCalendar:
    """The national schedule plus ``overrides`` (day → working or not) that always win."""

    overrides: Mapping[date, bool] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day."""
        found = self.overrides.get(day)
        return national_working_day(day) if found is None else found

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in ``(start, end]``: after ``start``, up to and including ``end``;
        0 when ``end`` is not after ``start``."""
        if end <= start:
            return 0
        span = min((end - start).days, MAX_SPAN_DAYS)
        return sum(
            1 for offset in range(1, span + 1) if self.is_working_day(start + timedelta(offset))
        )

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself when ``days`` ≤ 0)."""
        day, left = start, days
        for _ in range(MAX_SPAN_DAYS):
            if left <= 0:
                return day
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        raise ValueError("no working day in ten years: the calendar's overrides are wrong")


__all__ = ["LIBRARY_YEARS", "WorkingCalendar", "national_working_day"]
