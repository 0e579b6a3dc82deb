"""A hierarchy cities can shape: levels and which level may hold which are data (the shipped
file: city > district > street > community and city > county > township > village), and
the grassroots levels take households."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from registry.app import create_app
from registry.domain.areas import ParentArea, path_for_new_area
from registry.domain.hierarchy import DEFAULT_HIERARCHY, Hierarchy, HierarchyError
from registry.settings import Settings
from shared.errors import InvalidInput
from shared.testing.service import bearer, running_service


def parent(area_id: str, level: str, path: tuple[str, ...]) -> ParentArea:
    return ParentArea(
        id=area_id, level=level, path=path, valid_from=date(2000, 1, 1), valid_to=None
    )


@pytest.mark.unit
def test_the_shipped_hierarchy_has_cities_and_counties() -> None:
    township = parent("t1", "township", ("c1", "k1", "t1"))
    assert path_for_new_area(area_id="v1", level="village", parent=township, parent_id="t1") == (
        "c1",
        "k1",
        "t1",
        "v1",
    )
    street = parent("s1", "street", ("c1", "d1", "s1"))
    with pytest.raises(InvalidInput) as refused:
        path_for_new_area(area_id="v2", level="village", parent=street, parent_id="s1")
    assert refused.value.errors[0].message == "must be a township"
    assert DEFAULT_HIERARCHY.is_grassroots("village")
    assert DEFAULT_HIERARCHY.parent_levels("county") == ("city",)


@pytest.mark.unit
def test_a_city_shapes_its_own_hierarchy() -> None:
    counties_only = Hierarchy.from_json(
        json.dumps(
            {
                "levels": {
                    "city": {"parents": []},
                    "county": {"parents": ["city"]},
                    "village": {"parents": ["county"], "grassroots": True},
                }
            }
        )
    )
    county = parent("k1", "county", ("c1", "k1"))
    assert path_for_new_area(
        area_id="v1", level="village", parent=county, parent_id="k1", hierarchy=counties_only
    ) == ("c1", "k1", "v1")
    with pytest.raises(InvalidInput) as refused:
        path_for_new_area(
            area_id="d1", level="district", parent=None, parent_id="c1", hierarchy=counties_only
        )
    assert refused.value.errors[0].field == "level"
    for broken in (
        {"levels": {"city": {"parents": []}, "hamlet": {"parents": ["city"], "grassroots": True}}},
        {"levels": {"city": {"parents": []}, "community": {"parents": ["city"]}}},
        {"levels": {"city": {"parents": ["community"]}, "community": {"parents": ["city"]}}},
        {"nothing": 1},
    ):
        with pytest.raises(HierarchyError):
            Hierarchy.from_json(json.dumps(broken))


@pytest.mark.integration
async def test_villages_of_a_county_take_households(
    settings: Settings, tmp_path: Path, writer: dict[str, str]
) -> None:
    custom = tmp_path / "hierarchy.json"
    custom.write_text(
        json.dumps(
            {
                "levels": {
                    "city": {"parents": []},
                    "county": {"parents": ["city"]},
                    "township": {"parents": ["county"]},
                    "village": {"parents": ["township"], "grassroots": True},
                }
            }
        )
    )
    for prefix, hierarchy_file, refused_field in (("a", None, "parent_id"), ("b", custom, "level")):
        rows = [
            {"id": f"{prefix}c", "level": "city"},
            {"id": f"{prefix}k", "level": "county", "parent_id": f"{prefix}c"},
            {"id": f"{prefix}t", "level": "township", "parent_id": f"{prefix}k"},
            {"id": f"{prefix}v", "level": "village", "parent_id": f"{prefix}t"},
            {"id": f"{prefix}s", "level": "street", "parent_id": f"{prefix}k"},
        ]
        body = "".join(
            json.dumps({"type": "area", "name": "A", "valid_from": "2005-01-01", **row}) + "\n"
            for row in rows
        )
        shaped = settings.model_copy(update={"area_hierarchy_file": hierarchy_file})
        async with running_service(create_app, shaped) as client:
            report = (await client.post("/imports", content=body, headers=writer)).json()
            assert (report["accepted"], report["rejected"]) == (4, 1)
            assert report["rejected_rows"][0]["field"] == refused_field
            village = f"{prefix}v"
            household = {"community_id": village, "address": "1 Cun", "registered_on": "2010-01-01"}
            created = await client.post("/households", json=household, headers=writer)
            assert created.status_code == 201, created.text
            assert created.json()["path"] == [f"{prefix}c", f"{prefix}k", f"{prefix}t", village]
            villages = await client.get(
                "/areas", params={"level": "village"}, headers=bearer(settings, "registry:read")
            )
            assert village in [area["id"] for area in villages.json()["items"]]
