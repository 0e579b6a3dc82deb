"""Use cases of cases (queries): one case, a list, a visit, and the clock of a case as of
today. Every query confines the caller to its area (outside it: 404)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from casework.adapters import cases as store
from casework.adapters import reference
from casework.case_service import Visit
from casework.domain.calendar import WorkingCalendar
from casework.views import CaseView, view
from shared.auth import Principal, ensure_area
from shared.errors import NotFound


async def get_case(session: AsyncSession, *, principal: Principal, case_id: str) -> CaseView:
    """One case and its clock today (404 when missing or outside the token's area)."""
    case = await store.get(session, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    ensure_area(principal, case.path)
    return view(case, await reference.calendar(session))


async def calendar(session: AsyncSession) -> WorkingCalendar:
    """The working-day calendar with the city's overrides."""
    return await reference.calendar(session)


async def list_cases(
    session: AsyncSession,
    *,
    principal: Principal,
    within: str | None = None,
    state: str | None = None,
    department: str | None = None,
    matter_code: str | None = None,
    resident_id: str | None = None,
    overdue_on: date | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[CaseView]:
    """Cases by id in the token's area (and ``within`` it), filtered, with their clocks."""
    found = await store.listing(
        session,
        area_ids=[area for area in (principal.area, within) if area is not None],
        state=state,
        department=department,
        matter_code=matter_code,
        resident_id=resident_id,
        overdue_on=overdue_on,
        after=after,
        limit=limit,
    )
    days = await reference.calendar(session)
    return [view(case, days) for case in found]


async def get_visit(session: AsyncSession, *, principal: Principal, visit_id: str) -> Visit:
    """A visit with all its cases (404 when missing or outside the token's area)."""
    found = await store.visit(session, visit_id)
    if found is None:
        raise NotFound(f"no visit {visit_id}")
    row, opened = found
    ensure_area(principal, [part for part in row.path.split("/") if part])
    return Visit(row.id, row.resident_id, row.community_id, row.submitted_at, opened)
