"""The catalogue is data validated at start-up: the shipped one loads, mistakes are named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from metrics.bootstrap import load_catalogue
from metrics.domain.catalogue import CatalogueError
from metrics.settings import Settings


def test_the_shipped_catalogue_is_valid_and_tracks_the_jincheng_plan() -> None:
    catalogue = load_catalogue(Settings())
    kinds = {i.kind for i in catalogue.indicators.values()}
    assert kinds == {"count", "sum", "ratio", "rate", "share", "average"}
    targets = {t.id: t for t in catalogue.targets}
    rooms = targets["jincheng-office-rooms-300"]
    assert (rooms.indicator, rooms.scope, rooms.comparison, rooms.target) == (
        "office_service_rooms_300",
        "140500",
        ">=",
        80,
    )
    assert targets["jincheng-culture-sports"].comparison == ">"
    assert targets["jincheng-volunteers-22"].target == 22
    assert catalogue.indicators["cases_closed_on_time"].awaiting is None  # casework publishes
    share = catalogue.indicators["office_service_rooms_300"]
    fields = set(share.measures[0].fields)
    assert "room_area.office" in fields
    assert "room_area.library" not in fields


def write(tmp_path: Path, indicators: str, targets: str = "targets: []\n") -> Settings:
    (tmp_path / "indicators.yaml").write_text(indicators)
    (tmp_path / "targets.yaml").write_text(targets)
    return Settings(catalogue_dir=str(tmp_path))


@pytest.mark.parametrize(
    ("indicators", "message"),
    [
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: facility, "
            "where: {colour: red}}\n",
            "facility has no attribute colour",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: spaceship}\n",
            "unknown kind 'spaceship'",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: facility, "
            "where: {kind: {gte: library}}}\n",
            "gte needs a number or a date",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: service_hours}\n",
            "facts are counted over a period",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: resident, period: year}\n",
            "only indicators on facts take a period",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: facility, "
            "where: {age: {gte: 60}}}\n",
            "facility has no attribute age",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: employment_change, "
            "period: year, where: {age: {gte: 60}}}\n",
            "employment_change has no attribute age",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: sum, entity: resident, sum: [sex]}\n",
            "sex is not a numeric attribute",
        ),
        (
            "indicators:\n- {id: a, name: A, kind: share, measure: {entity: facility}, "
            "threshold: {}}\n",
            "give at_least > 0 or per_households",
        ),
        ("indicators:\n- {id: a, name: A, kind: median, entity: resident}\n", "kind"),
        (
            "indicators:\n- {id: a, name: A, kind: count, entity: facility, "
            "where: {opened_on: {gte: yesterday}}}\n",
            "'yesterday' is not a date",
        ),
    ],
)
def test_invalid_indicators_are_refused_naming_the_problem(
    tmp_path: Path, indicators: str, message: str
) -> None:
    with pytest.raises(CatalogueError, match=message):
        load_catalogue(write(tmp_path, indicators))


def test_a_target_on_an_unknown_indicator_is_refused(tmp_path: Path) -> None:
    settings = write(
        tmp_path,
        "indicators:\n- {id: a, name: A, kind: count, entity: resident}\n",
        "targets:\n- {id: t, name: T, indicator: b, scope: '1', target: 1, "
        "baseline_date: 2020-01-01, deadline: 2021-01-01, source_plan: P}\n",
    )
    with pytest.raises(CatalogueError, match="no indicator b"):
        load_catalogue(settings)


def test_a_target_whose_deadline_precedes_its_baseline_is_refused(tmp_path: Path) -> None:
    settings = write(
        tmp_path,
        "indicators:\n- {id: a, name: A, kind: count, entity: resident}\n",
        "targets:\n- {id: t, name: T, indicator: a, scope: '1', target: 1, "
        "baseline_date: 2020-01-01, deadline: 2019-01-01, source_plan: P}\n",
    )
    with pytest.raises(CatalogueError, match="deadline must be after baseline_date"):
        load_catalogue(settings)


def test_duplicate_indicator_ids_are_refused(tmp_path: Path) -> None:
    settings = write(
        tmp_path,
        "indicators:\n- {id: a, name: A, kind: count, entity: resident}\n"
        "- {id: a, name: B, kind: count, entity: household}\n",
    )
    with pytest.raises(CatalogueError, match="used twice"):
        load_catalogue(settings)


def test_every_plan_target_is_also_restated_for_the_current_plan_period() -> None:
    targets = {t.id: t for t in load_catalogue(Settings()).targets}
    historic = [t for t in targets.values() if t.deadline.year == 2007]
    assert historic
    for old in historic:
        (new,) = [t for t in targets.values() if t.id.startswith(f"{old.id}-by-")]
        assert (new.indicator, new.scope, new.comparison, new.target) == (
            old.indicator,
            old.scope,
            old.comparison,
            old.target,
        )
        assert new.baseline_date == date(2026, 1, 1)
        assert new.deadline in (date(2028, 12, 31), date(2030, 12, 31))
