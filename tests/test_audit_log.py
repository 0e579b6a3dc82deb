"""The audit log of every service holding personal data, against the running services: who
read or changed a resident, household, case, seeker or elder is recorded (a change with the
change, a read after it was found), free of id numbers, queryable with ``audit:read`` only,
confined to the token's area, paginated, and append-only on PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.db import create_engine
from shared.testing.postgres import create_database, drop_database
from shared.testing.service import bearer, running_service

pytestmark = pytest.mark.integration

AREA_A, AREA_B = "140502001001", "140525"
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def headers(settings: Any, *scopes: str, area: str | None, subject: str) -> dict[str, str]:
    from shared.auth import mint_token

    token = mint_token(settings, subject=subject, scopes=list(scopes), area=area)
    return {"Authorization": f"Bearer {token}"}


async def audit_entries(
    client: httpx.AsyncClient, settings: Any, *, area: str | None = AREA_A, **query: Any
) -> list[dict[str, Any]]:
    auditor = headers(settings, "audit:read", area=area, subject="auditor")
    response = await client.get("/audit", params=query, headers=auditor)
    assert response.status_code == 200, response.text
    assert not ID_NUMBER.search(response.text), "an id number in the audit log"
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.fixture
async def registry_on_postgres(
    kafka_bootstrap: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, RegistrySettings, str]]:
    url = create_database("shequ_audit_registry")
    settings = RegistrySettings(
        environment="development",
        database_url=url,
        kafka_bootstrap_servers=kafka_bootstrap,
        demo_data=True,
        log_json=False,
    )
    try:
        async with running_service(create_registry, settings) as client:
            yield client, settings, url
    finally:
        drop_database(url)


async def test_the_registry_audits_reads_masked_and_in_clear_look_ups_and_changes(
    registry_on_postgres: tuple[httpx.AsyncClient, RegistrySettings, str],
) -> None:
    client, settings, url = registry_on_postgres
    clerk = headers(settings, "registry:read", "registry:write", area=AREA_A, subject="clerk-a")
    officer = headers(settings, "registry:read", "pii:read", area=AREA_A, subject="officer-a")

    household = await client.post(
        "/households",
        json={"community_id": AREA_A, "address": "1 Audit Road", "registered_on": "2020-01-01"},
        headers=clerk,
    )
    assert household.status_code == 201, household.text
    household_id = household.json()["id"]
    first_17 = f"11010519800505{uuid.uuid4().int % 500 * 2:03d}"
    national_id = first_17 + check_character(first_17)
    resident = await client.post(
        "/residents",
        json={
            "national_id": national_id,
            "name": "Audit Resident",
            "sex": "female",
            "birth_date": "1980-05-05",
            "household_id": household_id,
            "employment_status": "employed",
        },
        headers=clerk,
    )
    assert resident.status_code == 201, resident.text
    resident_id = resident.json()["id"]

    masked = await client.get(f"/residents/{resident_id}", headers=clerk)
    assert masked.status_code == 200
    assert masked.json()["national_id_masked"]
    in_clear = await client.get(
        f"/residents/{resident_id}", headers={**officer, "X-Correlation-ID": "audit-check-1"}
    )
    assert in_clear.status_code == 200
    assert not in_clear.json()["national_id_masked"]
    looked_up = await client.post(
        "/residents/lookup", json={"national_id": national_id}, headers=officer
    )
    assert looked_up.status_code == 200, looked_up.text
    refused = await client.post(
        f"/residents/{resident_id}/move",
        json={"household_id": "no-such-household", "moved_on": "2021-01-01"},
        headers=clerk,
    )
    assert refused.status_code == 422, refused.text

    entries = await audit_entries(client, settings)
    in_time = sorted(entries, key=lambda e: e["at"], reverse=True)  # reads are written in batches
    assert [(e["actor"], e["action"], e["resource_type"], e["resource_id"]) for e in in_time] == [
        ("officer-a", "look-up", "resident", resident_id),
        ("officer-a", "read", "resident", resident_id),
        ("clerk-a", "read-masked", "resident", resident_id),
        ("clerk-a", "create", "resident", resident_id),
        ("clerk-a", "create", "household", household_id),
    ], "a masked read is read-masked, one in clear read; refused changes leave no row"
    assert in_time[1]["correlation_id"] == "audit-check-1"
    assert in_time[1]["area_path"][-1] == AREA_A
    assert national_id not in json.dumps(entries)

    assert await audit_entries(client, settings, area=AREA_B) == [], "another area sees nothing"
    only = await audit_entries(client, settings, resource_type="household")
    assert [e["resource_id"] for e in only] == [household_id]
    first = await client.get(
        "/audit",
        params={"limit": 3},
        headers=headers(settings, "audit:read", area=AREA_A, subject="auditor"),
    )
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    rest = await audit_entries(client, settings, cursor=cursor)
    assert [e["id"] for e in first.json()["items"] + rest] == [e["id"] for e in entries]

    everything_but_audit = headers(
        settings, "registry:read", "registry:write", "pii:read", area=None, subject="boss"
    )
    assert (await client.get("/audit", headers=everything_but_audit)).status_code == 403

    engine = create_engine(url)
    try:
        for statement in (
            "UPDATE audit_log SET actor = 'someone-else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as connection:
                    await connection.execute(text(statement))
    finally:
        await engine.dispose()
    assert len(await audit_entries(client, settings, area=None)) == len(entries)


async def service_client(name: str, kafka_bootstrap: str, tmp_path: Any) -> Any:
    import importlib

    create_app = importlib.import_module(f"{name}.app").create_app
    settings = importlib.import_module(f"{name}.settings").Settings(
        environment="development",
        database_url=f"sqlite+aiosqlite:///{tmp_path / name}.db",
        kafka_bootstrap_servers=kafka_bootstrap,
        demo_data=True,
        log_json=False,
    )
    return running_service(create_app, settings), settings


async def test_casework_audits_cases_opened_changed_and_read(
    kafka_bootstrap: str, tmp_path: Any
) -> None:
    running, settings = await service_client("casework", kafka_bootstrap, tmp_path)
    async with running as client:
        clerk = bearer(settings, "casework:read", "casework:write", area=AREA_A)
        visit = await client.post(
            "/visits",
            json={
                "resident_id": "demo-r-01",
                "matters": [
                    {
                        "matter_code": "reemployment_concession_card",
                        "documents": [
                            "id_card",
                            "household_register",
                            "unemployment_registration_card",
                            "photo",
                        ],
                    }
                ],
            },
            headers=clerk,
        )
        assert visit.status_code == 201, visit.text
        case_id = visit.json()["cases"][0]["id"]
        assert (await client.post(f"/cases/{case_id}/accept", headers=clerk)).status_code == 200
        assert (await client.get(f"/cases/{case_id}", headers=clerk)).status_code == 200
        entries = await audit_entries(client, settings, resource_id=case_id)
    assert [(e["actor"], e["action"]) for e in entries] == [
        ("test", "read"),
        ("test", "update"),
        ("test", "create"),
    ]


@pytest.mark.parametrize(
    ("name", "listing", "key", "resource_type"),
    [
        ("employment", "/seekers", "id", "seeker"),
        ("eldercare", "/elders", "resident_id", "elder"),
    ],
)
async def test_person_records_are_audited_when_read(
    name: str, listing: str, key: str, resource_type: str, kafka_bootstrap: str, tmp_path: Any
) -> None:
    running, settings = await service_client(name, kafka_bootstrap, tmp_path)
    async with running as client:
        reader = bearer(settings, f"{name}:read", area=AREA_A)
        listed = await client.get(listing, params={"within": AREA_A}, headers=reader)
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert items, f"{name}'s demo data has no person in {AREA_A}"
        one = items[0][key]
        assert (await client.get(f"{listing}/{one}", headers=reader)).status_code == 200
        entries = await audit_entries(client, settings, resource_type=resource_type)
    assert entries[0]["resource_id"] == one
    assert entries[0]["action"] == "read"
    listed_ids = {item[key] for item in items}
    assert {e["resource_id"] for e in entries[1:]} == listed_ids, "the list was audited too"


async def test_a_registry_import_is_audited_row_by_row(
    registry_on_postgres: tuple[httpx.AsyncClient, RegistrySettings, str],
) -> None:
    client, settings, _ = registry_on_postgres
    clerk = headers(settings, "registry:read", "registry:write", area=AREA_A, subject="importer")
    rows = [
        {
            "type": "household",
            "ref": f"H-{number}",
            "community_id": AREA_A,
            "address": f"{number} Import Road",
            "registered_on": "2020-01-01",
        }
        for number in range(3)
    ]
    body = "\n".join(json.dumps(row) for row in rows).encode()
    imported = await client.post(
        "/imports", content=body, headers={**clerk, "Content-Type": "application/x-ndjson"}
    )
    assert imported.status_code == 200, imported.text
    entries = await audit_entries(client, settings, actor="importer")
    assert [(e["action"], e["resource_type"]) for e in entries] == [("import", "household")] * 3


async def test_employment_audits_a_loan_applied_for_and_changed(
    kafka_bootstrap: str, tmp_path: Any
) -> None:
    running, settings = await service_client("employment", kafka_bootstrap, tmp_path)
    async with running as client:
        clerk = bearer(settings, "employment:read", "employment:write", area=AREA_A)
        seekers = await client.get("/seekers", params={"within": AREA_A}, headers=clerk)
        seeker = next(s["id"] for s in seekers.json()["items"] if s["resident_id"] == "demo-r11")
        body = {"seeker_id": seeker, "amount_fen": 1_000_000, "term_months": 12}
        applied = await client.post("/loans", json=body, headers=clerk)
        assert applied.status_code == 201, applied.text
        loan_id = applied.json()["id"]
        guaranteed = await client.post(
            f"/loans/{loan_id}/guarantee", json={"guarantee": "guarantee_fund"}, headers=clerk
        )
        assert guaranteed.status_code == 200, guaranteed.text
        entries = await audit_entries(client, settings, resource_type="loan")
    assert [(e["action"], e["resource_id"]) for e in entries] == [
        ("update", loan_id),
        ("create", loan_id),
    ]
