"""Routes for indicators: the catalogue, values per area on a day, and daily history."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from metrics import service
from metrics.api.csv_export import columns_of, csv_response
from metrics.api.deps import CatalogueDep, Format, Reader, TrackerDep
from metrics.api.schemas import HistoryOut, HistoryPoint, IndicatorOut, IndicatorValueOut
from shared.errors import FieldError, InvalidInput
from shared.inputs import Day, Text
from shared.runtime import SessionDep

router = APIRouter(prefix="/indicators", tags=["indicators"])

AreaParam = Annotated[Text, Query(min_length=1, max_length=32, description="Area id.")]


@router.get("", response_model=list[IndicatorOut])
async def list_indicators(
    session: SessionDep, catalogue: CatalogueDep, _principal: Reader, format_: Format = "json"
) -> list[IndicatorOut] | Response:
    """Every indicator of the catalogue, with its definition as data."""
    targets = await service.target_ids_by_indicator(session)
    items = [IndicatorOut.of(i, targets.get(i.id, [])) for i in catalogue.indicators.values()]
    if format_ == "csv":
        return csv_response(items, filename="indicators", columns=columns_of(IndicatorOut))
    return items


@router.get("/{indicator_id}", response_model=IndicatorOut)
async def get_indicator(
    indicator_id: str, session: SessionDep, catalogue: CatalogueDep, _principal: Reader
) -> IndicatorOut:
    """One indicator."""
    indicator = service.indicator_or_404(catalogue, indicator_id)
    targets = await service.target_ids_by_indicator(session)
    return IndicatorOut.of(indicator, targets.get(indicator.id, []))


@router.get("/{indicator_id}/values", response_model=list[IndicatorValueOut])
async def indicator_values(
    indicator_id: str,
    session: SessionDep,
    catalogue: CatalogueDep,
    tracker: TrackerDep,
    principal: Reader,
    area: AreaParam,
    as_of: Annotated[Day | None, Query(description="Day of the answer; default today.")] = None,
    format_: Format = "json",
) -> list[IndicatorValueOut] | Response:
    """The value in ``area`` and each of its child areas on ``as_of``."""
    day = as_of or tracker.today()
    values = await service.indicator_values(
        session,
        principal=principal,
        catalogue=catalogue,
        indicator_id=indicator_id,
        area_id=area,
        as_of=day,
    )
    items = [
        IndicatorValueOut(
            indicator_id=indicator_id,
            area_id=v.area.area_id,
            area_name=v.area.name,
            level=v.area.level,
            as_of=day,
            value=v.value.value,
            numerator=v.value.numerator,
            denominator=v.value.denominator,
        )
        for v in values
    ]
    if format_ == "csv":
        return csv_response(
            items, filename=f"{indicator_id}-{area}", columns=columns_of(IndicatorValueOut)
        )
    return items


@router.get("/{indicator_id}/history", response_model=HistoryOut)
async def indicator_history(
    indicator_id: str,
    session: SessionDep,
    catalogue: CatalogueDep,
    tracker: TrackerDep,
    principal: Reader,
    area: AreaParam,
    start: Annotated[
        Day | None, Query(alias="from", description="First day; default a year before `to`.")
    ] = None,
    end: Annotated[Day | None, Query(alias="to", description="Last day; default today.")] = None,
    format_: Format = "json",
) -> HistoryOut | Response:
    """The daily values recorded from ``from`` to ``to`` (a value holds until the next)."""
    last = end or tracker.today()
    first = start or last - timedelta(days=365)
    if first > last:
        raise InvalidInput(
            "from is after to", errors=[FieldError("from", "must not be after `to`")]
        )
    points = await service.indicator_history(
        session,
        principal=principal,
        catalogue=catalogue,
        indicator_id=indicator_id,
        area_id=area,
        start=first,
        end=last,
    )
    out = HistoryOut(
        indicator_id=indicator_id,
        area_id=area,
        start=first,
        end=last,
        points=[HistoryPoint(day=day, value=value) for day, value in points],
    )
    if format_ == "csv":
        return csv_response(
            out.points, filename=f"{indicator_id}-{area}-history", columns=["day", "value"]
        )
    return out
