"""History of households and residents: versions with valid_from/valid_to, the history
routes, and ``as_of`` on the lists and counts."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from registry.domain.national_id import check_character
from registry.settings import Settings
from shared.testing.service import bearer

pytestmark = [pytest.mark.integration]

TODAY = date.today()


def number(sequence: int) -> str:
    first_17 = f"11010519491231{sequence:03d}"
    return first_17 + check_character(first_17)


async def test_households_and_residents_keep_their_history(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    body = {"community_id": "m1", "address": "1 Dongjie", "registered_on": "2010-05-01"}
    household_id = (await client.post("/households", json=body, headers=writer)).json()["id"]
    resident = {
        "national_id": number(2),
        "name": "Wang Fang",
        "sex": "female",
        "birth_date": "1949-12-31",
        "household_id": household_id,
        "employment_status": "retired",
    }
    resident_id = (await client.post("/residents", json=resident, headers=writer)).json()["id"]
    patched = await client.patch(
        f"/residents/{resident_id}", json={"flags": ["empty_nest"]}, headers=writer
    )
    assert patched.status_code == 200, patched.text
    moved = await client.post(
        f"/households/{household_id}/move",
        json={"community_id": "m3", "moved_on": TODAY.isoformat()},
        headers=writer,
    )
    assert moved.status_code == 200, moved.text

    household_versions = (
        await client.get(f"/households/{household_id}/history", headers=writer)
    ).json()
    assert [
        (v["version"], v["change"], v["valid_from"], v["valid_to"], v["community_id"])
        for v in household_versions
    ] == [
        (1, "registered", "2010-05-01", TODAY.isoformat(), "m1"),
        (2, "moved", TODAY.isoformat(), None, "m3"),
    ]
    assert household_versions[0]["address"] == "1 Dongjie"
    versions = (await client.get(f"/residents/{resident_id}/history", headers=writer)).json()
    assert [(v["version"], v["change"], v["community_id"], v["flags"]) for v in versions] == [
        (1, "registered", "m1", []),
        (2, "updated", "m1", ["empty_nest"]),
        (3, "moved", "m3", ["empty_nest"]),
    ]
    assert [v["valid_to"] for v in versions] == [TODAY.isoformat(), TODAY.isoformat(), None]
    assert "national_id" not in versions[0]

    outside = bearer(settings, "registry:read", area="s1")
    assert (
        await client.get(f"/residents/{resident_id}/history", headers=outside)
    ).status_code == 404
    assert (await client.get("/residents/nobody/history", headers=writer)).status_code == 404

    yesterday = (TODAY - timedelta(days=1)).isoformat()
    then = await client.get("/households", params={"as_of": "2012-01-01"}, headers=writer)
    assert [h["community_id"] for h in then.json()["items"]] == ["m1"]
    before = await client.get("/households", params={"as_of": "2009-01-01"}, headers=writer)
    assert before.json()["items"] == []
    in_s1 = {"within": "s1"}
    count = await client.get("/residents/count", params=in_s1, headers=writer)
    assert count.json() == {"count": 0}  # the resident lives in m3 now
    count = await client.get(
        "/residents/count", params={**in_s1, "as_of": yesterday}, headers=writer
    )
    assert count.json() == {"count": 0}  # registered today: not yet in the register yesterday
    listed = await client.get("/residents", params={"as_of": TODAY.isoformat()}, headers=writer)
    assert [r["community_id"] for r in listed.json()["items"]] == ["m3"]
