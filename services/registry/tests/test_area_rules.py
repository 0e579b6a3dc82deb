"""Unit tests of the area hierarchy rules (no I/O)."""

from __future__ import annotations

import pytest
from registry.domain.areas import ParentArea, ensure_new, path_for_new_area
from shared.errors import Conflict, InvalidInput

CITY = ParentArea("140500", "city", ("140500",))
DISTRICT = ParentArea("140502", "district", ("140500", "140502"))


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
    ],
)
def test_broken_hierarchy_names_parent_id(
    level: str, parent: ParentArea | None, parent_id: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        path_for_new_area(area_id="x", level=level, parent=parent, parent_id=parent_id)  # type: ignore[arg-type]
    [error] = raised.value.errors
    assert error.field == "body.parent_id"
    assert error.message == message


def test_duplicate_area_conflicts() -> None:
    ensure_new("a", exists=False)
    with pytest.raises(Conflict):
        ensure_new("a", exists=True)
