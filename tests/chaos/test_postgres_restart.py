"""PostgreSQL restarted (cleanly, then crashed) under load, on a server of the test's own.

Writers register residents through the registry's API (each write retried with its
``Idempotency-Key`` until acknowledged, as a client does) and readers list areas while the
server restarts. Every answer must be a success or a clean ``503`` problem+json with
``Retry-After`` (no stack trace, no internals); the service must recover without being
restarted; and every acknowledged write must be readable afterwards and its event published.

Then all five services at once, PostgreSQL stopped: every secured route of every OpenAPI
document that reads the database, and a write of each service, answer that clean ``503``
while it is away, and the services answer again once it is back.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.auth import ALL_SCOPES
from shared.contracts import CONTRACTS, registry
from shared.settings_docs import SERVICES
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


def why_unclean(response: httpx.Response) -> str | None:
    """Why ``response`` is not a clean 503 problem+json with ``Retry-After``, or None."""
    body = response.text
    if response.status_code != 503:
        return f"answered {response.status_code}"
    if not response.headers.get("content-type", "").startswith(PROBLEM):
        return f"content type {response.headers.get('content-type')}"
    if not response.headers.get("retry-after", "").isdigit():
        return "no Retry-After in seconds"
    if "Traceback" in body or "asyncpg" in body or "sqlalchemy" in body.lower():
        return f"internals in the body: {body[:300]}"
    if response.json().get("status") != 503:
        return f"problem status {response.json().get('status')}"
    return None


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
        if why_unclean(response):
            self.unclean.append(f"{response.status_code} {response.text[:300]}")

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


OPENAPI_DIR = Path(__file__).resolve().parents[2] / "docs" / "openapi"
QUERY = {
    "area": "140500",
    "since": "2000-01-01T00:00:00Z",
    "national_id": "11010519800505002" + check_character("11010519800505002"),
    "from": "2026-01-01",
    "to": "2026-01-31",
}
"""Values of the required query parameters the documents declare."""

WRITES: dict[str, tuple[str, dict[str, Any]]] = {
    "registry": (
        "/households",
        {"community_id": "x1", "address": "1 Road", "registered_on": "2020-01-01"},
    ),
    "casework": ("/visits", {"resident_id": "x1", "matters": [{"matter_code": "legal_aid"}]}),
    "employment": ("/loans", {"seeker_id": "x1", "amount_fen": 100_000, "term_months": 12}),
    "eldercare": ("/orders", {"resident_id": "x1", "service": "cleaning"}),
    "metrics": (
        "/targets",
        {
            "name": "Down",
            "indicator_id": "x1",
            "scope_area_id": "140500",
            "comparison": ">=",
            "target_value": 1,
            "baseline_date": "2026-01-01",
            "deadline": "2030-12-31",
            "source_plan": "chaos",
        },
    ),
}
"""A write of each service that passes validation, so that it reaches the database."""


def path_values(indicators: list[dict[str, Any]]) -> dict[str, str]:
    """Path parameters checked before the database (the in-memory catalogues of metrics)
    → a value that passes; any other id reads the database."""
    from metrics.service import EXPORTS

    return {"indicator_id": indicators[0]["id"], "table": next(iter(EXPORTS))}


def secured_reads(service: str, known: dict[str, str]) -> list[str]:
    """The URL of every secured GET operation of ``service``'s document (path parameters
    filled from ``known`` or a placeholder, required query parameters with :data:`QUERY`)."""
    spec = yaml.safe_load((OPENAPI_DIR / f"{service}.yaml").read_text())
    urls = []
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if operation is None or not operation.get("security"):
            continue
        query = [
            f"{p['name']}={QUERY[p['name']]}"
            for p in operation.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        ]
        url = re.sub(r"\{([^}]+)\}", lambda m: known.get(m.group(1), "chaos1"), path)
        urls.append(url + ("?" + "&".join(query) if query else ""))
    return urls


@pytest.mark.timeout(300)
@pytest.mark.publishes(False)  # every write meets a stopped database: nothing is staged
async def test_every_service_answers_a_clean_503_while_postgres_is_down(
    private_postgres: PrivatePostgres, kafka_bootstrap: str
) -> None:
    async with AsyncExitStack() as stack:
        clients: dict[str, tuple[httpx.AsyncClient, dict[str, str]]] = {}
        for name in SERVICES:
            settings = importlib.import_module(f"{name}.settings").Settings(
                environment="development",
                database_url=private_postgres.create_database(name),
                kafka_bootstrap_servers=kafka_bootstrap,
                log_json=False,
                jobs_enabled=False,
                rate_limit_not_found="",
            )
            create_app = importlib.import_module(f"{name}.app").create_app
            client = await stack.enter_async_context(running_service(create_app, settings))
            clients[name] = (client, bearer(settings, *ALL_SCOPES))

        client, headers = clients["metrics"]
        known = path_values((await client.get("/indicators", headers=headers)).json())
        await asyncio.to_thread(private_postgres.stop, "fast")
        failures: list[str] = []
        refused: Counter[str] = Counter()
        try:
            for name, (client, headers) in clients.items():
                for url in secured_reads(name, known):
                    response = await client.get(url, headers=headers)
                    if response.is_success:  # answered without the database (a catalogue)
                        continue
                    why = why_unclean(response)
                    if why:
                        failures.append(f"{name} GET {url}: {why}")
                    refused[name] += 1
                path, body = WRITES[name]
                key = {"Idempotency-Key": uuid.uuid4().hex}
                response = await client.post(path, json=body, headers={**headers, **key})
                why = why_unclean(response)
                if why:
                    failures.append(f"{name} POST {path}: {why} {response.text[:200]}")
                refused[name] += 1
        finally:
            await asyncio.to_thread(private_postgres.start)
        assert not failures, failures
        assert set(refused) == set(SERVICES), refused
        for name, (client, headers) in clients.items():
            path, _ = WRITES[name]
            deadline = time.monotonic() + 60
            while True:
                response = await client.get(secured_reads(name, known)[0], headers=headers)
                if response.status_code != 503 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            assert response.status_code != 503, f"{name} did not recover: {response.text}"
            assert response.status_code < 500, f"{name}: {response.status_code} {response.text}"
