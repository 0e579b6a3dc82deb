"""Metrics follows the registry's configured levels: a village (the grassroots level of a
county's hierarchy) counts as a community, a township does not."""

from __future__ import annotations

from datetime import date

import pytest

from metrics.consumers import entity_key
from shared.contracts.registry import AreaCreated, AreaRetired

pytestmark = pytest.mark.unit


def created(area_id: str, level: str, path: list[str]) -> AreaCreated:
    return AreaCreated.model_validate(
        {
            "area_id": area_id,
            "level": level,
            "name": area_id,
            "parent_id": path[-2],
            "path": path,
            "valid_from": date(2005, 1, 1),
        }
    )


def test_a_village_is_projected_as_a_community() -> None:
    assert entity_key(created("v1", "village", ["c1", "k1", "t1", "v1"])) == ("community", "v1")
    assert entity_key(created("m1", "community", ["c1", "d1", "s1", "m1"])) == ("community", "m1")
    assert entity_key(created("t1", "township", ["c1", "k1", "t1"])) is None
    retired = AreaRetired.model_validate(
        {
            "area_id": "v1",
            "level": "village",
            "path": ["c1", "k1", "t1", "v1"],
            "valid_to": date(2020, 1, 1),
            "reason": "merged",
            "successor_ids": ["v2"],
        }
    )
    assert entity_key(retired) == ("community", "v1")
