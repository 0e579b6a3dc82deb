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

A milestone of a resident no state event announced yet (possible only when events are
replayed out of order: the registry publishes the registration first, on the same partition)
is held in the consumer's ``held_age`` table (:class:`HeldAgeColumns`, :func:`hold_age`) and
taken into the resident's row when their first state arrives (:func:`take_held_age`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

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


class HeldAgeColumns:
    """Columns of a consumer's ``held_age`` table (mix into the service's ``Base`` with
    ``__tablename__ = "held_age"``): the best age told of a resident before any state of
    theirs arrived."""

    resident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    age: Mapped[int] = mapped_column(Integer)
    age_on: Mapped[date] = mapped_column(Date)
    exact: Mapped[bool] = mapped_column(Boolean)


async def hold_age(
    session: AsyncSession, table: type[HeldAgeColumns], resident_id: str, known: KnownAge
) -> None:
    """Hold ``known`` for a resident not announced yet (the better of it and one held)."""
    row = await session.get(table, resident_id, with_for_update=True)
    if row is None:
        row = table()
        row.resident_id = resident_id
        session.add(row)
    best = better(stored(row.age, row.age_on, row.exact), known)
    assert best is not None
    row.age, row.age_on, row.exact = best.age, best.on, best.exact
    await session.flush()


async def take_held_age(
    session: AsyncSession, table: type[HeldAgeColumns], resident_id: str
) -> KnownAge | None:
    """The age held for a resident now announced (and forget it), or None."""
    row = await session.get(table, resident_id, with_for_update=True)
    if row is None:
        return None
    held = KnownAge(row.age, row.age_on, row.exact)
    await session.delete(row)
    return held
