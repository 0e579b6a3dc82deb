"""Smoke test: the metrics service starts on a real database and broker and reports ready."""

from __future__ import annotations

import asyncio

import pytest

from metrics.app import create_app
from metrics.settings import Settings
from shared.testing.service import running_service, scrape_metrics

pytestmark = pytest.mark.integration


async def test_starts_migrates_and_is_ready(sqlite_url: str, kafka_bootstrap: str) -> None:
    settings = Settings(
        environment="development", database_url=sqlite_url, kafka_bootstrap_servers=kafka_bootstrap
    )
    async with running_service(create_app, settings) as client:
        assert (await client.get("/healthz")).json() == {"status": "alive"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        exposition = await scrape_metrics(client)
        assert "shequ_http_requests_total{" in exposition
        for _ in range(50):  # the relay takes its lease right after start-up
            if 'shequ_relay_leader{service="metrics"} 1.0' in exposition:
                break
            await asyncio.sleep(0.1)
            exposition = await scrape_metrics(client)
        assert 'shequ_relay_leader{service="metrics"} 1.0' in exposition
