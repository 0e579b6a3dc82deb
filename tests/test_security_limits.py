"""The security rules of the platform kit against a running service (the registry on SQLite
with the run's broker): per-token rate limits on writes and on failed look-ups, the token
rules, the client's correlation id, and metrics only on their own port."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from registry.app import create_app
from registry.settings import Settings
from shared.auth import mint_token
from shared.db import create_engine
from shared.testing.service import running_service, scrape_metrics
from shared.testing.windows import seconds_until_room

pytestmark = pytest.mark.integration

AREA = "140502001001"


@pytest.fixture
async def registry(
    sqlite_url: str, kafka_bootstrap: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    settings = Settings(
        environment="development",
        database_url=sqlite_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        demo_data=True,
        log_json=False,
        rate_limit_writes="3/minute",
        rate_limit_not_found="3/minute",
        auth_max_token_lifetime_s=3600,
    )
    async with running_service(create_app, settings) as client:
        yield client, settings


def token(settings: Settings, subject: str, **extra: Any) -> dict[str, str]:
    scopes = ["registry:read", "registry:write"]
    minted = mint_token(settings, subject=subject, scopes=scopes, area=AREA, **extra)
    return {"Authorization": f"Bearer {minted}"}


def household() -> dict[str, str]:
    return {"community_id": AREA, "address": "1 Limit Road", "registered_on": "2020-01-01"}


async def test_a_burst_of_writes_is_refused_and_other_tokens_go_on(
    registry: tuple[httpx.AsyncClient, Settings],
) -> None:
    client, settings = registry
    await asyncio.sleep(seconds_until_room())  # the counted burst stays inside one window
    burst = token(settings, "bursty-clerk")
    answers = [
        (await client.post("/households", json=household(), headers=burst)).status_code
        for _ in range(3)
    ]
    assert answers == [201, 201, 201]
    refused = await client.post("/households", json=household(), headers=burst)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["Retry-After"]) >= 1
    other = await client.post("/households", json=household(), headers=token(settings, "calm"))
    assert other.status_code == 201, "another token is not affected"
    listed = await client.get("/households", headers=burst)
    assert listed.status_code == 200, "reads are not writes"


async def test_guessing_ids_is_stopped_for_that_token_only(
    registry: tuple[httpx.AsyncClient, Settings],
) -> None:
    client, settings = registry
    await asyncio.sleep(seconds_until_room())
    guesser, other = token(settings, "guesser"), token(settings, "neighbour")
    for number in range(4):
        missing = await client.get(f"/residents/guess-{number}", headers=guesser)
        assert missing.status_code == 404
    blocked = await client.get("/households", headers=guesser)
    assert blocked.status_code == 429, blocked.text
    assert (await client.get("/residents/guess-9", headers=other)).status_code == 404
    assert (await client.get("/households", headers=other)).status_code == 200


async def test_token_rules_and_their_refusal_counts(
    registry: tuple[httpx.AsyncClient, Settings],
) -> None:
    client, settings = registry
    too_long = token(settings, "long-lived", ttl_s=7200)
    refused = await client.get("/households", headers=too_long)
    assert refused.status_code == 401
    assert "lives longer than 3600 s" in refused.json()["detail"]
    now = int(time.time())
    id_token = jwt.encode(
        {"iss": "shequ-dev", "aud": "shequ", "sub": "x", "iat": now, "exp": now + 60},
        settings.auth_jwt_secret.get_secret_value(),
        headers={"typ": "id_token+jwt"},
    )
    wrong_type = await client.get("/households", headers={"Authorization": f"Bearer {id_token}"})
    assert wrong_type.status_code == 401
    exposition = await scrape_metrics(client)
    assert 'shequ_auth_refusals_total{reason="lifetime",service="registry"}' in exposition
    assert 'shequ_auth_refusals_total{reason="type",service="registry"}' in exposition


async def test_a_malformed_correlation_id_never_reaches_the_response_or_events(
    registry: tuple[httpx.AsyncClient, Settings],
) -> None:
    client, settings = registry
    kept = await client.post(
        "/households",
        json=household(),
        headers={**token(settings, "clerk-c"), "X-Correlation-ID": "visit-2026-11-30.1"},
    )
    assert kept.headers["X-Correlation-ID"] == "visit-2026-11-30.1"
    replaced = await client.post(
        "/households",
        json=household(),
        headers={**token(settings, "clerk-c"), "X-Correlation-ID": "x" * 200},
    )
    assert replaced.status_code == 201
    assert replaced.headers["X-Correlation-ID"] == replaced.headers["X-Request-ID"]
    engine = create_engine(settings.resolved_database_url())
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT payload FROM outbox"))).scalars().all()
    finally:
        await engine.dispose()
    events = {json.loads(row)["partitionkey"]: json.loads(row) for row in rows}
    assert events[kept.json()["id"]]["correlationid"] == "visit-2026-11-30.1"
    assert events[replaced.json()["id"]]["correlationid"] == replaced.headers["X-Request-ID"]
    assert not any("x" * 129 in row for row in rows)


async def test_metrics_are_on_their_own_port_only(
    registry: tuple[httpx.AsyncClient, Settings],
) -> None:
    client, _ = registry
    assert (await client.get("/metrics")).status_code == 404
    assert "shequ_http_requests_total" in await scrape_metrics(client)
