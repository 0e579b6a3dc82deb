"""Unit tests of the area domain events the plans record and their translation to the
published contracts (no I/O)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from registry.adapters.events import translate
from registry.domain.areas import (
    AreaCreated,
    AreaRetired,
    AreasMerged,
    AreaSplit,
    AreaVersion,
    NewCommunity,
    check_retire,
    plan_merge,
    plan_split,
    register_area,
)
from registry.domain.community import (
    HoursLogged,
    OrganisationRegistered,
    OrganisationSnapshot,
    VolunteerRegistered,
    VolunteerSnapshot,
    WorkerAppointed,
    WorkerLeft,
    WorkerSnapshot,
)
from registry.domain.dates import not_before, not_in_future
from registry.domain.facilities import (
    FacilityClosed,
    FacilityOpened,
    FacilitySnapshot,
    FacilityUpdated,
)
from shared.contracts import EventPayload
from shared.contracts import registry as contracts
from shared.errors import InvalidInput

SINCE = date(2005, 1, 1)
MERGE_DAY = date(2010, 7, 1)
TODAY = date(2026, 11, 22)


def community(area_id: str, **changes: Any) -> AreaVersion:
    values: dict[str, Any] = {
        "id": area_id,
        "level": "community",
        "parent_id": "s1",
        "path": ("c1", "d1", "s1", area_id),
        "valid_from": SINCE,
        "valid_to": None,
        "kind": "block",
        "household_count": 100,
    }
    values.update(changes)
    return AreaVersion(**values)


def published(event: object) -> list[tuple[EventPayload, str]]:
    translated = translate(event)
    if translated is None:
        return []
    if isinstance(translated, tuple):
        return [translated]
    return list(translated)


def test_registering_records_the_new_area_and_publishes_area_created() -> None:
    created = register_area(
        area_id="c1", level="city", name="Jincheng", parent=None, parent_id=None, valid_from=SINCE
    )
    [(payload, key)] = published(created)
    assert key == "c1"
    assert payload == contracts.AreaCreated(
        area_id="c1", level="city", name="Jincheng", parent_id=None, path=["c1"], valid_from=SINCE
    )


def test_a_merge_records_the_new_community_the_retirements_and_the_summary() -> None:
    found = {"m1": community("m1"), "m2": community("m2", household_count=None)}
    plan = plan_merge(
        area_ids=["m1", "m2"], found=found, into_id="n", effective=MERGE_DAY, today=TODAY
    )
    created = plan.created(NewCommunity(id="n", name="New"), parent_path=("c1", "d1", "s1"))
    assert created == AreaCreated(
        area_id="n",
        level="community",
        name="New",
        parent_id="s1",
        path=("c1", "d1", "s1", "n"),
        valid_from=MERGE_DAY,
        kind="block",  # their common kind
        household_count=100,  # the sum of the known figures
        predecessor_ids=("m1", "m2"),
    )
    retired = plan.retired("n")
    assert [(r.area_id, r.valid_to, r.reason, r.successor_ids) for r in retired] == [
        ("m1", date(2010, 6, 30), "merged", ("n",)),
        ("m2", date(2010, 6, 30), "merged", ("n",)),
    ]
    done = plan.done(created, households_moved=3)
    [(payload, key)] = published(done)
    assert key == "n"
    assert payload == contracts.AreasMerged(
        merged_ids=["m1", "m2"],
        into_id="n",
        path=["c1", "d1", "s1", "n"],
        effective=MERGE_DAY,
        households_moved=3,
    )
    [(retired_payload, retired_key)] = published(retired[0])
    assert retired_key == "m1"
    assert retired_payload == contracts.AreaRetired(
        area_id="m1",
        level="community",
        path=["c1", "d1", "s1", "m1"],
        valid_to=date(2010, 6, 30),
        reason="merged",
        successor_ids=["n"],
    )


def test_a_split_gives_each_new_community_its_households_and_the_old_kind() -> None:
    plan = plan_split(
        area=community("m1", kind="residential"),
        into=[("a", ["h1", "h2"]), ("b", [])],
        households={"h1", "h2"},
        effective=MERGE_DAY,
        today=TODAY,
    )
    into = [NewCommunity(id="a", name="A"), NewCommunity(id="b", name="B", household_count=7)]
    created = plan.created(into, parent_path=("c1", "d1", "s1"))
    assert [(c.area_id, c.kind, c.household_count, c.predecessor_ids) for c in created] == [
        ("a", "residential", 2, ("m1",)),
        ("b", "residential", 7, ("m1",)),
    ]
    assert plan.retired().successor_ids == ("a", "b")
    [(payload, key)] = published(plan.done(households_moved={"a": 2, "b": 0}))
    assert key == "m1"
    assert payload == contracts.AreaSplit(
        area_id="m1", into_ids=["a", "b"], effective=MERGE_DAY, households_moved={"a": 2, "b": 0}
    )


def test_abolishing_records_the_retirement_without_successors() -> None:
    retired = check_retire(
        area=community("m1"), effective=MERGE_DAY, current_children=0, households=0, today=TODAY
    )
    assert retired == AreaRetired(
        area_id="m1",
        level="community",
        path=("c1", "d1", "s1", "m1"),
        valid_to=date(2010, 6, 30),
        reason="abolished",
        successor_ids=(),
    )
    [(payload, _)] = published(retired)
    assert isinstance(payload, contracts.AreaRetired)
    assert payload.successor_ids == []


FACILITY = FacilitySnapshot(
    "f1", "m1", ("c1", "m1"), "office", (("office", 120.0),), SINCE, None, 1
)
WORKER = WorkerSnapshot(
    "w1", "m1", ("c1", "m1"), "officer", "hired", "bachelor", 1980, "female", False, SINCE, None
)
ORGANISATION = OrganisationSnapshot("o1", "m1", ("c1", "m1"), "Choir", "culture", 12, SINCE)
VOLUNTEER = VolunteerSnapshot("v1", "m1", ("c1", "m1"), None, "o1", SINCE)


@pytest.mark.parametrize(
    ("event", "contract", "key"),
    [
        (AreasMerged(("m1", "m2"), "n", ("c1", "n"), MERGE_DAY, 0), contracts.AreasMerged, "n"),
        (AreaSplit("m1", ("a", "b"), MERGE_DAY, {"a": 0}), contracts.AreaSplit, "m1"),
        (FacilityOpened(FACILITY), contracts.FacilityOpened, "f1"),
        (FacilityUpdated(FACILITY), contracts.FacilityUpdated, "f1"),
        (
            FacilityClosed(FacilitySnapshot(**{**FACILITY.__dict__, "closed_on": MERGE_DAY})),
            contracts.FacilityClosed,
            "f1",
        ),
        (WorkerAppointed(WORKER), contracts.WorkerAppointed, "w1"),
        (
            WorkerLeft(WorkerSnapshot(**{**WORKER.__dict__, "left_on": MERGE_DAY})),
            contracts.WorkerLeft,
            "w1",
        ),
        (OrganisationRegistered(ORGANISATION), contracts.OrganisationRegistered, "o1"),
        (VolunteerRegistered(VOLUNTEER), contracts.VolunteerRegistered, "v1"),
        (HoursLogged(VOLUNTEER, "e1", 2.5, MERGE_DAY), contracts.ServiceHoursLogged, "v1"),
    ],
)
def test_every_domain_event_of_areas_and_places_has_its_contract(
    event: object, contract: type[EventPayload], key: str
) -> None:
    [(payload, partition_key)] = published(event)
    assert isinstance(payload, contract)
    assert partition_key == key


def test_an_unknown_domain_event_is_a_wiring_error() -> None:
    with pytest.raises(TypeError, match="no integration event for object"):
        translate(object())


def test_dates_rules_name_the_field_they_check() -> None:
    assert not_in_future(TODAY, today=TODAY, field="opened_on") == TODAY
    with pytest.raises(InvalidInput) as raised:
        not_in_future(date(2026, 11, 23), today=TODAY, field="opened_on")
    [error] = raised.value.errors
    assert (error.field, error.code, raised.value.detail) == (
        "opened_on",
        "future",
        "opened_on 2026-11-23 is in the future",
    )
    assert not_before(SINCE, SINCE, field="closed_on", what="the opening") == SINCE
    with pytest.raises(InvalidInput) as raised:
        not_before(date(2004, 12, 31), SINCE, field="closed_on", what="the opening")
    [error] = raised.value.errors
    assert (error.field, error.code) == ("closed_on", "order")
    assert error.message == "must not be before the opening (2005-01-01)"
