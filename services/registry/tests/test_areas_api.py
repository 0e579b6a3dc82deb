"""The areas API on PostgreSQL and the broker: rules, auth, pagination, events."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from registry.adapters.areas import AreaRow
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.integration, pytest.mark.publishes]


def area(area_id: str, level: str, parent: str | None, **extra: object) -> dict[str, object]:
    return {
        "id": area_id,
        "level": level,
        "name": f"Area {area_id}",
        "parent_id": parent,
        "valid_from": "2005-01-01",
        **extra,
    }


async def build_tree(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for body in [
        area("c1", "city", None),
        area("d1", "district", "c1"),
        area("d2", "district", "c1"),
        area("s1", "street", "d1"),
        area("s2", "street", "d2"),
        area("m1", "community", "s1", kind="residential", household_count=1947),
        area("m2", "community", "s1", kind="block", household_count=2280),
        area("m3", "community", "s2", kind="work_unit", household_count=1500),
    ]:
        response = await client.post("/areas", json=body, headers=headers)
        assert response.status_code == 201, response.text


async def counts(settings: Settings) -> tuple[int, int]:
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        areas = await session.scalar(select(func.count()).select_from(AreaRow))
        events = await session.scalar(select(func.count()).select_from(OutboxRecord))
    await engine.dispose()
    return int(areas or 0), int(events or 0)


async def test_register_get_and_list_with_paths(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:write", "registry:read")
    await build_tree(client, writer)
    got = await client.get("/areas/m2", headers=writer)
    assert got.json()["path"] == ["c1", "d1", "s1", "m2"]
    assert got.json()["household_count"] == 2280

    first = await client.get("/areas", params={"within": "d1", "limit": 2}, headers=writer)
    assert [a["id"] for a in first.json()["items"]] == ["d1", "m1"]
    second = await client.get(
        "/areas",
        params={"within": "d1", "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=writer,
    )
    assert [a["id"] for a in second.json()["items"]] == ["m2", "s1"]
    assert second.json()["next_cursor"] is None

    communities = await client.get("/areas", params={"level": "community"}, headers=writer)
    assert [a["id"] for a in communities.json()["items"]] == ["m1", "m2", "m3"]


async def test_rule_violations_are_problems_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:write", "registry:read")
    await build_tree(client, writer)
    before = await counts(settings)

    wrong_level = await client.post("/areas", json=area("x1", "community", "d1"), headers=writer)
    assert wrong_level.status_code == 422
    assert wrong_level.headers["content-type"] == "application/problem+json"
    assert wrong_level.json()["errors"][0]["field"] == "body.parent_id"

    bad_date = await client.post(
        "/areas", json=area("x2", "street", "d1", valid_from="2005-13-01"), headers=writer
    )
    assert bad_date.status_code == 422
    assert bad_date.json()["errors"][0]["field"] == "body.valid_from"

    duplicate = await client.post("/areas", json=area("d1", "district", "c1"), headers=writer)
    assert duplicate.status_code == 409
    assert await counts(settings) == before


async def test_tokens_need_the_scope_and_stay_in_their_area(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await build_tree(client, bearer(settings, "registry:write"))
    assert (await client.get("/areas/m1")).status_code == 401
    assert (
        await client.get("/areas/m1", headers=bearer(settings, "casework:read"))
    ).status_code == 403

    street_worker = bearer(settings, "registry:read", "registry:write", area="s1")
    assert (await client.get("/areas/m1", headers=street_worker)).status_code == 200
    assert (await client.get("/areas/m3", headers=street_worker)).status_code == 404
    listed = await client.get("/areas", headers=street_worker)
    assert [a["id"] for a in listed.json()["items"]] == ["m1", "m2", "s1"]
    outside = await client.post("/areas", json=area("m9", "community", "s2"), headers=street_worker)
    assert outside.status_code == 404
    inside = await client.post("/areas", json=area("m8", "community", "s1"), headers=street_worker)
    assert inside.status_code == 201


async def test_each_registered_area_is_published_as_a_cloudevent(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:write")
    marker = f"t{id(client)}"
    await client.post("/areas", json=area(marker, "city", None), headers=writer)
    await client.post("/areas", json=area(f"{marker}d", "district", marker), headers=writer)

    records = await wait_for_records(
        settings, "registry.area.events", 2, where=lambda r: r.key.decode().startswith(marker)
    )
    events = [json.loads(r.value) for r in records]
    by_subject = {e["subject"]: e for e in events}  # two aggregates: no order between them
    assert set(by_subject) == {f"area/{marker}", f"area/{marker}d"}
    district = by_subject[f"area/{marker}d"]
    assert district["type"] == "org.shequ.registry.area.created.v1"
    assert district["source"] == "/services/registry"
    assert district["data"]["path"] == [marker, f"{marker}d"]  # type: ignore[index]


async def test_pages_are_stable_while_areas_are_added_and_filters_combine(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:write", "registry:read")
    await build_tree(client, writer)
    for index in (2, 4, 6, 8):
        body = area(f"s1c{index}", "community", "s1", kind="geographic")
        assert (await client.post("/areas", json=body, headers=writer)).status_code == 201

    seen: list[str] = []
    cursor: str | None = None
    added = False
    while True:
        params: dict[str, str | int] = {"within": "s1", "level": "community", "limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get("/areas", params=params, headers=writer)).json()
        seen += [a["id"] for a in page["items"]]
        if not added:  # one before the cursor, one after it: only the later one shows up
            for new_id in ("m0", "s1c9"):
                body = area(new_id, "community", "s1", kind="geographic")
                assert (await client.post("/areas", json=body, headers=writer)).status_code == 201
            added = True
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["m1", "m2", "s1c2", "s1c4", "s1c6", "s1c8", "s1c9"]

    by_kind = await client.get(
        "/areas", params={"kind": "geographic", "limit": 500}, headers=writer
    )
    assert [a["id"] for a in by_kind.json()["items"]] == [
        "m0",
        "s1c2",
        "s1c4",
        "s1c6",
        "s1c8",
        "s1c9",
    ]
    count = await client.get(
        "/areas/count", params={"within": "d1", "level": "community"}, headers=writer
    )
    assert count.json() == {"count": 8}

    bad_cursor = await client.get("/areas", params={"cursor": "not-ours"}, headers=writer)
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["errors"][0]["field"] == "query.cursor"
    too_big = await client.get("/areas", params={"limit": 501}, headers=writer)
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "query.limit"
