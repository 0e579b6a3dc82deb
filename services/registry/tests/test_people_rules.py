"""Unit tests of the household and resident rules (no I/O)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.domain.national_id import NationalIdFacts
from registry.domain.people import (
    FLAG_BITS,
    age_band,
    age_on,
    birth_dates_for_ages,
    changed_fields,
    check_identity,
    check_life_event_date,
    check_permit,
    ensure_changeable,
    flags_mask,
    flags_of,
    is_current,
)
from shared.contracts.registry import AgeBand, ResidentFlag
from shared.errors import Conflict, InvalidInput

FACTS = NationalIdFacts("11010519491231002X", "110105", date(1949, 12, 31), "female")


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0-14"),
        (14, "0-14"),
        (15, "15-39"),
        (39, "15-39"),
        (40, "40-49"),
        (49, "40-49"),
        (50, "50-59"),
        (59, "50-59"),
        (60, "60-64"),
        (64, "60-64"),
        (65, "65-69"),
        (69, "65-69"),
        (70, "70-79"),
        (79, "70-79"),
        (80, "80-89"),
        (89, "80-89"),
        (90, "90+"),
        (110, "90+"),
    ],
)
def test_age_band_boundaries(age: int, band: str) -> None:
    born = date(1950, 6, 15)
    on_birthday = date(1950 + age, 6, 15)
    assert age_band(born, on_birthday) == band
    assert age_on(born, on_birthday) == age


def test_age_counts_completed_years() -> None:
    assert age_on(date(1950, 6, 15), date(2015, 6, 14)) == 64
    assert age_on(date(1950, 6, 15), date(2015, 6, 15)) == 65
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18


def test_every_contract_band_is_reachable() -> None:
    born = date(1900, 1, 1)
    reached = {age_band(born, date(1900 + age, 1, 1)) for age in range(0, 120)}
    assert reached == set(get_args(AgeBand))


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 12, 31)),
    on=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    min_age=st.none() | st.integers(0, 120),
    max_age=st.none() | st.integers(0, 120),
)
def test_birth_date_range_selects_exactly_the_ages(
    born: date, on: date, min_age: int | None, max_age: int | None
) -> None:
    if min_age is not None and max_age is not None and min_age > max_age:
        return
    bounds = birth_dates_for_ages(min_age=min_age, max_age=max_age, on=on)
    inside = (bounds.born_after is None or born > bounds.born_after) and (
        bounds.born_on_or_before is None or born <= bounds.born_on_or_before
    )
    age = age_on(born, on)
    expected = (min_age is None or age >= min_age) and (max_age is None or age <= max_age)
    assert inside == expected


def test_an_inverted_age_range_names_max_age() -> None:
    with pytest.raises(InvalidInput) as raised:
        birth_dates_for_ages(min_age=60, max_age=40, on=date(2026, 1, 1))
    assert raised.value.errors[0].field == "query.max_age"


def test_identity_must_agree_with_the_number() -> None:
    check_identity(FACTS, birth_date=date(1949, 12, 31), sex="female")
    with pytest.raises(InvalidInput) as raised:
        check_identity(FACTS, birth_date=date(1949, 12, 30), sex="female")
    assert [e.field for e in raised.value.errors] == ["body.birth_date"]
    with pytest.raises(InvalidInput) as raised:
        check_identity(FACTS, birth_date=date(1949, 12, 30), sex="male")
    assert [e.field for e in raised.value.errors] == ["body.birth_date", "body.sex"]


def test_permit_rules() -> None:
    check_permit("floating", date(2027, 1, 1))
    check_permit("registered", None)
    for registration, permit in (("floating", None), ("registered", date(2027, 1, 1))):
        with pytest.raises(InvalidInput) as raised:
            check_permit(registration, permit)  # type: ignore[arg-type]
        assert raised.value.errors[0].field == "body.permit_expires_on"


def test_life_event_dates_lie_between_birth_and_today() -> None:
    born, today = date(1950, 1, 1), date(2026, 1, 1)
    check_life_event_date(today, birth_date=born, today=today, field="body.died_on")
    for day in (today + timedelta(days=1), born - timedelta(days=1)):
        with pytest.raises(InvalidInput) as raised:
            check_life_event_date(day, birth_date=born, today=today, field="body.died_on")
        assert raised.value.errors[0].field == "body.died_on"


def test_dead_or_departed_residents_cannot_change() -> None:
    ensure_changeable("alive", "r1")
    for status in ("dead", "left"):
        with pytest.raises(Conflict):
            ensure_changeable(status, "r1")


def test_flag_bits_cover_the_contract_and_round_trip() -> None:
    assert set(FLAG_BITS) == set(get_args(ResidentFlag))
    assert len(set(FLAG_BITS.values())) == len(FLAG_BITS)
    flags: list[ResidentFlag] = ["living_alone", "subsistence_allowance", "living_alone"]
    assert flags_of(flags_mask(flags)) == ["subsistence_allowance", "living_alone"]
    assert flags_of(0) == []


def test_changed_fields_in_order() -> None:
    before = {"a": 1, "b": [1], "c": None}
    assert changed_fields(before, {"a": 1, "b": [2], "c": date(2026, 1, 1)}) == ["b", "c"]
    assert changed_fields(before, dict(before)) == []


def test_a_community_is_current_between_its_validity_dates() -> None:
    start, end = date(2005, 1, 1), date(2020, 12, 31)
    assert is_current(valid_from=start, valid_to=None, on=date(2026, 1, 1))
    assert is_current(valid_from=start, valid_to=end, on=end)
    assert not is_current(valid_from=start, valid_to=end, on=end + timedelta(days=1))
    assert not is_current(valid_from=start, valid_to=None, on=start - timedelta(days=1))
