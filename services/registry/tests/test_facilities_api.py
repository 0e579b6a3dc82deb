"""The facilities API on PostgreSQL and the broker: the facility's life and its events, the
≥ 300 m² query, service area per 150 households, validation, idempotency, confinement."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from registry.adapters.areas import AreaRow
from registry.adapters.facilities import FacilityRoomRow, FacilityRow
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)
MEETING = "/facilities/stats/communities-meeting-area"
SERVICE_AREA = "/facilities/stats/service-area"


async def build_tree(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """c1 → d1 → s1 → m1 (1,500 households), m2 (2,280); c1 → d2 → s2 → m3 (unknown)."""
    for area_id, level, parent, households in [
        ("c1", "city", None, None),
        ("d1", "district", "c1", None),
        ("d2", "district", "c1", None),
        ("s1", "street", "d1", None),
        ("s2", "street", "d2", None),
        ("m1", "community", "s1", 1500),
        ("m2", "community", "s1", 2280),
        ("m3", "community", "s2", None),
    ]:
        body = {
            "id": area_id,
            "level": level,
            "name": f"Area {area_id}",
            "parent_id": parent,
            "valid_from": "2005-01-01",
            "household_count": households,
        }
        response = await client.post("/areas", json=body, headers=headers)
        assert response.status_code == 201, response.text


def facility(community_id: str, kind: str = "office", **rooms: float) -> dict[str, Any]:
    return {
        "community_id": community_id,
        "kind": kind,
        "rooms": [{"purpose": purpose, "area_m2": area} for purpose, area in rooms.items()],
        "opened_on": "2006-01-01",
    }


async def open_facility(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/facilities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def counts(settings: Settings) -> tuple[int, int, int]:
    """Facilities, rooms and outbox rows stored."""
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        found = [
            int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (FacilityRow, FacilityRoomRow, OutboxRecord)
        ]
    await engine.dispose()
    return found[0], found[1], found[2]


async def retire(settings: Settings, area_id: str, last_day: date) -> None:
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            update(AreaRow).where(AreaRow.id == area_id).values(valid_to=last_day)
        )
    await engine.dispose()


async def events_of(settings: Settings, topic: str, key: str, expected: int) -> list[Any]:
    """The events of aggregate ``key`` in ``topic``, once ``expected`` of them have arrived."""
    records = await wait_for_records(
        settings, topic, expected, where=lambda r: r.key == key.encode()
    )
    return [json.loads(r.value) for r in records]


async def test_the_300_m2_query_flips_as_rooms_are_added_and_a_facility_closes_with_events(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    await build_tree(client, writer)
    created = await open_facility(
        client, writer, facility("m1", office=120, public_service=100, library=200)
    )
    assert created["office_and_public_service_m2"] == 220
    assert created["total_area_m2"] == 420
    assert created["path"] == ["c1", "d1", "s1", "m1"]

    async def meeting(**params: Any) -> dict[str, Any]:
        response = await client.get(MEETING, params={"within": "c1", **params}, headers=writer)
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    before = await meeting(threshold_m2=300)
    assert (before["communities"], before["meeting"], before["total"]) == ([], 0, 3)
    assert before["share"] == 0

    rooms = [*created["rooms"], {"purpose": "elderly_activity", "area_m2": 80}]
    patched = await client.patch(
        f"/facilities/{created['id']}", json={"rooms": rooms}, headers=writer
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    after = await meeting()
    assert (after["communities"], after["meeting"], after["total"]) == (["m1"], 1, 3)
    assert after["share"] == pytest.approx(1 / 3, abs=1e-4)
    assert (await meeting(as_of="2005-12-31"))["communities"] == []  # not yet open
    assert (await meeting(within="d2"))["total"] == 1

    closed = await client.post(
        f"/facilities/{created['id']}/close", json={"closed_on": TODAY.isoformat()}, headers=writer
    )
    assert closed.status_code == 200, closed.text
    assert (await meeting())["communities"] == []
    assert (await meeting(as_of=YESTERDAY.isoformat()))["communities"] == ["m1"]

    again = await client.patch(
        f"/facilities/{created['id']}", json={"kind": "service_station"}, headers=writer
    )
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    twice = await client.post(
        f"/facilities/{created['id']}/close", json={"closed_on": TODAY.isoformat()}, headers=writer
    )
    assert twice.status_code == 409

    events = await events_of(settings, "registry.facility.events", created["id"], 3)
    assert [e["type"] for e in events] == [
        "org.shequ.registry.facility.opened.v1",
        "org.shequ.registry.facility.updated.v1",
        "org.shequ.registry.facility.closed.v1",
    ]
    assert [e["data"]["version"] for e in events] == [1, 2, 3]
    assert {e["subject"] for e in events} == {f"facility/{created['id']}"}
    updated = events[1]["data"]
    assert updated["path"] == ["c1", "d1", "s1", "m1"]
    assert updated["community_id"] == "m1"
    assert updated["kind"] == "office"
    assert updated["total_area_m2"] == 500
    assert {r["purpose"]: r["area_m2"] for r in updated["rooms"]} == {
        "elderly_activity": 80,
        "library": 200,
        "office": 120,
        "public_service": 100,
    }
    assert events[2]["data"]["closed_on"] == TODAY.isoformat()


async def test_service_area_per_150_households_of_current_communities(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    await build_tree(client, writer)
    # m1: 250 m² of service rooms for 1,500 households (the office does not count).
    await open_facility(
        client, writer, facility("m1", community_service=150, elderly_activity=100, office=500)
    )
    # m2: 200 m² for 2,280 households, across two facilities.
    await open_facility(client, writer, facility("m2", "service_station", labour_security=120))
    await open_facility(client, writer, facility("m2", "library", library=80))

    response = await client.get(SERVICE_AREA, params={"within": "c1"}, headers=writer)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["norm"] == {"m2": 25, "per_households": 150, "minimum_m2": 0}
    by_id = {item["community_id"]: item for item in report["communities"]}
    assert by_id["m1"] == {
        "community_id": "m1",
        "service_area_m2": 250,
        "households": 1500,
        "m2_per_households": 25,
        "required_m2": 250,
        "meets_standard": True,
    }
    assert by_id["m2"]["service_area_m2"] == 200
    assert by_id["m2"]["m2_per_households"] == 13.16
    assert by_id["m2"]["meets_standard"] is False
    assert by_id["m3"]["households"] is None
    assert by_id["m3"]["meets_standard"] is None
    assert (report["assessed"], report["meeting"], report["share"]) == (2, 1, 0.5)

    county = await client.get(
        SERVICE_AREA,
        params={"within": "s1", "norm_m2": 20, "per_households": 100},
        headers=writer,
    )
    assert [item["meets_standard"] for item in county.json()["communities"]] == [False, False]
    assert county.json()["communities"][0]["required_m2"] == 300

    await retire(settings, "m2", YESTERDAY)  # merged away: only current communities count
    current = await client.get(SERVICE_AREA, params={"within": "s1"}, headers=writer)
    assert [item["community_id"] for item in current.json()["communities"]] == ["m1"]
    past = await client.get(
        SERVICE_AREA, params={"within": "s1", "as_of": YESTERDAY.isoformat()}, headers=writer
    )
    assert [item["community_id"] for item in past.json()["communities"]] == ["m1", "m2"]
    refused = await client.post("/facilities", json=facility("m2", office=10), headers=writer)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.community_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (facility("m1", office=0), "body.rooms.0.area_m2"),
        (facility("m1", office=10, police=100_000), "body.rooms.1.area_m2"),
        (
            {**facility("m1"), "rooms": [{"purpose": "office", "area_m2": 5}] * 2},
            "body.rooms.1.purpose",
        ),
        (
            {**facility("m1"), "rooms": [{"purpose": "kitchen", "area_m2": 5}]},
            "body.rooms.0.purpose",
        ),
        ({**facility("m1"), "kind": "castle"}, "body.kind"),
        (
            {**facility("m1"), "opened_on": (TODAY + timedelta(days=1)).isoformat()},
            "body.opened_on",
        ),
        (facility("nowhere", office=10), "body.community_id"),
        (facility("s1", office=10), "body.community_id"),
    ],
    ids=[
        "zero area",
        "huge area",
        "duplicate purpose",
        "unknown purpose",
        "unknown kind",
        "future opening",
        "no such community",
        "a street",
    ],
)
async def test_invalid_facilities_are_problems_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    writer: dict[str, str],
    body: dict[str, Any],
    field: str,
) -> None:
    await build_tree(client, writer)
    before = await counts(settings)
    response = await client.post("/facilities", json=body, headers=writer)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field
    assert await counts(settings) == before


async def test_invalid_updates_change_nothing(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    await build_tree(client, writer)
    created = await open_facility(client, writer, facility("m1", office=100))
    before = await counts(settings)
    path = f"/facilities/{created['id']}"
    empty = await client.patch(path, json={}, headers=writer)
    assert (empty.status_code, empty.json()["errors"][0]["field"]) == (422, "body")
    bad = await client.patch(
        path, json={"rooms": [{"purpose": "office", "area_m2": -1}]}, headers=writer
    )
    assert bad.json()["errors"][0]["field"] == "body.rooms.0.area_m2"
    early = await client.post(f"{path}/close", json={"closed_on": "2005-12-31"}, headers=writer)
    assert early.json()["errors"][0]["field"] == "body.closed_on"
    unchanged = await client.patch(path, json={"kind": "office"}, headers=writer)
    assert unchanged.status_code == 200
    assert unchanged.json()["version"] == 1  # nothing changed, nothing published
    assert await counts(settings) == before
    assert (await client.get("/facilities/nope", headers=writer)).status_code == 404


async def test_a_retried_post_with_the_same_idempotency_key_opens_one_facility(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    await build_tree(client, writer)
    before = await counts(settings)
    headers = {**writer, "Idempotency-Key": "open-m1-office"}
    body = facility("m1", office=150, police=30)
    first = await client.post("/facilities", json=body, headers=headers)
    again = await client.post("/facilities", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    assert await counts(settings) == (before[0] + 1, before[1] + 2, before[2] + 1)
    other = await client.post("/facilities", json=facility("m1", office=1), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"

    close = {**writer, "Idempotency-Key": "close-it"}
    path = f"/facilities/{first.json()['id']}/close"
    closed = await client.post(path, json={"closed_on": TODAY.isoformat()}, headers=close)
    replayed = await client.post(path, json={"closed_on": TODAY.isoformat()}, headers=close)
    assert closed.status_code == replayed.status_code == 200  # not 409: the first is replayed
    assert replayed.json()["version"] == 2


async def test_tokens_need_the_scope_and_stay_in_their_area(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    await build_tree(client, writer)
    in_m1 = await open_facility(client, writer, facility("m1", office=400))
    in_m3 = await open_facility(client, writer, facility("m3", office=300))
    street2 = bearer(settings, "registry:read", "registry:write", area="s2")

    assert (await client.get(f"/facilities/{in_m1['id']}", headers=street2)).status_code == 404
    assert (await client.get(f"/facilities/{in_m3['id']}", headers=street2)).status_code == 200
    outside = await client.post("/facilities", json=facility("m1", office=1), headers=street2)
    assert outside.status_code == 404
    patch = await client.patch(
        f"/facilities/{in_m1['id']}", json={"kind": "library"}, headers=street2
    )
    assert patch.status_code == 404
    listed = await client.get("/facilities", headers=street2)
    assert [f["id"] for f in listed.json()["items"]] == [in_m3["id"]]
    stats = await client.get(MEETING, headers=street2)
    assert (stats.json()["communities"], stats.json()["total"]) == (["m3"], 1)
    assert (await client.get(MEETING, params={"within": "d1"}, headers=street2)).status_code == 404
    assert (
        await client.get(SERVICE_AREA, params={"within": "s1"}, headers=street2)
    ).status_code == 404

    reader = bearer(settings, "registry:read")
    assert (
        await client.post("/facilities", json=facility("m1"), headers=reader)
    ).status_code == 403
    assert (await client.get("/facilities")).status_code == 401


async def test_lists_filter_by_kind_and_status_and_page_with_a_cursor(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    await build_tree(client, writer)
    ids = sorted(
        [
            (await open_facility(client, writer, facility("m1", "office", office=100)))["id"],
            (await open_facility(client, writer, facility("m2", "library", library=50)))["id"],
            (await open_facility(client, writer, facility("m3", "police_room", police=20)))["id"],
        ]
    )
    await client.post(
        f"/facilities/{ids[0]}/close", json={"closed_on": "2006-06-01"}, headers=writer
    )

    first = await client.get("/facilities", params={"limit": 2}, headers=writer)
    second = await client.get(
        "/facilities", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=writer
    )
    assert [f["id"] for f in first.json()["items"]] + [
        f["id"] for f in second.json()["items"]
    ] == ids
    assert second.json()["next_cursor"] is None
    closed = await client.get("/facilities", params={"status": "closed"}, headers=writer)
    assert [f["id"] for f in closed.json()["items"]] == [ids[0]]
    assert (
        len(
            (await client.get("/facilities", params={"status": "open"}, headers=writer)).json()[
                "items"
            ]
        )
        == 2
    )
    libraries = await client.get(
        "/facilities", params={"kind": "library", "within": "s1"}, headers=writer
    )
    assert [f["kind"] for f in libraries.json()["items"]] == ["library"]
    bad = await client.get("/facilities", params={"cursor": "!!"}, headers=writer)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "query.cursor")
    too_many = await client.get("/facilities", params={"limit": 501}, headers=writer)
    assert too_many.json()["errors"][0]["field"] == "query.limit"
