"""Unit tests of the household and resident rules (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.adapters import people as people_adapter
from registry.domain.areas import CommunityRef
from registry.domain.national_id import NationalIdFacts
from registry.domain.people import (
    FLAG_BITS,
    Household,
    HouseholdMoved,
    HouseholdRef,
    HouseholdRegistered,
    NewResident,
    PermitExpiring,
    Resident,
    ResidentDied,
    ResidentMoved,
    ResidentRegistered,
    ResidentUpdated,
    SealedNationalId,
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
    require_community_for_households,
)
from shared.contracts.registry import AgeBand, ResidentFlag, ResidentState
from shared.errors import Conflict, InvalidInput
from shared.unit_of_work import translator

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
    assert raised.value.errors[0].field == "max_age"


def test_identity_must_agree_with_the_number() -> None:
    check_identity(FACTS, birth_date=date(1949, 12, 31), sex="female")
    with pytest.raises(InvalidInput) as raised:
        check_identity(FACTS, birth_date=date(1949, 12, 30), sex="female")
    assert [e.field for e in raised.value.errors] == ["birth_date"]
    with pytest.raises(InvalidInput) as raised:
        check_identity(FACTS, birth_date=date(1949, 12, 30), sex="male")
    assert [e.field for e in raised.value.errors] == ["birth_date", "sex"]


def test_permit_rules() -> None:
    check_permit("floating", date(2027, 1, 1))
    check_permit("registered", None)
    for registration, permit in (("floating", None), ("registered", date(2027, 1, 1))):
        with pytest.raises(InvalidInput) as raised:
            check_permit(registration, permit)  # type: ignore[arg-type]
        assert raised.value.errors[0].field == "permit_expires_on"


def test_life_event_dates_lie_between_birth_and_today() -> None:
    born, today = date(1950, 1, 1), date(2026, 1, 1)
    check_life_event_date(today, birth_date=born, today=today, field="died_on")
    for day in (today + timedelta(days=1), born - timedelta(days=1)):
        with pytest.raises(InvalidInput) as raised:
            check_life_event_date(day, birth_date=born, today=today, field="died_on")
        assert raised.value.errors[0].field == "died_on"


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


# -- entities -------------------------------------------------------------------------------

TODAY = date(2026, 6, 1)
M1 = CommunityRef("m1", "community", ("c1", "d1", "s1", "m1"), date(2005, 1, 1), None)
M2 = CommunityRef("m2", "community", ("c1", "d1", "s1", "m2"), date(2005, 1, 1), None)
HOME = HouseholdRef("h1", "m1", M1.path)
FORM = NewResident(
    national_id="11010519491231002X",
    name="Wang Fang",
    sex="female",
    birth_date=date(1949, 12, 31),
    household_id="h1",
    registration="registered",
    permit_expires_on=None,
    employment_status="retired",
    disabled=False,
    flags=("living_alone", "empty_nest", "living_alone"),
)
SEALED = SealedNationalId("ciphertext", "hash")


def resident() -> Resident:
    person = Resident.register(
        FORM, resident_id="r1", national_id=SEALED, household=HOME, today=TODAY
    )
    person.events.clear()
    return person


def test_a_form_passes_the_rules_of_every_registration() -> None:
    assert FORM.check(today=TODAY) == FACTS
    for change, field in (
        ({"national_id": "110105194912310021"}, "national_id"),
        ({"birth_date": date(1949, 12, 30)}, "birth_date"),
        ({"registration": "floating"}, "permit_expires_on"),
    ):
        with pytest.raises(InvalidInput) as raised:
            replace(FORM, **change).check(today=TODAY)  # type: ignore[arg-type]
        assert [e.field for e in raised.value.errors] == [field]


def test_a_registered_resident_lives_in_its_household_and_records_it() -> None:
    person = Resident.register(
        FORM, resident_id="r1", national_id=SEALED, household=HOME, today=TODAY
    )
    assert (person.household_id, person.community_id, person.path) == ("h1", "m1", M1.path)
    assert (person.status, person.version, person.registered_on) == ("alive", 1, TODAY)
    assert person.flags == ("empty_nest", "living_alone")
    [registered] = person.events
    assert isinstance(registered, ResidentRegistered)
    assert (registered.resident, registered.on) == (person, TODAY)
    assert registered.resident is not person


def test_personal_data_stays_out_of_reprs() -> None:
    person = resident()
    household = Household.register(
        household_id="h1", community=M1, address="1 Dongjie", registered_on=TODAY, today=TODAY
    )
    for text in (repr(person), repr(person.snapshot()), repr(FORM), repr(household)):
        for secret in ("Wang Fang", "11010519491231002X", "ciphertext", "1 Dongjie"):
            assert secret not in text


def test_an_update_records_the_changed_fields_in_order_and_a_snapshot() -> None:
    person = resident()
    person.update(today=TODAY, flags=["empty_nest"], employment_status="employed")
    [updated] = person.events
    assert isinstance(updated, ResidentUpdated)
    assert updated.changed == ("employment_status", "flags")
    assert (person.version, updated.resident.version) == (2, 2)
    person.update(today=TODAY, disabled=True)
    assert updated.resident.disabled is False  # the event keeps the state it recorded
    person.events.clear()
    person.update(today=TODAY, employment_status="employed", flags=["empty_nest"])
    assert (person.events, person.version) == ([], 3)


def test_registration_and_permit_change_together() -> None:
    person = resident()
    with pytest.raises(InvalidInput) as raised:
        person.update(today=TODAY, registration="floating")
    assert raised.value.errors[0].field == "permit_expires_on"
    person.update(today=TODAY, registration="floating", permit_expires_on=date(2027, 1, 1))
    person.update(today=TODAY, registration="registered")
    assert person.permit_expires_on is None
    changes = [event.changed for event in person.events]
    assert changes == [("registration", "permit_expires_on")] * 2


def test_moves_deaths_and_departures() -> None:
    person = resident()
    with pytest.raises(InvalidInput) as raised:
        person.move_to(HOME, moved_on=TODAY, today=TODAY)
    assert raised.value.errors[0].field == "household_id"
    with pytest.raises(InvalidInput) as raised:
        person.move_to(HouseholdRef("h2", "m2", M2.path), moved_on=date(1949, 1, 1), today=TODAY)
    assert raised.value.errors[0].field == "moved_on"
    person.move_to(HouseholdRef("h2", "m2", M2.path), moved_on=TODAY, today=TODAY)
    [moved] = person.events
    assert isinstance(moved, ResidentMoved)
    assert (moved.from_household_id, moved.from_path, moved.resident.path) == (
        "h1",
        M1.path,
        M2.path,
    )
    with pytest.raises(InvalidInput) as raised:
        person.die(died_on=TODAY + timedelta(days=1), today=TODAY)
    assert raised.value.errors[0].field == "died_on"
    person.die(died_on=TODAY, today=TODAY)
    assert (person.status, person.ended_on, person.version) == ("dead", TODAY, 3)
    assert isinstance(person.events[-1], ResidentDied)
    for change in (
        lambda: person.leave(left_on=TODAY, today=TODAY),
        lambda: person.update(today=TODAY, disabled=True),
        lambda: person.move_to(HOME, moved_on=TODAY, today=TODAY),
    ):
        with pytest.raises(Conflict):
            change()


def test_a_household_relocates_with_its_living_members() -> None:
    with pytest.raises(InvalidInput) as raised:
        Household.register(
            household_id="h1",
            community=M1,
            address="x",
            registered_on=TODAY + timedelta(1),
            today=TODAY,
        )
    assert raised.value.errors[0].field == "registered_on"
    household = Household.register(
        household_id="h1", community=M1, address="x", registered_on=date(2020, 5, 1), today=TODAY
    )
    assert isinstance(household.events.pop(), HouseholdRegistered)
    member = resident()
    for community, moved_on, field in (
        (M1, TODAY, "community_id"),
        (M2, TODAY + timedelta(days=1), "moved_on"),
        (M2, date(2020, 4, 30), "moved_on"),
    ):
        with pytest.raises(InvalidInput) as raised:
            household.relocate(community, moved_on=moved_on, today=TODAY, members=[member])
        assert raised.value.errors[0].field == field
    household.relocate(M2, moved_on=TODAY, today=TODAY, members=[member])
    [moved] = household.events
    assert isinstance(moved, HouseholdMoved)
    assert (moved.reason, moved.resident_count, moved.household.version) == ("relocation", 1, 2)
    assert (moved.from_community_id, moved.household.path) == ("m1", M2.path)
    assert (member.community_id, member.household_id, member.version) == ("m2", "h1", 2)
    assert isinstance(member.events[-1], ResidentMoved)


def test_households_join_only_communities_that_exist_today() -> None:
    assert require_community_for_households(M1, community_id="m1", today=TODAY, field="f") == M1
    street = replace(M1, level="street")
    retired = replace(M1, valid_to=TODAY - timedelta(days=1))
    later = replace(M1, valid_from=TODAY + timedelta(days=1))
    for found in (None, street, retired, later):
        with pytest.raises(InvalidInput) as raised:
            require_community_for_households(found, community_id="m1", today=TODAY, field="f")
        assert raised.value.errors[0].field == "f"


def test_every_event_becomes_a_contract_with_facts_only() -> None:
    person = Resident.register(
        FORM, resident_id="r1", national_id=SEALED, household=HOME, today=TODAY
    )
    person.update(today=TODAY, disabled=True)
    person.move_to(HouseholdRef("h2", "m2", M2.path), moved_on=TODAY, today=TODAY)
    person.leave(left_on=TODAY, today=TODAY)
    household = Household.register(
        household_id="h1", community=M1, address="1 Dongjie", registered_on=TODAY, today=TODAY
    )
    household.move(M2, moved_on=TODAY, reason="area_merge", members=[])
    recorded = [
        *person.events,
        *household.events,
        PermitExpiring("r1", "m1", M1.path, TODAY),
        ResidentDied(person.snapshot(), died_on=TODAY),
    ]
    assert {type(event) for event in recorded} == set(people_adapter.TRANSLATIONS)
    translate = translator(people_adapter.TRANSLATIONS)
    for event in recorded:
        payload, aggregate_id = translate(event)  # type: ignore[misc]
        assert aggregate_id in ("r1", "h1")
        text = payload.model_dump_json()
        for secret in ("Wang Fang", "11010519491231002X", "ciphertext", "1 Dongjie", "1949-12-31"):
            assert secret not in text
    assert set(people_adapter.resident_state(person, on=TODAY)) == set(ResidentState.model_fields)


def test_an_age_range_reaching_before_the_year_1_is_open_there_not_an_error() -> None:
    span = birth_dates_for_ages(min_age=0, max_age=150, on=date(81, 11, 27))
    assert span.born_after == date.min
    assert span.born_on_or_before == date(81, 11, 27)
