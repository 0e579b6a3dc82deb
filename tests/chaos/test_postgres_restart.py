"""PostgreSQL restarted (cleanly, then crashed) under load, on a server of the test's own.

Writers register residents through the registry's API (each write retried with its
``Idempotency-Key`` until acknowledged, as a client does) and readers list areas while the
server restarts. Every answer must be a success or a clean ``503`` problem+json (no stack
trace, no internals); the service must recover without being restarted; and every
acknowledged write must be readable afterwards and its event published.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.contracts import CONTRACTS, registry
from shared.testing.chaos import community_with_household
from shared.testing.pgserver import PrivatePostgres
from shared.testing.service import bearer, running_service
from shared.testing.topics import wait_for_records

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]

RESIDENT_REGISTERED = CONTRACTS.for_payload(registry.ResidentRegistered)
PROBLEM = "application/problem+json"


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


class Load:
    """Writers and readers recording every answer until told to stop."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str], household: str):
        self.client = client
        self.headers = headers
        self.household = household
        self.statuses: Counter[int] = Counter()
        self.unclean: list[str] = []
        self.acknowledged: list[str] = []
        self.last_success = 0.0
        self.stop = asyncio.Event()
        self.people = 0

    def check(self, response: httpx.Response) -> None:
        """Record the answer; anything but a success or a clean 503 is a failure."""
        self.statuses[response.status_code] += 1
        if response.is_success:
            self.last_success = time.monotonic()
            return
        body = response.text
        if (
            response.status_code != 503
            or not response.headers.get("content-type", "").startswith(PROBLEM)
            or "Traceback" in body
            or "asyncpg" in body
            or "sqlalchemy" in body.lower()
            or response.json().get("status") != 503
        ):
            self.unclean.append(f"{response.status_code} {body[:300]}")

    async def write(self) -> None:
        """Register residents, each retried with its key until acknowledged."""
        while not self.stop.is_set():
            self.people += 1
            number = self.people
            born = date(1980, 1, 1 + number % 28)
            first_17 = f"110105{born:%Y%m%d}{number:03d}"
            body = {
                "national_id": first_17 + check_character(first_17),
                "name": "Qian Yu",
                "sex": "male" if number % 2 else "female",
                "birth_date": born.isoformat(),
                "household_id": self.household,
                "employment_status": "employed",
            }
            key = {"Idempotency-Key": uuid.uuid4().hex}
            while True:
                response = await self.client.post(
                    "/residents", json=body, headers={**self.headers, **key}
                )
                self.check(response)
                if response.status_code == 201:
                    self.acknowledged.append(response.json()["id"])
                    break
                await asyncio.sleep(0.1)

    async def read(self) -> None:
        while not self.stop.is_set():
            self.check(await self.client.get("/areas", headers=self.headers))
            await asyncio.sleep(0.05)


@pytest.mark.timeout(300)
async def test_postgres_restarts_under_load_fail_cleanly_and_lose_nothing(
    private_postgres: PrivatePostgres, kafka_bootstrap: str
) -> None:
    settings = RegistrySettings(
        environment="development",
        database_url=private_postgres.create_database("registry"),
        kafka_bootstrap_servers=kafka_bootstrap,
        rate_limit_writes="",  # one busy client
    )
    headers = bearer(settings, "registry:read", "registry:write", "pii:read", "pii:write")
    prefix = f"pg{uuid.uuid4().hex[:6]}"
    async with running_service(create_registry, settings) as client:
        household = await community_with_household(
            client, headers, prefix, address="5 Beijie", registered_on="2021-01-01"
        )
        load = Load(client, headers, household)
        workers = [asyncio.create_task(load.write()) for _ in range(3)]
        workers += [asyncio.create_task(load.read()) for _ in range(2)]
        try:
            await asyncio.sleep(2.0)
            for mode in ("fast", "immediate"):  # a clean restart, then a crash
                written = len(load.acknowledged)
                await asyncio.to_thread(private_postgres.restart, mode)
                restarted = time.monotonic()
                while len(load.acknowledged) < written + 5:  # the service recovers by itself
                    assert time.monotonic() - restarted < 60, (
                        f"no write acknowledged within 60 s of the {mode} restart: "
                        f"{dict(load.statuses)} {load.unclean[:3]}"
                    )
                    await asyncio.sleep(0.2)
        finally:
            load.stop.set()
            await asyncio.gather(*workers)
        assert not load.unclean, load.unclean[:5]
        assert load.statuses[503] > 0, f"no request met the outage: {dict(load.statuses)}"
        for resident in load.acknowledged:
            found = await client.get(f"/residents/{resident}", headers=headers)
            assert found.status_code == 200, found.text
        acknowledged = set(load.acknowledged)
        records = await wait_for_records(
            settings,
            RESIDENT_REGISTERED.topic,
            len(acknowledged),
            where=lambda record: (record.key or b"").decode() in acknowledged,
            timeout_s=120,
        )
        assert {(record.key or b"").decode() for record in records} == acknowledged
