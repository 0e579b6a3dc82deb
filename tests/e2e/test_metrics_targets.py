"""Registry and metrics as real services on their own databases, joined only by Kafka:
facilities registered in the registry lift a district's share of communities with ≥ 300 m² of
office and public service rooms from below to above its target; the target's status change is
published (carrying the registry request's correlation id); the metrics API, the Prometheus
gauge and the registry's own statistic agree."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from metrics.app import create_app as create_metrics
from metrics.settings import Settings as MetricsSettings
from metrics.testing import eventually
from registry.app import create_app as create_registry
from registry.settings import Settings as RegistrySettings
from shared.contracts.metrics import TargetStatusChanged
from shared.testing.service import bearer, running_service, scrape_metrics
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]

OFFICE_AND_SERVICE = [
    {"purpose": "office", "area_m2": 180.0},
    {"purpose": "public_service", "area_m2": 90.5},
    {"purpose": "police", "area_m2": 29.5},
]  # 300 m² exactly


def gauge(exposition: str, name: str, **labels: str) -> float | None:
    for line in exposition.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_facilities_in_registry_lift_a_district_above_its_target(
    fresh_postgres_url: str, sqlite_url: str, kafka_bootstrap: str
) -> None:
    registry_settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    metrics_settings = MetricsSettings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        log_json=False,
    )
    tag = f"t{uuid.uuid4().hex[:6]}"
    city, district, street = tag, f"{tag}d", f"{tag}s"
    communities = [f"{tag}m{n}" for n in range(5)]
    async with (
        running_service(create_registry, registry_settings) as registry,
        running_service(create_metrics, metrics_settings) as metrics,
    ):
        writer = bearer(registry_settings, "registry:write", "registry:read")
        areas: list[dict[str, Any]] = [
            {"id": city, "level": "city", "parent_id": None},
            {"id": district, "level": "district", "parent_id": city},
            {"id": street, "level": "street", "parent_id": district},
            *(
                {
                    "id": c,
                    "level": "community",
                    "parent_id": street,
                    "kind": "residential",
                    "household_count": 1500,
                }
                for c in communities
            ),
        ]
        for body in areas:
            response = await registry.post(
                "/areas",
                json={**body, "name": f"Area {body['id']}", "valid_from": "2005-01-01"},
                headers=writer,
            )
            assert response.status_code == 201, response.text

        reader = bearer(metrics_settings, "metrics:read")

        async def communities_known() -> bool:
            response = await metrics.get(f"/areas/{city}/counts", headers=reader)
            return response.status_code == 200 and response.json()["counts"].get("community") == 5

        await eventually(communities_known, timeout_s=90)

        today = date.fromisoformat((await metrics.get("/state", headers=reader)).json()["today"])
        target_id = f"{tag}-rooms-300"
        created = await metrics.post(
            "/targets",
            json={
                "id": target_id,
                "name": "80 % of communities with ≥ 300 m² office and public service rooms",
                "indicator_id": "office_service_rooms_300",
                "scope_area_id": city,
                "comparison": ">=",
                "target_value": 80,
                "baseline_date": str(today - timedelta(days=30)),
                "deadline": str(today + timedelta(days=3 * 365)),
                "source_plan": "Jincheng three-year plan (seed 002), as set for this city",
            },
            headers=bearer(metrics_settings, "metrics:write"),
        )
        assert created.status_code == 201, created.text
        below = {a["area_id"]: a for a in created.json()["areas"]}[district]
        assert (below["value"], below["status"]) == (0.0, "at_risk")

        async def open_facility(community: str, correlation: str) -> None:
            response = await registry.post(
                "/facilities",
                json={
                    "community_id": community,
                    "kind": "office",
                    "rooms": OFFICE_AND_SERVICE,
                    "opened_on": str(min(today, date.today())),
                },
                headers={**writer, "X-Correlation-ID": correlation},
            )
            assert response.status_code == 201, response.text
            assert response.json()["office_and_public_service_m2"] == 300.0

        async def district_row() -> dict[str, Any]:
            response = await metrics.get(
                f"/targets/{target_id}", params={"level": "district"}, headers=reader
            )
            assert response.status_code == 200, response.text
            (row,) = response.json()["areas"]
            return dict(row)

        for n in range(3):
            await open_facility(communities[n], f"{tag}-facility-{n}")

        async def at(value: float) -> dict[str, Any] | None:
            row = await district_row()
            return row if row["value"] == value else None

        row = await eventually(lambda: at(60.0), timeout_s=60)
        assert row["status"] != "achieved"  # below the target

        await open_facility(communities[3], f"{tag}-facility-3")
        row = await eventually(lambda: at(80.0), timeout_s=60)
        assert row["status"] == "achieved"
        assert row["progress"] == 1.0

        # the status change is published, caused by the fourth facility's registration
        def achieved(record: ConsumerRecord[bytes, bytes]) -> bool:
            event = json.loads(record.value)
            if not event["type"].endswith("target.status_changed.v1"):
                return False
            payload = TargetStatusChanged.model_validate(event["data"])
            return (payload.target_id, payload.area_id, payload.status) == (
                target_id,
                district,
                "achieved",
            )

        (record,) = await wait_for_records(
            metrics_settings, "metrics.target.events", 1, where=achieved, timeout_s=30
        )
        assert record.key == target_id.encode()
        event = json.loads(record.value)
        assert event["data"]["value"] == 80.0
        assert event["data"]["previous_status"] in {"at_risk", "on_track"}
        assert event["correlationid"] == f"{tag}-facility-3"

        # the metrics API and the Prometheus gauge (per target and district) agree
        async def gauge_agrees() -> bool:
            exposition = await scrape_metrics(metrics)
            value = gauge(exposition, "shequ_target_value", target=target_id, district=district)
            status = gauge(
                exposition,
                "shequ_target_status",
                target=target_id,
                district=district,
                status="achieved",
            )
            return value == row["value"] and status == 1.0

        await eventually(gauge_agrees, timeout_s=30)
        values = await metrics.get(
            "/indicators/office_service_rooms_300/values",
            params={"area": district},
            headers=reader,
        )
        assert values.json()[0]["value"] == 80.0
        assert (values.json()[0]["numerator"], values.json()[0]["denominator"]) == (4.0, 5.0)

        # the registry's own statistic says the same
        stat = await registry.get(
            "/facilities/stats/communities-meeting-area",
            params={"within": district},
            headers=bearer(registry_settings, "registry:read"),
        )
        assert stat.status_code == 200, stat.text
        assert (stat.json()["meeting"], stat.json()["total"]) == (4, 5)
