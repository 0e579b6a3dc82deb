"""Routes for the area hierarchy and the drill-down (city → district → street → community)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from metrics import service
from metrics.api.csv_export import columns_of, csv_response
from metrics.api.deps import Format, Reader
from metrics.api.schemas import AreaCounts, AreaOut, ChildOut, ChildrenOut, ChildTargetOut
from shared.auth import ensure_area
from shared.errors import NotFound
from shared.inputs import Text
from shared.runtime import SessionDep

router = APIRouter(prefix="/areas", tags=["areas"])

Level = Annotated[
    str | None, Query(pattern="^(city|district|street|community)$", description="Only this level.")
]
IncludeRetired = Annotated[bool, Query(description="Also list retired areas.")]


@router.get("", response_model=list[AreaOut])
async def list_areas(
    session: SessionDep,
    principal: Reader,
    level: Level = None,
    parent: Annotated[
        Text | None, Query(max_length=32, description="Children of this area.")
    ] = None,
    include_retired: IncludeRetired = False,
    format_: Format = "json",
) -> list[AreaOut] | Response:
    """Areas inside the token's area, by path (current ones unless ``include_retired``)."""
    areas = await service.list_areas(
        session,
        principal=principal,
        level=level,
        parent_id=parent,
        include_retired=include_retired,
    )
    lineage = await service.lineage(session, area_ids=[a.area_id for a in areas])
    items = [AreaOut.of(a, lineage.get(a.area_id)) for a in areas]
    if format_ == "csv":
        return csv_response(items, filename="areas", columns=columns_of(AreaOut))
    return items


@router.get("/{area_id}", response_model=AreaOut)
async def get_area(area_id: str, session: SessionDep, principal: Reader) -> AreaOut:
    """One area (retired or not); 404 outside the token's area."""
    area = await service.get_area(session, principal=principal, area_id=area_id)
    lineage = await service.lineage(session, area_ids=[area_id])
    return AreaOut.of(area, lineage.get(area_id))


@router.get("/{area_id}/counts", response_model=AreaCounts)
async def area_counts(area_id: str, session: SessionDep, principal: Reader) -> AreaCounts:
    """Current areas per level under ``area_id``, from the registry's events."""
    path = await service.area_path(session, area_id=area_id)
    if path is None:
        raise NotFound(f"no area {area_id}")
    ensure_area(principal, path)
    counts = await service.area_counts(session, area_id=area_id)
    return AreaCounts(area_id=area_id, counts=counts or {})


@router.get("/{area_id}/children", response_model=ChildrenOut)
async def area_children(
    area_id: str,
    session: SessionDep,
    principal: Reader,
    include_retired: IncludeRetired = False,
    format_: Format = "json",
) -> ChildrenOut | Response:
    """The drill-down: an area's child areas, each with every target's evaluation there."""
    area, kids = await service.children(
        session, principal=principal, area_id=area_id, include_retired=include_retired
    )
    lineage = await service.lineage(session, area_ids=[area_id, *(k.area_id for k in kids)])
    rows = await service.target_rows_at(session, area_ids=[k.area_id for k in kids])
    children = [
        ChildOut(
            area=AreaOut.of(kid, lineage.get(kid.area_id)),
            targets=[
                ChildTargetOut(
                    target_id=row.target_id,
                    value=row.value,
                    progress=row.progress,
                    forecast=row.forecast,
                    status=row.status,
                )
                for row in rows.get(kid.area_id, [])
            ],
        )
        for kid in kids
    ]
    if format_ == "csv":
        flat = [
            {
                "area_id": child.area.area_id,
                "name": child.area.name,
                "level": child.area.level,
                **t.model_dump(),
            }
            for child in children
            for t in child.targets
        ]
        columns = ["area_id", "name", "level", *ChildTargetOut.model_fields]
        return csv_response(flat, filename=f"children-{area_id}", columns=columns)
    return ChildrenOut(area=AreaOut.of(area, lineage.get(area_id)), children=children)
