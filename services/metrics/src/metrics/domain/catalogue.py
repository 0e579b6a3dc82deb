"""The indicator and target catalogue: indicators are data, not code per indicator.

An indicator is one of six general kinds, each computed per area on a day from per-area
counts and sums that the projections keep (see :mod:`metrics.domain.measures`):

``count``
    entities present (or facts in a period) matching a filter: libraries opened since 2005;
``sum``
    the sum of numeric attributes over them: volunteer service hours this year;
``ratio``
    one measure over another, times ``scale``, the denominator changing in time: volunteers per
    100 residents;
``rate``
    a ratio of two fact counts in a period: cases closed within their time limit per 100 cases
    closed;
``share``
    communities (current on the day) whose own measure reaches a threshold, per 100 communities:
    communities with ≥ 300 m² of office and public service rooms;
``average``
    the mean of an attribute: community workers' age.

A *measure* names an entity or fact kind (:mod:`metrics.domain.sources`), a filter ``where``
(attribute → value, list of values, or operators ``eq ne in not_in gt gte lt lte contains``)
and either a count (default) or ``sum`` of numeric attributes.

Targets name an indicator, an area scope, a comparison, the value to reach, a baseline and a
deadline. The YAML files are validated when the service starts: an unknown kind, attribute,
operator or indicator stops it with the offending place named.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

Scalar = bool | int | float | date | str
Comparison = Literal[">=", ">", "<=", "<"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")]
PERIOD_PATTERN = re.compile(r"^(year|quarter|month|all|[1-9][0-9]{0,3}d)$")
ABSOLUTE_KINDS = frozenset({"count", "sum"})
"""Kinds whose value is a total for an area; the others are relative (the same bar holds for
every area)."""


class CatalogueError(ValueError):
    """The catalogue files are invalid; the message names every problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Match(_Strict):
    """Conditions on one attribute, all of which must hold."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    gt: Scalar | None = None
    gte: Scalar | None = None
    lt: Scalar | None = None
    lte: Scalar | None = None
    contains: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``kind: library`` means ``eq``; ``kind: [a, b]`` means ``in``."""
        if isinstance(value, list):
            return {"in": value}
        if not isinstance(value, dict):
            return {"eq": value}
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        if not self.conditions():
            raise ValueError("give at least one of eq ne in not_in gt gte lt lte contains")
        return self

    def conditions(self) -> list[tuple[str, Any]]:
        """(operator, value) pairs that are set, in a fixed order."""
        names = ("eq", "ne", "in_", "not_in", "gt", "gte", "lt", "lte", "contains")
        found = []
        for name in names:
            value = getattr(self, name)
            if value is not None:
                found.append((name.rstrip("_"), value))
        return found


class Measure(_Strict):
    """Entities or facts of one kind matching ``where``: counted, or their ``sum``."""

    entity: str = Field(description="Entity or fact kind (see GET /indicators/sources).")
    where: dict[str, Match] = Field(default_factory=dict, description="Attribute filters.")
    sum: list[str] | None = Field(
        default=None, min_length=1, description="Numeric attributes to add up; none: count."
    )


def _check_period(value: str | None) -> str | None:
    if value is not None and not PERIOD_PATTERN.match(value):
        raise ValueError("period is year, quarter, month, all or <n>d (the last n days)")
    return value


class IndicatorBase(_Strict):
    """Fields every indicator has."""

    id: Slug = Field(description="Stable id, used in URLs and targets.")
    name: str = Field(min_length=1, description="Title shown on the dashboard.")
    name_zh: str = Field(
        default="", description="Title in Simplified Chinese (the dashboard's first language)."
    )
    description: str = Field(default="", description="What it measures and why.")
    unit: str = Field(default="", description="Unit of the value; `percent` is 0–100.")
    unit_zh: str = Field(default="", description="Unit in Simplified Chinese (`percent`: none).")
    source: str = Field(default="", description="Where the indicator comes from (seed, plan).")
    period: str | None = Field(
        default=None,
        description="For facts: the period counted up to the evaluation day: `year`, "
        "`quarter`, `month` (calendar, to date), `<n>d` (the last n days) or `all`.",
    )

    _period = field_validator("period")(_check_period)


class CountIndicator(IndicatorBase):
    """Entities (or facts in the period) matching the filter."""

    kind: Literal["count"]
    entity: str
    where: dict[str, Match] = Field(default_factory=dict)


class SumIndicator(IndicatorBase):
    """Sum of numeric attributes over matching entities (or facts in the period)."""

    kind: Literal["sum"]
    entity: str
    where: dict[str, Match] = Field(default_factory=dict)
    sum: list[str] = Field(min_length=1)


class RatioIndicator(IndicatorBase):
    """``scale`` × numerator / denominator."""

    kind: Literal["ratio"]
    numerator: Measure
    denominator: Measure
    scale: float = Field(default=1.0, gt=0)


class RateIndicator(IndicatorBase):
    """``scale`` × numerator facts / denominator facts, both in the period."""

    kind: Literal["rate"]
    numerator: Measure
    denominator: Measure
    scale: float = Field(default=100.0, gt=0)


class PerHouseholds(_Strict):
    """A threshold proportional to a community's registered households."""

    amount: float = Field(gt=0, description="Amount per `households` households.")
    households: int = Field(gt=0, description="Households the amount serves.")


class Threshold(_Strict):
    """What a community's measure must reach: ``max(at_least, amount × households /
    per)``; with ``per_households`` a community whose household count is unknown is not
    assessed (left out of both sides of the share)."""

    at_least: float = Field(default=0.0, ge=0)
    per_households: PerHouseholds | None = None

    @model_validator(mode="after")
    def _something(self) -> Threshold:
        if self.at_least <= 0 and self.per_households is None:
            raise ValueError("give at_least > 0 or per_households")
        return self

    def required(self, households: int | None) -> float | None:
        """The amount a community with ``households`` needs; None if it cannot be assessed."""
        if self.per_households is None:
            return self.at_least
        if households is None:
            return None
        rule = self.per_households
        return round(max(self.at_least, rule.amount * households / rule.households), 2)


class ShareIndicator(IndicatorBase):
    """Communities whose measure reaches the threshold, per 100 assessed communities."""

    kind: Literal["share"]
    measure: Measure
    threshold: Threshold


class AverageIndicator(IndicatorBase):
    """Mean of one attribute over matching entities (or facts in the period)."""

    kind: Literal["average"]
    entity: str
    where: dict[str, Match] = Field(default_factory=dict)
    field: str


IndicatorDef = Annotated[
    CountIndicator
    | SumIndicator
    | RatioIndicator
    | RateIndicator
    | ShareIndicator
    | AverageIndicator,
    Field(discriminator="kind"),
]


class TargetDef(_Strict):
    """A plan target on an indicator for an area and everything below it."""

    id: Slug = Field(description="Stable id of the target.")
    name: str = Field(min_length=1, max_length=200, description="Short title.")
    indicator: Slug = Field(description="Indicator id.")
    scope: str = Field(min_length=1, max_length=32, description="Area id the target is for.")
    comparison: Comparison = Field(default=">=", description="How the value must compare.")
    target: float = Field(allow_inf_nan=False, description="Value to reach.")
    baseline: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Value on the baseline date; null: measured from history per area.",
    )
    baseline_date: date = Field(description="Start of the plan period.")
    deadline: date = Field(description="Last day to meet the target.")
    source_plan: str = Field(min_length=1, max_length=300, description="Plan setting it.")

    @model_validator(mode="after")
    def _dates(self) -> TargetDef:
        if self.deadline <= self.baseline_date:
            raise ValueError("deadline must be after baseline_date")
        return self


class IndicatorFile(_Strict):
    """``indicators.yaml``."""

    indicators: list[IndicatorDef]


class TargetFile(_Strict):
    """``targets.yaml``."""

    targets: list[TargetDef] = Field(default_factory=list)


def default_catalogue_dir() -> Path:
    """The catalogue shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "catalogue"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (8 times faster on the catalogue)."""


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not YAML: {exc}") from exc


def _explain(path: Path, exc: ValidationError) -> CatalogueError:
    lines = [f"{path}: {exc.error_count()} problem(s)"]
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        lines.append(f"  {where}: {error['msg']}")
    return CatalogueError("\n".join(lines))


def read_indicator_file(path: Path) -> list[IndicatorDef]:
    """The indicator definitions in ``path`` (structure validated)."""
    try:
        parsed = IndicatorFile.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _explain(path, exc) from None
    ids = [d.id for d in parsed.indicators]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogueError(f"{path}: indicator ids used twice: {duplicates}")
    return parsed.indicators


def read_target_file(path: Path) -> list[TargetDef]:
    """The target definitions in ``path`` (structure validated); none if the file is absent."""
    if not path.exists():
        return []
    try:
        parsed = TargetFile.model_validate(_read_yaml(path) or {})
    except ValidationError as exc:
        raise _explain(path, exc) from None
    ids = [t.id for t in parsed.targets]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogueError(f"{path}: target ids used twice: {duplicates}")
    return parsed.targets


def period_start(period: str | None, day: date) -> date | None:
    """First day of the period ending on ``day`` (None: from the beginning)."""
    match period:
        case None | "all":
            return None
        case "year":
            return date(day.year, 1, 1)
        case "quarter":
            return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        case "month":
            return date(day.year, day.month, 1)
        case _:
            return day - timedelta(days=int(period[:-1]) - 1)


def is_absolute(definition: IndicatorBase) -> bool:
    """Whether the indicator is a total (count, sum) rather than a relative figure."""
    return getattr(definition, "kind", "") in ABSOLUTE_KINDS


def unique(values: Sequence[str]) -> list[str]:
    """``values`` without repeats, in first-seen order."""
    return list(dict.fromkeys(values))
