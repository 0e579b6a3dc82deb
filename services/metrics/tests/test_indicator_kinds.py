"""Each indicator kind computed from entity and fact contributions, through the same compiled
measures the projections use, with an in-memory ledger (no I/O)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import pytest
from pydantic import TypeAdapter

from metrics.domain.catalogue import IndicatorDef, IndicatorFile, period_start
from metrics.domain.measures import (
    SCALE,
    CommunityValue,
    Indicator,
    Requirement,
    Value,
    compile_indicator,
)
from metrics.domain.sources import REGISTRY_SOURCES, Source, Sources


class Ledger:
    """Per-day contributions of entities (present from ``start`` to the day before ``end``)
    and facts (on their day), summed like the database does."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, date], int] = defaultdict(int)

    def entity(
        self, indicator: Indicator, attributes: dict[str, Any], start: date, end: date | None = None
    ) -> None:
        for measure in indicator.measures:
            value = measure.contribution(attributes)
            self.rows[(measure.key, start)] += value
            if end is not None:
                self.rows[(measure.key, end)] -= value

    def sums(self, day: date) -> Any:
        def get(requirement: Requirement) -> float:
            total = sum(
                delta
                for (measure, when), delta in self.rows.items()
                if measure == requirement.measure
                and when <= day
                and (requirement.start is None or when >= requirement.start)
            )
            return total / SCALE

        return get


def indicator(definition: dict[str, Any], sources: Sources = REGISTRY_SOURCES) -> Indicator:
    parsed = TypeAdapter(IndicatorDef).validate_python(definition)
    return compile_indicator(sources, parsed, definition["id"])


def test_count_of_entities_matching_a_filter_libraries_opened_since_the_baseline() -> None:
    libraries = indicator(
        {
            "id": "libraries",
            "name": "Libraries",
            "kind": "count",
            "entity": "facility",
            "where": {"kind": "library", "opened_on": {"gte": date(2005, 1, 1)}},
        }
    )
    ledger = Ledger()
    for opened, kind in [
        (date(2004, 6, 1), "library"),  # before the baseline: not counted
        (date(2005, 3, 1), "library"),
        (date(2006, 1, 1), "library"),
        (date(2006, 2, 1), "office"),
    ]:
        ledger.entity(libraries, {"kind": kind, "opened_on": opened}, opened)
    ledger.entity(
        libraries,
        {"kind": "library", "opened_on": date(2005, 5, 1)},
        date(2005, 5, 1),
        date(2006, 5, 1),
    )  # closed later
    assert libraries.compute(date(2005, 12, 31), ledger.sums(date(2005, 12, 31))).value == 2
    assert libraries.compute(date(2006, 3, 1), ledger.sums(date(2006, 3, 1))).value == 3
    assert libraries.compute(date(2006, 6, 1), ledger.sums(date(2006, 6, 1))).value == 2


def test_sum_over_a_period_resets_with_the_calendar_year() -> None:
    hours = indicator(
        {
            "id": "hours",
            "name": "Hours",
            "kind": "sum",
            "entity": "service_hours",
            "sum": ["hours"],
            "period": "year",
        }
    )
    ledger = Ledger()
    for day, amount in [
        (date(2025, 12, 30), 8.0),
        (date(2026, 1, 5), 2.5),
        (date(2026, 3, 1), 4.25),
    ]:
        ledger.entity(hours, {"hours": amount}, day)
    on = date(2026, 3, 31)
    requirement = hours.requirements(on)
    assert requirement == [Requirement(hours.measures[0].key, date(2026, 1, 1))]
    assert hours.compute(on, ledger.sums(on)).value == 6.75
    assert hours.compute(date(2025, 12, 31), ledger.sums(date(2025, 12, 31))).value == 8.0


def test_ratio_with_a_denominator_changing_in_time_volunteer_share() -> None:
    share = indicator(
        {
            "id": "volunteers",
            "name": "Volunteers per 100 residents",
            "kind": "ratio",
            "scale": 100,
            "numerator": {"entity": "volunteer"},
            "denominator": {"entity": "resident"},
        }
    )
    numerator, denominator = share.measures
    ledger = Ledger()
    ledger.rows[(denominator.key, date(2020, 1, 1))] = 50 * SCALE  # 50 residents from 2020
    ledger.rows[(numerator.key, date(2021, 1, 1))] = 11 * SCALE
    ledger.rows[(denominator.key, date(2022, 1, 1))] = 50 * SCALE  # the population doubles
    assert share.compute(date(2020, 6, 1), ledger.sums(date(2020, 6, 1))) == Value(
        0.0, numerator=0.0, denominator=50.0
    )
    assert share.compute(date(2021, 6, 1), ledger.sums(date(2021, 6, 1))).value == 22.0
    assert share.compute(date(2022, 6, 1), ledger.sums(date(2022, 6, 1))).value == 11.0


def test_ratio_without_a_denominator_has_no_value() -> None:
    share = indicator(
        {
            "id": "floating",
            "name": "Floating",
            "kind": "ratio",
            "numerator": {"entity": "resident", "where": {"registration": "floating"}},
            "denominator": {"entity": "resident"},
        }
    )
    assert share.compute(date(2026, 1, 1), Ledger().sums(date(2026, 1, 1))).value is None


CASES = Source(
    "case_closed",
    flow=True,
    attributes={"within_time_limit": "bool", "matter_type": "str", "satisfaction": "float"},
    description="Synthetic casework facts for the test.",
)


def test_rate_over_events_cases_closed_within_their_time_limit() -> None:
    rate = indicator(
        {
            "id": "on_time",
            "name": "Cases closed on time",
            "kind": "rate",
            "period": "month",
            "numerator": {"entity": "case_closed", "where": {"within_time_limit": True}},
            "denominator": {"entity": "case_closed"},
        },
        REGISTRY_SOURCES.with_kind(CASES),
    )
    assert rate.awaiting is None
    ledger = Ledger()
    closed = [
        (date(2026, 2, 27), False),  # last month: outside the period
        (date(2026, 3, 2), True),
        (date(2026, 3, 9), True),
        (date(2026, 3, 16), False),
        (date(2026, 3, 20), True),
        (date(2026, 4, 1), False),  # after the day asked for
    ]
    for day, on_time in closed:
        ledger.entity(rate, {"within_time_limit": on_time, "matter_type": "relief"}, day)
    result = rate.compute(date(2026, 3, 31), ledger.sums(date(2026, 3, 31)))
    assert result == Value(75.0, numerator=3.0, denominator=4.0)


def test_the_shipped_casework_rate_no_longer_waits() -> None:
    rate = indicator(
        {
            "id": "on_time",
            "name": "Cases closed on time",
            "kind": "rate",
            "period": "year",
            "numerator": {"entity": "case_closed", "where": {"within_time_limit": True}},
            "denominator": {"entity": "case_closed"},
        }
    )
    assert rate.awaiting is None
    assert rate.compute(date(2026, 1, 1), Ledger().sums(date(2026, 1, 1))).value is None


def test_rate_needs_facts_on_both_sides() -> None:
    from metrics.domain.catalogue import CatalogueError

    with pytest.raises(CatalogueError, match="a rate divides facts"):
        indicator(
            {
                "id": "bad",
                "name": "Bad",
                "kind": "rate",
                "period": "year",
                "numerator": {"entity": "service_hours"},
                "denominator": {"entity": "resident"},
            }
        )


def test_share_of_communities_meeting_a_threshold_300_m2_edges() -> None:
    share = indicator(
        {
            "id": "rooms",
            "name": "Rooms",
            "kind": "share",
            "measure": {"entity": "facility", "sum": ["room_area.office", "room_area.police"]},
            "threshold": {"at_least": 300},
        }
    )
    facility = {"room_area.office": 250.0, "room_area.police": 50.0, "room_area.library": 999.0}
    assert share.measures[0].contribution(facility) == 300 * SCALE  # the library does not count
    communities = [
        CommunityValue("a", 300.0, 1500),  # exactly the threshold: meets it
        CommunityValue("b", 299.99, 1500),
        CommunityValue("c", 0.0, None),
        CommunityValue("d", 450.0, 1800),
    ]
    assert share.compute(date(2026, 1, 1), lambda r: 0.0, communities) == Value(
        50.0, numerator=2.0, denominator=4.0
    )
    assert share.compute(date(2026, 1, 1), lambda r: 0.0, []).value is None


def test_share_with_a_threshold_per_households_leaves_unknown_households_out() -> None:
    share = indicator(
        {
            "id": "service_rooms",
            "name": "Service rooms",
            "kind": "share",
            "measure": {"entity": "facility", "sum": ["room_area.community_service"]},
            "threshold": {"per_households": {"amount": 25, "households": 150}},
        }
    )
    communities = [
        CommunityValue("a", 250.0, 1500),  # needs 250: meets
        CommunityValue("b", 249.99, 1500),  # does not
        CommunityValue("c", 1.0, None),  # household count unknown: not assessed
        CommunityValue("d", 0.0, 0),  # no households: needs nothing
    ]
    result = share.compute(date(2026, 1, 1), lambda r: 0.0, communities)
    assert result == Value(pytest.approx(66.666667), numerator=2.0, denominator=3.0)


def test_average_age_grows_with_the_calendar() -> None:
    age = indicator(
        {"id": "age", "name": "Age", "kind": "average", "entity": "worker", "field": "age"}
    )
    total, _count = age.measures
    assert total.fields == ("birth_year",)
    ledger = Ledger()
    for born in (1980, 1990, 1985):
        ledger.entity(age, {"birth_year": born, "role": "officer"}, date(2010, 1, 1))
    assert age.compute(date(2020, 6, 1), ledger.sums(date(2020, 6, 1))).value == 35.0
    assert age.compute(date(2023, 6, 1), ledger.sums(date(2023, 6, 1))).value == 38.0
    assert age.compute(date(2009, 6, 1), ledger.sums(date(2009, 6, 1))).value is None


def test_average_of_a_plain_attribute() -> None:
    members = indicator(
        {
            "id": "members",
            "name": "Members",
            "kind": "average",
            "entity": "organisation",
            "field": "member_count",
        }
    )
    ledger = Ledger()
    for n in (10, 20, 36):
        ledger.entity(members, {"member_count": n, "kind": "culture"}, date(2020, 1, 1))
    assert members.compute(date(2021, 1, 1), ledger.sums(date(2021, 1, 1))).value == 22.0


@pytest.mark.parametrize(
    ("period", "day", "start"),
    [
        ("year", date(2026, 11, 22), date(2026, 1, 1)),
        ("quarter", date(2026, 11, 22), date(2026, 10, 1)),
        ("month", date(2026, 11, 22), date(2026, 11, 1)),
        ("30d", date(2026, 11, 22), date(2026, 10, 24)),
        ("all", date(2026, 11, 22), None),
    ],
)
def test_period_start(period: str, day: date, start: date | None) -> None:
    assert period_start(period, day) == start


def test_the_same_measure_in_two_indicators_is_kept_once() -> None:
    parsed = IndicatorFile.model_validate(
        {
            "indicators": [
                {"id": "a", "name": "A", "kind": "count", "entity": "resident"},
                {
                    "id": "b",
                    "name": "B",
                    "kind": "ratio",
                    "numerator": {"entity": "volunteer"},
                    "denominator": {"entity": "resident"},
                },
            ]
        }
    )
    a, b = (compile_indicator(REGISTRY_SOURCES, d, d.id) for d in parsed.indicators)
    assert a.measures[0].key == b.measures[1].key
