"""Use cases of the reference data: the matter catalogue (shipped, validated at start-up,
edited by a casework admin) and the city's working-day overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from casework.adapters import reference
from casework.domain.catalogue import Catalogue, Matter
from shared.auth import Principal
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork

MAX_CALENDAR_SPAN_DAYS = 400


def shipped_catalogue() -> Catalogue:
    """The catalogue shipped with the service (``casework/catalogue/matters.yaml``); a
    ``ValidationError`` stops the service from starting."""
    text = resources.files("casework").joinpath("catalogue/matters.yaml").read_text("utf-8")
    return Catalogue.model_validate(yaml.safe_load(text))


async def seed_catalogue(uow: UnitOfWork, *, catalogue: Catalogue) -> int:
    """Add the shipped matters the database lacks (start-up step); how many."""
    return await reference.seed_matters(uow.session, list(catalogue.matters))


async def list_matters(session: AsyncSession) -> list[Matter]:
    """Every matter of the catalogue."""
    return await reference.matters(session)


async def get_matter(session: AsyncSession, *, code: str) -> Matter:
    """One matter (404 when unknown)."""
    found = await reference.matter(session, code)
    if found is None:
        raise NotFound(f"no matter {code}")
    return found


async def create_matter(uow: UnitOfWork, *, principal: Principal, definition: Matter) -> Matter:
    """Add a matter to the catalogue (casework admin); 409 when its code is taken."""
    if await reference.matter(uow.session, definition.code) is not None:
        raise Conflict(
            f"matter {definition.code} exists; replace it with PUT /matters/{definition.code}"
        )
    await reference.save_matter(uow.session, definition)
    return definition


async def replace_matter(
    uow: UnitOfWork, *, principal: Principal, code: str, definition: Matter
) -> Matter:
    """Replace a matter's definition (casework admin; 404 when unknown). Open cases keep the
    terms they were submitted under."""
    if await reference.matter(uow.session, code) is None:
        raise NotFound(f"no matter {code}")
    if definition.code != code:
        raise InvalidInput(
            "the body's code differs from the path's",
            errors=[FieldError("code", f"must be {code}")],
        )
    await reference.save_matter(uow.session, definition)
    return definition


@dataclass(frozen=True)
class CalendarDay:
    """One day of the calendar as casework counts it."""

    day: date
    working: bool
    override: bool
    note: str | None


async def calendar_days(session: AsyncSession, *, start: date, end: date) -> list[CalendarDay]:
    """Every day from ``start`` to ``end``: working or not, and whether the city said so."""
    if end < start or (end - start).days > MAX_CALENDAR_SPAN_DAYS:
        raise InvalidInput(
            "range out of bounds",
            errors=[FieldError("to", f"on or after from, at most {MAX_CALENDAR_SPAN_DAYS} days")],
        )
    calendar = await reference.calendar(session)
    notes = {row.day: row.note for row in await reference.overrides(session, start, end)}
    return [
        CalendarDay(
            day=day,
            working=calendar.is_working_day(day),
            override=day in notes,
            note=notes.get(day),
        )
        for day in (start + timedelta(days=offset) for offset in range((end - start).days + 1))
    ]


async def set_calendar_day(
    uow: UnitOfWork, *, principal: Principal, day: date, working: bool | None, note: str
) -> CalendarDay:
    """Record the city's announcement about ``day`` (``working`` None removes it). Open cases'
    due dates follow at their next change or sweep."""
    await reference.set_override(uow.session, day, working, note)
    await uow.flush()
    calendar = await reference.calendar(uow.session)
    return CalendarDay(
        day=day,
        working=calendar.is_working_day(day),
        override=working is not None,
        note=note if working is not None else None,
    )
