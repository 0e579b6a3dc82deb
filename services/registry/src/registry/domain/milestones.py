"""Age milestones: the birthdays on which a resident reaches an age other services' rules use.

The registry publishes a resident's birth year and completed ``age`` on each state event, and
one ``ResidentAgeReached`` when a living resident reaches a milestone age (a setting:
:data:`DEFAULT_MILESTONES`), so casework, employment and eldercare know exact ages without a
birth date. A daily job publishes the milestones reached after the last day it covered
(its high-water date) up to today, so a registry that was down catches up; each (resident,
age) is published once. A resident registered on or after a birthday gets no milestone for
it: the ``age`` of the registration event already says it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from registry.domain.people import years_before

DEFAULT_MILESTONES: tuple[int, ...] = (16, 18, 40, 50, 60, 61, 65, 70, 80, 90, 100)
"""The ages subscribers need: casework's matter conditions (``min_age`` 16, 60, 65, 70, 90;
``max_age`` 60, which ends at 61), employment's "4050" group (women 40 to 50, men 50 to 60),
eldercare's roster (60) and entitlements (65, 70, 90), and 18, 80, 100 for statistics."""


@dataclass(frozen=True)
class ResidentAgeReached:
    """A living resident reached a milestone ``age`` on ``reached_on`` (their birthday)."""

    resident_id: str
    community_id: str
    path: tuple[str, ...]
    age: int
    reached_on: date


def birthday(birth_date: date, age: int) -> date:
    """The day someone born on ``birth_date`` reaches ``age`` (someone born on 29 February
    reaches it on 1 March in common years, as :func:`registry.domain.people.age_on` counts)."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:
        return date(birth_date.year + age, 3, 1)


def birth_dates_reaching(age: int, *, after: date, through: date) -> tuple[date, date]:
    """Birth dates ``(born_after, born_on_or_before)`` of the people who reach ``age`` on a day
    after ``after`` and up to ``through`` (a birth date ``b`` with ``born_after < b ≤
    born_on_or_before``)."""
    return years_before(after, age), years_before(through, age)


def scan_window(scanned_through: date | None, *, today: date) -> tuple[date, date] | None:
    """The days ``(after, through]`` a run on ``today`` covers: from the day after the last
    day covered to today; only today on the very first run; None when today is covered."""
    after = scanned_through if scanned_through is not None else today - timedelta(days=1)
    if after >= today:
        return None
    return after, today
