"""The target rules, edge by edge: meeting, progress, the least-squares forecast and its
fallback, and the four statuses."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from metrics.domain import targets as rules
from metrics.domain.targets import Point, forecast, least_squares, meets, progress, status
from shared.errors import InvalidInput

TODAY = date(2026, 6, 1)


@pytest.mark.parametrize(
    ("value", "comparison", "target", "expected"),
    [
        (80.0, ">=", 80.0, True),
        (79.999, ">=", 80.0, False),
        (90.0, ">", 90.0, False),
        (90.01, ">", 90.0, True),
        (38.0, "<=", 38.0, True),
        (38.0, "<", 38.0, False),
        (None, ">=", 0.0, False),
    ],
)
def test_meets(value: float | None, comparison: str, target: float, expected: bool) -> None:
    assert meets(value, comparison, target) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "baseline", "target", "comparison", "expected"),
    [
        (50.0, 20.0, 80.0, ">=", 0.5),
        (20.0, 20.0, 80.0, ">=", 0.0),
        (10.0, 20.0, 80.0, ">=", 0.0),  # behind the baseline: clipped to 0
        (95.0, 20.0, 80.0, ">=", 1.0),  # beyond the target: clipped to 1
        (40.0, 45.0, 35.0, "<=", 0.5),  # a decreasing target (average age)
        (80.0, 80.0, 80.0, ">=", 1.0),  # baseline = target, met
        (79.0, 79.0, 80.0, ">=", 0.0),
        (None, 20.0, 80.0, ">=", None),
        (5.0, None, 80.0, ">=", 0.0),  # no baseline known: all or nothing
    ],
)
def test_progress(
    value: float | None,
    baseline: float | None,
    target: float,
    comparison: str,
    expected: float | None,
) -> None:
    assert progress(value, baseline=baseline, target=target, comparison=comparison) == expected  # type: ignore[arg-type]


def test_least_squares_of_a_daily_linear_series_is_exact() -> None:
    first = date(2026, 1, 1)
    points = [Point(first + timedelta(days=d), 10.0 + 0.5 * d) for d in range(30)]
    slope, intercept = least_squares(points, first=first, last=first + timedelta(days=29))
    assert slope == pytest.approx(0.5)
    assert intercept == pytest.approx(10.0)


def test_least_squares_weighs_every_day_of_a_step_function() -> None:
    # 0 for 10 days, then 10 for 10 days: the same fit as the 20 daily points
    first = date(2026, 1, 1)
    steps = [Point(first, 0.0), Point(first + timedelta(days=10), 10.0)]
    daily = [Point(first + timedelta(days=d), 0.0 if d < 10 else 10.0) for d in range(20)]
    last = first + timedelta(days=19)
    assert least_squares(steps, first=first, last=last) == pytest.approx(
        least_squares(daily, first=first, last=last)
    )


def _forecast(**overrides: object) -> float | None:
    arguments: dict[str, object] = {
        "history": [],
        "today": TODAY,
        "value": 50.0,
        "value_at_deadline": None,
        "baseline": 20.0,
        "baseline_date": date(2026, 1, 1),
        "deadline": date(2026, 12, 31),
        "window_days": 365,
        "percent": True,
    }
    arguments.update(overrides)
    return forecast(**arguments)  # type: ignore[arg-type]


def test_forecast_fits_the_daily_history_of_the_window() -> None:
    first = TODAY - timedelta(days=99)
    history = [Point(first + timedelta(days=d), 20.0 + 0.2 * d) for d in range(99)]
    value = 20.0 + 0.2 * 99
    deadline = TODAY + timedelta(days=50)
    assert _forecast(
        history=history, value=value, deadline=deadline, baseline_date=first
    ) == pytest.approx(value + 0.2 * 50)


def test_forecast_ignores_history_before_the_window() -> None:
    # flat inside the 30-day window, whatever happened before it
    history = [Point(date(2026, 1, 1), 0.0), Point(TODAY - timedelta(days=40), 60.0)]
    assert _forecast(history=history, value=60.0, window_days=30) == pytest.approx(60.0)


def test_forecast_falls_back_to_the_baseline_trend_without_history() -> None:
    # baseline 20 on 1 Jan, 50 on 1 Jun (151 days): +30/151 a day for 213 more days
    expected = 50.0 + 30.0 / 151 * 213
    assert _forecast() == pytest.approx(min(100.0, expected))


def test_forecast_is_clipped_to_a_percentage_and_to_zero() -> None:
    assert _forecast(value=90.0, baseline=0.0) == 100.0
    assert _forecast(value=5.0, baseline=90.0, percent=False) == 0.0


def test_forecast_after_the_deadline_is_the_value_on_the_deadline() -> None:
    assert _forecast(deadline=TODAY - timedelta(days=1), value_at_deadline=42.0) == 42.0
    assert _forecast(deadline=TODAY, value_at_deadline=43.0) == 43.0


def test_forecast_without_a_value_is_none_and_on_the_baseline_day_is_the_value() -> None:
    assert _forecast(value=None) is None
    assert _forecast(baseline_date=TODAY, history=[]) == 50.0
    assert _forecast(baseline=None) == 50.0  # no baseline, no history: no trend


@pytest.mark.parametrize(
    ("value", "forecast_value", "deadline", "expected"),
    [
        (80.0, 80.0, TODAY + timedelta(days=10), "achieved"),  # exactly on the target
        (80.0, None, TODAY - timedelta(days=10), "achieved"),  # late, but achieved
        (79.9, 85.0, TODAY, "on_track"),  # the deadline day still counts
        (79.9, 80.0, TODAY + timedelta(days=1), "on_track"),  # forecast exactly on target
        (79.9, 79.9, TODAY + timedelta(days=1), "at_risk"),
        (None, None, TODAY + timedelta(days=1), "at_risk"),  # no data yet
        (79.9, 79.9, TODAY - timedelta(days=1), "missed"),
        (None, None, TODAY - timedelta(days=1), "missed"),
    ],
)
def test_status_edges(
    value: float | None, forecast_value: float | None, deadline: date, expected: str
) -> None:
    assert (
        status(
            value=value,
            forecast_value=forecast_value,
            target=80.0,
            comparison=">=",
            deadline=deadline,
            today=TODAY,
        )
        == expected
    )


def test_status_with_a_strict_comparison_and_a_decreasing_target() -> None:
    kwargs = {"deadline": TODAY + timedelta(days=30), "today": TODAY}
    assert status(value=90.0, forecast_value=95.0, target=90.0, comparison=">", **kwargs) == (
        "on_track"
    )
    assert status(value=90.0, forecast_value=90.0, target=90.0, comparison=">", **kwargs) == (
        "at_risk"
    )
    assert status(value=37.5, forecast_value=None, target=38.0, comparison="<=", **kwargs) == (
        "achieved"
    )


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"target_value": 100.5}, ["target_value"]),
        ({"target_value": -1.0}, ["target_value"]),
        ({"baseline_value": 101.0}, ["baseline_value"]),
        ({"deadline": date(2026, 1, 1)}, ["deadline"]),
        ({"deadline": date(2025, 1, 1), "target_value": 200.0}, ["target_value", "deadline"]),
        ({"percent": False, "target_value": 500.0, "baseline_value": -2.0}, ["baseline_value"]),
    ],
)
def test_impossible_targets_are_refused_naming_each_field(
    changes: dict[str, object], fields: list[str]
) -> None:
    arguments: dict[str, object] = {
        "target_value": 80.0,
        "baseline_value": 10.0,
        "baseline_date": date(2026, 1, 1),
        "deadline": date(2027, 12, 31),
        "percent": True,
        **changes,
    }
    with pytest.raises(InvalidInput) as refused:
        rules.check_target(**arguments)  # type: ignore[arg-type]
    assert [e.field for e in refused.value.errors] == fields


def test_possible_targets_pass() -> None:
    rules.check_target(
        target_value=100.0,
        baseline_value=None,
        baseline_date=date(2026, 1, 1),
        deadline=date(2026, 1, 2),
        percent=True,
    )
    rules.check_target(
        target_value=5000.0,
        baseline_value=0.0,
        baseline_date=date(2026, 1, 1),
        deadline=date(2030, 12, 31),
        percent=False,
    )


def test_a_cumulative_total_is_never_forecast_below_its_value() -> None:
    falling = [Point(date(2026, 1, 1), 10.0), Point(date(2026, 6, 1), 8.0)]
    common = {
        "history": falling,
        "today": date(2026, 11, 1),
        "value": 7.0,
        "value_at_deadline": None,
        "baseline": 10.0,
        "baseline_date": date(2026, 1, 1),
        "deadline": date(2027, 12, 31),
        "window_days": 365,
        "percent": False,
    }
    projected = rules.project(**common, cumulative=True)  # type: ignore[arg-type]
    assert projected.value == 7.0
    assert projected.floored
    assert projected.method == "trend"
    assert projected.fitted_from == date(2026, 1, 1)
    assert projected.slope_per_day is not None
    assert projected.slope_per_day < 0
    free = rules.project(**common, cumulative=False)  # type: ignore[arg-type]
    assert free.value is not None
    assert free.value < 7.0
    assert not free.floored


def test_forecast_methods_name_the_figures_used() -> None:
    base = {
        "today": date(2026, 11, 1),
        "value": 40.0,
        "baseline": 20.0,
        "baseline_date": date(2026, 1, 1),
        "deadline": date(2027, 12, 31),
        "window_days": 365,
        "percent": True,
    }
    known = rules.project(
        history=[],
        value_at_deadline=33.0,
        **{**base, "deadline": date(2026, 10, 1)},  # type: ignore[arg-type]
    )
    assert (known.method, known.value) == ("known", 33.0)
    line = rules.project(history=[], value_at_deadline=None, **base)  # type: ignore[arg-type]
    assert line.method == "baseline_line"
    assert line.fitted_from == date(2026, 1, 1)
    assert line.slope_per_day == pytest.approx(20.0 / 304, rel=1e-6)
