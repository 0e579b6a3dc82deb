"""Registry, casework and metrics as separate services on their own databases, joined only by
Kafka: a resident registered in the registry applies at the casework window (known to casework
from the registry's events alone), the case goes through every agency hop to its decision,
closure and rating, its events arrive on ``casework.case.events`` in order, and the metrics
indicators move (cases closed on time, satisfaction, agency cases); a resident of 68 is refused
the 70+ longevity certificate with the reason."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from casework.app import create_app as create_casework
from casework.settings import Settings as CaseworkSettings
from metrics.app import create_app as create_metrics
from metrics.settings import Settings as MetricsSettings
from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.testing.service import bearer, running_service
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]

CARD = {
    "matter_code": "reemployment_concession_card",
    "documents": ["id_card", "household_register", "unemployment_registration_card", "photo"],
}
CERTIFICATE = {"matter_code": "longevity_certificate", "documents": ["id_card", "photo"]}


def national_id(born: date, sequence: str) -> str:
    first_17 = f"110105{born:%Y%m%d}{sequence}"
    return first_17 + check_character(first_17)


async def register_resident(
    registry: httpx.AsyncClient,
    headers: dict[str, str],
    household_id: str,
    born: date,
    sequence: str,
    employment_status: str,
) -> str:
    response = await registry.post(
        "/residents",
        json={
            "national_id": national_id(born, sequence),
            "name": "Wang Fang",
            "sex": "female",
            "birth_date": born.isoformat(),
            "household_id": household_id,
            "employment_status": employment_status,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    resident_id: str = response.json()["id"]
    return resident_id


async def submit_when_known(
    casework: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    """POST /visits until casework has heard of the resident (the consumer group's first join
    takes a few seconds); an unknown resident is refused without side effects."""
    response = await casework.post("/visits", json=body, headers=headers)
    for _ in range(300):
        unknown = response.status_code == 422 and any(
            error.get("code") == "unknown-resident" for error in response.json()["errors"]
        )
        if not unknown:
            break
        await asyncio.sleep(0.2)
        response = await casework.post("/visits", json=body, headers=headers)
    return response


async def indicator(
    metrics: httpx.AsyncClient, headers: dict[str, str], indicator_id: str, area: str
) -> float | None:
    response = await metrics.get(
        f"/indicators/{indicator_id}/values", params={"area": area}, headers=headers
    )
    if response.status_code != 200:
        return None
    found: float | None = response.json()[0]["value"]
    return found


async def test_a_registered_resident_applies_and_the_case_events_arrive_in_order(
    fresh_postgres_url: str, sqlite_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    registry_settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    casework_settings = CaseworkSettings(
        environment="development", database_url=sqlite_url, kafka_bootstrap_servers=kafka_bootstrap
    )
    metrics_settings = MetricsSettings(
        environment="development",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}",
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    prefix = f"cw{id(registry_settings) % 100000}"
    year = date.today().year
    async with (
        running_service(create_registry, registry_settings) as registry,
        running_service(create_casework, casework_settings) as casework,
        running_service(create_metrics, metrics_settings) as metrics,
    ):
        writer = bearer(registry_settings, "registry:read", "registry:write")
        for area_id, level, parent in [
            (prefix, "city", None),
            (f"{prefix}d", "district", prefix),
            (f"{prefix}s", "street", f"{prefix}d"),
            (f"{prefix}m", "community", f"{prefix}s"),
        ]:
            response = await registry.post(
                "/areas",
                json={
                    "id": area_id,
                    "level": level,
                    "name": area_id,
                    "parent_id": parent,
                    "valid_from": "2005-01-01",
                },
                headers=writer,
            )
            assert response.status_code == 201, response.text
        household = await registry.post(
            "/households",
            json={
                "community_id": f"{prefix}m",
                "address": "2 Xijie",
                "registered_on": "2020-05-01",
            },
            headers=writer,
        )
        assert household.status_code == 201, household.text
        household_id = household.json()["id"]
        worker = await register_resident(
            registry, writer, household_id, date(year - 45, 3, 1), "004", "laid_off"
        )
        elder = await register_resident(
            registry, writer, household_id, date(year - 68, 1, 15), "006", "retired"
        )

        reader = bearer(metrics_settings, "metrics:read")
        before: float | None = None
        for _ in range(300):  # metrics knows the city (from the registry), with no case yet
            before = await indicator(metrics, reader, "agency_cases", prefix)
            if before is not None:
                break
            await asyncio.sleep(0.2)
        assert before == 0.0
        assert await indicator(metrics, reader, "cases_closed_on_time", prefix) is None

        clerk = bearer(casework_settings, "casework:read", "casework:write", area=f"{prefix}s")
        visit = await submit_when_known(casework, clerk, {"resident_id": worker, "matters": [CARD]})
        assert visit.status_code == 201, visit.text
        case_id = visit.json()["cases"][0]["id"]
        steps: list[tuple[str, dict[str, Any] | None]] = [
            ("accept", None),
            ("delegate", {"agent_id": "w-1"}),
            ("forward", None),
            ("hops", {"hop": "received_by_department"}),
            ("decide", {"outcome": "approved"}),
            ("hops", {"hop": "result_carried_back"}),
            ("close", None),
            ("rating", {"rating": 5}),
        ]
        for action, body in steps:
            response = await casework.post(f"/cases/{case_id}/{action}", json=body, headers=clerk)
            assert response.status_code == 200, response.text
        case = response.json()
        assert case["state"] == "closed"
        assert case["path"] == [prefix, f"{prefix}d", f"{prefix}s", f"{prefix}m"]
        assert case["within_time_limit"] is True

        refused = await submit_when_known(
            casework, clerk, {"resident_id": elder, "matters": [CERTIFICATE]}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["message"] == (
            "longevity_certificate needs age 70 or more; the resident is 68"
        )

        records = await wait_for_records(
            casework_settings, "casework.case.events", 11, where=lambda r: r.key.decode() == case_id
        )
        events = [json.loads(record.value) for record in records]
        assert [event["type"].split(".")[-2] for event in events] == [
            "submitted", "accepted", "delegated", "hop_recorded", "forwarded", "hop_recorded",
            "hop_recorded", "decided", "hop_recorded", "closed", "rated",
        ]  # fmt: skip
        assert [event["data"]["version"] for event in events] == sorted(
            event["data"]["version"] for event in events
        )
        assert {event["data"]["community_id"] for event in events} == {f"{prefix}m"}
        closed = next(event["data"] for event in events if event["type"].endswith("closed.v1"))
        assert closed["within_time_limit"] is True
        assert closed["delegated"] is True

        expected = {"cases_closed_on_time": 100.0, "satisfied_share": 100.0, "agency_cases": 1.0}
        values: dict[str, float | None] = {}
        for _ in range(300):  # the metrics consumer group's first join takes a few seconds
            values = {name: await indicator(metrics, reader, name, prefix) for name in expected}
            if values == expected:
                break
            await asyncio.sleep(0.2)
        assert values == expected
        assert await indicator(metrics, reader, "satisfaction_average", prefix) == 5.0
