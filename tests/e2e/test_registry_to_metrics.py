"""Registry and metrics as separate services on their own databases, joined only by Kafka:
areas registered in one are counted by the other, with the causal chain kept."""

from __future__ import annotations

import asyncio
import json

import pytest

from metrics.app import create_app as create_metrics
from metrics.settings import Settings as MetricsSettings
from registry.app import create_app as create_registry
from registry.settings import Settings as RegistrySettings
from shared.testing.service import bearer, running_service
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]


async def test_areas_registered_in_registry_are_counted_by_metrics(
    fresh_postgres_url: str, sqlite_url: str, kafka_bootstrap: str
) -> None:
    registry_settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=kafka_bootstrap,
    )
    metrics_settings = MetricsSettings(
        environment="development", database_url=sqlite_url, kafka_bootstrap_servers=kafka_bootstrap
    )
    prefix = f"e{id(registry_settings) % 100000}"
    async with (
        running_service(create_registry, registry_settings) as registry,
        running_service(create_metrics, metrics_settings) as metrics,
    ):
        writer = bearer(registry_settings, "registry:write")
        bodies = [
            {"id": prefix, "level": "city", "parent_id": None},
            {"id": f"{prefix}d", "level": "district", "parent_id": prefix},
            {"id": f"{prefix}s", "level": "street", "parent_id": f"{prefix}d"},
            {"id": f"{prefix}m1", "level": "community", "parent_id": f"{prefix}s"},
            {"id": f"{prefix}m2", "level": "community", "parent_id": f"{prefix}s"},
        ]
        for body in bodies:
            response = await registry.post(
                "/areas",
                json={**body, "name": body["id"], "valid_from": "2005-01-01"},
                headers={**writer, "X-Correlation-ID": "e2e-areas"},
            )
            assert response.status_code == 201, response.text

        reader = bearer(metrics_settings, "metrics:read")
        expected = {"city": 1, "district": 1, "street": 1, "community": 2}
        counts: dict[str, int] = {}
        for _ in range(300):  # the first consumer-group join takes a few seconds
            response = await metrics.get(f"/areas/{prefix}/counts", headers=reader)
            if response.status_code == 200:
                counts = response.json()["counts"]
                if counts == expected:
                    break
            await asyncio.sleep(0.2)
        assert counts == expected

        records = await wait_for_records(
            registry_settings,
            "registry.area.events",
            len(bodies),
            where=lambda r: r.key.decode().startswith(prefix),
        )
        ours = [json.loads(r.value) for r in records]
        assert len(ours) == len(bodies)
        assert {e["correlationid"] for e in ours} == {"e2e-areas"}

        confined = bearer(metrics_settings, "metrics:read", area="elsewhere")
        hidden = await metrics.get(f"/areas/{prefix}/counts", headers=confined)
        assert hidden.status_code == 404
