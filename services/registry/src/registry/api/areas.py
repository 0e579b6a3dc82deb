"""Routes for areas: thin, each parses, calls one use case, and maps the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from shared.auth import Principal, ensure_area, require_scopes
from shared.errors import NotFound
from shared.runtime import SessionDep

from registry import service
from registry.api.schemas import AreaIn, AreaOut, AreaPage
from registry.domain.areas import AreaLevel

router = APIRouter(prefix="/areas", tags=["areas"])
Reader = Annotated[Principal, Depends(require_scopes("registry:read"))]
Writer = Annotated[Principal, Depends(require_scopes("registry:write"))]
MAX_PAGE = 500


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AreaOut)
async def register_area(body: AreaIn, session: SessionDep, principal: Writer) -> AreaOut:
    """Register an area under its parent (a token confined to an area may only add below it)."""
    async with session.begin():
        if body.parent_id is not None:
            parent = await service.get_area(session, area_id=body.parent_id)
            if parent is not None:
                ensure_area(principal, parent.path_ids)
        elif principal.area is not None:
            raise NotFound("a token confined to an area cannot register a city")
        row = await service.register_area(
            session,
            area_id=body.id,
            level=body.level,
            name=body.name,
            parent_id=body.parent_id,
            valid_from=body.valid_from,
            kind=body.kind,
            household_count=body.household_count,
        )
    return AreaOut.of(row)


@router.get("/{area_id}", response_model=AreaOut)
async def get_area(area_id: str, session: SessionDep, principal: Reader) -> AreaOut:
    """One area; 404 if it does not exist or lies outside the token's area."""
    row = await service.get_area(session, area_id=area_id)
    if row is None:
        raise NotFound(f"no area {area_id}")
    ensure_area(principal, row.path_ids)
    return AreaOut.of(row)


@router.get("", response_model=AreaPage)
async def list_areas(
    session: SessionDep,
    principal: Reader,
    within: Annotated[str | None, Query(description="Only this area's subtree.")] = None,
    level: Annotated[AreaLevel | None, Query(description="Only this level.")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the last page.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 100,
) -> AreaPage:
    """Areas by id, confined to the token's area, with keyset pagination."""
    scope_id = within or principal.area
    scope = await service.get_area(session, area_id=scope_id) if scope_id else None
    if scope_id is not None:
        if scope is None:
            raise NotFound(f"no area {scope_id}")
        ensure_area(principal, scope.path_ids)
    rows = await service.list_areas(
        session, within=scope, level=level, after=cursor, limit=limit + 1
    )
    page = rows[:limit]
    next_cursor = page[-1].id if len(rows) > limit else None
    return AreaPage(items=[AreaOut.of(row) for row in page], next_cursor=next_cursor)
