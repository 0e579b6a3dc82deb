"""Unit tests of the rules for community workers, organisations and volunteers (no I/O)."""

from __future__ import annotations

import math
from datetime import date

import pytest

from registry.domain.areas import CommunityRef
from registry.domain.community import (
    OrganisationSnapshot,
    VolunteerSnapshot,
    Worker,
    WorkerAppointed,
    WorkerFacts,
    WorkerLeft,
    log_hours,
    register_organisation,
    register_volunteer,
    serves_on,
    worker_stats,
)
from shared.errors import Conflict, InvalidInput

TODAY = date(2007, 6, 1)
M1 = CommunityRef("m1", "community", ("c1", "d1", "s1", "m1"), date(2005, 1, 1), None, 1500)
VOLUNTEER = VolunteerSnapshot("v1", "m1", M1.path, None, None, date(2006, 1, 1))


def field_of(raised: pytest.ExceptionInfo[InvalidInput]) -> str:
    [error] = raised.value.errors
    return error.field


def appoint(**overrides: object) -> Worker:
    arguments: dict[str, object] = {
        "worker_id": "w1",
        "community": M1,
        "role": "committee_director",
        "appointment": "elected",
        "education": "bachelor",
        "birth_year": 1969,
        "sex": "female",
        "cross_appointed": True,
        "appointed_on": date(2006, 3, 1),
        "today": TODAY,
        **overrides,
    }
    return Worker.appoint(**arguments)  # type: ignore[arg-type]


# -- workers -------------------------------------------------------------------------------


def test_appointing_records_the_worker_in_the_community_path() -> None:
    worker = appoint()
    [event] = worker.events
    assert isinstance(event, WorkerAppointed)
    assert event.worker.path == ("c1", "d1", "s1", "m1")
    assert event.worker.left_on is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"birth_year": 1989}, "birth_year"),  # 17 in 2006
        ({"birth_year": 1905}, "birth_year"),  # 101 in 2006
        ({"appointed_on": date(2007, 6, 2)}, "appointed_on"),
    ],
)
def test_appointment_rules_name_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        appoint(**overrides)
    assert field_of(raised) == field


def test_eighteen_in_the_year_of_appointment_is_old_enough() -> None:
    assert appoint(birth_year=1988).state.birth_year == 1988


def test_leaving_once_after_the_appointment() -> None:
    worker = appoint()
    with pytest.raises(InvalidInput) as raised:
        worker.leave(left_on=date(2006, 2, 28), today=TODAY)
    assert field_of(raised) == "left_on"
    with pytest.raises(InvalidInput):
        worker.leave(left_on=date(2007, 6, 2), today=TODAY)
    worker.leave(left_on=date(2007, 1, 31), today=TODAY)
    assert isinstance(worker.events[-1], WorkerLeft)
    assert worker.state.left_on == date(2007, 1, 31)
    with pytest.raises(Conflict):
        worker.leave(left_on=date(2007, 2, 1), today=TODAY)


def test_a_worker_serves_through_the_last_day() -> None:
    assert serves_on(date(2006, 3, 1), date(2007, 1, 31), date(2007, 1, 31))
    assert not serves_on(date(2006, 3, 1), date(2007, 1, 31), date(2007, 2, 1))
    assert not serves_on(date(2006, 3, 1), None, date(2006, 2, 28))


def test_worker_stats_education_age_and_cross_appointments() -> None:
    workers = [
        WorkerFacts("party_secretary", "bachelor", 1965, True),
        WorkerFacts("committee_director", "college", 1970, True),
        WorkerFacts("committee_member", "senior_middle", 1975, False),
        WorkerFacts("committee_member", "postgraduate", 1980, False),
        WorkerFacts("officer", "college", 1985, False),  # not a party or committee post
    ]
    stats = worker_stats(workers, on=date(2007, 6, 1))
    assert stats.count == 5
    assert (stats.college_or_above, stats.college_or_above_share) == (4, 0.8)
    assert stats.average_age == 32.0  # (42 + 37 + 32 + 27 + 22) / 5
    assert (stats.cross_appointment_base, stats.cross_appointed) == (4, 2)
    assert stats.cross_appointed_share == 0.5
    assert stats.meets_cross_appointment_target  # Jincheng: ≥ 50 %


def test_worker_stats_of_nobody() -> None:
    stats = worker_stats([], on=TODAY)
    assert stats.count == 0
    assert stats.average_age is None
    assert stats.college_or_above_share is None
    assert stats.meets_cross_appointment_target is None


# -- organisations -------------------------------------------------------------------------


def test_an_organisation_kind_is_normalised() -> None:
    event = register_organisation(
        organisation_id="o1",
        community=M1,
        name=" Elders' association ",
        kind=" Elders_Association",
        member_count=40,
        registered_on=date(2006, 1, 1),
        today=TODAY,
    )
    assert (event.organisation.kind, event.organisation.name) == (
        "elders_association",
        "Elders' association",
    )


@pytest.mark.parametrize(
    ("name", "kind", "registered_on", "field"),
    [
        (" ", "culture", date(2006, 1, 1), "name"),
        ("Choir", "  ", date(2006, 1, 1), "kind"),
        ("Choir", "culture", date(2007, 6, 2), "registered_on"),
    ],
)
def test_organisation_rules_name_the_field(
    name: str, kind: str, registered_on: date, field: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        register_organisation(
            organisation_id="o1",
            community=M1,
            name=name,
            kind=kind,
            member_count=1,
            registered_on=registered_on,
            today=TODAY,
        )
    assert field_of(raised) == field


# -- volunteers ----------------------------------------------------------------------------


def test_a_volunteer_joins_a_team_of_the_same_community_only() -> None:
    team = OrganisationSnapshot("o1", "m1", M1.path, "Team", "volunteer_team", 10, TODAY)
    other = OrganisationSnapshot("o2", "m2", ("m2",), "Team", "volunteer_team", 10, TODAY)
    joined = register_volunteer(
        volunteer_id="v1",
        community=M1,
        resident_id="r1",
        organisation=team,
        organisation_id="o1",
        registered_on=TODAY,
        today=TODAY,
    )
    assert joined.volunteer.organisation_id == "o1"
    for organisation, code in [(other, "community"), (None, "not_found")]:
        with pytest.raises(InvalidInput) as raised:
            register_volunteer(
                volunteer_id="v1",
                community=M1,
                resident_id=None,
                organisation=organisation,
                organisation_id="o2",
                registered_on=TODAY,
                today=TODAY,
            )
        [error] = raised.value.errors
        assert (error.field, error.code) == ("organisation_id", code)


def hours(value: float, already: list[float] | None = None, served_on: date = TODAY) -> float:
    return log_hours(
        volunteer=VOLUNTEER,
        entry_id="e1",
        hours=value,
        served_on=served_on,
        already_logged_that_day=already or [],
        today=TODAY,
    ).hours


def test_hours_are_more_than_zero_and_at_most_24_per_entry() -> None:
    assert hours(24) == 24
    assert hours(2.555) == 2.56
    for bad in [0, -1, 24.01, math.nan, math.inf, 0.001]:
        with pytest.raises(InvalidInput) as raised:
            hours(bad)
        assert field_of(raised) == "hours"


def test_a_day_has_24_hours_across_entries() -> None:
    assert hours(4, already=[8, 12]) == 4
    with pytest.raises(InvalidInput) as raised:
        hours(4.5, already=[8, 12])
    [error] = raised.value.errors
    assert (error.field, error.code) == ("hours", "day_total")


def test_hours_cannot_be_served_in_the_future() -> None:
    with pytest.raises(InvalidInput) as raised:
        hours(2, served_on=date(2007, 6, 2))
    assert field_of(raised) == "served_on"
