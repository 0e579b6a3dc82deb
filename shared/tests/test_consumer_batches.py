"""The consumer runtime's batch path: what one poll returns is settled in one transaction.

Most tests feed :meth:`EventConsumer.process` records by hand on SQLite, with a producer that
keeps the dead letters it is given; the last one runs a real poll against the broker and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared import metrics
from shared.consumer import (
    EventConsumer,
    ParsedEvent,
    Subscription,
    dlq_topic,
    record_and_apply,
    type_without_version,
)
from shared.contracts import CloudEvent, EventPayload
from shared.db import create_engine, session_factory, transaction
from shared.kafka import ensure_topics, new_producer
from shared.tables import InboxRecord
from shared.testing import tally
from shared.testing.broker import TansuBroker
from shared.testing.topics import wait_for_records

TOPIC = tally.TALLY.for_payload(tally.TallyRecorded).topic
EVENT_TYPE = tally.TALLY.for_payload(tally.TallyRecorded).type


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await tally.create_schema(engine)
    yield engine
    await engine.dispose()


class KeptLetters:
    """Stands in for the dead-letter producer: keeps what it is asked to send."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, bytes | None, dict[str, str]]] = []

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        self.letters.append((topic, value, {k: v.decode() for k, v in headers}))


def tally_event(key: str, seq: int) -> CloudEvent:
    return tally.TALLY.new_event(tally.TallyRecorded(key=key, seq=seq), aggregate_id=key)


def as_records(events: Sequence[CloudEvent | bytes]) -> list[ConsumerRecord[bytes, bytes]]:
    """Records of one partition, in offset order (raw bytes stand for a broken record)."""
    records = []
    for offset, event in enumerate(events):
        value = event if isinstance(event, bytes) else event.to_json_bytes()
        headers = [] if isinstance(event, bytes) else event.kafka_headers()
        records.append(
            ConsumerRecord(
                topic=TOPIC,
                partition=0,
                offset=offset,
                timestamp=0,
                timestamp_type=0,
                key=b"k",
                value=value,
                checksum=None,
                serialized_key_size=1,
                serialized_value_size=len(value),
                headers=headers,
            )
        )
    return records


def runtime(
    engine: AsyncEngine, subscription: Subscription, group: str = "batches"
) -> tuple[EventConsumer, KeptLetters]:
    settings = tally.settings_for(str(engine.url), "127.0.0.1:1")
    consumer = EventConsumer(
        settings=settings,
        sessions=session_factory(engine),
        subscription=subscription,
        contracts=tally.TALLY,
        group_id=group,
    )
    letters = KeptLetters()
    consumer._producer = letters  # type: ignore[assignment]
    return consumer, letters


def effect_writer(calls: list[tuple[int, int]], *, poison: int | None = None) -> Subscription:
    """A per-event handler writing one effect per event; it records ``(seq, session id)``
    and fails on the ``poison`` seq."""

    async def handle(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
        assert isinstance(payload, tally.TallyRecorded)
        calls.append((payload.seq, id(session)))
        if payload.seq == poison:
            raise ValueError(f"poison item {payload.seq}")
        session.add(tally.TallyEffect(event_id=event.id, key=payload.key, seq=payload.seq))

    return Subscription(event_types=frozenset({EVENT_TYPE}), handle=handle)


async def inbox_size(engine: AsyncEngine, group: str) -> int:
    async with session_factory(engine)() as session:
        count = await session.scalar(
            select(func.count()).select_from(InboxRecord).where(InboxRecord.consumer == group)
        )
        return int(count or 0)


class AskedPolls:
    """Stands in for the Kafka consumer: records how many records each poll asked for."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[object, list[object]]:
        self.asked.append(max_records)
        return {}


async def test_a_subscription_may_fetch_more_records_per_poll(engine: AsyncEngine) -> None:
    calls: list[tuple[int, int]] = []
    default, _ = runtime(engine, effect_writer(calls))
    bigger, _ = runtime(
        engine,
        Subscription(
            event_types=frozenset({EVENT_TYPE}), handle=effect_writer(calls).handle, max_batch=2000
        ),
    )
    for consumer in (default, bigger):
        polls = AskedPolls()
        consumer._consumer = polls  # type: ignore[assignment]
        assert await consumer.poll_once(timeout_ms=0) == 0
        assert polls.asked == [consumer.max_batch]
    assert (default.max_batch, bigger.max_batch) == (EventConsumer.max_batch, 2000)


async def test_a_poll_is_applied_in_one_transaction(engine: AsyncEngine) -> None:
    calls: list[tuple[int, int]] = []
    consumer, letters = runtime(engine, effect_writer(calls))
    events = [tally_event("a" if seq % 2 else "b", seq) for seq in range(20)]
    await consumer.process(as_records(events))
    assert [seq for seq, _ in calls] == list(range(20))
    assert len({session for _, session in calls}) == 1, "one session, one transaction"
    assert [(k, s) for _, k, s in await tally.effects(engine)] == [
        (event.partitionkey, seq) for seq, event in enumerate(events)
    ]
    assert await inbox_size(engine, "batches") == 20
    assert letters.letters == []


async def test_poison_in_the_middle_is_isolated_retried_and_dead_lettered(
    engine: AsyncEngine,
) -> None:
    calls: list[tuple[int, int]] = []
    consumer, letters = runtime(engine, effect_writer(calls, poison=5))
    events = [tally_event("k", seq) for seq in range(10)]
    await consumer.process(as_records(events))

    effects = await tally.effects(engine)
    assert [s for _, _, s in effects] == [0, 1, 2, 3, 4, 6, 7, 8, 9], "the rest, in order"
    assert len({event_id for event_id, _, _ in effects}) == 9, "each exactly once"
    assert await inbox_size(engine, "batches") == 9, "the poison is not in the inbox"
    # the batch up to the poison, the events before it again, then the poison alone
    # consumer_max_attempts (3) times, then the events after it as one batch
    seqs = [seq for seq, _ in calls]
    assert seqs == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 5, 5, 6, 7, 8, 9]
    assert len({session for seq, session in calls if seq > 5}) == 1

    assert len(letters.letters) == 1
    topic, value, headers = letters.letters[0]
    assert topic == dlq_topic("batches")
    assert value == events[5].to_json_bytes()
    assert headers["dlq_reason"] == "handler"
    assert headers["dlq_attempts"] == "3"
    assert headers["dlq_event_id"] == events[5].id
    assert headers["dlq_original_offset"] == "5"
    assert headers["dlq_exception_class"] == "builtins.ValueError"
    assert "poison item 5" in headers["dlq_exception_message"]
    assert headers["ce_id"] == events[5].id, "the original headers travel with it"


async def test_an_invalid_record_is_dead_lettered_at_once_and_the_batch_goes_on(
    engine: AsyncEngine,
) -> None:
    calls: list[tuple[int, int]] = []
    consumer, letters = runtime(engine, effect_writer(calls))
    events: list[CloudEvent | bytes] = [tally_event("k", 0), b"{not json", tally_event("k", 1)]
    await consumer.process(as_records(events))
    assert [s for _, _, s in await tally.effects(engine)] == [0, 1]
    assert len({session for _, session in calls}) == 1
    assert [h["dlq_reason"] for _, _, h in letters.letters] == ["validation"]
    assert letters.letters[0][2]["dlq_attempts"] == "0"


async def test_duplicates_in_a_batch_and_from_earlier_batches_are_skipped(
    engine: AsyncEngine,
) -> None:
    calls: list[tuple[int, int]] = []
    consumer, _ = runtime(engine, effect_writer(calls), group="dupes")
    first, second, third = (tally_event("k", seq) for seq in range(3))
    duplicates = metrics.EVENTS_CONSUMED.labels(
        service="tally", group="dupes", topic=TOPIC, event_type=EVENT_TYPE, outcome="duplicate"
    )
    before = duplicates._value.get()
    await consumer.process(as_records([first]))
    await consumer.process(as_records([first, second, second, third, first]))
    assert [seq for seq, _ in calls] == [0, 1, 2]
    assert [s for _, _, s in await tally.effects(engine)] == [0, 1, 2]
    assert await inbox_size(engine, "dupes") == 3
    assert duplicates._value.get() - before == 3


async def test_a_batch_handler_receives_the_new_events_of_a_batch(engine: AsyncEngine) -> None:
    batches: list[list[int]] = []
    sessions: set[int] = set()

    async def handle_batch(session: AsyncSession, events: Sequence[ParsedEvent]) -> None:
        sessions.add(id(session))
        batches.append([p.seq for _, p in events])
        for event, payload in events:
            assert isinstance(payload, tally.TallyRecorded)
            session.add(tally.TallyEffect(event_id=event.id, key=payload.key, seq=payload.seq))

    subscription = Subscription(event_types=frozenset({EVENT_TYPE}), handle_batch=handle_batch)
    consumer, _ = runtime(engine, subscription)
    events = [tally_event("k", seq) for seq in range(6)]
    await consumer.process(as_records(events[:2]))
    await consumer.process(as_records([events[1], *events[2:], events[3]]))
    assert batches == [[0, 1], [2, 3, 4, 5]], "only new events, in order, once each"
    assert len(sessions) == 2
    assert [s for _, _, s in await tally.effects(engine)] == list(range(6))


async def test_a_failing_batch_handler_falls_back_to_one_event_at_a_time(
    engine: AsyncEngine,
) -> None:
    batches: list[list[int]] = []

    async def handle_batch(session: AsyncSession, events: Sequence[ParsedEvent]) -> None:
        batches.append([p.seq for _, p in events])
        for event, payload in events:
            assert isinstance(payload, tally.TallyRecorded)
            if payload.seq == 2:
                raise ValueError("poison item 2")
            session.add(tally.TallyEffect(event_id=event.id, key=payload.key, seq=payload.seq))

    subscription = Subscription(event_types=frozenset({EVENT_TYPE}), handle_batch=handle_batch)
    consumer, letters = runtime(engine, subscription)
    await consumer.process(as_records([tally_event("k", seq) for seq in range(4)]))
    assert batches == [[0, 1, 2, 3], [0], [1], [2], [2], [2], [3]]
    assert [s for _, _, s in await tally.effects(engine)] == [0, 1, 3]
    assert [h["dlq_attempts"] for _, _, h in letters.letters] == ["3"]


async def test_an_outage_during_a_batch_is_retried_without_limit(engine: AsyncEngine) -> None:
    calls: list[tuple[int, int]] = []
    inner = effect_writer(calls)
    outages = {"left": 5}  # more than consumer_max_attempts (3)

    async def flaky(session: AsyncSession, event: CloudEvent, payload: EventPayload) -> None:
        if outages["left"]:
            outages["left"] -= 1
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))
        assert inner.handle is not None
        await inner.handle(session, event, payload)

    subscription = Subscription(event_types=frozenset({EVENT_TYPE}), handle=flaky)
    consumer, letters = runtime(engine, subscription)
    await consumer.process(as_records([tally_event("k", seq) for seq in range(5)]))
    assert [s for _, _, s in await tally.effects(engine)] == list(range(5))
    assert len({session for _, session in calls}) == 1, "retried as one batch"
    assert letters.letters == []


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
async def test_record_and_apply_records_then_applies_the_new_events_only(
    backend: str, sqlite_url: str, request: pytest.FixtureRequest
) -> None:
    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("fresh_postgres_url")
    engine = create_engine(url)
    await tally.create_schema(engine)
    calls: list[tuple[int, int]] = []
    subscription = effect_writer(calls)
    events = [tally_event("k", seq) for seq in range(4)]
    parsed = [ParsedEvent(e, tally.TALLY.parse_payload(e)) for e in events]
    sessions = session_factory(engine)
    try:
        async with transaction(sessions) as session:
            first = await record_and_apply(
                session, consumer="c", subscription=subscription, events=parsed[:2]
            )
        async with transaction(sessions) as session:
            second = await record_and_apply(
                session,
                consumer="c",
                subscription=subscription,
                events=[parsed[1], parsed[2], parsed[2], parsed[0], parsed[3]],
            )
        with pytest.raises(ValueError, match="poison"):
            async with transaction(sessions) as session:
                await record_and_apply(
                    session,
                    consumer="c",
                    subscription=effect_writer([], poison=9),
                    events=[
                        ParsedEvent(e, tally.TALLY.parse_payload(e))
                        for e in [tally_event("k", 8), tally_event("k", 9)]
                    ],
                )
        assert first == [True, True]
        assert second == [False, True, False, False, True]
        assert [seq for seq, _ in calls] == [0, 1, 2, 3]
        assert [s for _, _, s in await tally.effects(engine)] == [0, 1, 2, 3]
        assert await inbox_size(engine, "c") == 4, "the failed transaction left nothing"
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_a_real_poll_with_a_poison_event_in_the_middle(
    fresh_postgres_url: str, own_broker: TansuBroker
) -> None:
    """Records already in the topic arrive in one poll; the poison is dead-lettered to the
    real DLQ topic and the rest applied once, in order. (A broker of its own: the shared
    one's tally topic is read from the start by another test counting its dead letters.)"""
    kafka_bootstrap = own_broker.bootstrap_servers
    engine = create_engine(fresh_postgres_url)
    await tally.create_schema(engine)
    key, group = "batch", "tally-batch"
    settings = tally.settings_for(fresh_postgres_url, kafka_bootstrap)
    events = [
        tally.TALLY.new_event(
            tally.TallyRecorded(key=key, seq=seq, poison=seq == 7), aggregate_id=key
        )
        for seq in range(15)
    ]
    producer_settings = tally.settings_for("sqlite+aiosqlite://", kafka_bootstrap)
    await ensure_topics(producer_settings, [TOPIC])
    producer = new_producer(producer_settings)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                TOPIC,
                value=event.to_json_bytes(),
                key=key.encode(),
                headers=event.kafka_headers(),
            )
    finally:
        await producer.stop()

    consumer = EventConsumer(
        settings=settings,
        sessions=session_factory(engine),
        subscription=tally.SUBSCRIPTION,
        contracts=tally.TALLY,
        group_id=group,
    )
    tally.POISON_ENABLED["on"] = True
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:

        async def mine() -> list[int]:
            return [s for _, k, s in await tally.effects(engine) if k == key]

        deadline = asyncio.get_running_loop().time() + 60
        while len(await mine()) < 14:
            assert asyncio.get_running_loop().time() < deadline, await mine()
            await asyncio.sleep(0.1)
        letters = await wait_for_records(settings, dlq_topic(group), 1)
        applied = await mine()
    finally:
        stop.set()
        await task
        await engine.dispose()
    assert applied == [s for s in range(15) if s != 7]
    assert len(letters) == 1
    headers = {k: v.decode() for k, v in letters[0].headers}
    assert headers["dlq_event_id"] == events[7].id
    assert headers["dlq_attempts"] == "3"
    assert headers["dlq_reason"] == "handler"


async def test_an_unknown_version_of_a_subscribed_type_is_dead_lettered_and_others_skipped(
    engine: AsyncEngine,
) -> None:
    """A ``….v2`` of a type the consumer reads as ``….v1`` would lose its change if skipped:
    it is dead-lettered (reason ``unknown-version``) and the partition goes on; an unrelated
    type on the same topic is still skipped, not dead-lettered."""
    calls: list[tuple[int, int]] = []
    consumer, letters = runtime(engine, effect_writer(calls))
    newer = tally_event("k", 1).model_copy(update={"type": EVENT_TYPE.replace(".v1", ".v2")})
    unrelated = tally_event("k", 2).model_copy(update={"type": "org.shequ.other.thing.v1"})
    events: list[CloudEvent | bytes] = [tally_event("k", 0), newer, unrelated, tally_event("k", 3)]
    await consumer.process(as_records(events))
    assert [s for _, _, s in await tally.effects(engine)] == [0, 3]
    assert [h["dlq_reason"] for _, _, h in letters.letters] == ["unknown-version"]
    assert letters.letters[0][2]["dlq_event_id"] == newer.id
    assert letters.letters[0][2]["dlq_original_offset"] == "1"


def test_type_without_version() -> None:
    assert type_without_version("org.shequ.registry.resident.registered.v12") == (
        "org.shequ.registry.resident.registered"
    )
    assert type_without_version("org.shequ.registry.resident.version") == (
        "org.shequ.registry.resident.version"
    )
