"""Registry, casework and eldercare as separate services on their own databases, joined only by
Kafka: an elder registered in the registry applies at the casework window for the hardship
medical subsidy (困难老人医疗补助); the department approves it with its amount, and eldercare,
reacting to ``case.decided`` alone, pays it in its ledger once, even when the decision is
delivered again (the same event, and a copy under a new event id)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from casework.app import create_app as create_casework
from casework.settings import Settings as CaseworkSettings
from eldercare.app import create_app as create_eldercare
from eldercare.settings import Settings as EldercareSettings
from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.kafka import new_producer
from shared.testing.service import bearer, running_service
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]

HARDSHIP = {
    "matter_code": "elder_hardship_medical_subsidy",
    "documents": ["id_card", "medical_bills", "income_proof"],
}


def decisions_consumed(outcome: str) -> float:
    """``case.decided`` events eldercare's consumer handled with ``outcome`` (in this process)."""
    total = 0.0
    for family in REGISTRY.collect():
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "shequ_events_consumed_total"
                and labels.get("service") == "eldercare"
                and ".case.decided." in labels.get("event_type", "")
                and labels.get("outcome") == outcome
            ):
                total += sample.value
    return total


async def ledger(
    eldercare: httpx.AsyncClient, headers: dict[str, str], resident_id: str
) -> list[dict[str, Any]]:
    response = await eldercare.get(
        "/payments", params={"resident_id": resident_id}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_hardship_subsidy_decided_at_casework_is_paid_in_the_eldercare_ledger_once(
    fresh_postgres_url: str, sqlite_url: str, kafka_bootstrap: str
) -> None:
    registry_settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    casework_settings = CaseworkSettings(
        environment="development", database_url=sqlite_url, kafka_bootstrap_servers=kafka_bootstrap
    )
    eldercare_settings = EldercareSettings(
        environment="development",
        database_url=sqlite_url.replace(".db", "-eldercare.db"),
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    prefix = f"hs{id(registry_settings) % 100000}"
    born = date(date.today().year - 78, 3, 9)
    async with (
        running_service(create_registry, registry_settings) as registry,
        running_service(create_casework, casework_settings) as casework,
        running_service(create_eldercare, eldercare_settings) as eldercare,
    ):
        writer = bearer(registry_settings, "registry:read", "registry:write")
        for area_id, level, parent in [
            (prefix, "city", None),
            (f"{prefix}d", "district", prefix),
            (f"{prefix}s", "street", f"{prefix}d"),
            (f"{prefix}m", "community", f"{prefix}s"),
        ]:
            body: dict[str, Any] = {
                "id": area_id,
                "level": level,
                "name": area_id,
                "parent_id": parent,
                "valid_from": "2005-01-01",
            }
            response = await registry.post("/areas", json=body, headers=writer)
            assert response.status_code == 201, response.text
        household = await registry.post(
            "/households",
            json={
                "community_id": f"{prefix}m",
                "address": "3 Nanjie",
                "registered_on": "2020-05-01",
            },
            headers=writer,
        )
        assert household.status_code == 201, household.text
        first_17 = f"110105{born:%Y%m%d}008"
        resident = await registry.post(
            "/residents",
            json={
                "national_id": first_17 + check_character(first_17),
                "name": "Zhao Min",
                "sex": "female",
                "birth_date": born.isoformat(),
                "household_id": household.json()["id"],
                "employment_status": "retired",
            },
            headers=writer,
        )
        assert resident.status_code == 201, resident.text
        resident_id = resident.json()["id"]

        clerk = bearer(casework_settings, "casework:read", "casework:write", area=f"{prefix}s")
        visit_body = {"resident_id": resident_id, "matters": [HARDSHIP]}
        visit = await casework.post("/visits", json=visit_body, headers=clerk)
        for _ in range(300):  # casework hears of the resident once its consumer group joins
            if visit.status_code != 422:
                break
            await asyncio.sleep(0.2)
            visit = await casework.post("/visits", json=visit_body, headers=clerk)
        assert visit.status_code == 201, visit.text
        case_id = visit.json()["cases"][0]["id"]
        for action, action_body in [
            ("accept", None),
            ("forward", None),
            ("decide", {"outcome": "approved", "amount_fen": 186_050}),
        ]:
            response = await casework.post(
                f"/cases/{case_id}/{action}", json=action_body, headers=clerk
            )
            assert response.status_code == 200, response.text

        reader = bearer(eldercare_settings, "eldercare:read")
        lines: list[dict[str, Any]] = []
        for _ in range(300):  # eldercare's consumer group joins in a few seconds
            lines = await ledger(eldercare, reader, resident_id)
            if lines:
                break
            await asyncio.sleep(0.2)
        assert [(p["kind"], p["case_id"], p["amount_fen"]) for p in lines] == [
            ("hardship_medical_subsidy", case_id, 186_050)
        ]
        assert lines[0]["entitlement_id"] is None

        # The decision again: the very same record (the inbox knows its id) and a copy under
        # a new event id (only the ledger's key per case stops it).
        (record,) = await wait_for_records(
            casework_settings,
            "casework.case.events",
            1,
            where=lambda r: r.key.decode() == case_id and b".case.decided." in r.value,
        )
        copy = json.loads(record.value)
        copy["id"] = str(uuid.uuid4())
        applied, duplicates = decisions_consumed("applied"), decisions_consumed("duplicate")
        producer = new_producer(casework_settings, client_id="redelivery")
        await producer.start()
        try:
            for value in (record.value, json.dumps(copy).encode()):
                await producer.send_and_wait(
                    "casework.case.events",
                    value=value,
                    key=record.key,
                    headers=list(record.headers),
                )
        finally:
            await producer.stop()
        for _ in range(300):
            if (
                decisions_consumed("applied") >= applied + 1
                and decisions_consumed("duplicate") >= duplicates + 1
            ):
                break
            await asyncio.sleep(0.2)
        assert decisions_consumed("applied") == applied + 1
        assert decisions_consumed("duplicate") == duplicates + 1
        again = await ledger(eldercare, reader, resident_id)
        assert [p["id"] for p in again] == [lines[0]["id"]]

        paid = await wait_for_records(
            eldercare_settings,
            "eldercare.payment.events",
            1,
            where=lambda r: case_id.encode() in r.value,
        )
        assert json.loads(paid[0].value)["data"]["amount_fen"] == 186_050
