"""The clock of a case: its time limit in working days, counted while it runs.

The clock starts when a case is accepted (that day does not count; the next working day is day
1), stops while the case waits for the applicant (suspended: the day of suspension counts, the
day of resumption does not), grows when a department extends the limit, and stops for good
when the case is settled, decided or withdrawn. What it counts is exactly the working days of
its running spans ``(start, stop]``, so suspensions, weekends, statutory holidays and make-up
working days keep the remaining time right.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from casework.domain.calendar import WorkingCalendar


@dataclass(frozen=True)
class Clock:
    """A case's time limit and the working days it has used."""

    limit_days: int
    extended_days: int = 0
    used_days: int = 0
    running_since: date | None = None
    stopped: bool = False

    @property
    def allowed_days(self) -> int:
        """The limit plus every extension."""
        return self.limit_days + self.extended_days

    @property
    def running(self) -> bool:
        """Whether working days count now."""
        return self.running_since is not None

    def used(self, calendar: WorkingCalendar, today: date) -> int:
        """Working days used up to and including ``today``."""
        if self.running_since is None:
            return self.used_days
        return self.used_days + calendar.working_days_between(self.running_since, today)

    def remaining(self, calendar: WorkingCalendar, today: date) -> int:
        """Working days left after ``today`` (negative: overdue by that many)."""
        return self.allowed_days - self.used(calendar, today)

    def due_on(self, calendar: WorkingCalendar) -> date | None:
        """The last working day within the limit while the clock runs (None when it does not
        run: suspended or stopped); the day it resumed when the limit was used up before."""
        if self.running_since is None:
            return None
        return calendar.add_working_days(self.running_since, self.allowed_days - self.used_days)

    def start(self, day: date) -> Clock:
        """Start (or restart after a reopening) on ``day``."""
        return replace(self, used_days=0, extended_days=0, running_since=day, stopped=False)

    def suspend(self, calendar: WorkingCalendar, day: date) -> Clock:
        """Stop counting after ``day`` (it counts) until resumed."""
        return replace(self, used_days=self.used(calendar, day), running_since=None)

    def resume(self, day: date) -> Clock:
        """Count again from the working day after ``day``."""
        return replace(self, running_since=day)

    def extend(self, days: int) -> Clock:
        """Allow ``days`` more working days."""
        return replace(self, extended_days=self.extended_days + days)

    def stop(self, calendar: WorkingCalendar, day: date) -> Clock:
        """Stop for good on ``day`` (it counts when the clock was running)."""
        return replace(self, used_days=self.used(calendar, day), running_since=None, stopped=True)


__all__ = ["Clock"]
