"""The synthetic city's plan: deterministic, shaped like the documents' cities, valid rows."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from datetime import date

import pytest

from shared.city.feed import ndjson_chunks
from shared.city.plan import (
    PERIOD_START,
    SIZES,
    NationalIds,
    check_character,
    draw_city,
    draw_community,
    iter_city,
    office_groups,
)

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 30)


def _rows(seed: int) -> list[dict[str, object]]:
    plan = draw_city(SIZES["small"], seed=seed, today=TODAY)
    return [row for _, drawn in iter_city(plan) for row in drawn.rows]


def test_the_same_seed_draws_the_same_city_and_another_seed_another() -> None:
    assert _rows(7) == _rows(7)
    assert _rows(7) != _rows(8)


def test_the_city_sizes_have_the_documents_shape() -> None:
    city = draw_city(SIZES["city"], seed=1, today=TODAY)
    assert len(city.communities) == 1043  # Shenyang (seed 000)
    households = sum(c.households for c in city.communities)
    assert 1_900_000 < households < 2_100_000
    assert all(1500 <= c.households <= 2300 for c in city.communities)
    assert {c.kind for c in city.communities} == {
        "residential",
        "enterprise_workers",
        "urban_rural_fringe",
    }
    small = draw_city(SIZES["small"], seed=1, today=TODAY)
    assert small.districts == ("140502",)
    levels = Counter(row["level"] for row in small.area_rows)
    assert levels == {"city": 1, "district": 1, "street": 2, "community": 4}
    # parents come before children, so one import registers them in order
    seen: set[str] = set()
    for row in small.area_rows:
        assert row["parent_id"] is None or row["parent_id"] in seen
        seen.add(str(row["id"]))


def test_residents_have_an_age_pyramid_valid_ids_and_floating_permits() -> None:
    residents = [row for row in _rows(3) if row["type"] == "resident"]
    assert 3000 < len(residents) < 8000  # small: a few thousand
    old = sum(1 for r in residents if str(r["birth_date"]) <= "1966-11-30")
    assert 0.16 < old / len(residents) < 0.24  # about one in five aged 60+
    numbers = [str(r["national_id"]) for r in residents]
    assert len(set(numbers)) == len(numbers)
    for resident in residents:
        number = str(resident["national_id"])
        assert check_character(number[:17]) == number[17]
        assert number[6:14] == str(resident["birth_date"]).replace("-", "")
        assert (int(number[16]) % 2 == 1) == (resident["sex"] == "male")
        floating = resident.get("registration") == "floating"
        assert floating == ("permit_expires_on" in resident)
    assert any(r.get("registration") == "floating" for r in residents)


def test_a_full_day_of_births_spills_into_the_next_region_code() -> None:
    ids = NationalIds.new()
    born = date(1980, 5, 17)
    numbers = {ids.issue("140502", born, "male") for _ in range(501)}
    assert len(numbers) == 501
    assert sum(1 for n in numbers if n.startswith("140503")) == 1


def test_office_rooms_straddle_300_and_a_quarter_cross_it_in_the_current_period() -> None:
    plan = draw_city(SIZES["medium"], seed=5, today=TODAY)
    groups = Counter(office_groups(plan).values())
    assert groups["below"] == groups["ramp"] == len(plan.communities) // 4
    counted = {
        "office",
        "public_service",
        "labour_security",
        "community_service",
        "health_family_planning",
        "elderly_activity",
        "youth_activity",
    }
    one_of_each = {group: cid for cid, group in office_groups(plan).items()}
    by_id = {c.id: c for c in plan.communities}
    for group, community_id in sorted(one_of_each.items()):
        community = by_id[community_id]
        drawn = draw_community(plan, community, NationalIds.new(), office_group=group)
        facilities = [row for row in drawn.rows if row["type"] == "facility"]

        def rooms(until: date, facilities: list[dict[str, object]] = facilities) -> float:
            total = 0.0
            for facility in facilities:
                if date.fromisoformat(str(facility["opened_on"])) <= until:
                    for room in facility["rooms"]:  # type: ignore[attr-defined]
                        total += room["area_m2"] if room["purpose"] in counted else 0
            return total

        before, now = rooms(PERIOD_START), rooms(TODAY)
        assert (before >= 300) == (group == "above"), community.id
        assert (now >= 300) == (group != "below"), community.id


def test_rows_go_out_as_ndjson_lines() -> None:
    rows = [{"type": "area", "id": str(n)} for n in range(5)]
    body = b"".join(ndjson_chunks(rows, per_chunk=2)).decode()
    assert body.count("\n") == 5
    assert body.splitlines()[0] == '{"type":"area","id":"0"}'


def test_the_city_is_drawn_one_community_at_a_time_in_bounded_memory() -> None:
    """Six million residents cannot be held at once: ``iter_city`` draws a community when asked,
    and what it keeps between communities (the id numbers issued per district and birth day)
    is small beside one community's rows."""
    plan = draw_city(SIZES["city"], seed=1, today=TODAY)
    communities = iter_city(plan)
    tracemalloc.start()
    try:
        _, drawn = next(communities)
        one_community = tracemalloc.get_traced_memory()[0]
        assert drawn.residents > 4000
        del drawn
        _, drawn = next(communities)
        del drawn
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept < one_community / 2, (kept, one_community)
