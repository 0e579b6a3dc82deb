"""Administrative areas: city → district → street office → community.

Rules (DOMAIN.md §1, "two levels of government and three levels of management"): a city has
no parent; every other area's parent is one level up. An area's path is the ids from the city
down to it, which is what authorisation (area claims) and statistics roll-ups use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.errors import Conflict, FieldError, InvalidInput

AreaLevel = Literal["city", "district", "street", "community"]
CommunityKind = Literal[
    "residential", "enterprise_workers", "urban_rural_fringe", "block", "work_unit", "geographic"
]
PARENT_LEVEL: dict[str, str | None] = {
    "city": None,
    "district": "city",
    "street": "district",
    "community": "street",
}


@dataclass(frozen=True)
class ParentArea:
    """What the rules need to know of a prospective parent."""

    id: str
    level: AreaLevel
    path: tuple[str, ...]


def path_for_new_area(
    *, area_id: str, level: AreaLevel, parent: ParentArea | None, parent_id: str | None
) -> tuple[str, ...]:
    """The new area's path; raises :class:`InvalidInput` naming the field that breaks a rule."""
    expected_parent_level = PARENT_LEVEL[level]
    if expected_parent_level is None:
        if parent_id is not None:
            raise InvalidInput(
                "a city has no parent area",
                errors=[FieldError("body.parent_id", "must be null for a city")],
            )
        return (area_id,)
    if parent_id is None:
        raise InvalidInput(
            f"a {level} needs a parent {expected_parent_level}",
            errors=[FieldError("body.parent_id", f"required for a {level}", "missing")],
        )
    if parent is None:
        raise InvalidInput(
            f"parent area {parent_id} does not exist",
            errors=[FieldError("body.parent_id", "no such area", "not_found")],
        )
    if parent.level != expected_parent_level:
        raise InvalidInput(
            f"the parent of a {level} must be a {expected_parent_level}, not a {parent.level}",
            errors=[FieldError("body.parent_id", f"must be a {expected_parent_level}", "level")],
        )
    return (*parent.path, area_id)


def ensure_new(area_id: str, exists: bool) -> None:
    """Refuse a second area with the same id."""
    if exists:
        raise Conflict(f"area {area_id} already exists")
