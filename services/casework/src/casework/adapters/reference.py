"""Reference data casework keeps: the matter catalogue, the city's calendar overrides, and
the resident facts taken from the registry's events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from casework.adapters.base import Base
from casework.adapters.paths import path_ids, path_text
from casework.domain.calendar import WorkingCalendar
from casework.domain.catalogue import Matter
from casework.domain.eligibility import ResidentFacts
from shared.ages import HeldAgeColumns, KnownAge, better, hold_age, stored, take_held_age


def now() -> datetime:
    """The current instant (UTC)."""
    return datetime.now(UTC)


class MatterRow(Base):
    """One matter of the catalogue, its validated definition as JSON."""

    __tablename__ = "matter"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CalendarDayRow(Base):
    """A day the city announced itself as working (true) or not (false)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResidentFactRow(Base):
    """What casework knows of a resident from the registry's events (no personal data);
    ``known_age*`` is the best age they told (:class:`shared.ages.KnownAge`)."""

    __tablename__ = "resident_fact"

    resident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(200))
    birth_year: Mapped[int] = mapped_column(Integer)
    registration: Mapped[str] = mapped_column(String(16))
    employment_status: Mapped[str] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(Boolean)
    flags: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    known_age: Mapped[int | None] = mapped_column(Integer)
    known_age_on: Mapped[date | None] = mapped_column(Date)
    known_age_exact: Mapped[bool] = mapped_column(Boolean, default=False)


class HeldAgeRow(HeldAgeColumns, Base):
    """An age milestone of a resident casework has no state of yet (:mod:`shared.ages`)."""

    __tablename__ = "held_age"


# -- matters ---------------------------------------------------------------------------------


async def matters(session: AsyncSession) -> list[Matter]:
    """Every matter of the catalogue, by code."""
    rows = await session.scalars(select(MatterRow).order_by(MatterRow.code))
    return [Matter.model_validate(row.definition) for row in rows]


async def matter(session: AsyncSession, code: str) -> Matter | None:
    """One matter, or None."""
    row = await session.get(MatterRow, code)
    return None if row is None else Matter.model_validate(row.definition)


async def save_matter(session: AsyncSession, definition: Matter) -> int:
    """Insert or replace a matter's definition; its new version."""
    row = await session.get(MatterRow, definition.code, with_for_update=True)
    if row is None:
        row = MatterRow(code=definition.code, version=0)
        session.add(row)
    row.definition = definition.model_dump(mode="json")
    row.version += 1
    row.updated_at = now()
    await session.flush()
    return row.version


async def seed_matters(session: AsyncSession, definitions: list[Matter]) -> int:
    """Insert the shipped matters the database does not have yet (an admin's edits stay);
    how many were added."""
    known = set(await session.scalars(select(MatterRow.code)))
    added = 0
    for definition in definitions:
        if definition.code not in known:
            session.add(
                MatterRow(
                    code=definition.code,
                    definition=definition.model_dump(mode="json"),
                    version=1,
                    updated_at=now(),
                )
            )
            added += 1
    await session.flush()
    return added


# -- calendar --------------------------------------------------------------------------------


async def calendar(session: AsyncSession) -> WorkingCalendar:
    """The national calendar with every override the city recorded."""
    rows = await session.execute(select(CalendarDayRow.day, CalendarDayRow.working))
    return WorkingCalendar({day: working for day, working in rows})


async def overrides(session: AsyncSession, start: date, end: date) -> list[CalendarDayRow]:
    """The overrides from ``start`` to ``end`` inclusive."""
    rows = await session.scalars(
        select(CalendarDayRow)
        .where(CalendarDayRow.day >= start, CalendarDayRow.day <= end)
        .order_by(CalendarDayRow.day)
    )
    return list(rows)


async def set_override(session: AsyncSession, day: date, working: bool | None, note: str) -> None:
    """Record (or with ``working`` None, remove) the city's decision about ``day``."""
    row = await session.get(CalendarDayRow, day, with_for_update=True)
    if working is None:
        if row is not None:
            await session.delete(row)
        return
    if row is None:
        row = CalendarDayRow(day=day)
        session.add(row)
    row.working, row.note, row.updated_at = working, note, now()


# -- resident facts --------------------------------------------------------------------------


def facts_of(row: ResidentFactRow) -> ResidentFacts:
    """The domain view of a stored resident fact."""
    return ResidentFacts(
        resident_id=row.resident_id,
        community_id=row.community_id,
        path=path_ids(row.path),
        birth_year=row.birth_year,
        registration=row.registration,
        employment_status=row.employment_status,
        disabled=row.disabled,
        flags=tuple(row.flags),
        status=row.status,
        known_age=stored(row.known_age, row.known_age_on, row.known_age_exact),
    )


async def resident(session: AsyncSession, resident_id: str) -> ResidentFacts | None:
    """What casework knows of a resident, or None."""
    row = await session.get(ResidentFactRow, resident_id)
    return None if row is None else facts_of(row)


async def save_resident(session: AsyncSession, facts: ResidentFacts, version: int) -> bool:
    """Keep ``facts`` unless a newer version is stored (the better known age is kept
    whatever the version); whether they were kept."""
    row = await session.get(ResidentFactRow, facts.resident_id)
    if row is not None:
        _keep_age(row, facts.known_age)
    if row is not None and row.version > version:
        return False
    if row is None:
        held = await take_held_age(session, HeldAgeRow, facts.resident_id)
        row = ResidentFactRow(resident_id=facts.resident_id)
        _keep_age(row, facts.known_age)
        _keep_age(row, held)
        session.add(row)
    row.community_id = facts.community_id
    row.path = path_text(facts.path)
    row.birth_year = facts.birth_year
    row.registration = facts.registration
    row.employment_status = facts.employment_status
    row.disabled = facts.disabled
    row.flags = list(facts.flags)
    row.status = facts.status
    row.version = version
    row.updated_at = now()
    return True


async def save_age(session: AsyncSession, resident_id: str, known: KnownAge) -> bool:
    """Keep an age milestone of a resident (held until their first state arrives when casework
    has none yet); whether it changed what casework knows now."""
    row = await session.get(ResidentFactRow, resident_id)
    if row is None:
        await hold_age(session, HeldAgeRow, resident_id, known)
        return False
    row.updated_at = now()
    return _keep_age(row, known)


def _keep_age(row: ResidentFactRow, known: KnownAge | None) -> bool:
    current = stored(row.known_age, row.known_age_on, row.known_age_exact)
    best = better(current, known)
    if best is None or best == current:
        return False
    row.known_age, row.known_age_on, row.known_age_exact = best.age, best.on, best.exact
    return True
