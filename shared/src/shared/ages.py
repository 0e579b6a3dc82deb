"""Exact ages from the registry's events, for the services that consume them (DR-6).

The registry never publishes a birth date. Its resident events carry ``age`` on ``age_on``
(the event's date) and, on the birthdays the consumers' rules use, ``age_reached`` with its
day. A consumer keeps the best of what it was told as a :class:`KnownAge` in three columns of
the row it keeps per resident (``known_age``, ``known_age_on``, ``known_age_exact``), whatever
the order the events arrive in (:func:`better` keeps the best by :attr:`KnownAge.rank`, a
total order), and reads the age on a day with :meth:`KnownAge.at`:

- after a milestone, ``age`` was reached on ``on`` (a birthday): the age on any later day is
  exact;
- from a state event only, it is a lower bound, at most one year short; it never reaches a
  milestone age before the resident does, and the milestone event itself brings it there on
  the birthday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.contracts.registry import ResidentAgeReached, ResidentState


def completed_years(since: date, day: date) -> int:
    """Whole years from ``since`` to ``day`` (a 29 February counts from 1 March in common
    years, as the registry counts ages)."""
    return day.year - since.year - int((day.month, day.day) < (since.month, since.day))


@dataclass(frozen=True)
class KnownAge:
    """A resident's ``age`` on the day ``on``; ``exact`` when ``on`` is the birthday on which
    it was reached (a milestone event)."""

    age: int
    on: date
    exact: bool

    def at(self, day: date) -> int:
        """The age on ``day`` (not before ``on``): exact after a milestone, else a lower bound
        at most one short."""
        return self.age + max(0, completed_years(self.on, day))

    def reached_on(self, age: int) -> date | None:
        """The day the resident reached ``age`` when it is at or after an exact milestone
        (their birthday ``age - self.age`` years on), else None (not known to the day)."""
        if not self.exact or age < self.age:
            return None
        try:
            return self.on.replace(year=self.on.year + age - self.age)
        except ValueError:  # a 29 February birthday in a common year
            return date(self.on.year + age - self.age, 3, 1)

    @property
    def rank(self) -> tuple[bool, date, int]:
        """Which of two known ages to keep: a milestone over a state, then the later one."""
        return (self.exact, self.on, self.age)


def of_state(payload: ResidentState) -> KnownAge | None:
    """What a resident state event says (None for events older than the ``age`` field)."""
    if payload.age is None or payload.age_on is None:
        return None
    return KnownAge(payload.age, payload.age_on, exact=False)


def of_milestone(payload: ResidentAgeReached) -> KnownAge:
    """What an age-milestone event says: exact from its day on."""
    return KnownAge(payload.age, payload.reached_on, exact=True)


def better(current: KnownAge | None, new: KnownAge | None) -> KnownAge | None:
    """The one to keep of two known ages (either may be unknown)."""
    if current is None or (new is not None and new.rank > current.rank):
        return new
    return current


def age_on_day(known: KnownAge | None, birth_year: int, day: date) -> int:
    """The age on ``day``: from the known age, or, for a resident known only from events older
    than the ``age`` field, the age reached in the year of ``day``."""
    return known.at(day) if known is not None else day.year - birth_year


def stored(age: int | None, on: date | None, exact: bool | None) -> KnownAge | None:
    """The known age of a consumer's three stored columns (None when not known)."""
    if age is None or on is None:
        return None
    return KnownAge(age, on, bool(exact))
