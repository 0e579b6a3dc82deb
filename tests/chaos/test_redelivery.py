"""Duplicate, re-ordered, malformed and unknown-version deliveries at every consumer.

The registry, on a broker of its own, registers residents and changes some of them; its events
are read back from the topics. Every consuming service (casework, employment, eldercare,
metrics) then consumes them twice, on two databases from two more brokers:

- *clean*: each event once, in the order the registry published them;
- *faulty*: the same events with duplicates (an event sent again, up to several records later,
  so also after a newer event of its aggregate: what a relay that died between sending and
  marking does), the aggregates interleaved differently (each aggregate's own order kept, as
  Kafka keeps it per key), and, ahead of a resident's events on its partition, a malformed
  record and an event of an unknown version (``….v9``) of a subscribed type.

Each service's effects (its tables of what it learnt, and the events its consumer published
in turn, counted by type) must be the same in both; each bad record must be in
``<group>.dlq`` of every group (reasons ``validation`` and ``unknown-version``), and the
events behind them must have been applied (the partition kept moving).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import date
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from casework.app import create_app as create_casework
from casework.settings import Settings as CaseworkSettings
from eldercare.app import create_app as create_eldercare
from eldercare.settings import Settings as EldercareSettings
from employment.app import create_app as create_employment
from employment.settings import Settings as EmploymentSettings
from metrics.app import create_app as create_metrics
from metrics.settings import Settings as MetricsSettings
from registry.app import create_app as create_registry
from registry.domain.national_id import check_character
from registry.settings import Settings as RegistrySettings
from shared.consumer import dlq_topic
from shared.contracts import CONTRACTS, registry
from shared.settings import ServiceSettings
from shared.testing.broker import TansuBroker
from shared.testing.postgres import create_database, drop_database
from shared.testing.service import bearer, running_service
from shared.testing.topics import read_until, wait_for_records

pytestmark = [pytest.mark.e2e, pytest.mark.publishes]

REGISTRY_TOPICS = sorted(
    {
        CONTRACTS.for_payload(payload).topic
        for payload in (
            registry.AreaCreated,
            registry.HouseholdRegistered,
            registry.ResidentRegistered,
        )
    }
)
RESIDENT_TOPIC = CONTRACTS.for_payload(registry.ResidentRegistered).topic
RESIDENT_REGISTERED = CONTRACTS.for_payload(registry.ResidentRegistered).type

CONSUMERS: dict[str, tuple[Callable[[Any], FastAPI], type[ServiceSettings]]] = {
    "casework": (create_casework, CaseworkSettings),
    "employment": (create_employment, EmploymentSettings),
    "eldercare": (create_eldercare, EldercareSettings),
    "metrics": (create_metrics, MetricsSettings),
}

EFFECT_TABLES = {
    "casework": ["resident_fact"],
    "employment": ["area", "resident"],
    "eldercare": ["elders", "entitlements"],
    "metrics": ["area_projection", "entity_projection", "measure_ledger", "projection_state"],
}
"""What each service learns from the registry's events."""
VOLATILE = {"id", "updated_at", "created_at", "revision"}
"""Columns that differ between two runs of the same events (generated ids, clocks, how many
batches it took)."""


def national_id(born: date, number: int) -> str:
    first_17 = f"110105{born:%Y%m%d}{number:03d}"
    return first_17 + check_character(first_17)


async def registry_events(database_url: str, rng: random.Random) -> list[dict[str, Any]]:
    """Let the registry publish a small town's events; every record of its topics, in
    partition order (key, value, headers, topic)."""
    broker = TansuBroker()
    broker.start()
    try:
        settings = RegistrySettings(
            environment="development",
            database_url=database_url,
            kafka_bootstrap_servers=broker.bootstrap_servers,
        )
        writer = bearer(settings, "registry:read", "registry:write", "pii:read", "pii:write")
        prefix = f"rd{rng.randrange(10**6):06d}"
        async with running_service(create_registry, settings) as client:
            for area_id, level, parent in [
                (prefix, "city", None),
                (f"{prefix}d", "district", prefix),
                (f"{prefix}s", "street", f"{prefix}d"),
                (f"{prefix}m", "community", f"{prefix}s"),
                (f"{prefix}n", "community", f"{prefix}s"),
            ]:
                response = await client.post(
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
            households = []
            for community in (f"{prefix}m", f"{prefix}n"):
                response = await client.post(
                    "/households",
                    json={
                        "community_id": community,
                        "address": "3 Nanjie",
                        "registered_on": "2020-05-01",
                    },
                    headers=writer,
                )
                assert response.status_code == 201, response.text
                households.append(response.json()["id"])
            residents = []
            year = date.today().year
            for number, (age, status) in enumerate(
                [(72, "retired"), (45, "laid_off"), (30, "employed"), (64, "retired")] * 2,
                start=1,
            ):
                born = date(year - age, 3, number)
                response = await client.post(
                    "/residents",
                    json={
                        "national_id": national_id(born, number),
                        "name": "Zhao Lei",
                        "sex": "male" if number % 2 else "female",
                        "birth_date": born.isoformat(),
                        "household_id": households[number % 2],
                        "employment_status": status,
                    },
                    headers=writer,
                )
                assert response.status_code == 201, response.text
                residents.append(response.json()["id"])
            for resident in residents[:4]:  # a second state of half of them
                response = await client.patch(
                    f"/residents/{resident}",
                    json={"employment_status": "employed", "flags": ["living_alone"]},
                    headers=writer,
                )
                assert response.status_code == 200, response.text
            expected = 5 + 2 + 8 + 4
            records: list[dict[str, Any]] = []
            for topic in REGISTRY_TOPICS:
                read = await read_until(
                    settings,
                    topic,
                    lambda got, topic=topic: (
                        len(got)
                        >= {
                            RESIDENT_TOPIC: 12,
                            CONTRACTS.for_payload(registry.AreaCreated).topic: 5,
                        }.get(topic, 2)
                    ),
                )
                records += [
                    {
                        "topic": topic,
                        "key": record.key,
                        "value": record.value,
                        "headers": list(record.headers or ()),
                    }
                    for record in read
                ]
            assert len(records) == expected, [r["topic"] for r in records]
            return records
    finally:
        broker.stop()


def interleave(records: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """The records in another order, each aggregate's own order kept."""
    by_key: dict[bytes, list[dict[str, Any]]] = {}
    for record in records:
        by_key.setdefault(record["key"], []).append(record)
    queues = list(by_key.values())
    shuffled: list[dict[str, Any]] = []
    while queues:
        queue = rng.choice(queues)
        shuffled.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return shuffled


def with_faults(records: list[dict[str, Any]], rng: random.Random) -> tuple[list[Any], int]:
    """Duplicates and a new order, and two bad records ahead of one resident's events; the
    records and how many bad ones there are."""
    faulty = interleave(records, rng)
    for record in list(faulty):
        if rng.random() < 0.5:  # sent again, some records later
            at = min(len(faulty), faulty.index(record) + rng.randint(1, 6))
            faulty.insert(at, record)
    first_resident = next(r for r in faulty if r["topic"] == RESIDENT_TOPIC)
    envelope = json.loads(first_resident["value"])
    unknown_version = {
        **envelope,
        "id": str(uuid.uuid4()),
        "type": RESIDENT_REGISTERED.replace(".v1", ".v9"),
    }
    bad = [
        {**first_resident, "value": b'{"specversion": "1.0", "id": ', "headers": []},
        {
            **first_resident,
            "value": json.dumps(unknown_version).encode(),
            "headers": [
                ("ce_id", unknown_version["id"].encode()),
                ("ce_type", unknown_version["type"].encode()),
            ],
        },
    ]
    at = faulty.index(first_resident)
    return [*faulty[:at], *bad, *faulty[at:]], len(bad)


async def publish(bootstrap: str, records: list[dict[str, Any]]) -> None:
    """Send ``records`` in this order (a record's key picks its partition)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                record["topic"], record["value"], key=record["key"], headers=record["headers"]
            )
    finally:
        await producer.stop()


async def effects(dsn: str, service: str) -> dict[str, Any]:
    """The rows of the service's effect tables without volatile columns, and the events its
    consumer published, counted by type."""
    connection = await asyncpg.connect(dsn)
    try:
        found: dict[str, Any] = {}
        for table in EFFECT_TABLES[service]:
            columns = [
                row["column_name"]
                for row in await connection.fetch(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = $1 ORDER BY ordinal_position",
                    table,
                )
                if row["column_name"] not in VOLATILE
            ]
            listed = ", ".join(f'"{column}"' for column in columns)
            rows = await connection.fetch(f'SELECT {listed} FROM "{table}"')
            found[table] = sorted(json.dumps(dict(row), default=str) for row in rows)
        published = await connection.fetch("SELECT event_type FROM outbox")
        found["outbox"] = dict(Counter(row["event_type"] for row in published))
        return found
    finally:
        await connection.close()


async def inbox_size(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM inbox"))
    finally:
        await connection.close()


async def consume(stack: AsyncExitStack, bootstrap: str, databases: dict[str, str]) -> None:
    """Start every consuming service on ``bootstrap`` (relay off: what they publish stays
    in their outbox, where the test counts it)."""
    for service, (create_app, settings_class) in CONSUMERS.items():
        settings = settings_class(
            environment="development",
            database_url=databases[service],
            kafka_bootstrap_servers=bootstrap,
            relay_enabled=False,
            jobs_enabled=False,
            consumer_backoff_s=0.05,
        )
        await stack.enter_async_context(running_service(create_app, settings))


@pytest.fixture
async def databases() -> AsyncIterator[dict[str, dict[str, str]]]:
    """A PostgreSQL database per service and run (registry, clean, faulty)."""
    made = {
        run: {service: create_database(f"shequ_redeliver_{run}") for service in CONSUMERS}
        for run in ("clean", "faulty")
    }
    made["registry"] = {"registry": create_database("shequ_redeliver_registry")}
    yield made
    for urls in made.values():
        for url in urls.values():
            drop_database(url)


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.mark.timeout(600)
async def test_duplicates_reordering_and_bad_records_change_no_consumer_effect(
    databases: dict[str, dict[str, str]],
) -> None:
    rng = random.Random()
    records = await registry_events(databases["registry"]["registry"], rng)
    distinct = len({(r["topic"], r["value"]) for r in records})
    faulty, bad = with_faults(records, rng)
    assert len(faulty) > len(records) + bad  # some duplicates were injected
    clean_broker, faulty_broker = TansuBroker(), TansuBroker()
    clean_broker.start()
    faulty_broker.start()
    try:
        await publish(clean_broker.bootstrap_servers, records)
        await publish(faulty_broker.bootstrap_servers, faulty)
        async with AsyncExitStack() as stack:
            await consume(stack, clean_broker.bootstrap_servers, databases["clean"])
            await consume(stack, faulty_broker.bootstrap_servers, databases["faulty"])
            deadline = asyncio.get_running_loop().time() + 180
            for run in ("clean", "faulty"):
                for service in CONSUMERS:
                    dsn = libpq(databases[run][service])
                    # every service reads every registry topic it subscribes to; the inbox
                    # holds each distinct event it was given once
                    while True:
                        size = await inbox_size(dsn)
                        if size >= wanted_inbox(service, records):
                            break
                        assert asyncio.get_running_loop().time() < deadline, (
                            f"{run} {service}: {size} events applied, "
                            f"{wanted_inbox(service, records)} expected of {distinct}"
                        )
                        await asyncio.sleep(0.3)
            await asyncio.sleep(1.0)  # anything applied twice would show now
            for service in CONSUMERS:
                clean = await effects(libpq(databases["clean"][service]), service)
                dirty = await effects(libpq(databases["faulty"][service]), service)
                assert dirty == clean, service
                assert any(clean[table] for table in EFFECT_TABLES[service]), service
            for service in CONSUMERS:
                settings = ServiceSettings(
                    service_name="check", kafka_bootstrap_servers=faulty_broker.bootstrap_servers
                )
                letters = await wait_for_records(settings, dlq_topic(service), bad)
                reasons = sorted(
                    dict(record.headers or ())["dlq_reason"].decode() for record in letters
                )
                assert reasons == ["unknown-version", "validation"], service
    finally:
        clean_broker.stop()
        faulty_broker.stop()


def wanted_inbox(service: str, records: list[dict[str, Any]]) -> int:
    """How many distinct events of ``records`` the service subscribes to."""
    subscribed = SUBSCRIBED[service]
    return len(
        {
            json.loads(record["value"])["id"]
            for record in records
            if json.loads(record["value"])["type"] in subscribed
        }
    )


def _subscribed_types() -> dict[str, frozenset[str]]:
    from casework.consumers import subscription as casework_subscription
    from eldercare.consumers import HANDLED as ELDERCARE_HANDLED
    from employment.consumers import HANDLED as EMPLOYMENT_HANDLED
    from metrics.consumers import HANDLED as METRICS_HANDLED

    def types(payloads: Any) -> frozenset[str]:
        return frozenset(CONTRACTS.for_payload(payload).type for payload in payloads)

    return {
        "casework": casework_subscription().event_types,
        "employment": types(EMPLOYMENT_HANDLED),
        "eldercare": types(ELDERCARE_HANDLED),
        "metrics": types(METRICS_HANDLED),
    }


SUBSCRIBED = _subscribed_types()
