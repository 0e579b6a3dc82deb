"""Unit tests of the area hierarchy and history rules (no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from registry.domain.areas import (
    AreaVersion,
    ParentArea,
    check_retire,
    ensure_new,
    inherited_kind,
    merged_household_count,
    path_for_new_area,
    plan_merge,
    plan_split,
)
from shared.errors import Conflict, InvalidInput

CITY = ParentArea("140500", "city", ("140500",))
DISTRICT = ParentArea("140502", "district", ("140500", "140502"))
SINCE = date(2005, 1, 1)
MERGE_DAY = date(2010, 7, 1)
TODAY = date(2026, 11, 22)


def community(area_id: str, street: str = "s1", **changes: object) -> AreaVersion:
    values: dict[str, object] = {
        "id": area_id,
        "level": "community",
        "parent_id": street,
        "path": ("c1", "d1", street, area_id),
        "valid_from": SINCE,
        "valid_to": None,
    }
    values.update(changes)
    return AreaVersion(**values)  # type: ignore[arg-type]


def field_of(raised: pytest.ExceptionInfo[InvalidInput]) -> str:
    [error] = raised.value.errors
    return error.field


# -- registration ----------------------------------------------------------------------


def test_city_path_is_itself() -> None:
    assert path_for_new_area(area_id="140500", level="city", parent=None, parent_id=None) == (
        "140500",
    )


def test_child_path_extends_parent() -> None:
    path = path_for_new_area(
        area_id="140502001", level="street", parent=DISTRICT, parent_id="140502"
    )
    assert path == ("140500", "140502", "140502001")


@pytest.mark.parametrize(
    ("level", "parent", "parent_id", "message"),
    [
        ("city", None, "140500", "must be null for a city"),
        ("district", None, None, "required for a district"),
        ("street", None, "999", "no such area"),
        ("street", CITY, "140500", "must be a district"),
        ("community", DISTRICT, "140502", "must be a street"),
        (
            "street",
            ParentArea("140502", "district", ("140500", "140502"), SINCE, date(2009, 12, 31)),
            "140502",
            "retired after 2009-12-31",
        ),
    ],
)
def test_broken_hierarchy_names_parent_id(
    level: str, parent: ParentArea | None, parent_id: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        path_for_new_area(area_id="x", level=level, parent=parent, parent_id=parent_id)  # type: ignore[arg-type]
    [error] = raised.value.errors
    assert error.field == "parent_id"
    assert error.message == message


def test_an_area_cannot_begin_before_its_parent() -> None:
    parent = ParentArea("140502", "district", ("140500", "140502"), valid_from=SINCE)
    with pytest.raises(InvalidInput) as raised:
        path_for_new_area(
            area_id="x",
            level="street",
            parent=parent,
            parent_id="140502",
            valid_from=date(2004, 12, 31),
        )
    assert field_of(raised) == "valid_from"


def test_duplicate_area_conflicts() -> None:
    ensure_new("a", exists=False)
    with pytest.raises(Conflict):
        ensure_new("a", exists=True)


def test_validity_is_inclusive_at_both_ends() -> None:
    area = community("m1", valid_to=date(2010, 6, 30))
    assert not area.valid_on(date(2004, 12, 31))
    assert area.valid_on(SINCE)
    assert area.valid_on(date(2010, 6, 30))
    assert not area.valid_on(MERGE_DAY)
    assert not area.current
    assert community("m2").valid_on(date(2100, 1, 1))


# -- merge -----------------------------------------------------------------------------


def test_merge_of_n_communities_of_one_street() -> None:
    found = {f"m{i}": community(f"m{i}") for i in range(1, 5)}
    plan = plan_merge(
        area_ids=list(found), found=found, into_id="n1", effective=MERGE_DAY, today=TODAY
    )
    assert plan.merged_ids == ("m1", "m2", "m3", "m4")
    assert plan.parent_id == "s1"
    assert plan.valid_to == date(2010, 6, 30)


@pytest.mark.parametrize(
    ("area_ids", "found", "effective", "field", "message"),
    [
        (["m1"], {"m1": community("m1")}, MERGE_DAY, "area_ids", "at least 2 communities"),
        ([], {}, MERGE_DAY, "area_ids", "at least 2 communities"),
        (
            ["m1", "m1"],
            {"m1": community("m1")},
            MERGE_DAY,
            "area_ids.1",
            "listed twice",
        ),
        (["m1", "zz"], {"m1": community("m1")}, MERGE_DAY, "area_ids.1", "no such area"),
        (
            ["m1", "s2"],
            {
                "m1": community("m1"),
                "s2": AreaVersion("s2", "street", "d1", ("c1", "d1", "s2"), SINCE, None),
            },
            MERGE_DAY,
            "area_ids.1",
            "must be a community",
        ),
        (
            ["m1", "m2"],
            {"m1": community("m1"), "m2": community("m2", valid_to=date(2008, 1, 1))},
            MERGE_DAY,
            "area_ids.1",
            "retired after 2008-01-01",
        ),
        (
            ["m1", "m3"],
            {"m1": community("m1"), "m3": community("m3", street="s2")},
            MERGE_DAY,
            "area_ids.1",
            "not under street s1",
        ),
        (
            ["m1", "m2"],
            {"m1": community("m1"), "m2": community("m2", valid_from=date(2011, 1, 1))},
            MERGE_DAY,
            "effective",
            "must be after 2011-01-01 (start of m2)",
        ),
        (
            ["m1", "m2"],
            {"m1": community("m1"), "m2": community("m2")},
            SINCE,
            "effective",
            "must be after 2005-01-01 (start of m1)",
        ),
    ],
)
def test_merge_rules_name_the_field(
    area_ids: list[str],
    found: dict[str, AreaVersion],
    effective: date,
    field: str,
    message: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        plan_merge(area_ids=area_ids, found=found, into_id="n1", effective=effective, today=TODAY)
    [error] = raised.value.errors
    assert (error.field, error.message) == (field, message)


def test_merge_needs_a_new_id() -> None:
    found = {"m1": community("m1"), "m2": community("m2")}
    with pytest.raises(InvalidInput) as raised:
        plan_merge(
            area_ids=["m1", "m2"], found=found, into_id="m2", effective=MERGE_DAY, today=TODAY
        )
    assert field_of(raised) == "into.id"


def test_merged_figures_and_kind() -> None:
    assert merged_household_count([1947, None, 2280]) == 4227
    assert merged_household_count([None, None]) is None
    assert inherited_kind(["block", "block"]) == "block"
    assert inherited_kind(["block", "work_unit"]) is None
    assert inherited_kind([None, None]) is None


# -- split -----------------------------------------------------------------------------


def test_split_assigns_every_household_once() -> None:
    plan = plan_split(
        area=community("m1"),
        into=[("n1", ["h1", "h3"]), ("n2", ["h2"]), ("n3", [])],
        households={"h1", "h2", "h3"},
        effective=MERGE_DAY,
        today=TODAY,
    )
    assert plan.into_ids == ("n1", "n2", "n3")
    assert plan.assignment == {"n1": ("h1", "h3"), "n2": ("h2",), "n3": ()}
    assert (plan.parent_id, plan.valid_to) == ("s1", date(2010, 6, 30))


@pytest.mark.parametrize(
    ("area", "into", "effective", "field", "message"),
    [
        (community("m1"), [("n1", ["h1", "h2"])], MERGE_DAY, "areas", "at least 2"),
        (
            community("m1"),
            [("n1", ["h1"]), ("n2", [])],
            MERGE_DAY,
            "areas",
            "households not assigned: h2",
        ),
        (
            community("m1"),
            [("n1", ["h1", "h2"]), ("n2", ["h1"])],
            MERGE_DAY,
            "areas.1.household_ids.0",
            "already assigned to n1",
        ),
        (
            community("m1"),
            [("n1", ["h1", "h2", "h9"]), ("n2", [])],
            MERGE_DAY,
            "areas.0.household_ids.2",
            "not a household of m1",
        ),
        (
            community("m1"),
            [("n1", ["h1", "h2"]), ("n1", [])],
            MERGE_DAY,
            "areas.1.id",
            "not a new id",
        ),
        (
            community("m1"),
            [("n1", ["h1", "h2"]), ("n2", [])],
            SINCE,
            "effective",
            "must be after",
        ),
        (
            community("m1", valid_to=date(2008, 1, 1)),
            [("n1", ["h1", "h2"]), ("n2", [])],
            MERGE_DAY,
            "area_id",
            "retired",
        ),
        (
            AreaVersion("s1", "street", "d1", ("c1", "d1", "s1"), SINCE, None),
            [("n1", ["h1", "h2"]), ("n2", [])],
            MERGE_DAY,
            "area_id",
            "must be a community",
        ),
    ],
)
def test_split_rules_name_the_field(
    area: AreaVersion,
    into: list[tuple[str, list[str]]],
    effective: date,
    field: str,
    message: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        plan_split(area=area, into=into, households={"h1", "h2"}, effective=effective, today=TODAY)
    [error] = raised.value.errors
    assert error.field == field
    assert message in error.message


def test_split_error_lists_a_few_unassigned_households() -> None:
    with pytest.raises(InvalidInput) as raised:
        plan_split(
            area=community("m1"),
            into=[("n1", []), ("n2", [])],
            households={f"h{i:02}" for i in range(12)},
            effective=MERGE_DAY,
            today=TODAY,
        )
    [error] = raised.value.errors
    assert error.message == "households not assigned: h00, h01, h02, h03, h04 and 7 more"


# -- retire ----------------------------------------------------------------------------


def test_retire_ends_the_day_before() -> None:
    retired = check_retire(
        area=community("m1"), effective=MERGE_DAY, current_children=0, households=0, today=TODAY
    )
    assert (retired.area_id, retired.valid_to, retired.reason) == (
        "m1",
        date(2010, 6, 30),
        "abolished",
    )


@pytest.mark.parametrize(
    ("children", "households", "area", "field", "code"),
    [
        (
            3,
            0,
            AreaVersion("s1", "street", "d1", ("c1", "d1", "s1"), SINCE, None),
            "area_id",
            "children",
        ),
        (0, 12, community("m1"), "area_id", "households"),
        (0, 0, community("m1", valid_to=date(2008, 1, 1)), "area_id", "retired"),
        (0, 0, community("m1", valid_from=MERGE_DAY), "effective", "invalid"),
    ],
)
def test_retire_rules_name_the_field(
    children: int, households: int, area: AreaVersion, field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        check_retire(
            area=area,
            effective=MERGE_DAY,
            current_children=children,
            households=households,
            today=TODAY,
        )
    [error] = raised.value.errors
    assert (error.field, error.code) == (field, code)


def test_changes_are_recorded_once_they_have_taken_effect() -> None:
    found = {"m1": community("m1"), "m2": community("m2")}
    tomorrow = date(2026, 11, 23)
    attempts = [
        lambda: plan_merge(
            area_ids=["m1", "m2"], found=found, into_id="n", effective=tomorrow, today=TODAY
        ),
        lambda: plan_split(
            area=community("m1"),
            into=[("a", []), ("b", [])],
            households=set(),
            effective=tomorrow,
            today=TODAY,
        ),
        lambda: check_retire(
            area=community("m1"), effective=tomorrow, current_children=0, households=0, today=TODAY
        ),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInput) as raised:
            attempt()
        assert field_of(raised) == "effective"
    plan = plan_merge(area_ids=["m1", "m2"], found=found, into_id="n", effective=TODAY, today=TODAY)
    assert plan.valid_to == date(2026, 11, 21)
