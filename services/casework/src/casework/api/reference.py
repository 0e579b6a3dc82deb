"""Routes of the matter catalogue and the working-day calendar: anyone with
``casework:read`` reads them; a ``casework:admin`` changes them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from casework import catalogue_service as service
from casework.api.deps import AdminCommand, Reader
from casework.domain.catalogue import Matter
from shared.inputs import Day, LongText
from shared.runtime import SessionDep

router = APIRouter(tags=["catalogue"])


class MatterList(BaseModel):
    """Every matter of the catalogue."""

    items: list[Matter]


class CalendarDayOut(BaseModel):
    """A day as casework counts it."""

    day: date
    working: bool = Field(description="Whether it is a working day.")
    override: bool = Field(description="Whether the city's own announcement decides it.")
    note: str | None = Field(description="The announcement's note.")

    @classmethod
    def of(cls, found: service.CalendarDay) -> CalendarDayOut:
        """The API view of a calendar day."""
        return cls(day=found.day, working=found.working, override=found.override, note=found.note)


class CalendarOut(BaseModel):
    """Days of the calendar."""

    days: list[CalendarDayOut]
    working_days: int = Field(description="How many of them are working days.")


class CalendarDayIn(BaseModel):
    """The city's announcement about one day."""

    model_config = ConfigDict(extra="forbid")

    day: Day = Field(description="The day announced.")
    working: StrictBool | None = Field(
        description="Working day (true), day off (false); null removes the override."
    )
    note: LongText = Field(default="", max_length=200, description="What was announced.")


@router.get("/matters", response_model=MatterList)
async def list_matters(session: SessionDep, principal: Reader) -> MatterList:
    """The matter catalogue: departments, documents, time limits, conditions."""
    return MatterList(items=await service.list_matters(session))


@router.get("/matters/{code}", response_model=Matter)
async def get_matter(code: str, session: SessionDep, principal: Reader) -> Matter:
    """One matter; 404 when unknown."""
    return await service.get_matter(session, code=code)


@router.post("/matters", status_code=status.HTTP_201_CREATED, response_model=Matter)
async def create_matter(body: Matter, command: AdminCommand) -> JSONResponse:
    """Add a matter to the catalogue (``casework:admin``); 409 when the code is taken."""
    return await command.run(
        service.create_matter, None, status=status.HTTP_201_CREATED, definition=body
    )


@router.put("/matters/{code}", response_model=Matter)
async def replace_matter(code: str, body: Matter, command: AdminCommand) -> JSONResponse:
    """Replace a matter (``casework:admin``); 404 when unknown. Open cases keep their terms."""
    return await command.run(service.replace_matter, None, code=code, definition=body)


@router.get("/calendar", response_model=CalendarOut)
async def calendar(
    session: SessionDep,
    principal: Reader,
    from_: Annotated[Day, Query(alias="from", description="First day.")],
    to: Annotated[Day, Query(description="Last day (at most 400 days after `from`).")],
) -> CalendarOut:
    """Working days and days off: statutory holidays, make-up working days (调休), weekends
    and the city's overrides."""
    days = await service.calendar_days(session, start=from_, end=to)
    return CalendarOut(
        days=[CalendarDayOut.of(day) for day in days],
        working_days=sum(1 for day in days if day.working),
    )


@router.post("/calendar/overrides", response_model=CalendarDayOut)
async def set_calendar_day(body: CalendarDayIn, command: AdminCommand) -> JSONResponse:
    """Record the city's own announcement about a day (``casework:admin``); ``working`` null
    removes it."""
    return await command.run(
        service.set_calendar_day,
        CalendarDayOut.of,
        day=body.day,
        working=body.working,
        note=body.note,
    )
