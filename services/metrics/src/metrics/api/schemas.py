"""Request and response bodies of the metrics API."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from metrics.adapters.tables import AreaProjection, TargetRow, TargetStatusRow
from metrics.domain.measures import Indicator
from metrics.targets_service import TargetDetail
from shared.inputs import Day, Text
from shared.paths import path_ids

Status = Literal["achieved", "on_track", "at_risk", "missed"]
Comparison = Literal[">=", ">", "<=", "<"]


class AreaOut(BaseModel):
    """An area as the registry published it."""

    area_id: str
    name: str
    level: str = Field(description="city, district, street or community.")
    path: list[str] = Field(description="Area ids from the city down to this area.")
    parent_id: str | None
    kind: str | None = Field(description="Kind of a community.")
    household_count: int | None = Field(description="Households registered with a community.")
    valid_from: date | None
    valid_to: date | None = Field(description="Last day of a retired area; null if current.")
    successor_ids: list[str] = Field(description="Areas that took over a retired area.")
    predecessor_ids: list[str] = Field(description="Areas a merged or split one came from.")

    @classmethod
    def of(cls, area: AreaProjection, predecessors: list[str] | None = None) -> AreaOut:
        """The API view of a projected area."""
        return cls(
            area_id=area.area_id,
            name=area.name,
            level=area.level,
            path=area.ids,
            parent_id=area.parent_id,
            kind=area.kind,
            household_count=area.household_count,
            valid_from=area.valid_from,
            valid_to=area.valid_to,
            successor_ids=json.loads(area.successor_ids) if area.successor_ids else [],
            predecessor_ids=predecessors or [],
        )


class AreaCounts(BaseModel):
    """How many current areas of each level lie in an area's subtree (itself included)."""

    area_id: str
    counts: dict[str, int] = Field(description="Level → number of areas.")


class AreaStatusOut(BaseModel):
    """A target's evaluation in one area."""

    target_id: str
    area_id: str
    level: str
    path: list[str]
    value: float | None = Field(description="Indicator value today; null without data.")
    baseline: float | None = Field(description="Baseline of this area.")
    progress: float | None = Field(description="(value − baseline)/(target − baseline), 0…1.")
    forecast: float | None = Field(description="Value expected at the deadline.")
    forecast_method: Literal["known", "trend", "baseline_line", "current_value"] | None = Field(
        default=None,
        description="How the forecast was made: `known` (deadline passed: the value on it), "
        "`trend` (least-squares line through the daily values since `forecast_from`), "
        "`baseline_line` (line from the baseline through today's value), `current_value` "
        "(too little history: the value itself).",
    )
    forecast_from: date | None = Field(
        default=None, description="First day of the values the forecast's line was fitted to."
    )
    forecast_slope: float | None = Field(
        default=None, description="Slope of the forecast's line, in the value's unit per day."
    )
    status: Status | None = Field(
        description="Null for an area below the scope of a total (count, sum) target: it only "
        "contributes to the scope's total."
    )
    status_since: date | None = Field(description="Day the status last changed.")
    evaluated_on: date

    @classmethod
    def of(cls, row: TargetStatusRow) -> AreaStatusOut:
        """The API view of a stored evaluation."""
        return cls(
            target_id=row.target_id,
            area_id=row.area_id,
            level=row.level,
            path=path_ids(row.path),
            value=row.value,
            baseline=row.baseline,
            progress=row.progress,
            forecast=row.forecast,
            forecast_method=row.forecast_method,
            forecast_from=row.forecast_from,
            forecast_slope=row.forecast_slope,
            status=row.status,
            status_since=row.status_since,
            evaluated_on=row.evaluated_on,
        )


class TargetIn(BaseModel):
    """A target to set."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$",
        description="Id to give it (lower-case letters, digits, `_.-`); default: generated.",
    )
    name: Text = Field(min_length=1, max_length=200, description="Short title.")
    indicator_id: Text = Field(min_length=1, max_length=80, description="Indicator id.")
    scope_area_id: Text = Field(min_length=1, max_length=32, description="Area it is for.")
    comparison: Comparison = Field(default=">=", description="How the value must compare.")
    target_value: float = Field(allow_inf_nan=False, description="Value to reach.")
    baseline_value: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Value on the baseline date; null: measured per area from history.",
    )
    baseline_date: Day = Field(description="Start of the plan period.")
    deadline: Day = Field(description="Last day to meet the target.")
    source_plan: Text = Field(min_length=1, max_length=300, description="Plan setting it.")


class TargetOut(BaseModel):
    """A target, with its evaluation in the area asked for (or its scope)."""

    id: str
    name: str
    indicator_id: str
    indicator_name: str
    indicator_name_zh: str = Field(
        description="The indicator's title in Simplified Chinese (its English one if none)."
    )
    unit: str
    unit_zh: str = Field(description="The unit in Simplified Chinese (its English one if none).")
    absolute: bool = Field(
        description="A total (count, sum) for the scope; otherwise every area below the scope "
        "is held to the same bar."
    )
    scope_area_id: str
    scope_name: str | None
    comparison: Comparison
    target_value: float
    baseline_value: float | None
    baseline_date: date
    deadline: date
    source_plan: str
    origin: Literal["catalogue", "api"]
    evaluation: AreaStatusOut | None = Field(
        description="Evaluation in the area asked for (`?area=`) if it lies in the scope, else "
        "in the scope."
    )

    @classmethod
    def of(
        cls,
        row: TargetRow,
        *,
        indicator: Indicator | None,
        scope: AreaProjection | None,
        evaluation: TargetStatusRow | None,
    ) -> TargetOut:
        """The API view of a target."""
        return cls(
            id=row.id,
            name=row.name,
            indicator_id=row.indicator_id,
            indicator_name=indicator.definition.name if indicator else row.indicator_id,
            indicator_name_zh=(
                (indicator.definition.name_zh or indicator.definition.name)
                if indicator
                else row.indicator_id
            ),
            unit=indicator.definition.unit if indicator else "",
            unit_zh=(indicator.definition.unit_zh or indicator.definition.unit)
            if indicator
            else "",
            absolute=indicator.absolute if indicator else False,
            scope_area_id=row.scope_area_id,
            scope_name=scope.name if scope else None,
            comparison=row.comparison,
            target_value=row.target_value,
            baseline_value=row.baseline_value,
            baseline_date=row.baseline_date,
            deadline=row.deadline,
            source_plan=row.source_plan,
            origin=row.origin,
            evaluation=AreaStatusOut.of(evaluation) if evaluation else None,
        )


class TargetDetailOut(TargetOut):
    """A target with its evaluation in every area asked for."""

    areas: list[AreaStatusOut] = Field(description="Evaluation per area, by path.")

    @classmethod
    def of_detail(cls, detail: TargetDetail) -> TargetDetailOut:
        """The API view of a target with its evaluations (its own: the scope's, if listed)."""
        target = detail.target
        own = next((r for r in detail.statuses if r.area_id == target.scope_area_id), None)
        base = TargetOut.of(target, indicator=detail.indicator, scope=detail.scope, evaluation=own)
        return cls(**base.model_dump(), areas=[AreaStatusOut.of(r) for r in detail.statuses])


class IndicatorOut(BaseModel):
    """An indicator of the catalogue."""

    id: str
    name: str
    name_zh: str = Field(description="Title in Simplified Chinese (the English one if none).")
    kind: Literal["count", "sum", "ratio", "rate", "share", "average"]
    unit: str
    unit_zh: str = Field(description="Unit in Simplified Chinese (the English one if none).")
    description: str
    source: str
    period: str | None = Field(description="Period counted for facts (year, month, 30d …).")
    awaiting_source: str | None = Field(
        description="Set when the events it needs are not published yet: its value is null."
    )
    definition: dict[str, Any] = Field(description="The catalogue entry, as data.")
    target_ids: list[str] = Field(description="Targets set on this indicator.")

    @classmethod
    def of(cls, indicator: Indicator, target_ids: list[str]) -> IndicatorOut:
        """The API view of a compiled indicator."""
        d = indicator.definition
        return cls(
            id=d.id,
            name=d.name,
            name_zh=d.name_zh or d.name,
            kind=d.kind,
            unit=d.unit,
            unit_zh=d.unit_zh or d.unit,
            description=d.description,
            source=d.source,
            period=d.period,
            awaiting_source=indicator.awaiting,
            definition=d.model_dump(mode="json", by_alias=True, exclude_none=True),
            target_ids=target_ids,
        )


class IndicatorValueOut(BaseModel):
    """An indicator's value in one area on a day."""

    indicator_id: str
    area_id: str
    area_name: str
    level: str
    as_of: date
    value: float | None = Field(description="Null without data (e.g. nothing to divide by).")
    numerator: float | None = Field(description="Numerator (count, meeting communities …).")
    denominator: float | None = Field(description="Denominator, where the kind has one.")


class HistoryPoint(BaseModel):
    """A recorded value, holding from ``day`` until the next point."""

    day: date
    value: float | None


class HistoryOut(BaseModel):
    """The daily history of an indicator in an area."""

    indicator_id: str
    area_id: str
    start: date = Field(alias="from", description="First day asked for.")
    end: date = Field(alias="to", description="Last day asked for.")
    points: list[HistoryPoint]

    model_config = ConfigDict(populate_by_name=True)


class ChildTargetOut(BaseModel):
    """A target's evaluation in a child area (for the drill-down)."""

    target_id: str
    value: float | None
    progress: float | None
    forecast: float | None
    status: Status | None


class ChildOut(BaseModel):
    """A child area with every target's evaluation in it."""

    area: AreaOut
    targets: list[ChildTargetOut]


class ChildrenOut(BaseModel):
    """An area and its children, for a drill-down."""

    area: AreaOut
    children: list[ChildOut]


class StateOut(BaseModel):
    """How far the projections are; the dashboard polls it to refresh when it changes."""

    revision: int = Field(description="Grows with every applied event and every new target.")
    events_applied: int
    last_event_time: datetime | None
    today: date = Field(description="Today in the service's time zone.")
    timezone: str
