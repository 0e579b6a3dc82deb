"""Events published by the metrics service: plan targets and their status per area.

A target (an indicator, an area scope, a baseline, a target value and a deadline) is evaluated
for its scope and every area below it. Subscribers learn of new targets set through the API
and of every change of a target's status in an area, so departments can react when a district
falls behind or reaches its target. Payloads carry area ids and figures only.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from shared.contracts import CONTRACTS, EventPayload

TargetStatus = Literal["achieved", "on_track", "at_risk", "missed"]
Comparison = Literal[">=", ">", "<=", "<"]
AreaLevel = Literal["city", "district", "county", "street", "township", "community", "village"]


@CONTRACTS.contract(service="metrics", aggregate="target", name="created")
class TargetCreated(EventPayload):
    """Emitted when a target is set through the metrics API (targets shipped in the service's
    catalogue file are not announced). The metrics service rebuilds its targets from these
    events when it replays its projections."""

    target_id: str = Field(description="Id of the target.")
    name: str = Field(description="Short title of the target.")
    indicator_id: str = Field(description="Indicator the target is set on (see GET /indicators).")
    scope_area_id: str = Field(
        description="Area the target applies to; relative indicators (shares, ratios, rates, "
        "averages) hold every area below it to the same bar."
    )
    comparison: Comparison = Field(
        description="How the indicator's value must compare with `target_value`."
    )
    target_value: float = Field(description="Value to reach, in the indicator's unit.")
    baseline_value: float | None = Field(
        description="Value at the baseline date; null: measured from the indicator's history."
    )
    baseline_date: date = Field(description="Start of the plan period.")
    deadline: date = Field(description="Last day by which the target should be met.")
    source_plan: str = Field(description="The plan or document that sets the target.")


@CONTRACTS.contract(service="metrics", aggregate="target", name="status_changed")
class TargetStatusChanged(EventPayload):
    """Emitted when the status of a target in one area changes (for example from `at_risk` to
    `achieved` when facilities registered in a district lift its share above the target). The
    first evaluation of a target in an area records its status without an event. Keyed by the
    target id, so the changes of one target arrive in order."""

    target_id: str = Field(description="The target.")
    indicator_id: str = Field(description="Indicator the target is set on.")
    area_id: str = Field(description="Area whose status changed (the scope or an area below).")
    area_level: AreaLevel = Field(description="Level of that area.")
    path: list[str] = Field(description="Area ids from the city down to the area, inclusive.")
    previous_status: TargetStatus = Field(description="Status before the change.")
    status: TargetStatus = Field(description="Status after the change.")
    value: float | None = Field(
        description="Indicator value in the area on `evaluated_on`; null when it has no data "
        "(e.g. a share of communities in an area without communities)."
    )
    target_value: float = Field(description="Value to reach.")
    comparison: Comparison = Field(description="How the value must compare with the target.")
    progress: float | None = Field(
        description="(value − baseline) / (target − baseline), clipped to 0…1."
    )
    forecast: float | None = Field(
        description="Value expected at the deadline from the trend (after the deadline: the "
        "value on the deadline)."
    )
    deadline: date = Field(description="Deadline of the target.")
    evaluated_on: date = Field(description="Day of the evaluation (the service's time zone).")
