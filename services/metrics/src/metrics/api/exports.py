"""CSV export of any table the service keeps (``GET /export/{table}.csv``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from metrics import service
from metrics.api.csv_export import rows_csv
from metrics.api.deps import CatalogueDep, Reader, TrackerDep
from shared.errors import NotFound
from shared.runtime import SessionDep

router = APIRouter(prefix="/export", tags=["export"])


@router.get(
    "/{table}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The table as CSV."}},
)
async def export_table(
    table: Annotated[
        str, Path(description="One of: " + ", ".join(f"`{t}`" for t in service.EXPORTS))
    ],
    session: SessionDep,
    catalogue: CatalogueDep,
    tracker: TrackerDep,
    principal: Reader,
) -> Response:
    """A whole table as CSV, confined to the token's area: areas, indicators, targets (those
    whose scope contains or lies inside the area), target_status (every target's evaluation
    per area) or snapshots (every indicator's value per area on each day it changed)."""
    if table not in service.EXPORTS:
        raise NotFound(f"no exported table {table}; one of {', '.join(service.EXPORTS)}")
    rows = [
        row
        async for row in service.export_rows(
            session, principal=principal, catalogue=catalogue, table=table, today=tracker.today()
        )
    ]
    return rows_csv(rows, filename=table)
