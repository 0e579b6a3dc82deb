"""What the API shows of a case beside the entity itself: its clock as of a day. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from casework.domain import cases
from casework.domain.calendar import WorkingCalendar

CHINA = timezone(timedelta(hours=8), "China Standard Time")
"""The platform's civil time (UTC+8, no daylight saving): days of the clock are China's days."""


def china_now() -> datetime:
    """The current instant in China's civil time."""
    return datetime.now(CHINA)


@dataclass(frozen=True)
class ClockView:
    """Where a case's clock stands on a day."""

    running: bool
    suspended: bool
    time_limit_days: int
    working_days_used: int
    remaining_days: int | None
    due_on: date | None
    overdue: bool


@dataclass(frozen=True)
class CaseView:
    """A case and its clock on the day it was read."""

    case: cases.Case
    clock: ClockView


def clock_view(case: cases.Case, calendar: WorkingCalendar, today: date) -> ClockView:
    """The clock of ``case`` on ``today`` (no remaining time before acceptance)."""
    clock = case.clock
    started = case.state not in ("submitted", "returned")
    remaining = clock.remaining(calendar, today) if started else None
    return ClockView(
        running=clock.running,
        suspended=case.suspended,
        time_limit_days=clock.allowed_days,
        working_days_used=clock.used(calendar, today),
        remaining_days=remaining,
        due_on=clock.due_on(calendar),
        overdue=remaining is not None and remaining < 0 and case.state in cases.IN_PROGRESS,
    )


def view(case: cases.Case, calendar: WorkingCalendar, today: date | None = None) -> CaseView:
    """A case with its clock on ``today`` (default: today in China)."""
    return CaseView(case, clock_view(case, calendar, today or china_now().date()))
