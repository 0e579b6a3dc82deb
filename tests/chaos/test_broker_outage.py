"""The broker unreachable for 30 s while writes go on (``SHEQU_CHAOS_BROKER_OUTAGE_S``).

The registry reaches its private broker through a proxy the test cuts (open connections reset,
new ones refused, the broker keeping its log as a real Kafka does across a restart). During the
outage the registry keeps accepting writes (new residents and changes of existing ones, so each
resident has several versions), and ``/readyz`` answers 503 naming the broker ``down``. After
the proxy is restored, every event written meanwhile arrives, each resident's versions in order
(a record the relay sent twice counts once, as the consumers' inbox counts it).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import date
from typing import Any

import httpx
import pytest

from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.contracts import CONTRACTS, registry
from shared.testing.broker import TansuBroker
from shared.testing.chaos import community_with_household
from shared.testing.netfault import TcpProxy
from shared.testing.service import bearer, running_service
from shared.testing.topics import read_until

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]

OUTAGE_S = float(os.environ.get("SHEQU_CHAOS_BROKER_OUTAGE_S", "30"))
RESIDENT_TOPIC = CONTRACTS.for_payload(registry.ResidentRegistered).topic
STATUSES = ("employed", "laid_off", "retired")


async def register(
    client: httpx.AsyncClient, headers: dict[str, str], household: str, n: int
) -> str:
    born = date(1970, 1 + n % 12, 1 + n % 28)
    first_17 = f"110105{born:%Y%m%d}{n:03d}"
    response = await client.post(
        "/residents",
        json={
            "national_id": first_17 + check_character(first_17),
            "name": "Sun Li",
            "sex": "male" if n % 2 else "female",
            "birth_date": born.isoformat(),
            "household_id": household,
            "employment_status": "employed",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.timeout(300 + OUTAGE_S * 3)
async def test_writes_go_on_while_the_broker_is_away_and_every_event_arrives_in_order(
    broker_behind_proxy: tuple[TansuBroker, TcpProxy], fresh_postgres_url: str
) -> None:
    broker, proxy = broker_behind_proxy
    settings = RegistrySettings(
        environment="development",
        database_url=fresh_postgres_url,
        kafka_bootstrap_servers=broker.bootstrap_servers,
        relay_max_backoff_s=2.0,
        rate_limit_writes="",  # one busy client
    )
    headers = bearer(settings, "registry:read", "registry:write", "pii:read", "pii:write")
    prefix = f"bo{uuid.uuid4().hex[:6]}"
    versions: dict[str, int] = {}
    async with running_service(create_registry, settings) as client:
        household = await community_with_household(
            client, headers, prefix, address="7 Xijie", registered_on="2019-01-01"
        )
        for n in range(3):
            versions[await register(client, headers, household, n)] = 1
        assert (await client.get("/readyz")).status_code == 200

        await proxy.cut()
        cut_at = time.monotonic()
        readiness: list[dict[str, Any]] = []
        n = 3
        while time.monotonic() - cut_at < OUTAGE_S:
            for resident in list(versions):  # a change of every resident: versions 2, 3, ...
                status = STATUSES[versions[resident] % len(STATUSES)]
                changed = await client.patch(
                    f"/residents/{resident}", json={"employment_status": status}, headers=headers
                )
                assert changed.status_code == 200, changed.text
                versions[resident] += 1
            versions[await register(client, headers, household, n)] = 1
            n += 1
            ready = await client.get("/readyz")
            readiness.append({**ready.json(), "http": ready.status_code})
            await asyncio.sleep(1.0)
        assert readiness, "no write during the outage"
        down = [answer for answer in readiness if answer["http"] == 503]
        assert down, f"/readyz never said the broker was down: {readiness[:3]}"
        assert all(answer["checks"]["broker"] != "ok" for answer in down)
        assert all(answer["checks"]["database"] == "ok" for answer in readiness)

        await proxy.start()
        written = sum(versions.values())

        def arrived(records: list[Any]) -> bool:
            seen = {json.loads(record.value)["id"] for record in records}
            return len(seen) >= written

        records = await read_until(
            settings,
            RESIDENT_TOPIC,
            arrived,
            timeout_s=120,
            awaited=f"the {written} resident events written before and during the outage",
        )
        by_resident: dict[str, list[int]] = {}
        seen: set[str] = set()
        for record in sorted(records, key=lambda record: (record.partition, record.offset)):
            event = json.loads(record.value)
            if event["id"] in seen:  # sent again by the relay: the inbox skips it
                continue
            seen.add(event["id"])
            by_resident.setdefault(event["data"]["resident_id"], []).append(
                event["data"]["version"]
            )
        for resident, count in versions.items():
            assert by_resident.get(resident) == list(range(1, count + 1)), resident
        deadline = time.monotonic() + 30
        while (await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "not ready again 30 s after the outage"
            await asyncio.sleep(0.5)
