"""Routes for area statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from shared.auth import Principal, ensure_area, require_scopes
from shared.errors import NotFound
from shared.runtime import SessionDep

from metrics import service

router = APIRouter(prefix="/areas", tags=["areas"])
Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]


class AreaCounts(BaseModel):
    """How many areas of each level lie in an area's subtree (itself included)."""

    area_id: str
    counts: dict[str, int] = Field(description="Level → number of areas.")


@router.get("/{area_id}/counts", response_model=AreaCounts)
async def area_counts(area_id: str, session: SessionDep, principal: Reader) -> AreaCounts:
    """Areas per level under ``area_id``, from the registry's events."""
    path = await service.area_path(session, area_id=area_id)
    if path is None:
        raise NotFound(f"no area {area_id}")
    ensure_area(principal, path)
    counts = await service.area_counts(session, area_id=area_id)
    return AreaCounts(area_id=area_id, counts=counts or {})
