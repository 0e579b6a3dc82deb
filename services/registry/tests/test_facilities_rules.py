"""Unit tests of the facility rules and the two floor-area statistics (no I/O)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from registry.domain.areas import CommunityRef, require_current_community
from registry.domain.facilities import (
    CITY_NORM,
    COUNTY_NORM,
    ELSEWHERE_NORM,
    OFFICE_AND_PUBLIC_SERVICE_PURPOSES,
    SERVICE_ROOM_PURPOSES,
    Facility,
    FacilityClosed,
    FacilityOpened,
    FacilityUpdated,
    ServiceAreaNorm,
    assess_service_area,
    communities_meeting_area,
    office_and_public_service_m2,
    open_on,
    service_area_report,
    service_room_m2,
    validate_rooms,
)
from shared.errors import Conflict, InvalidInput

TODAY = date(2007, 6, 1)
M1 = CommunityRef("m1", "community", ("c1", "d1", "s1", "m1"), date(2005, 1, 1), None, 1500)


def opened(**rooms: float) -> Facility:
    return Facility.open(
        facility_id="f1",
        community=M1,
        kind="office",
        rooms=list(rooms.items()),  # type: ignore[arg-type]
        opened_on=date(2006, 1, 1),
        today=TODAY,
    )


def field_of(raised: pytest.ExceptionInfo[InvalidInput]) -> str:
    [error] = raised.value.errors
    return error.field


# -- rooms ---------------------------------------------------------------------------------


def test_rooms_are_sorted_by_purpose_and_kept_to_the_hundredth() -> None:
    assert validate_rooms([("police", 20.004), ("office", 99_999.99)]) == (
        ("office", 99_999.99),
        ("police", 20.0),
    )


@pytest.mark.parametrize(
    ("rooms", "field"),
    [
        ([("office", 0.0)], "rooms.0.area_m2"),
        ([("office", 10.0), ("police", -5.0)], "rooms.1.area_m2"),
        ([("office", 100_000.0)], "rooms.0.area_m2"),
        ([("office", 0.004)], "rooms.0.area_m2"),  # rounds to nothing
        ([("office", math.nan)], "rooms.0.area_m2"),
        ([("office", math.inf)], "rooms.0.area_m2"),
        ([("office", 10.0), ("library", 5.0), ("office", 3.0)], "rooms.2.purpose"),
    ],
)
def test_bad_rooms_name_the_field(rooms: list[tuple[str, float]], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_rooms(rooms)  # type: ignore[arg-type]
    assert field_of(raised) == field


# -- the facility's life -------------------------------------------------------------------


def test_opening_records_version_1_with_the_community_path_and_total() -> None:
    facility = opened(office=120, public_service=100.5)
    [event] = facility.events
    assert isinstance(event, FacilityOpened)
    assert event.facility.path == ("c1", "d1", "s1", "m1")
    assert event.facility.version == 1
    assert event.facility.total_area_m2 == 220.5


def test_a_facility_cannot_open_in_the_future() -> None:
    with pytest.raises(InvalidInput) as raised:
        Facility.open(
            facility_id="f1",
            community=M1,
            kind="office",
            rooms=[],
            opened_on=date(2007, 6, 2),
            today=TODAY,
        )
    assert field_of(raised) == "opened_on"


def test_updating_bumps_the_version_and_an_unchanged_update_records_nothing() -> None:
    facility = opened(office=120)
    facility.events.clear()
    assert facility.update(rooms=[("office", 120), ("elderly_activity", 180)])
    assert facility.state.version == 2
    [event] = facility.events
    assert isinstance(event, FacilityUpdated)
    assert event.facility.total_area_m2 == 300
    assert not facility.update(kind="office", rooms=[("elderly_activity", 180), ("office", 120)])
    assert facility.state.version == 2
    assert len(facility.events) == 1
    assert facility.update(kind="service_station")
    assert facility.state.version == 3
    assert facility.state.rooms == (("elderly_activity", 180), ("office", 120))


def test_an_update_needs_something_to_change() -> None:
    with pytest.raises(InvalidInput) as raised:
        opened(office=1).update()
    assert field_of(raised) == "body"


def test_closing_records_the_date_and_a_closed_facility_is_frozen() -> None:
    facility = opened(office=300)
    facility.close(closed_on=date(2007, 5, 1), today=TODAY)
    assert isinstance(facility.events[-1], FacilityClosed)
    assert facility.state.closed_on == date(2007, 5, 1)
    assert facility.state.version == 2
    with pytest.raises(Conflict):
        facility.update(rooms=[("office", 400)])
    with pytest.raises(Conflict):
        facility.close(closed_on=date(2007, 5, 2), today=TODAY)


@pytest.mark.parametrize(
    "closed_on",
    [date(2005, 12, 31), date(2007, 6, 2)],
    ids=["before opening", "in the future"],
)
def test_a_closing_date_must_be_between_opening_and_today(closed_on: date) -> None:
    with pytest.raises(InvalidInput) as raised:
        opened(office=300).close(closed_on=closed_on, today=TODAY)
    assert field_of(raised) == "closed_on"


def test_a_facility_is_open_from_its_opening_until_the_day_before_closing() -> None:
    assert not open_on(date(2006, 1, 1), None, date(2005, 12, 31))
    assert open_on(date(2006, 1, 1), None, date(2006, 1, 1))
    assert open_on(date(2006, 1, 1), date(2007, 1, 1), date(2006, 12, 31))
    assert not open_on(date(2006, 1, 1), date(2007, 1, 1), date(2007, 1, 1))


# -- communities ---------------------------------------------------------------------------


def test_records_attach_to_current_communities_only() -> None:
    street = CommunityRef("s1", "street", ("c1", "d1", "s1"), date(2005, 1, 1), None)
    retiring_today = CommunityRef("m2", "community", ("m2",), date(2005, 1, 1), TODAY)
    retired = CommunityRef("m3", "community", ("m3",), date(2005, 1, 1), date(2007, 5, 31))
    assert require_current_community(M1, community_id="m1", today=TODAY) is M1
    assert require_current_community(retiring_today, community_id="m2", today=TODAY)
    for ref, code in [(None, "not_found"), (street, "level"), (retired, "retired")]:
        with pytest.raises(InvalidInput) as raised:
            require_current_community(ref, community_id="x", today=TODAY)
        [error] = raised.value.errors
        assert (error.field, error.code) == ("community_id", code)


# -- rule 1: office and public service rooms ≥ 300 m² ----------------------------------------


def test_office_and_public_service_rooms_are_the_office_and_the_five_rooms_three_stations() -> None:
    assert {
        "office",
        "public_service",
        "party_activity",
        "youth_activity",
        "elderly_activity",
        "labour_security",
        "health_family_planning",
        "community_service",
        "police",
    } == OFFICE_AND_PUBLIC_SERVICE_PURPOSES
    rooms = [("office", 100.0), ("police", 50.0), ("library", 500.0), ("other", 80.0)]
    assert office_and_public_service_m2(rooms) == 150.0


def test_service_rooms_leave_out_the_committee_office() -> None:
    assert "office" not in SERVICE_ROOM_PURPOSES
    assert {"library", "culture_sports", "community_service"} <= SERVICE_ROOM_PURPOSES
    assert "other" not in SERVICE_ROOM_PURPOSES
    assert service_room_m2([("office", 100.0), ("community_service", 60.0), ("library", 40)]) == 100


def test_exactly_the_threshold_meets_it_and_sums_are_exact() -> None:
    found = communities_meeting_area(
        {
            "m3": 0.0,
            "m1": office_and_public_service_m2([("office", 100.1), ("police", 199.9)]),
            "m2": 299.99,
            "m4": 301.0,
        },
        threshold_m2=300,
    )
    assert found.communities == ("m1", "m4")
    assert (found.meeting, found.total, found.share) == (2, 4, 0.5)


def test_dongcheng_111_of_137_communities_reached_190_m2() -> None:
    areas = {f"m{n:03}": 190.0 if n < 111 else 150.0 for n in range(137)}
    found = communities_meeting_area(areas, threshold_m2=190)
    assert (found.meeting, found.total) == (111, 137)
    assert found.share == 0.8102  # "81 %" (seed 004)


def test_no_communities_no_share() -> None:
    assert communities_meeting_area({}).share is None


# -- rule 2: service rooms per households ----------------------------------------------------


def test_city_norm_is_25_m2_per_150_households() -> None:
    finding = assess_service_area(community_id="m1", service_area_m2=250, households=1500)
    assert finding.required_m2 == 250
    assert finding.m2_per_households == 25.0
    assert finding.meets_standard
    short = assess_service_area(community_id="m2", service_area_m2=200, households=2280)
    assert short.required_m2 == 380
    assert short.m2_per_households == 13.16
    assert short.meets_standard is False


def test_county_and_elsewhere_norms() -> None:
    county = assess_service_area(
        community_id="m1", service_area_m2=250, households=1500, norm=COUNTY_NORM
    )
    assert (county.required_m2, county.m2_per_households, county.meets_standard) == (
        300,
        16.67,
        False,
    )
    small = assess_service_area(
        community_id="m1", service_area_m2=99, households=120, norm=ELSEWHERE_NORM
    )
    assert (small.required_m2, small.meets_standard) == (100, False)
    floor = ServiceAreaNorm(m2=25, per_households=150, minimum_m2=100)
    assert floor.required_m2(150) == 100
    assert floor.required_m2(1500) == 250


def test_unknown_or_no_households() -> None:
    unknown = assess_service_area(community_id="m1", service_area_m2=50, households=None)
    assert (unknown.m2_per_households, unknown.required_m2, unknown.meets_standard) == (
        None,
        None,
        None,
    )
    empty = assess_service_area(community_id="m1", service_area_m2=0, households=0)
    assert (empty.m2_per_households, empty.required_m2, empty.meets_standard) == (None, 0, True)


def test_the_report_shares_meeting_among_assessed_communities() -> None:
    report = service_area_report(
        [("m3", 0.0, None), ("m1", 250.0, 1500), ("m2", 200.0, 2280)], norm=CITY_NORM
    )
    assert [f.community_id for f in report.findings] == ["m1", "m2", "m3"]
    assert (report.assessed, report.meeting, report.share) == (2, 1, 0.5)
