"""Areas in time through the API, on PostgreSQL and the broker: merges, splits, abolition,
``as_of`` lists and counts, idempotent replays, field-naming errors and area confinement."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from registry import households
from registry.adapters.areas import AreaRow
from registry.adapters.events import translate
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer
from shared.testing.topics import wait_for_records
from shared.unit_of_work import unit_of_work

pytestmark = [pytest.mark.integration, pytest.mark.publishes]

AREA_TOPIC = "registry.area.events"
TYPE = "org.shequ.registry.area.{}.v1"


class Tree:
    """Ids of a small hierarchy, prefixed so tests sharing the broker tell their events apart:
    city c, district d, streets s1 (communities m1–m4) and s2 (m5)."""

    def __init__(self) -> None:
        self.prefix = f"t{uuid.uuid4().hex[:6]}"

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{self.prefix}{name}"


def area(area_id: str, level: str, parent: str | None, **extra: object) -> dict[str, object]:
    return {
        "id": area_id,
        "level": level,
        "name": f"Area {area_id}",
        "parent_id": parent,
        "valid_from": "2005-01-01",
        **extra,
    }


async def build_tree(client: httpx.AsyncClient, headers: dict[str, str]) -> Tree:
    t = Tree()
    for body in [
        area(t.c, "city", None),
        area(t.d, "district", t.c),
        area(t.s1, "street", t.d),
        area(t.s2, "street", t.d),
        area(t.m1, "community", t.s1, kind="block", household_count=1947),
        area(t.m2, "community", t.s1, kind="block", household_count=2280),
        area(t.m3, "community", t.s1, kind="block", household_count=1500),
        area(t.m4, "community", t.s1, kind="residential", household_count=1620),
        area(t.m5, "community", t.s2, kind="work_unit", household_count=1890),
    ]:
        response = await client.post("/areas", json=body, headers=headers)
        assert response.status_code == 201, response.text
    return t


def merge_body(ids: list[str], into: str, effective: str = "2010-07-01") -> dict[str, Any]:
    return {"area_ids": ids, "into": {"id": into, "name": f"Area {into}"}, "effective": effective}


def split_body(into: dict[str, list[str]], effective: str = "2010-07-01") -> dict[str, Any]:
    return {
        "areas": [
            {"id": new_id, "name": f"Area {new_id}", "household_ids": households}
            for new_id, households in into.items()
        ],
        "effective": effective,
    }


async def outbox(settings: Settings) -> list[dict[str, Any]]:
    """The events staged so far, in outbox order."""
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        rows = (await session.scalars(select(OutboxRecord).order_by(OutboxRecord.id))).all()
    await engine.dispose()
    return [json.loads(row.payload) for row in rows]


async def add_households(settings: Settings, community_id: str, n: int) -> list[str]:
    """Register ``n`` households in a community (through the use case: the API is another's)."""
    engine = create_engine(settings.resolved_database_url())
    async with unit_of_work(session_factory(engine), translate=translate) as uow:
        rows = [
            await households.register_household(
                uow,
                community_id=community_id,
                address=f"{index} Test Road",
                registered_on=date(2008, 1, 1),
            )
            for index in range(n)
        ]
        ids = [row.id for row in rows]
    await engine.dispose()
    return sorted(ids)


async def households_of(settings: Settings, community_id: str) -> list[str]:
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        ids = await households.household_ids_in_community(session, community_id=community_id)
    await engine.dispose()
    return ids


async def area_rows(settings: Settings) -> int:
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        count = await session.scalar(select(func.count()).select_from(AreaRow))
    await engine.dispose()
    return int(count or 0)


async def published(settings: Settings, prefix: str, expected: int) -> list[dict[str, Any]]:
    """The area events of this test in the topic, once the relay has published ``expected``."""
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        for _ in range(100):
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxRecord)
                .where(OutboxRecord.published_at.is_(None))
            )
            if not pending:
                break
            await asyncio.sleep(0.1)
    await engine.dispose()
    records = await wait_for_records(
        settings, AREA_TOPIC, expected, where=lambda r: r.key.decode().startswith(prefix)
    )
    mine = [json.loads(record.value) for record in records]
    assert len(mine) == expected, [e["type"] for e in mine]
    return mine


async def count(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> int:
    response = await client.get("/areas/count", params=params, headers=headers)
    assert response.status_code == 200, response.text
    value: int = response.json()["count"]
    return value


# -- merge -----------------------------------------------------------------------------


async def test_merge_of_three_communities_retires_them_and_publishes_the_story(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    t = await build_tree(client, writer)
    households = await add_households(settings, t.m1, 2) + await add_households(settings, t.m2, 1)
    response = await client.post(
        "/areas/merge", json=merge_body([t.m1, t.m2, t.m3], t.n), headers=writer
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["into"]["id"] == t.n
    assert result["into"]["path"] == [t.c, t.d, t.s1, t.n]
    assert result["into"]["kind"] == "block"  # their common kind
    assert result["into"]["household_count"] == 1947 + 2280 + 1500
    assert result["households_moved"] == 3
    assert await households_of(settings, t.n) == sorted(households)
    assert await households_of(settings, t.m1) == []

    new = (await client.get(f"/areas/{t.n}", headers=writer)).json()
    assert new["valid_from"] == "2010-07-01"
    assert (new["valid_to"], new["current"]) == (None, True)
    assert new["predecessor_ids"] == [t.m1, t.m2, t.m3]
    for old_id in (t.m1, t.m2, t.m3):
        old = (await client.get(f"/areas/{old_id}", headers=writer)).json()
        assert (old["valid_to"], old["current"]) == ("2010-06-30", False)
        assert (old["retired_reason"], old["successor_ids"]) == ("merged", [t.n])
    untouched = (await client.get(f"/areas/{t.m4}", headers=writer)).json()
    assert untouched["current"] is True

    # in one transaction, in this order: created, households moved, retired ×3, merged
    staged = (await outbox(settings))[-8:]
    story = [(e["type"], e["partitionkey"]) for e in staged]
    moves = [e["data"] for e in staged[1:4]]
    assert sorted(m["household_id"] for m in moves) == sorted(households)
    assert {
        (m["to_community_id"], tuple(m["to_path"]), m["moved_on"], m["reason"]) for m in moves
    } == {(t.n, (t.c, t.d, t.s1, t.n), "2010-07-01", "area_merge")}
    assert story == [
        (TYPE.format("created"), t.n),
        *[("org.shequ.registry.household.moved.v1", m["household_id"]) for m in moves],
        (TYPE.format("retired"), t.m1),
        (TYPE.format("retired"), t.m2),
        (TYPE.format("retired"), t.m3),
        (TYPE.format("merged"), t.n),
    ]

    events = await published(settings, t.prefix, expected=9 + 5)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event["data"])
    created = next(d for d in by_type[TYPE.format("created")] if d["area_id"] == t.n)
    assert created["path"] == [t.c, t.d, t.s1, t.n]
    assert created["parent_id"] == t.s1
    assert created["valid_from"] == "2010-07-01"
    retired = sorted(by_type[TYPE.format("retired")], key=lambda d: d["area_id"])
    assert [
        (d["area_id"], d["level"], d["path"], d["valid_to"], d["reason"], d["successor_ids"])
        for d in retired
    ] == [
        (m, "community", [t.c, t.d, t.s1, m], "2010-06-30", "merged", [t.n])
        for m in (t.m1, t.m2, t.m3)
    ]
    [merged] = by_type[TYPE.format("merged")]
    assert merged == {
        "merged_ids": [t.m1, t.m2, t.m3],
        "into_id": t.n,
        "path": [t.c, t.d, t.s1, t.n],
        "effective": "2010-07-01",
        "households_moved": 3,
    }


async def test_count_as_of_before_and_after_a_merge(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    t = await build_tree(client, writer)
    before, after = "2010-06-30", "2010-07-01"
    assert await count(client, writer, level="community", within=t.s1, as_of=before) == 4
    merged = await client.post("/areas/merge", json=merge_body([t.m1, t.m2], t.n), headers=writer)
    assert merged.status_code == 201, merged.text

    assert await count(client, writer, level="community", within=t.s1, as_of=before) == 4
    assert await count(client, writer, level="community", within=t.s1, as_of=after) == 3
    assert await count(client, writer, level="community", within=t.d, as_of=before) == 5
    assert await count(client, writer, level="community", within=t.d, as_of=after) == 4
    assert await count(client, writer, level="community", within=t.d) == 4  # current
    assert await count(client, writer, level="community", within=t.d, include_retired="1") == 6
    assert await count(client, writer, within=t.d, as_of="2004-12-31") == 0

    def ids(response: httpx.Response) -> list[str]:
        return [a["id"] for a in response.json()["items"]]

    listed_before = await client.get(
        "/areas", params={"within": t.s1, "level": "community", "as_of": before}, headers=writer
    )
    assert ids(listed_before) == [t.m1, t.m2, t.m3, t.m4]
    listed_after = await client.get(
        "/areas", params={"within": t.s1, "level": "community", "as_of": after}, headers=writer
    )
    assert ids(listed_after) == [t.m3, t.m4, t.n]


async def test_idempotent_replay_of_a_merge_merges_once(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    t = await build_tree(client, writer)
    body = merge_body([t.m1, t.m2], t.n)
    key = {**writer, "Idempotency-Key": f"merge-{t.prefix}"}
    first = await client.post("/areas/merge", json=body, headers=key)
    assert first.status_code == 201, first.text
    staged = len(await outbox(settings))

    again = await client.post("/areas/merge", json=body, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotency-Replayed"] == "true"
    assert len(await outbox(settings)) == staged

    other = await client.post("/areas/merge", json=merge_body([t.m3, t.m4], t.n2), headers=key)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"

    without_key = await client.post("/areas/merge", json=body, headers=writer)
    assert without_key.status_code == 422  # a plain retry finds the communities retired
    assert without_key.json()["errors"][0]["field"] == "body.area_ids.0"

    # two attempts at once with one key: the second waits for the first's locks, then is
    # either replayed or finds the communities merged; never a second merge
    racing = {**writer, "Idempotency-Key": f"race-{t.prefix}"}
    race_body = merge_body([t.m3, t.m4], t.n3)
    both = await asyncio.gather(
        *(client.post("/areas/merge", json=race_body, headers=racing) for _ in range(2))
    )
    assert sorted(r.status_code for r in both)[0] == 201, [r.text for r in both]
    assert all(r.status_code in (201, 409, 422) for r in both)

    events = await published(settings, t.prefix, expected=9 + 4 + 4)
    merges = [e["data"] for e in events if e["type"] == TYPE.format("merged")]
    assert sorted(m["into_id"] for m in merges) == [t.n, t.n3]


# -- split -----------------------------------------------------------------------------


async def test_split_creates_the_new_communities_and_retires_the_old_one(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    t = await build_tree(client, writer)
    h1, h2, h3 = await add_households(settings, t.m4, 3)
    response = await client.post(
        f"/areas/{t.m4}/split", json=split_body({t.a: [h3, h1], t.b: [h2]}), headers=writer
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert [a["id"] for a in result["into"]] == [t.a, t.b]
    assert all(a["kind"] == "residential" and a["current"] for a in result["into"])
    assert [a["household_count"] for a in result["into"]] == [2, 1]
    assert result["retired"]["successor_ids"] == [t.a, t.b]
    assert result["retired"]["retired_reason"] == "split"
    assert result["households_moved"] == {t.a: 2, t.b: 1}
    assert await households_of(settings, t.a) == sorted([h1, h3])
    assert await households_of(settings, t.b) == [h2]
    assert await households_of(settings, t.m4) == []
    assert await count(client, writer, level="community", within=t.s1, as_of="2010-06-30") == 4
    assert await count(client, writer, level="community", within=t.s1, as_of="2010-07-01") == 5

    staged = (await outbox(settings))[-7:]
    moves = {e["data"]["household_id"]: e["data"] for e in staged[2:5]}
    assert {h: (m["to_community_id"], m["reason"]) for h, m in moves.items()} == {
        h1: (t.a, "area_split"),
        h3: (t.a, "area_split"),
        h2: (t.b, "area_split"),
    }
    assert [(e["type"], e["partitionkey"]) for e in staged[:2] + staged[5:]] == [
        (TYPE.format("created"), t.a),
        (TYPE.format("created"), t.b),
        (TYPE.format("retired"), t.m4),
        (TYPE.format("split"), t.m4),
    ]
    events = await published(settings, t.prefix, expected=9 + 4)
    [split] = [e["data"] for e in events if e["type"] == TYPE.format("split")]
    assert split == {
        "area_id": t.m4,
        "into_ids": [t.a, t.b],
        "effective": "2010-07-01",
        "households_moved": {t.a: 2, t.b: 1},
    }


# -- abolition -------------------------------------------------------------------------


async def test_retire_abolishes_only_areas_without_current_children(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    t = await build_tree(client, writer)
    refused = await client.post(
        f"/areas/{t.s2}/retire", json={"effective": "2012-01-01"}, headers=writer
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "path.area_id"
    assert refused.json()["errors"][0]["code"] == "children"

    for area_id in (t.m5, t.s2):
        done = await client.post(
            f"/areas/{area_id}/retire", json={"effective": "2012-01-01"}, headers=writer
        )
        assert done.status_code == 200, done.text
        assert done.json()["valid_to"] == "2011-12-31"
        assert done.json()["retired_reason"] == "abolished"

    twice = await client.post(
        f"/areas/{t.m5}/retire", json={"effective": "2013-01-01"}, headers=writer
    )
    assert (twice.status_code, twice.json()["errors"][0]["code"]) == (422, "retired")
    assert await count(client, writer, within=t.d, as_of="2011-12-31") == 8
    assert await count(client, writer, within=t.d, as_of="2012-01-01") == 6

    staged = (await outbox(settings))[-2:]
    assert [e["data"] for e in staged] == [
        {
            "area_id": area_id,
            "level": level,
            "path": path,
            "valid_to": "2011-12-31",
            "reason": "abolished",
            "successor_ids": [],
        }
        for area_id, level, path in [
            (t.m5, "community", [t.c, t.d, t.s2, t.m5]),
            (t.s2, "street", [t.c, t.d, t.s2]),
        ]
    ]
    no_parent = await client.post(
        "/areas", json=area(t.m6, "community", t.s2, valid_from="2013-01-01"), headers=writer
    )
    assert no_parent.status_code == 422
    assert no_parent.json()["errors"][0]["field"] == "body.parent_id"


# -- errors and confinement ------------------------------------------------------------


async def test_broken_rules_are_problems_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    t = await build_tree(client, writer)
    before = (await area_rows(settings), len(await outbox(settings)))

    async def problem(path: str, body: dict[str, Any]) -> tuple[int, str]:
        response = await client.post(path, json=body, headers=writer)
        assert response.headers["content-type"] == "application/problem+json", response.text
        errors = response.json().get("errors") or [{"field": ""}]
        return response.status_code, errors[0]["field"]

    assert await problem("/areas/merge", merge_body([t.m1], t.n)) == (422, "body.area_ids")
    assert await problem("/areas/merge", merge_body([t.m1, t.s1], t.n)) == (
        422,
        "body.area_ids.1",
    )
    assert await problem("/areas/merge", merge_body([t.m1, t.m2, t.m5], t.n)) == (
        422,
        "body.area_ids.2",
    )
    assert await problem("/areas/merge", merge_body([t.m1, t.nope], t.n)) == (
        422,
        "body.area_ids.1",
    )
    assert await problem("/areas/merge", merge_body([t.m1, t.m2], t.n, "2005-01-01")) == (
        422,
        "body.effective",
    )
    assert await problem("/areas/merge", merge_body([t.m1, t.m2], t.n, "2010-02-30")) == (
        422,
        "body.effective",
    )
    assert await problem(f"/areas/{t.m1}/split", split_body({t.a: []})) == (422, "body.areas")
    assert await problem(f"/areas/{t.s1}/split", split_body({t.a: [], t.b: []})) == (
        422,
        "path.area_id",
    )
    assert await problem(f"/areas/{t.m1}/split", split_body({t.a: ["h1"], t.b: []})) == (
        422,
        "body.areas.0.household_ids.0",
    )
    assert await problem(f"/areas/{t.m1}/split", split_body({t.m2: [], t.b: []})) == (409, "")
    [kept, forgotten] = await add_households(settings, t.m3, 2)
    before = (await area_rows(settings), len(await outbox(settings)))
    assert await problem(f"/areas/{t.m3}/split", split_body({t.a: [kept], t.b: []})) == (
        422,
        "body.areas",
    )
    assert await problem(f"/areas/{t.m3}/retire", {"effective": "2012-01-01"}) == (
        422,
        "path.area_id",
    )
    assert await problem("/areas/merge", merge_body([t.m1, t.m2], t.n, "2999-01-01")) == (
        422,
        "body.effective",
    )
    assert await households_of(settings, t.m3) == sorted([kept, forgotten])
    assert (await area_rows(settings), len(await outbox(settings))) == before

    # a retired community cannot be merged again
    done = await client.post("/areas/merge", json=merge_body([t.m1, t.m2], t.n), headers=writer)
    assert done.status_code == 201
    assert await problem("/areas/merge", merge_body([t.m1, t.m3], t.n2, "2011-01-01")) == (
        422,
        "body.area_ids.0",
    )
    mixed = await client.get(
        "/areas/count", params={"as_of": "2010-01-01", "include_retired": "1"}, headers=writer
    )
    assert (mixed.status_code, mixed.json()["errors"][0]["field"]) == (
        422,
        "query.include_retired",
    )


async def test_a_confined_token_changes_only_its_own_area(
    client: httpx.AsyncClient, settings: Settings, writer: dict[str, str]
) -> None:
    t = await build_tree(client, writer)
    street = bearer(settings, "registry:read", "registry:write", area=t.s1)
    community = bearer(settings, "registry:read", "registry:write", area=t.m1)

    outside = await client.post("/areas/merge", json=merge_body([t.m4, t.m5], t.n), headers=street)
    assert outside.status_code == 404
    not_below = await client.post(
        "/areas/merge", json=merge_body([t.m1, t.m2], t.n), headers=community
    )
    assert not_below.status_code == 404  # m2 and the new community lie outside m1
    split_own = await client.post(
        f"/areas/{t.m1}/split", json=split_body({t.a: [], t.b: []}), headers=community
    )
    assert split_own.status_code == 404  # the new communities would lie outside m1
    retire_outside = await client.post(
        f"/areas/{t.m5}/retire", json={"effective": "2012-01-01"}, headers=street
    )
    assert retire_outside.status_code == 404
    assert (
        await client.get("/areas/count", params={"within": t.s2}, headers=street)
    ).status_code == 404
    assert await count(client, street, level="community") == 4

    inside = await client.post("/areas/merge", json=merge_body([t.m1, t.m2], t.n), headers=street)
    assert inside.status_code == 201, inside.text
    assert (await client.get(f"/areas/{t.n}", headers=street)).status_code == 200
    assert (await client.get(f"/areas/{t.n}", headers=community)).status_code == 404
    assert (await client.get(f"/areas/{t.m1}", headers=community)).json()["current"] is False
