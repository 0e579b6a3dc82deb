"""The households and residents API on PostgreSQL and the broker: rules, PII protection,
idempotency, area confinement, events and versions, filters and pagination."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from registry.adapters.people import HouseholdRow, ResidentRow
from registry.domain.national_id import check_character
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

TODAY = date.today()
READ_WRITE = ("registry:read", "registry:write")
IMPOSSIBLE_DATE = "11010519990230001" + check_character("11010519990230001")
"""Right check character, but there is no 30 February."""


def national_id(born: date, sequence: int, area: str = "110105") -> str:
    """A valid number for someone born on ``born``; odd sequence: male."""
    first_17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first_17 + check_character(first_17)


async def household(
    client: httpx.AsyncClient, headers: dict[str, str], community: str = "m1"
) -> str:
    body = {"community_id": community, "address": "1 Dongjie Road", "registered_on": "2020-05-01"}
    response = await client.post("/households", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def resident_body(household_id: str, born: date, sequence: int, **extra: Any) -> dict[str, Any]:
    return {
        "national_id": national_id(born, sequence),
        "name": "Wang Fang",
        "sex": "male" if sequence % 2 else "female",
        "birth_date": born.isoformat(),
        "household_id": household_id,
        "employment_status": "employed",
        **extra,
    }


async def resident(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]) -> str:
    response = await client.post("/residents", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def stored(settings: Settings) -> dict[str, int]:
    """Rows of households, residents and outbox events."""
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        counts = {
            name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in (
                ("households", HouseholdRow),
                ("residents", ResidentRow),
                ("events", OutboxRecord),
            )
        }
    await engine.dispose()
    return counts


async def events(settings: Settings, aggregate_id: str) -> list[dict[str, Any]]:
    """The CloudEvents staged for one aggregate, in outbox order."""
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        query = (
            select(OutboxRecord.payload)
            .where(OutboxRecord.partition_key == aggregate_id)
            .order_by(OutboxRecord.id)
        )
        payloads = list((await session.scalars(query)).all())
    await engine.dispose()
    return [json.loads(payload) for payload in payloads]


def kinds(staged: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    """(event name, version) of each event, e.g. ``("resident.moved", 3)``."""
    return [(".".join(e["type"].split(".")[3:5]), e["data"].get("version")) for e in staged]


async def test_registration_stores_and_publishes_facts_not_identifiers(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    household_id = await household(client, writer)
    born = date(1949, 12, 31)
    body = resident_body(household_id, born, 2, flags=["empty_nest", "subsistence_allowance"])
    response = await client.post("/residents", json=body, headers=writer)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["national_id"] == "110105************"
    assert created["path"] == ["c1", "d1", "s1", "m1"]
    assert created["version"] == 1
    assert created["status"] == "alive"
    assert created["flags"] == ["subsistence_allowance", "empty_nest"]

    [registered] = await events(settings, created["id"])
    assert registered["type"] == "org.shequ.registry.resident.registered.v1"
    data = registered["data"]
    assert data["birth_year"] == 1949
    assert data["sex"] == "female"
    assert data["age_band"] == ("70-79" if date(2029, 12, 31) > TODAY else "80-89")
    assert data["community_id"] == "m1"
    assert data["path"] == ["c1", "d1", "s1", "m1"]
    assert data["version"] == 1
    text_of_event = json.dumps(registered)
    for secret in (body["national_id"], "Wang Fang", "Dongjie Road", "1949-12-31"):
        assert secret not in text_of_event
    [household_registered] = await events(settings, household_id)
    assert household_registered["data"]["version"] == 1
    assert "Dongjie" not in json.dumps(household_registered)

    got = await client.get(f"/households/{household_id}", headers=writer)
    assert got.json()["address"] == "1 Dongjie Road"

    engine = create_engine(settings.resolved_database_url())
    async with engine.connect() as connection:
        row = (await connection.execute(text("SELECT * FROM resident"))).mappings().one()
    await engine.dispose()
    assert body["national_id"] not in json.dumps({k: str(v) for k, v in row.items()})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"national_id": "110105194912310021"}, "body.national_id"),  # bad check digit
        ({"national_id": IMPOSSIBLE_DATE}, "body.national_id"),
        ({"birth_date": "1949-12-30"}, "body.birth_date"),
        ({"sex": "male"}, "body.sex"),
        ({"national_id": "1101051949123100"}, "body.national_id"),
        ({"registration": "floating"}, "body.permit_expires_on"),
        ({"household_id": "no-such-household"}, "body.household_id"),
    ],
)
async def test_invalid_input_is_a_problem_naming_the_field_and_stores_nothing(
    client: httpx.AsyncClient,
    settings: Settings,
    writer: dict[str, str],
    tree: None,
    change: dict[str, str],
    field: str,
) -> None:
    household_id = await household(client, writer)
    body = {**resident_body(household_id, date(1949, 12, 31), 2), **change}
    before = await stored(settings)
    response = await client.post("/residents", json=body, headers=writer)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert body["national_id"] not in response.text
    assert body["national_id"][6:14] not in response.text
    assert await stored(settings) == before


async def test_numbers_are_masked_unless_the_token_has_pii_read(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    household_id = await household(client, writer)
    body = resident_body(household_id, date(1949, 12, 31), 2)
    body["national_id"] = body["national_id"].lower()
    resident_id = await resident(client, writer, body)
    pii_reader = bearer(settings, "registry:read", "pii:read")

    masked = (await client.get(f"/residents/{resident_id}", headers=writer)).json()
    assert masked["national_id"] == "110105************"
    assert masked["national_id_masked"]
    clear = (await client.get(f"/residents/{resident_id}", headers=pii_reader)).json()
    assert clear["national_id"] == "11010519491231002X"
    assert not clear["national_id_masked"]
    listed = (await client.get("/residents", headers=writer)).json()["items"]
    assert [item["national_id"] for item in listed] == ["110105************"]
    listed = (await client.get("/residents", headers=pii_reader)).json()["items"]
    assert [item["national_id"] for item in listed] == ["11010519491231002X"]


async def test_lookup_by_number_needs_pii_read_and_matches_exactly(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    household_id = await household(client, writer)
    body = resident_body(household_id, date(1949, 12, 31), 2)
    resident_id = await resident(client, writer, body)
    pii_reader = bearer(settings, "registry:read", "pii:read")

    forbidden = await client.get(
        "/residents/lookup", params={"national_id": body["national_id"]}, headers=writer
    )
    assert forbidden.status_code == 403
    found = await client.get(
        "/residents/lookup", params={"national_id": body["national_id"].lower()}, headers=pii_reader
    )
    assert found.status_code == 200
    assert found.json()["id"] == resident_id
    other = national_id(date(1949, 12, 31), 4)
    missing = await client.get(
        "/residents/lookup", params={"national_id": other}, headers=pii_reader
    )
    assert missing.status_code == 404
    assert other not in missing.text
    invalid = await client.get(
        "/residents/lookup", params={"national_id": "110105194912310021"}, headers=pii_reader
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "query.national_id"
    assert "110105194912310021" not in invalid.text
    outside = bearer(settings, "registry:read", "pii:read", area="s2")
    hidden = await client.get(
        "/residents/lookup", params={"national_id": body["national_id"]}, headers=outside
    )
    assert hidden.status_code == 404

    posted = await client.post(
        "/residents/lookup", json={"national_id": body["national_id"]}, headers=pii_reader
    )
    assert posted.json()["id"] == resident_id
    posted_invalid = await client.post(
        "/residents/lookup", json={"national_id": "110105194912310021"}, headers=pii_reader
    )
    assert posted_invalid.json()["errors"][0]["field"] == "body.national_id"
    assert "110105194912310021" not in posted_invalid.text
    no_scope = await client.post(
        "/residents/lookup", json={"national_id": body["national_id"]}, headers=writer
    )
    assert no_scope.status_code == 403


async def test_a_number_registered_twice_conflicts(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    household_id = await household(client, writer)
    body = resident_body(household_id, date(1949, 12, 31), 2)
    await resident(client, writer, body)
    before = await stored(settings)
    again = await client.post("/residents", json={**body, "name": "Other"}, headers=writer)
    assert again.status_code == 409
    assert body["national_id"] not in again.text
    lowercase = {**body, "national_id": body["national_id"].lower()}
    assert lowercase["national_id"].endswith("x")
    assert (await client.post("/residents", json=lowercase, headers=writer)).status_code == 409
    assert await stored(settings) == before


async def test_idempotency_key_replays_the_first_response(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    household_id = await household(client, writer)
    body = resident_body(household_id, date(1990, 1, 1), 21)
    keyed = {**writer, "Idempotency-Key": "register-1"}
    first = await client.post("/residents", json=body, headers=keyed)
    before = await stored(settings)
    second = await client.post("/residents", json=body, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers.get("Idempotency-Replayed") == "true"
    assert await stored(settings) == before
    assert len(await events(settings, first.json()["id"])) == 1

    different = await client.post(
        "/residents", json={**body, "employment_status": "retired"}, headers=keyed
    )
    assert different.status_code == 422
    assert different.json()["errors"][0]["field"] == "header.Idempotency-Key"

    patch = {**writer, "Idempotency-Key": "patch-1"}
    path = f"/residents/{first.json()['id']}"
    for _ in range(2):
        updated = await client.patch(path, json={"employment_status": "laid_off"}, headers=patch)
        assert updated.status_code == 200
        assert updated.json()["version"] == 2
    assert len(await events(settings, first.json()["id"])) == 2


async def test_tokens_are_confined_to_their_area(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    in_m1 = await household(client, writer, "m1")
    in_m3 = await household(client, writer, "m3")
    r1 = await resident(client, writer, resident_body(in_m1, date(1970, 1, 1), 1))
    r3 = await resident(client, writer, resident_body(in_m3, date(1970, 1, 1), 3))
    street = bearer(settings, *READ_WRITE, area="s2")

    assert (await client.get(f"/residents/{r3}", headers=street)).status_code == 200
    assert (await client.get(f"/residents/{r1}", headers=street)).status_code == 404
    assert (await client.get(f"/households/{in_m1}", headers=street)).status_code == 404
    listed = (await client.get("/residents", headers=street)).json()["items"]
    assert [item["id"] for item in listed] == [r3]
    assert (
        await client.get("/residents", params={"within": "s1"}, headers=street)
    ).status_code == 404
    households = (await client.get("/households", headers=street)).json()["items"]
    assert [item["id"] for item in households] == [in_m3]
    assert (await client.get("/residents/count", headers=street)).json() == {"count": 1}

    before = await stored(settings)
    outside = [
        await client.post(
            "/households",
            json={"community_id": "m1", "address": "x", "registered_on": "2020-01-01"},
            headers=street,
        ),
        await client.patch(f"/residents/{r1}", json={"disabled": True}, headers=street),
        await client.post(f"/residents/{r1}/death", json={"died_on": "2024-01-01"}, headers=street),
        await client.post(
            f"/residents/{r3}/move",
            json={"household_id": in_m1, "moved_on": "2024-01-01"},
            headers=street,
        ),
        await client.post(
            "/residents", json=resident_body(in_m1, date(1971, 1, 1), 5), headers=street
        ),
    ]
    assert [response.status_code for response in outside] == [404] * len(outside)
    assert await stored(settings) == before
    unscoped_reader = bearer(settings, "casework:read")
    assert (await client.get(f"/residents/{r1}", headers=unscoped_reader)).status_code == 403
    reader = bearer(settings, "registry:read")
    assert (
        await client.post("/households", json={"community_id": "m1"}, headers=reader)
    ).status_code == 403


async def test_households_go_only_into_current_communities(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    engine = create_engine(settings.resolved_database_url())
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE area SET valid_to = :day WHERE id = 'm2'"),
            {"day": TODAY - timedelta(days=1)},
        )
    await engine.dispose()
    before = await stored(settings)
    for community in ("m2", "s1", "nowhere"):
        body = {"community_id": community, "address": "x", "registered_on": "2020-01-01"}
        response = await client.post("/households", json=body, headers=writer)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "body.community_id"
    future = {"community_id": "m1", "address": "x", "registered_on": str(TODAY + timedelta(1))}
    response = await client.post("/households", json=future, headers=writer)
    assert response.json()["errors"][0]["field"] == "body.registered_on"
    household_id = await household(client, writer, "m1")
    moved = await client.post(
        f"/households/{household_id}/move",
        json={"community_id": "m2", "moved_on": str(TODAY)},
        headers=writer,
    )
    assert moved.status_code == 422
    assert moved.json()["errors"][0]["field"] == "body.community_id"
    assert (await stored(settings))["households"] == before["households"] + 1


async def test_changes_moves_death_and_departure_are_versioned_events(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    home = await household(client, writer, "m1")
    other_home = await household(client, writer, "m2")
    person = await resident(client, writer, resident_body(home, date(1960, 3, 1), 1))
    spouse = await resident(client, writer, resident_body(home, date(1962, 7, 1), 2))
    child = await resident(client, writer, resident_body(home, date(1990, 9, 9), 3))
    path = f"/residents/{person}"

    updated = await client.patch(
        path, json={"employment_status": "retired", "flags": ["empty_nest"]}, headers=writer
    )
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    unchanged = await client.patch(path, json={"employment_status": "retired"}, headers=writer)
    assert unchanged.json()["version"] == 2
    [_, change] = await events(settings, person)
    assert change["data"]["changed"] == ["employment_status", "flags"]
    assert change["data"]["flags"] == ["empty_nest"]

    moved = await client.post(
        f"{path}/move", json={"household_id": other_home, "moved_on": str(TODAY)}, headers=writer
    )
    assert moved.status_code == 200
    assert moved.json()["community_id"] == "m2"
    died = await client.post(f"{path}/death", json={"died_on": str(TODAY)}, headers=writer)
    assert died.json()["status"] == "dead"
    assert died.json()["version"] == 4
    staged = await events(settings, person)
    assert kinds(staged) == [
        ("resident.registered", 1),
        ("resident.updated", 2),
        ("resident.moved", 3),
        ("resident.died", 4),
    ]
    assert staged[2]["data"]["from_household_id"] == home
    assert staged[2]["data"]["from_path"] == ["c1", "d1", "s1", "m1"]
    assert staged[2]["data"]["path"] == ["c1", "d1", "s1", "m2"]
    assert staged[3]["data"]["died_on"] == str(TODAY)

    for late in (
        client.patch(path, json={"disabled": True}, headers=writer),
        client.post(f"{path}/departure", json={"left_on": str(TODAY)}, headers=writer),
        client.post(f"{path}/death", json={"died_on": str(TODAY)}, headers=writer),
    ):
        assert (await late).status_code == 409

    future = await client.post(
        f"/residents/{child}/departure",
        json={"left_on": str(TODAY + timedelta(days=1))},
        headers=writer,
    )
    assert future.json()["errors"][0]["field"] == "body.left_on"
    left = await client.post(
        f"/residents/{child}/departure", json={"left_on": str(TODAY)}, headers=writer
    )
    assert left.json()["status"] == "left"
    assert kinds(await events(settings, child))[-1] == ("resident.left", 2)
    assert (
        await client.post(
            f"/residents/{child}/move",
            json={"household_id": other_home, "moved_on": str(TODAY)},
            headers=writer,
        )
    ).status_code == 409

    relocated = await client.post(
        f"/households/{home}/move",
        json={"community_id": "m3", "moved_on": str(TODAY)},
        headers=writer,
    )
    assert relocated.status_code == 200, relocated.text
    assert relocated.json()["version"] == 2
    assert relocated.json()["path"][-1] == "m3"
    [_, household_moved] = await events(settings, home)
    assert household_moved["data"]["resident_count"] == 1  # only the spouse still lives there
    assert household_moved["data"]["reason"] == "relocation"
    spouse_events = await events(settings, spouse)
    assert kinds(spouse_events)[-1] == ("resident.moved", 2)
    assert spouse_events[-1]["data"]["from_community_id"] == "m1"
    assert spouse_events[-1]["data"]["community_id"] == "m3"
    assert kinds(await events(settings, child))[-1] == ("resident.left", 2)
    spouse_now = (await client.get(f"/residents/{spouse}", headers=writer)).json()
    assert spouse_now["path"] == ["c1", "d2", "s2", "m3"]


async def test_registration_and_permit_changes(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    home = await household(client, writer)
    person = await resident(client, writer, resident_body(home, date(1985, 4, 4), 7))
    path = f"/residents/{person}"
    missing = await client.patch(path, json={"registration": "floating"}, headers=writer)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "body.permit_expires_on"
    permit = str(TODAY + timedelta(days=200))
    floating = await client.patch(
        path, json={"registration": "floating", "permit_expires_on": permit}, headers=writer
    )
    assert floating.json()["permit_expires_on"] == permit
    renewed = await client.patch(
        path, json={"permit_expires_on": str(TODAY + timedelta(days=400))}, headers=writer
    )
    assert renewed.json()["version"] == 3
    registered = await client.patch(path, json={"registration": "registered"}, headers=writer)
    assert registered.json()["permit_expires_on"] is None
    changes = [e["data"]["changed"] for e in (await events(settings, person))[1:]]
    assert changes == [
        ["registration", "permit_expires_on"],
        ["permit_expires_on"],
        ["registration", "permit_expires_on"],
    ]


async def test_filters_counts_and_pagination(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    m1, m3 = await household(client, writer, "m1"), await household(client, writer, "m3")
    permit = str(TODAY + timedelta(days=300))

    def born_aged(years: int) -> date:
        return date(TODAY.year - years, 1, 1)

    people = {
        "elder": resident_body(m1, born_aged(82), 1, flags=["empty_nest", "living_alone"]),
        "worker": resident_body(m1, born_aged(45), 3, employment_status="laid_off"),
        "migrant": resident_body(
            m3, born_aged(30), 5, registration="floating", permit_expires_on=permit
        ),
        "disabled": resident_body(m3, born_aged(55), 7, disabled=True, flags=["empty_nest"]),
        "child": resident_body(m1, born_aged(8), 9, employment_status="student"),
    }
    ids = {name: await resident(client, writer, body) for name, body in people.items()}
    await client.post(
        f"/residents/{ids['child']}/departure", json={"left_on": str(TODAY)}, headers=writer
    )

    async def matching(**params: Any) -> set[str]:
        response = await client.get("/residents", params=params, headers=writer)
        assert response.status_code == 200, response.text
        count = await client.get("/residents/count", params=params, headers=writer)
        found = {
            name
            for name, rid in ids.items()
            for item in response.json()["items"]
            if item["id"] == rid
        }
        assert count.json() == {"count": len(found)}
        return found

    assert await matching() == set(ids)
    assert await matching(within="d1") == {"elder", "worker", "child"}
    assert await matching(within="m3") == {"migrant", "disabled"}
    assert await matching(registration="floating") == {"migrant"}
    assert await matching(employment_status="laid_off") == {"worker"}
    assert await matching(flag="empty_nest") == {"elder", "disabled"}
    assert await matching(flag=["empty_nest", "living_alone"]) == {"elder"}
    assert await matching(disabled="true") == {"disabled"}
    assert await matching(min_age=60) == {"elder"}
    assert await matching(min_age=30, max_age=55) == {"worker", "migrant", "disabled"}
    assert await matching(max_age=17) == {"child"}
    assert await matching(status="left") == {"child"}
    assert await matching(status="alive", within="d1") == {"elder", "worker"}

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/residents", params=params, headers=writer)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids.values())
    assert (
        await client.get("/residents", params={"limit": 501}, headers=writer)
    ).status_code == 422
    bad_cursor = await client.get("/residents", params={"cursor": "%%%"}, headers=writer)
    assert bad_cursor.json()["errors"][0]["field"] == "query.cursor"
    inverted = await client.get(
        "/residents/count", params={"min_age": 50, "max_age": 40}, headers=writer
    )
    assert inverted.json()["errors"][0]["field"] == "query.max_age"

    first = (await client.get("/households", params={"limit": 1}, headers=writer)).json()
    rest = await client.get(
        "/households", params={"limit": 1, "cursor": first["next_cursor"]}, headers=writer
    )
    assert {first["items"][0]["id"], rest.json()["items"][0]["id"]} == {m1, m3}
    assert rest.json()["next_cursor"] is None


async def test_resident_events_reach_the_broker(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    home = await household(client, writer)
    body = resident_body(home, date(1975, 10, 10), 13)
    person = await resident(client, writer, body)
    records = await wait_for_records(
        settings, "registry.resident.events", 1, where=lambda r: r.key == person.encode()
    )
    mine = [json.loads(r.value) for r in records]
    assert [event["data"]["resident_id"] for event in mine] == [person]
    assert body["national_id"] not in json.dumps(mine)


async def test_answers_about_people_are_never_stored_by_caches(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str], tree: None
) -> None:
    """Names, id numbers and addresses must not linger in a browser or proxy cache."""
    household_id = await household(client, writer)
    body = resident_body(household_id, date(1949, 12, 31), 2)
    created = await client.post("/residents", json=body, headers=writer)
    resident_id = created.json()["id"]
    pii_reader = bearer(settings, "registry:read", "pii:read")
    lookup = {"national_id": body["national_id"]}
    answers = [
        created,
        await client.get("/households", headers=writer),
        await client.get(f"/households/{household_id}", headers=writer),
        await client.get("/residents", headers=pii_reader),
        await client.get(f"/residents/{resident_id}", headers=pii_reader),
        await client.get("/residents/lookup", params=lookup, headers=pii_reader),
        await client.post("/residents/lookup", json=lookup, headers=pii_reader),
        await client.get("/residents/no-such-resident", headers=writer),
    ]
    assert [answer.status_code for answer in answers] == [201, 200, 200, 200, 200, 200, 200, 404]
    for answer in answers:
        assert answer.headers["cache-control"] == "no-store", answer.request.url


@pytest.mark.publishes(False)  # a refused method changes nothing
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    """``Allow`` names the methods of every route of the path, not only the first route's
    (``GET`` and ``POST /residents/lookup`` are two routes), and the answer keeps its ids."""
    for path, allowed in (
        ("/residents/lookup", "GET, POST"),
        ("/residents/r-1", "GET, PATCH"),
        ("/residents", "GET, POST"),
    ):
        response = await client.put(path, headers={**writer, "X-Request-ID": "req-405"})
        assert response.status_code == 405, response.text
        assert response.headers.get_list("allow") == [allowed]
        assert response.headers["x-request-id"] == "req-405"
        assert response.headers["cache-control"] == "no-store"
