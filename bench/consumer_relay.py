"""Benchmark: the consumer runtime and the outbox relay, each beside a raw aiokafka baseline.

Run with ``make bench`` (or ``uv run python bench/consumer_relay.py [--events N]
[--records N] [--rounds N] [--part consumer|relay]``). Each part starts its own Tansu broker
(the one the tests use, :mod:`shared.testing.broker`) and creates a fresh PostgreSQL
database on 127.0.0.1:5432; both are gone afterwards.

- consumer: ``--events`` (20,000) CloudEvents on a three-partition topic are read by
  :class:`shared.consumer.EventConsumer` (handler does nothing: the work is the runtime's
  parse, validation, inbox and offsets) and, as the baseline, by a raw aiokafka consumer of
  the same configuration that inserts the same inbox rows in one transaction per poll and
  commits the offsets after it. Each rate counts from the first record in hand to the last
  committed.
- relay: ``--records`` (50,000; at 20,000 the baseline lasts under half a second, too short
  to measure on a shared machine; 50,000 give it about two seconds on a quiet one, and each
  round a window of several seconds under load, where the machine's load moves the ratio
  more than the length does) outbox rows are published by
  :class:`shared.relay.OutboxRelay` until none is left and, as the baseline, sent by a raw
  aiokafka producer of the same configuration (``acks=all``) from memory, all futures awaited
  at the end.

Each pair is measured back to back ``--rounds`` times (3); the figures are the medians, the
ratio the median of the rounds' ratios runtime / baseline, which is what to compare between
machines and commits (the rates move with the machine's load, the ratio much less). Results
go to ``bench/results/consumer_relay.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import figures
from sqlalchemy import select, text

from shared import metrics
from shared.consumer import EventConsumer, Subscription
from shared.contracts import CloudEvent, EventPayload
from shared.db import create_engine, insert_ignoring_conflicts, session_factory, transaction
from shared.kafka import ensure_topics, new_consumer, new_producer
from shared.outbox import add_many
from shared.relay import OutboxRelay
from shared.settings import ServiceSettings
from shared.tables import InboxRecord, OutboxRecord
from shared.testing import tally
from shared.testing.broker import TansuBroker
from shared.testing.postgres import create_database, drop_database

RESULTS = Path(__file__).parent / "results" / "consumer_relay.json"
TOPIC = tally.TALLY.for_payload(tally.TallyRecorded).topic
EVENT_TYPE = tally.TALLY.for_payload(tally.TallyRecorded).type
AGGREGATES = 1000
AIM = 0.5


def settings_for(database_url: str, bootstrap: str) -> ServiceSettings:
    """The platform's default settings, pointed at the bench's database and broker."""
    return ServiceSettings(
        service_name="bench",
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        log_json=False,
    )


def new_events(count: int) -> list[CloudEvent]:
    """``count`` tally events over :data:`AGGREGATES` aggregates."""
    return [
        tally.TALLY.new_event(
            tally.TallyRecorded(key=f"k{n % AGGREGATES}", seq=n // AGGREGATES),
            aggregate_id=f"k{n % AGGREGATES}",
        )
        for n in range(count)
    ]


async def wait_until(check: Callable[[], bool], timeout_s: float) -> float:
    """Poll ``check`` every 5 ms; the moment it first held (perf_counter)."""
    deadline = time.perf_counter() + timeout_s
    while not check():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not done after {timeout_s:.0f}s")
        await asyncio.sleep(0.005)
    return time.perf_counter()


def rate(count: int, seconds: float) -> dict[str, float]:
    return {"events": count, "seconds": round(seconds, 3), "per_s": round(count / seconds, 1)}


# -- consumer ----------------------------------------------------------------------------


async def bench_consumer(count: int, rounds: int) -> dict[str, Any]:
    url = create_database("shequ_bench")
    try:
        with TansuBroker() as broker:
            settings = settings_for(url, broker.bootstrap_servers)
            engine = create_engine(url)
            await tally.create_schema(engine)
            sessions = session_factory(engine)
            await ensure_topics(settings, [TOPIC])
            await produce(settings, new_events(count))
            measured = []
            for number in range(rounds):  # each round reads the topic again, in new groups
                baseline = await raw_consumer(settings, sessions, count, f"bench-raw-{number}")
                runtime = await runtime_consumer(
                    settings, sessions, count, f"bench-runtime-{number}"
                )
                measured.append((runtime, baseline))
            await engine.dispose()
    finally:
        drop_database(url)
    return summary(measured, "runtime_events_per_s", "baseline_raw_consumer_events_per_s")


def summary(
    measured: list[tuple[dict[str, float], dict[str, float]]], name: str, baseline_name: str
) -> dict[str, Any]:
    """Medians over the rounds; the ratio is the median of each round's ratio (a runtime
    and its baseline measured back to back share the machine's load of the moment)."""
    return {
        name: statistics.median(r["per_s"] for r, _ in measured),
        baseline_name: statistics.median(b["per_s"] for _, b in measured),
        "ratio": round(statistics.median(r["per_s"] / b["per_s"] for r, b in measured), 3),
        "aim": AIM,
        "rounds": [
            {"runtime": r, "baseline": b, "ratio": round(r["per_s"] / b["per_s"], 3)}
            for r, b in measured
        ],
    }


async def produce(settings: ServiceSettings, events: list[CloudEvent]) -> None:
    producer = new_producer(settings)
    await producer.start()
    try:
        futures = [
            await producer.send(
                TOPIC,
                value=event.to_json_bytes(),
                key=event.partitionkey.encode(),
                headers=event.kafka_headers(),
            )
            for event in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def raw_consumer(
    settings: ServiceSettings, sessions: Any, count: int, group: str
) -> dict[str, float]:
    """A hand-written consumer: read, insert the inbox rows of a poll in one transaction,
    commit the offsets."""
    consumer = new_consumer(settings, TOPIC, group_id=group)
    await consumer.start()
    seen = 0
    started = 0.0
    try:
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=EventConsumer.max_batch)
            if not batches:
                continue
            started = started or time.perf_counter()
            rows = []
            for records in batches.values():
                for record in records:
                    document = json.loads(record.value)
                    rows.append(
                        {
                            "consumer": group,
                            "event_id": document["id"],
                            "event_type": document["type"],
                            "processed_at": datetime.now(UTC),
                        }
                    )
            async with transaction(sessions) as session:
                await session.execute(
                    insert_ignoring_conflicts(session, InboxRecord.__table__), rows
                )
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
            seen += len(rows)
        return rate(seen, time.perf_counter() - started)
    finally:
        await consumer.stop()


async def runtime_consumer(
    settings: ServiceSettings, sessions: Any, count: int, group: str
) -> dict[str, float]:
    """:class:`EventConsumer` with a handler that does nothing."""
    first: list[float] = []

    async def handle(_session: Any, _event: CloudEvent, _payload: EventPayload) -> None:
        if not first:
            first.append(time.perf_counter())

    consumer = EventConsumer(
        settings=settings,
        sessions=sessions,
        subscription=Subscription(event_types=frozenset({EVENT_TYPE}), handle=handle),
        contracts=tally.TALLY,
        group_id=group,
    )
    applied = metrics.EVENTS_CONSUMED.labels(
        service="bench", group=group, topic=TOPIC, event_type=EVENT_TYPE, outcome="applied"
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        finished = await wait_until(lambda: applied._value.get() >= count, timeout_s=600)
    finally:
        stop.set()
        await task
    return rate(count, finished - first[0])


# -- relay -------------------------------------------------------------------------------


async def bench_relay(count: int, rounds: int) -> dict[str, Any]:
    url = create_database("shequ_bench")
    try:
        with TansuBroker() as broker:
            settings = settings_for(url, broker.bootstrap_servers)
            engine = create_engine(url)
            await tally.create_schema(engine)
            sessions = session_factory(engine)
            await ensure_topics(settings, [TOPIC])
            events = new_events(count)
            for start in range(0, count, 5000):
                async with transaction(sessions) as session:
                    await add_many(session, events[start : start + 5000], contracts=tally.TALLY)
            measured = []
            for number in range(rounds):  # each round publishes the whole outbox again
                baseline = await raw_producer(settings, sessions)
                runtime = await relay(settings, engine, count)
                measured.append((runtime, baseline))
                if number < rounds - 1:
                    await unpublish(engine)
            await engine.dispose()
    finally:
        drop_database(url)
    return summary(measured, "relay_records_per_s", "baseline_raw_producer_records_per_s")


async def unpublish(engine: Any) -> None:
    """Make every outbox row unpublished again, and vacuum what that left behind."""
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE outbox SET published_at = NULL, attempts = 0"))
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE outbox"))


async def raw_producer(settings: ServiceSettings, sessions: Any) -> dict[str, float]:
    """A hand-written producer sending the outbox's records from memory (acks=all)."""
    async with sessions() as session:
        rows = (
            await session.execute(
                select(OutboxRecord.topic, OutboxRecord.partition_key, OutboxRecord.payload)
                .add_columns(OutboxRecord.event_id, OutboxRecord.event_type)
                .order_by(OutboxRecord.id)
            )
        ).all()
    records = [
        (
            row.topic,
            row.payload.encode(),
            row.partition_key.encode(),
            [
                ("ce_id", row.event_id.encode()),
                ("ce_type", row.event_type.encode()),
                ("ce_source", b"/services/tally"),
            ],
        )
        for row in rows
    ]
    producer = new_producer(settings)
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for topic, value, key, headers in records
        ]
        await asyncio.gather(*futures)
        return rate(len(records), time.perf_counter() - started)
    finally:
        await producer.stop()


async def relay(settings: ServiceSettings, engine: Any, count: int) -> dict[str, float]:
    """:class:`OutboxRelay` draining the outbox, from a held lease and a started producer."""
    relay = OutboxRelay(settings=settings, sessions=session_factory(engine), topics=[TOPIC])
    published = metrics.EVENTS_PUBLISHED.labels(service="bench", topic=TOPIC, event_type=EVENT_TYPE)
    assert await relay.hold_lease()
    await relay._producer_started()
    target = published._value.get() + count
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(relay.run(stop))
    try:
        finished = await wait_until(lambda: published._value.get() >= target, timeout_s=600)
    finally:
        stop.set()
        await task
    if await tally.unpublished(engine):
        raise SystemExit("the relay left outbox rows unpublished")
    return rate(count, finished - started)


# -- main --------------------------------------------------------------------------------


def line(part: dict[str, Any], name: str, baseline_name: str, unit: str) -> str:
    value, baseline, ratio = (part[key] for key in list(part)[1:4])
    verdict = "meets" if ratio >= AIM else "below"
    return (
        f"{name}: {value:,.0f} {unit}/s | {baseline_name}: {baseline:,.0f} {unit}/s | "
        f"ratio {ratio:.2f} ({verdict} the aim of {AIM})"
    )


async def run(events: int, records: int, rounds: int, parts: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "consumer runtime and outbox relay against PostgreSQL and Tansu",
        "rounds": rounds,
    }
    if "consumer" in parts:
        result["consumer"] = {"events": events, **await bench_consumer(events, rounds)}
    if "relay" in parts:
        result["relay"] = {"records": records, **await bench_relay(records, rounds)}
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events consumed")
    parser.add_argument("--records", type=int, default=50_000, help="records relayed")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each pair")
    parser.add_argument("--part", choices=["consumer", "relay"], action="append")
    parser.add_argument("--no-save", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    parts = args.part or ["consumer", "relay"]
    result = asyncio.run(run(args.events, args.records, args.rounds, parts))
    print(json.dumps(result, indent=2))
    if "consumer" in result:
        print(line(result["consumer"], "consumer runtime", "raw aiokafka consumer", "events"))
    if "relay" in result:
        print(line(result["relay"], "outbox relay", "raw aiokafka producer (acks=all)", "records"))
    if not args.no_save:
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")
        figures.record("consumer_relay", figures_of(result))


def figures_of(result: dict[str, Any]) -> list[figures.Figure]:
    """The run's figures for the benchmark table (bench/run.py)."""
    found = []
    if "relay" in result:
        relay = result["relay"]
        found.append(
            figures.Figure(
                "outbox relay on PostgreSQL",
                "events/s",
                relay["relay_records_per_s"],
                relay["baseline_raw_producer_records_per_s"],
                "raw aiokafka producer",
                aim=f"ratio >= {relay['aim']}",
            )
        )
    if "consumer" in result:
        consumer = result["consumer"]
        found.append(
            figures.Figure(
                "consumer runtime with inbox",
                "events/s",
                consumer["runtime_events_per_s"],
                consumer["baseline_raw_consumer_events_per_s"],
                "raw aiokafka consumer, same inserts",
                aim=f"ratio >= {consumer['aim']}",
            )
        )
    return found


if __name__ == "__main__":
    main()
