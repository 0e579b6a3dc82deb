"""Honest dates and clean text: every date is checked against the others and the area's life
(no year 900, nothing before its community existed, no death, departure or move before the
registration), and text refuses control and bidi formatting characters."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from registry.domain.areas import CommunityRef
from registry.domain.community import (
    OrganisationSnapshot,
    VolunteerSnapshot,
    Worker,
    log_hours,
    register_organisation,
    register_volunteer,
)
from registry.domain.facilities import Facility
from registry.domain.people import Household, HouseholdRef, NewResident, Resident, SealedNationalId
from registry.domain.text import control_character
from registry.settings import Settings
from shared.errors import InvalidInput
from shared.testing.service import bearer

TODAY = date(2026, 6, 1)
M1 = CommunityRef("m1", "community", ("c1", "d1", "s1", "m1"), date(2005, 1, 1), None)
M2 = CommunityRef("m2", "community", ("c1", "d1", "s1", "m2"), date(2024, 1, 1), None)
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
    flags=(),
)


def refused_field(action: object) -> tuple[str, str | None]:
    assert callable(action)
    with pytest.raises(InvalidInput) as refused:
        action()
    [error] = refused.value.errors
    return error.field, error.code


def household(registered_on: date, community: CommunityRef = M1) -> Household:
    return Household.register(
        household_id="h1",
        community=community,
        address="1 Dongjie",
        registered_on=registered_on,
        today=TODAY,
    )


@pytest.mark.unit
def test_a_household_is_not_registered_in_year_900_or_before_its_community() -> None:
    assert refused_field(lambda: household(date(900, 5, 1))) == ("registered_on", "too_early")
    assert refused_field(lambda: household(date(2004, 12, 31))) == ("registered_on", "order")
    assert household(date(2005, 1, 1)).registered_on == date(2005, 1, 1)


@pytest.mark.unit
def test_a_household_does_not_move_into_a_community_before_it_existed() -> None:
    moving = household(date(2010, 1, 1))
    action = lambda: moving.relocate(M2, moved_on=date(2023, 6, 1), today=TODAY, members=[])  # noqa: E731
    assert refused_field(action) == ("moved_on", "order")


@pytest.mark.unit
def test_a_facility_does_not_open_before_its_community() -> None:
    def open_on(day: date) -> Facility:
        return Facility.open(
            facility_id="f1",
            community=M2,
            kind="office",
            rooms=[("office", 120.0)],
            opened_on=day,
            today=TODAY,
        )

    assert refused_field(lambda: open_on(date(2023, 12, 31))) == ("opened_on", "order")
    assert open_on(date(2024, 1, 1)).state.opened_on == date(2024, 1, 1)


@pytest.mark.unit
def test_no_death_departure_or_move_before_the_registration() -> None:
    person = Resident.register(
        FORM,
        resident_id="r1",
        national_id=SealedNationalId("x", "y"),
        household=HouseholdRef("h1", "m1", M1.path),
        today=TODAY,
    )
    before = date(2026, 5, 31)
    assert refused_field(lambda: person.die(died_on=before, today=TODAY)) == ("died_on", "order")
    assert refused_field(lambda: person.leave(left_on=before, today=TODAY)) == ("left_on", "order")
    other = HouseholdRef("h2", "m1", M1.path)
    move = lambda: person.move_to(other, moved_on=before, today=TODAY)  # noqa: E731
    assert refused_field(move) == ("moved_on", "order")
    person.die(died_on=TODAY, today=TODAY)


@pytest.mark.unit
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\n", "\u202e", "\u2066", "\u200f"])
def test_control_and_bidi_characters_are_found(character: str) -> None:
    assert control_character(f"1 Dong{character}jie") == f"U+{ord(character):04X}"
    assert control_character("1 东街 Dongjie") is None


@pytest.mark.integration
async def test_text_with_control_characters_is_refused_in_bodies_and_imports(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    for address in ("1 Dong\x00jie", "1 Dongjie \u202egnaw"):
        body = {"community_id": "m1", "address": address, "registered_on": "2020-05-01"}
        refused = await client.post("/households", json=body, headers=writer)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "body.address"
    row = (
        '{"type": "household", "ref": "H-1", "community_id": "m1", '
        '"address": "1 Dong\\u202ejie", "registered_on": "2020-05-01"}\n'
    )
    report = (await client.post("/imports", content=row, headers=writer)).json()
    assert report["rejected"] == 1
    assert report["rejected_rows"][0]["field"] == "address"
    early = {"community_id": "m1", "address": "1 Dongjie", "registered_on": "0900-05-01"}
    refused = await client.post("/households", json=early, headers=writer)
    assert refused.json()["errors"][0]["field"] == "body.registered_on"
    assert (await client.get("/households", headers=bearer(settings, "registry:read"))).json()[
        "items"
    ] == []


@pytest.mark.integration
async def test_no_merge_split_or_retirement_backdated_before_the_last_change(
    client: httpx.AsyncClient, writer: dict[str, str], tree: None
) -> None:
    body = {"community_id": "m1", "address": "1 Dongjie", "registered_on": "2012-03-01"}
    household_id = (await client.post("/households", json=body, headers=writer)).json()["id"]
    merge = {
        "area_ids": ["m1", "m2"],
        "into": {"id": "m9", "name": "M9"},
        "effective": "2010-07-01",
    }
    refused = await client.post("/areas/merge", json=merge, headers=writer)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.effective"
    split = {
        "areas": [
            {"id": "m7", "name": "M7", "household_ids": [household_id]},
            {"id": "m8", "name": "M8", "household_ids": []},
        ],
        "effective": "2011-01-01",
    }
    refused = await client.post("/areas/m1/split", json=split, headers=writer)
    assert refused.json()["errors"][0]["field"] == "body.effective"
    retired = await client.post(
        "/areas/m3/retire", json={"effective": "2015-01-01"}, headers=writer
    )
    assert retired.status_code == 200, retired.text
    refused = await client.post(
        "/areas/s2/retire", json={"effective": "2014-06-01"}, headers=writer
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.effective"
    merged = await client.post(
        "/areas/merge", json={**merge, "effective": "2012-03-01"}, headers=writer
    )
    assert merged.status_code in (200, 201), merged.text


@pytest.mark.unit
def test_community_people_are_not_dated_before_their_community_team_or_registration() -> None:
    worker = lambda: Worker.appoint(  # noqa: E731
        worker_id="w1",
        community=M2,
        role="committee_member",
        appointment="elected",
        education="college",
        birth_year=1975,
        sex="female",
        cross_appointed=False,
        appointed_on=date(2023, 6, 1),
        today=TODAY,
    )
    assert refused_field(worker) == ("appointed_on", "order")
    team = OrganisationSnapshot("o1", "m2", M2.path, "Team", "volunteer_team", 5, date(2025, 1, 1))
    organisation = lambda: register_organisation(  # noqa: E731
        organisation_id="o2",
        community=M2,
        name="Team",
        kind="culture",
        member_count=3,
        registered_on=date(2023, 12, 1),
        today=TODAY,
    )
    assert refused_field(organisation) == ("registered_on", "order")
    volunteer = lambda: register_volunteer(  # noqa: E731
        volunteer_id="v1",
        community=M2,
        resident_id=None,
        organisation=team,
        organisation_id="o1",
        registered_on=date(2024, 6, 1),
        today=TODAY,
    )
    assert refused_field(volunteer) == ("registered_on", "order")
    joined = VolunteerSnapshot("v1", "m2", M2.path, None, None, date(2025, 3, 1))
    hours = lambda: log_hours(  # noqa: E731
        volunteer=joined,
        entry_id="e1",
        hours=2,
        served_on=date(2025, 2, 1),
        already_logged_that_day=[],
        today=TODAY,
    )
    assert refused_field(hours) == ("served_on", "order")
