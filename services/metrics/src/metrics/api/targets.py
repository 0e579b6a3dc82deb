"""Routes for plan targets: list, detail with the evaluation per area, and creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse, Response

from metrics import service, targets_service
from metrics.api.csv_export import columns_of, csv_response
from metrics.api.deps import CatalogueDep, Format, Reader, TrackerDep, WriteCommand
from metrics.api.schemas import AreaStatusOut, TargetDetailOut, TargetIn, TargetOut
from shared.inputs import Text
from shared.runtime import SessionDep

router = APIRouter(prefix="/targets", tags=["targets"])

AreaQuery = Annotated[
    Text | None,
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
        Text | None, Query(max_length=32, description="Only this area's subtree.")
    ] = None,
    format_: Format = "json",
) -> TargetDetailOut | Response:
    """A target with its value, progress, forecast and status in every area of its scope
    (inside the token's area), by path."""
    detail = await targets_service.target_detail(
        session,
        principal=principal,
        catalogue=catalogue,
        target_id=target_id,
        level=level,
        parent_id=parent,
    )
    if format_ == "csv":
        return csv_response(
            [AreaStatusOut.of(row) for row in detail.statuses],
            filename=f"target-{target_id}",
            columns=columns_of(AreaStatusOut),
        )
    return TargetDetailOut.of_detail(detail)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TargetDetailOut)
async def create_target(
    body: TargetIn, catalogue: CatalogueDep, tracker: TrackerDep, command: WriteCommand
) -> JSONResponse:
    """Set a target (publishes ``metrics.target.created``); it is evaluated at once in every
    current area of its scope. 422 for an unknown indicator or area, 409 for a taken id."""
    return await command.run(
        targets_service.create_target,
        TargetDetailOut.of_detail,
        status=status.HTTP_201_CREATED,
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
