"""Routes for plan targets: list, detail with the evaluation per area, and creation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse, Response

from metrics import service, targets_service
from metrics.api.csv_export import columns_of, csv_response
from metrics.api.deps import CatalogueDep, Format, Reader, TrackerDep, Writer
from metrics.api.schemas import AreaStatusOut, TargetDetailOut, TargetIn, TargetOut
from shared.idempotency import IdempotencyKey, run_idempotent
from shared.runtime import SessionDep

router = APIRouter(prefix="/targets", tags=["targets"])

AreaQuery = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Show each target's evaluation in this area (default: the token's area, "
        "else the target's scope).",
    ),
]


@router.get("", response_model=list[TargetOut])
async def list_targets(
    session: SessionDep,
    catalogue: CatalogueDep,
    principal: Reader,
    area: AreaQuery = None,
    format_: Format = "json",
) -> list[TargetOut] | Response:
    """Every target the token's area concerns; with ``area``, the targets whose scope contains
    that area or lies inside it, each with its evaluation in ``area`` when that lies in the
    target's scope, else in the scope."""
    wanted = area or principal.area
    place = None
    if wanted is not None:
        place = await service.get_area(session, principal=principal, area_id=wanted)
    found = await targets_service.list_targets(session, principal=principal, area=place)
    at = await service.target_rows_at(
        session,
        area_ids=sorted({t.scope_area_id for t, _ in found} | ({wanted} if wanted else set())),
    )
    items = []
    for target, scope in found:
        rows = {r.target_id: r for r in at.get(wanted or "", [])}
        scope_rows = {r.target_id: r for r in at.get(target.scope_area_id, [])}
        evaluation = rows.get(target.id) or scope_rows.get(target.id)
        items.append(
            TargetOut.of(
                target,
                indicator=catalogue.indicator(target.indicator_id),
                scope=scope,
                evaluation=evaluation,
            )
        )
    if format_ == "csv":
        flat = [
            {
                **item.model_dump(exclude={"evaluation"}),
                **{
                    f"evaluation_{k}": v
                    for k, v in (item.evaluation.model_dump() if item.evaluation else {}).items()
                },
            }
            for item in items
        ]
        columns = [c for c in columns_of(TargetOut) if c != "evaluation"] + [
            f"evaluation_{c}" for c in columns_of(AreaStatusOut)
        ]
        return csv_response(flat, filename="targets", columns=columns)
    return items


@router.get("/{target_id}", response_model=TargetDetailOut)
async def get_target(
    target_id: str,
    session: SessionDep,
    catalogue: CatalogueDep,
    principal: Reader,
    level: Annotated[
        str | None,
        Query(pattern="^(city|district|street|community)$", description="Only areas of a level."),
    ] = None,
    parent: Annotated[
        str | None, Query(max_length=32, description="Only this area's subtree.")
    ] = None,
    format_: Format = "json",
) -> TargetDetailOut | Response:
    """A target with its value, progress, forecast and status in every area of its scope
    (inside the token's area), by path."""
    target, scope = await targets_service.get_target(
        session, principal=principal, target_id=target_id
    )
    rows = await targets_service.statuses(
        session, principal=principal, target_id=target_id, level=level, parent_id=parent
    )
    areas = [AreaStatusOut.of(row) for row in rows]
    if format_ == "csv":
        return csv_response(
            areas, filename=f"target-{target_id}", columns=columns_of(AreaStatusOut)
        )
    own = next((row for row in rows if row.area_id == target.scope_area_id), None)
    base = TargetOut.of(
        target, indicator=catalogue.indicator(target.indicator_id), scope=scope, evaluation=own
    )
    return TargetDetailOut(**base.model_dump(), areas=areas)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TargetDetailOut)
async def create_target(
    body: TargetIn,
    request: Request,
    session: SessionDep,
    catalogue: CatalogueDep,
    tracker: TrackerDep,
    principal: Writer,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Set a target (publishes ``metrics.target.created``); it is evaluated at once in every
    current area of its scope. 422 for an unknown indicator or area, 409 for a taken id."""

    async def operation() -> tuple[int, Any]:
        row = await targets_service.create_target(
            session,
            principal=principal,
            new=targets_service.NewTarget(
                target_id=body.id,
                name=body.name,
                indicator_id=body.indicator_id,
                scope_area_id=body.scope_area_id,
                comparison=body.comparison,
                target_value=body.target_value,
                baseline_value=body.baseline_value,
                baseline_date=body.baseline_date,
                deadline=body.deadline,
                source_plan=body.source_plan,
            ),
            catalogue=catalogue,
            tracker=tracker,
        )
        rows = await targets_service.statuses(session, principal=principal, target_id=row.id)
        scope = await service.get_area(session, principal=principal, area_id=row.scope_area_id)
        own = next((r for r in rows if r.area_id == row.scope_area_id), None)
        base = TargetOut.of(
            row, indicator=catalogue.indicator(row.indicator_id), scope=scope, evaluation=own
        )
        detail = TargetDetailOut(**base.model_dump(), areas=[AreaStatusOut.of(r) for r in rows])
        return status.HTTP_201_CREATED, detail.model_dump(mode="json")

    return await run_idempotent(
        session, request=request, key=key, subject=principal.subject, operation=operation
    )
