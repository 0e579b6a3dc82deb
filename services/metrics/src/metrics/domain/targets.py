"""Target rules: progress, forecast at the deadline, and status. Pure functions.

**Meeting a target.** A value meets a target when ``value <comparison> target`` holds
(``>=``, ``>``, ``<=``, ``<``); no value (no data) never meets it.

**Progress** is ``(value − baseline) / (target − baseline)`` clipped to 0…1: 0 at (or behind)
the baseline, 1 at (or beyond) the target. When target and baseline are equal it is 1 if the
value meets the target, else 0. No value: no progress.

**Forecast** (the value expected on the deadline), evaluated on day T:

1. deadline ≤ T: the value on the deadline (known, not forecast);
2. otherwise a least-squares line through the *daily* values over the window
   ``[max(baseline date, T − window + 1), T]``: the history is a step function (a value holds
   from the day it was recorded to the next record), each day of the window is one point, and
   the line is evaluated on the deadline; it needs at least two days of history in the window,
   at least one of them recorded before T;
3. else (too little history) the straight line from (baseline date, baseline) through
   (T, value); on the baseline day itself, or without a baseline, the value;
4. a cumulative total (a count or sum not restarted by a period) is never forecast below its
   current value; a percentage forecast is clipped to 0…100, any forecast to ≥ 0.

**Status** on day T, in this order:

- ``achieved``: the value meets the target (also after the deadline: a late achievement);
- ``missed``: the deadline has passed (T > deadline) and the value does not meet it;
- ``on_track``: the forecast meets the target;
- ``at_risk``: otherwise (also when there is no value or no forecast).

**Possible targets.** A target value or baseline is never negative, a percentage never above
100, and the deadline lies after the baseline date (:func:`check_target`).

**Domain events.** Setting a target through the API records :class:`TargetCreated`; a
change of a target's status in an area records :class:`TargetStatusChanged` (a first
evaluation records none). ``metrics.adapters.events`` maps them to the published contracts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shared.errors import FieldError, InvalidInput

Status = Literal["achieved", "on_track", "at_risk", "missed"]
Comparison = Literal[">=", ">", "<=", "<"]
STATUSES: tuple[Status, ...] = ("achieved", "on_track", "at_risk", "missed")


def check_target(
    *,
    target_value: float,
    baseline_value: float | None,
    baseline_date: date,
    deadline: date,
    percent: bool,
) -> None:
    """Refuse a target no area can reach or no plan can set: a negative value (every
    indicator counts, sums, divides or averages non-negative figures), a percentage above
    100, a deadline not after the baseline date. Raises InvalidInput naming each field."""
    errors: list[FieldError] = []
    for field, value in (("target_value", target_value), ("baseline_value", baseline_value)):
        if value is None:
            continue
        if value < 0:
            errors.append(FieldError(field, "must not be negative", "negative"))
        elif percent and value > 100:
            errors.append(FieldError(field, "a percentage is at most 100", "above_100_percent"))
    if deadline <= baseline_date:
        errors.append(FieldError("deadline", "must be after baseline_date", "before_baseline"))
    if errors:
        raise InvalidInput(
            "the target is impossible: " + "; ".join(f"{e.field} {e.message}" for e in errors),
            errors=errors,
        )


def meets(value: float | None, comparison: Comparison, target: float) -> bool:
    """Whether ``value`` satisfies ``value <comparison> target``."""
    if value is None:
        return False
    match comparison:
        case ">=":
            return value >= target
        case ">":
            return value > target
        case "<=":
            return value <= target
        case _:
            return value < target


def progress(
    value: float | None, *, baseline: float | None, target: float, comparison: Comparison
) -> float | None:
    """Share of the way from baseline to target, clipped to 0…1."""
    if value is None:
        return None
    if baseline is None or target == baseline:
        return 1.0 if meets(value, comparison, target) else 0.0
    return round(min(1.0, max(0.0, (value - baseline) / (target - baseline))), 6)


@dataclass(frozen=True)
class Point:
    """A recorded value: from ``day`` until the next point."""

    day: date
    value: float


def _segment_sums(start: int, end: int) -> tuple[int, int, int]:
    """Number of integers in [start, end], their sum and the sum of their squares."""
    n = end - start + 1

    def s1(k: int) -> int:
        return k * (k + 1) // 2

    def s2(k: int) -> int:
        return k * (k + 1) * (2 * k + 1) // 6

    low = start - 1
    return n, s1(end) - (s1(low) if low >= 0 else 0), s2(end) - (s2(low) if low >= 0 else 0)


def least_squares(points: Sequence[Point], *, first: date, last: date) -> tuple[float, float]:
    """Slope (per day) and intercept (at ``first``) of the line fitted to the daily values of
    the step function ``points`` on every day of ``[first, last]``.

    ``points`` are sorted by day and the first one is on or before ``first``. Exact: each
    constant stretch contributes closed-form sums instead of one point per day.
    """
    n = sx = sxx = 0
    sy = sxy = 0.0
    for index, point in enumerate(points):
        begin = max(point.day, first)
        stop = points[index + 1].day - timedelta(days=1) if index + 1 < len(points) else last
        stop = min(stop, last)
        if stop < begin:
            continue
        count, xs, xxs = _segment_sums((begin - first).days, (stop - first).days)
        n += count
        sx += xs
        sxx += xxs
        sy += point.value * count
        sxy += point.value * xs
    denominator = n * sxx - sx * sx
    if n == 0:
        raise ValueError("no day of the window has a value")
    if denominator == 0:
        return 0.0, sy / n
    slope = (n * sxy - sx * sy) / denominator
    return slope, (sy - slope * sx) / n


ForecastMethod = Literal["known", "trend", "baseline_line", "current_value"]


@dataclass(frozen=True)
class Forecast:
    """A forecast and the figures it was computed from (the dashboard shows them on hover).

    ``method``: ``known`` (the deadline has passed: the value on the deadline), ``trend``
    (least-squares line through the daily values from ``fitted_from`` to today),
    ``baseline_line`` (the line from the baseline through today's value, ``fitted_from`` the
    baseline date) or ``current_value`` (too little history: the value itself).
    ``slope_per_day`` is the line's slope; ``floored`` says the line fell below today's value
    of a cumulative total and the forecast was raised to it.
    """

    value: float | None
    method: ForecastMethod
    fitted_from: date | None = None
    slope_per_day: float | None = None
    floored: bool = False


def project(
    *,
    history: Sequence[Point],
    today: date,
    value: float | None,
    value_at_deadline: float | None,
    baseline: float | None,
    baseline_date: date,
    deadline: date,
    window_days: int,
    percent: bool,
    cumulative: bool = False,
) -> Forecast:
    """The value expected on the deadline, with the figures used (see the module docstring
    for the rule)."""
    if deadline <= today:
        return Forecast(value_at_deadline, "known")
    if value is None:
        return Forecast(None, "current_value")
    first = max(baseline_date, today - timedelta(days=window_days - 1))
    recorded = sorted((p for p in history if p.day < today), key=lambda p: p.day)
    before = [p for p in recorded if p.day <= first]
    inside = [p for p in recorded if p.day > first]
    series = ([before[-1]] if before else []) + inside + [Point(today, value)]
    start = max(first, series[0].day)
    predicted: float
    result: Forecast
    if start < today and len(series) >= 2:
        slope, intercept = least_squares(series, first=start, last=today)
        predicted = intercept + slope * (deadline - start).days
        result = Forecast(None, "trend", fitted_from=start, slope_per_day=round(slope, 9))
    elif baseline is not None and baseline_date < today:
        slope = (value - baseline) / (today - baseline_date).days
        predicted = value + slope * (deadline - today).days
        result = Forecast(
            None, "baseline_line", fitted_from=baseline_date, slope_per_day=round(slope, 9)
        )
    else:
        predicted = value
        result = Forecast(None, "current_value")
    floored = cumulative and predicted < value
    predicted = max(0.0, value if floored else predicted)
    if percent:
        predicted = min(100.0, predicted)
    return Forecast(
        round(predicted, 6),
        result.method,
        fitted_from=result.fitted_from,
        slope_per_day=result.slope_per_day,
        floored=floored,
    )


def forecast(
    *,
    history: Sequence[Point],
    today: date,
    value: float | None,
    value_at_deadline: float | None,
    baseline: float | None,
    baseline_date: date,
    deadline: date,
    window_days: int,
    percent: bool,
    cumulative: bool = False,
) -> float | None:
    """The value expected on the deadline (:func:`project` without the figures)."""
    return project(
        history=history,
        today=today,
        value=value,
        value_at_deadline=value_at_deadline,
        baseline=baseline,
        baseline_date=baseline_date,
        deadline=deadline,
        window_days=window_days,
        percent=percent,
        cumulative=cumulative,
    ).value


def status(
    *,
    value: float | None,
    forecast_value: float | None,
    target: float,
    comparison: Comparison,
    deadline: date,
    today: date,
) -> Status:
    """The status of a target in an area on ``today``."""
    if meets(value, comparison, target):
        return "achieved"
    if today > deadline:
        return "missed"
    if meets(forecast_value, comparison, target):
        return "on_track"
    return "at_risk"


# -- domain events -----------------------------------------------------------------------


@dataclass(frozen=True)
class TargetCreated:
    """A target was set through the API (the catalogue's targets are not announced)."""

    target_id: str
    name: str
    indicator_id: str
    scope_area_id: str
    comparison: Comparison
    target_value: float
    baseline_value: float | None
    baseline_date: date
    deadline: date
    source_plan: str


@dataclass(frozen=True)
class TargetStatusChanged:
    """A target's status in one area changed on ``evaluated_on``."""

    target_id: str
    indicator_id: str
    area_id: str
    area_level: str
    path: tuple[str, ...]
    previous_status: Status
    status: Status
    value: float | None
    target_value: float
    comparison: Comparison
    progress: float | None
    forecast: float | None
    deadline: date
    evaluated_on: date
