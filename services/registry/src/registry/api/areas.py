"""Routes for areas: thin, each parses, calls one use case, and maps the result.

Writes take an ``Idempotency-Key`` (the first response is replayed for a retry) and run in one
transaction; reads accept ``as_of`` to answer on the hierarchy of a past (or future) day.
A token confined to an area sees and changes only its subtree: anything else is 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from registry import area_service
from registry.api.schemas import (
    AreaCount,
    AreaIn,
    AreaOut,
    AreaPage,
    MergeIn,
    MergeOut,
    RetireIn,
    SplitIn,
    SplitOut,
)
from registry.domain.areas import AreaLevel, CommunityKind
from shared.auth import Principal, require_scopes
from shared.idempotency import IdempotencyKey, run_idempotent
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, PageSize
from shared.reads import ReadSessionDep, json_response
from shared.runtime import SessionDep

router = APIRouter(prefix="/areas", tags=["areas"])
Reader = Annotated[Principal, Depends(require_scopes("registry:read"))]
Writer = Annotated[Principal, Depends(require_scopes("registry:write"))]


async def _filters(
    within: Annotated[
        str | None, Query(description="Only this area's subtree, the area included.")
    ] = None,
    level: Annotated[AreaLevel | None, Query(description="Only this level.")] = None,
    kind: Annotated[
        CommunityKind | None, Query(description="Only communities of this kind.")
    ] = None,
    as_of: Annotated[
        date | None,
        Query(description="Only areas valid on this day (default: the current areas)."),
    ] = None,
    include_retired: Annotated[
        bool, Query(description="Also retired areas (not with `as_of`).")
    ] = False,
) -> area_service.AreaFilter:
    """The filters of a list or count, from the query string."""
    return area_service.AreaFilter(
        within=within, level=level, kind=kind, as_of=as_of, include_retired=include_retired
    )


Filters = Annotated[area_service.AreaFilter, Depends(_filters)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AreaOut)
async def register_area(
    body: AreaIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Register an area under its current parent (a token confined to an area may only add
    below it)."""

    async def operation() -> tuple[int, Any]:
        row = await area_service.register_area(
            session,
            area_id=body.id,
            level=body.level,
            name=body.name,
            parent_id=body.parent_id,
            valid_from=body.valid_from,
            kind=body.kind,
            household_count=body.household_count,
            principal=principal,
        )
        return status.HTTP_201_CREATED, AreaOut.of(row)

    return await run_idempotent(
        session,
        request=request,
        key=idempotency_key,
        subject=principal.subject,
        operation=operation,
    )


@router.post("/merge", status_code=status.HTTP_201_CREATED, response_model=MergeOut)
async def merge_communities(
    body: MergeIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Merge two or more current communities of one street into a new community: their
    households move to it and they are retired the day before ``effective``."""

    async def operation() -> tuple[int, Any]:
        result = await area_service.merge_communities(
            session,
            area_ids=body.area_ids,
            into=body.into.to_domain(),
            effective=body.effective,
            principal=principal,
        )
        return status.HTTP_201_CREATED, MergeOut.of(result)

    return await run_idempotent(
        session,
        request=request,
        key=idempotency_key,
        subject=principal.subject,
        operation=operation,
    )


@router.get("/count", response_model=AreaCount)
async def count_areas(session: ReadSessionDep, principal: Reader, filters: Filters) -> Response:
    """How many areas match the filters, within the token's area (e.g. the communities of a
    street as of a day)."""
    count = await area_service.count_areas(session, filters=filters, principal=principal)
    return json_response(AreaCount(count=count))


@router.get("/{area_id}", response_model=AreaOut)
async def get_area(area_id: str, session: ReadSessionDep, principal: Reader) -> Response:
    """One area, current or retired, with its validity; 404 if it does not exist or lies
    outside the token's area."""
    row = await area_service.get_area(session, area_id=area_id, principal=principal)
    return json_response(AreaOut.of(row))


@router.get("", response_model=AreaPage)
async def list_areas(
    session: ReadSessionDep,
    principal: Reader,
    filters: Filters,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
) -> Response:
    """Areas by id within the token's area, with stable cursor pagination."""
    rows, next_cursor = await area_service.list_areas(
        session, filters=filters, principal=principal, cursor=cursor, limit=limit
    )
    return json_response(AreaPage(items=[AreaOut.of(row) for row in rows], next_cursor=next_cursor))


@router.post("/{area_id}/split", status_code=status.HTTP_201_CREATED, response_model=SplitOut)
async def split_community(
    area_id: str,
    body: SplitIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Split a current community into two or more new ones, each taking the households
    listed for it (every household exactly once); the old one is retired."""

    async def operation() -> tuple[int, Any]:
        result = await area_service.split_community(
            session,
            area_id=area_id,
            into=[area.to_domain() for area in body.areas],
            effective=body.effective,
            principal=principal,
        )
        return status.HTTP_201_CREATED, SplitOut.of(result)

    return await run_idempotent(
        session,
        request=request,
        key=idempotency_key,
        subject=principal.subject,
        operation=operation,
    )


@router.post("/{area_id}/retire", response_model=AreaOut)
async def retire_area(
    area_id: str,
    body: RetireIn,
    request: Request,
    session: SessionDep,
    principal: Writer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Abolish an area with no current sub-areas (and, for a community, no households)."""

    async def operation() -> tuple[int, Any]:
        row = await area_service.retire_area(
            session, area_id=area_id, effective=body.effective, principal=principal
        )
        return status.HTTP_200_OK, AreaOut.of(row)

    return await run_idempotent(
        session,
        request=request,
        key=idempotency_key,
        subject=principal.subject,
        operation=operation,
    )
