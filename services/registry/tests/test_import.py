"""Bulk import through POST /imports on PostgreSQL: row-by-row report, events for accepted
rows, and a re-run that changes nothing and emits nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from sqlalchemy import func, select

from registry.adapters.facilities import FacilityRow
from registry.adapters.people import HouseholdRow, ResidentRow
from registry.app import create_app
from registry.domain.national_id import check_character
from registry.settings import Settings
from shared.db import create_engine, session_factory
from shared.tables import OutboxRecord
from shared.testing.service import bearer, running_service

pytestmark = [pytest.mark.integration, pytest.mark.publishes]


def national_id(born: date, sequence: int) -> str:
    first17 = f"110105{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def ndjson(*rows: dict[str, object] | str) -> str:
    return "\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows) + "\n"


AREAS = [
    {"type": "area", "id": "c1", "level": "city", "name": "C", "valid_from": "2005-01-01"},
    {
        "type": "area",
        "id": "d1",
        "level": "district",
        "name": "D",
        "parent_id": "c1",
        "valid_from": "2005-01-01",
    },
    {
        "type": "area",
        "id": "s1",
        "level": "street",
        "name": "S",
        "parent_id": "d1",
        "valid_from": "2005-01-01",
    },
    {
        "type": "area",
        "id": "s2",
        "level": "street",
        "name": "S2",
        "parent_id": "d1",
        "valid_from": "2005-01-01",
    },
    {
        "type": "area",
        "id": "m1",
        "level": "community",
        "name": "M",
        "parent_id": "s1",
        "kind": "residential",
        "household_count": 1900,
        "valid_from": "2005-01-01",
    },
    {
        "type": "area",
        "id": "m2",
        "level": "community",
        "name": "M2",
        "parent_id": "s2",
        "valid_from": "2005-01-01",
    },
]
HOUSEHOLDS = [
    {
        "type": "household",
        "ref": "H-1",
        "community_id": "m1",
        "address": "1 Xijie",
        "registered_on": "2010-03-01",
    },
    {
        "type": "household",
        "ref": "H-2",
        "community_id": "m1",
        "address": "2 Xijie",
        "registered_on": "2011-03-01",
    },
]
RESIDENTS = [
    {
        "type": "resident",
        "national_id": national_id(date(1950, 5, 4), 11),
        "name": "A",
        "sex": "male",
        "birth_date": "1950-05-04",
        "household_ref": "H-1",
        "employment_status": "retired",
        "flags": ["empty_nest"],
    },
    {
        "type": "resident",
        "national_id": national_id(date(1980, 1, 2), 22),
        "name": "B",
        "sex": "female",
        "birth_date": "1980-01-02",
        "household_ref": "H-2",
        "employment_status": "laid_off",
    },
]
FACILITY = {
    "type": "facility",
    "ref": "F-1",
    "community_id": "m1",
    "kind": "office",
    "rooms": [{"purpose": "office", "area_m2": 120}],
    "opened_on": "2012-06-01",
}


async def counts(settings: Settings) -> dict[str, int]:
    engine = create_engine(settings.resolved_database_url())
    async with session_factory(engine)() as session:
        result = {
            name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in [
                ("households", HouseholdRow),
                ("residents", ResidentRow),
                ("facilities", FacilityRow),
                ("events", OutboxRecord),
            ]
        }
    await engine.dispose()
    return result


async def test_import_reports_each_row_and_a_rerun_changes_nothing(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:write")
    bad_check_digit = {**RESIDENTS[0], "national_id": RESIDENTS[0]["national_id"][:-1] + "0"}
    if bad_check_digit["national_id"] == RESIDENTS[0]["national_id"]:
        bad_check_digit["national_id"] = RESIDENTS[0]["national_id"][:-1] + "1"
    body = ndjson(
        *AREAS,
        *HOUSEHOLDS,
        *RESIDENTS,
        FACILITY,
        "{not json",  # line 12
        bad_check_digit,  # line 13
        {
            **RESIDENTS[1],
            "national_id": national_id(date(1990, 1, 1), 32),
            "birth_date": "1990-01-01",
            "household_ref": "H-404",
        },  # line 14
        {**FACILITY, "ref": "F-2", "rooms": [{"purpose": "ballroom", "area_m2": 50}]},  # 15
    )
    first = await client.post("/imports", content=body, headers=writer)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["accepted"], report["unchanged"], report["rejected"]) == (11, 0, 4)
    rejected = {row["line"]: row for row in report["rejected_rows"]}
    assert set(rejected) == {12, 13, 14, 15}
    assert rejected[13]["field"] == "national_id"
    assert rejected[14]["field"] == "household_id"
    assert rejected[15]["field"].startswith("rooms")
    assert RESIDENTS[0]["national_id"] not in first.text  # never echoed
    stored = await counts(settings)
    assert stored == {"households": 2, "residents": 2, "facilities": 1, "events": 11}

    again = await client.post("/imports", content=body, headers=writer)
    assert (again.json()["accepted"], again.json()["unchanged"]) == (0, 11)
    assert await counts(settings) == stored  # nothing new, no new events


async def test_csv_import_of_residents_and_the_type_it_needs(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:write")
    await client.post("/imports", content=ndjson(*AREAS, *HOUSEHOLDS), headers=writer)
    csv_body = (
        "national_id,name,sex,birth_date,household_ref,employment_status,flags,disabled\n"
        f'{RESIDENTS[0]["national_id"]},"Wang, A",male,1950-05-04,H-1,retired,'
        "empty_nest;living_alone,true\n"
        f"{RESIDENTS[1]['national_id']},B,female,1980-01-02,H-2,laid_off,,\n"
        f"{RESIDENTS[1]['national_id']},B,female,1981-01-02,H-2,laid_off,,\n"
    )
    untyped = await client.post("/imports?format=csv", content=csv_body, headers=writer)
    assert untyped.status_code == 422
    assert untyped.json()["errors"][0]["field"] == "query.type"

    typed = await client.post("/imports?format=csv&type=resident", content=csv_body, headers=writer)
    report = typed.json()
    assert (report["accepted"], report["rejected"]) == (2, 1)
    assert report["rejected_rows"][0]["line"] == 4
    assert report["rejected_rows"][0]["field"] == "birth_date"  # disagrees with the id
    reader = bearer(settings, "registry:read")
    listed = await client.get("/residents", params={"flag": "living_alone"}, headers=reader)
    assert [r["name"] for r in listed.json()["items"]] == ["Wang, A"]


async def test_rows_outside_the_tokens_area_are_rejected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await client.post(
        "/imports", content=ndjson(*AREAS), headers=bearer(settings, "registry:write")
    )
    street_worker = bearer(settings, "registry:write", area="s1")
    outside = {**HOUSEHOLDS[0], "ref": "H-9", "community_id": "m2"}
    response = await client.post(
        "/imports", content=ndjson(HOUSEHOLDS[0], outside), headers=street_worker
    )
    report = response.json()
    assert (report["accepted"], report["rejected"]) == (1, 1)
    assert report["rejected_rows"][0]["line"] == 2


async def test_imports_take_the_bulk_body_limit_and_other_writes_the_small_one(
    settings: Settings,
) -> None:
    limited = settings.model_copy(
        update={"http_max_body_bytes": 2_000, "http_max_bulk_body_bytes": 20_000}
    )
    writer = bearer(limited, "registry:read", "registry:write")
    households = [{**HOUSEHOLDS[0], "ref": f"H-{n}", "address": f"{n} Xijie"} for n in range(300)]
    fits = ndjson(*AREAS, *households[:60]).encode()
    assert 2_000 < len(fits) < 20_000

    async def in_chunks(data: bytes, size: int = 1_000) -> AsyncIterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    async with running_service(create_app, limited) as client:
        imported = await client.post("/imports", content=fits, headers=writer)
        assert imported.status_code == 200, imported.text
        assert imported.json()["accepted"] == len(AREAS) + 60

        too_big = ndjson(*households).encode()
        assert len(too_big) > 20_000
        for content in (too_big, in_chunks(too_big)):  # Content-Length, then chunked
            refused = await client.post("/imports", content=content, headers=writer)
            assert refused.status_code == 413, refused.text
            assert refused.json()["type"] == "urn:shequ:problem:content-too-large"
            assert "20000 bytes" in refused.json()["detail"]

        household = {**HOUSEHOLDS[0], "address": "x" * 2_000}
        del household["type"], household["ref"]
        too_big_for_a_write = await client.post("/households", json=household, headers=writer)
        assert too_big_for_a_write.status_code == 413


def reports_of_rows(report: dict[str, object]) -> list[tuple[object, ...]]:
    """What an import says of each rejected row, without its line."""
    rows = report["rejected_rows"]
    assert isinstance(rows, list)
    return [(row["field"], row["reason"]) for row in rows]


async def test_an_import_tells_nothing_about_numbers_or_refs_of_another_area(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    platform = bearer(settings, "registry:write")
    await client.post("/imports", content=ndjson(*AREAS, *HOUSEHOLDS, *RESIDENTS), headers=platform)
    other = {**HOUSEHOLDS[0], "ref": "H-M2", "community_id": "m2"}
    await client.post("/imports", content=ndjson(other), headers=platform)
    street_worker = bearer(settings, "registry:write", area="s1")

    # numbers, with a household ref that is not the token's: the same answer for a number
    # registered elsewhere as for one never registered (the household is checked first)
    unknown = {
        **RESIDENTS[1],
        "national_id": national_id(date(1991, 2, 3), 44),
        "birth_date": "1991-02-03",
    }
    probes = [{**row, "household_ref": "H-M2"} for row in (RESIDENTS[0], unknown)]
    probes += [{**row, "household_ref": "H-404"} for row in (RESIDENTS[0], unknown)]
    outside = bearer(settings, "registry:write", area="s2")
    answer = (await client.post("/imports", content=ndjson(*probes), headers=outside)).json()
    assert (answer["accepted"], answer["unchanged"], answer["rejected"]) == (0, 0, 4)
    assert set(reports_of_rows(answer)) == {("household_id", "no such household")}

    # household refs are the importing area's own: a ref taken in another area is not
    # "unchanged", it is a new household of this one
    taken_elsewhere = {**HOUSEHOLDS[0], "ref": "H-M2", "community_id": "m1"}
    mine = (
        await client.post("/imports", content=ndjson(taken_elsewhere), headers=street_worker)
    ).json()
    assert (mine["accepted"], mine["unchanged"]) == (1, 0)

    # a community outside the token's area reads like one that does not exist
    rows = [{**other, "ref": "X-1"}, {**other, "ref": "X-2", "community_id": "m404"}]
    answer = (await client.post("/imports", content=ndjson(*rows), headers=street_worker)).json()
    assert reports_of_rows(answer) == [("community_id", "no such area")] * 2


async def test_a_changed_row_imported_again_is_an_update_or_a_conflict(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:write")
    first = await client.post(
        "/imports", content=ndjson(*AREAS, *HOUSEHOLDS, *RESIDENTS, FACILITY), headers=writer
    )
    assert first.json()["rejected"] == 0
    stored = await counts(settings)
    changed = ndjson(
        {**HOUSEHOLDS[0], "address": "9 Xijie"},  # line 1: conflict
        {**RESIDENTS[0], "employment_status": "employed", "flags": []},  # 2: update
        {**RESIDENTS[1], "name": "Someone else"},  # 3: conflict
        {**FACILITY, "rooms": [{"purpose": "office", "area_m2": 150}]},  # 4: update
        {**AREAS[4], "name": "Renamed"},  # 5: conflict
        RESIDENTS[1],  # 6: unchanged
    )
    report = (await client.post("/imports", content=changed, headers=writer)).json()
    assert (report["accepted"], report["updated"], report["unchanged"], report["rejected"]) == (
        0,
        2,
        1,
        3,
    )
    assert [(row["line"], row["field"]) for row in report["rejected_rows"]] == [
        (1, "address"),
        (3, "name"),
        (5, "name"),
    ]
    assert await counts(settings) == {**stored, "events": stored["events"] + 2}
    reader = bearer(settings, "registry:read")
    [updated] = (
        await client.get("/residents", params={"employment_status": "employed"}, headers=reader)
    ).json()["items"]
    assert (updated["name"], updated["flags"], updated["version"]) == ("A", [], 2)
    again = (await client.post("/imports", content=changed, headers=writer)).json()
    assert (again["updated"], again["unchanged"], again["rejected"]) == (0, 3, 3)


async def test_workers_organisations_and_volunteers_are_importable(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    writer = bearer(settings, "registry:read", "registry:write")
    await client.post("/imports", content=ndjson(*AREAS, *HOUSEHOLDS, *RESIDENTS), headers=writer)
    [resident] = (
        await client.get("/residents", params={"employment_status": "retired"}, headers=writer)
    ).json()["items"]
    worker = {
        "type": "worker",
        "ref": "W-1",
        "community_id": "m1",
        "role": "committee_member",
        "appointment": "elected",
        "education": "college",
        "birth_year": 1975,
        "sex": "female",
        "appointed_on": "2010-01-01",
    }
    team = {
        "type": "organisation",
        "ref": "O-1",
        "community_id": "m1",
        "name": "Xijie volunteers",
        "kind": "Volunteer_Team",
        "member_count": 12,
        "registered_on": "2011-01-01",
    }
    volunteer = {
        "type": "volunteer",
        "ref": "V-1",
        "community_id": "m1",
        "resident_id": resident["id"],
        "organisation_ref": "O-1",
        "registered_on": "2012-01-01",
    }
    body = ndjson(worker, team, volunteer, {**worker, "ref": "W-2", "community_id": "m2"})
    street = bearer(settings, "registry:read", "registry:write", area="s1")
    report = (await client.post("/imports", content=body, headers=street)).json()
    assert (report["accepted"], report["rejected"]) == (3, 1), report
    assert report["rejected_rows"][0] == {
        "line": 4,
        "field": "community_id",
        "reason": "no such area",
    }
    [imported] = (await client.get("/volunteers", headers=street)).json()["items"]
    [organisation] = (await client.get("/organisations", headers=street)).json()["items"]
    assert (imported["resident_id"], imported["organisation_id"]) == (
        resident["id"],
        organisation["id"],
    )
    assert len((await client.get("/workers", headers=street)).json()["items"]) == 1

    again = (await client.post("/imports", content=body, headers=street)).json()
    assert (again["accepted"], again["unchanged"], again["rejected"]) == (0, 3, 1)
    changed = ndjson({**worker, "role": "secretary"}, {**team, "member_count": 40})
    conflicts = (await client.post("/imports", content=changed, headers=street)).json()
    assert [(row["line"], row["field"]) for row in conflicts["rejected_rows"]] == [
        (1, "role"),
        (2, "member_count"),
    ]
