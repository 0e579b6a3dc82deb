"""The event kit against a real broker (Tansu) and a real PostgreSQL.

- a relay killed between sending a batch and marking it published: effects exactly once;
- a broker outage while writes continue: every event arrives, in order per aggregate (the
  outage cuts the network path to the broker: Tansu, memory-only, would come back from a
  process restart as an empty new cluster, which no production Kafka does);
- a poison event and an invalid record go to the dead-letter topic with their story while
  the events behind them are processed, and ``shequ dlq requeue`` brings the poison back.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.consumer import EventConsumer, dlq_topic
from shared.db import create_engine, session_factory, transaction
from shared.relay import OutboxRelay
from shared.testing import tally
from shared.testing.broker import TansuBroker
from shared.testing.netfault import TcpProxy
from shared.testing.topics import wait_for_records

pytestmark = pytest.mark.integration
TOPIC = "tally.counter.events"


@pytest.fixture
async def engine(fresh_postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_postgres_url)
    await tally.create_schema(engine)
    yield engine
    await engine.dispose()


async def write(engine: AsyncEngine, key: str, seq: int, *, poison: bool = False) -> None:
    async with transaction(session_factory(engine)) as session:
        await tally.record(session, key=key, seq=seq, poison=poison)


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def record_count(bootstrap: str, topic: str, expected: int) -> int:
    """How many records ``topic`` holds, read once at least ``expected`` have arrived."""
    settings = tally.settings_for("sqlite+aiosqlite://", bootstrap)
    return len(await wait_for_records(settings, topic, expected))


def assert_in_order_per_key(effects: list[tuple[str, str, int]]) -> None:
    seen: dict[str, list[int]] = defaultdict(list)
    for _event_id, key, seq in effects:
        seen[key].append(seq)
    for key, seqs in seen.items():
        assert seqs == sorted(seqs), f"events of {key} applied out of order: {seqs}"


async def test_relay_killed_after_send_before_mark_applies_each_event_once(
    engine: AsyncEngine, fresh_postgres_url: str, own_broker: TansuBroker
) -> None:
    bootstrap = own_broker.bootstrap_servers
    for seq in range(10):
        for key in ("a", "b"):
            await write(engine, key, seq)

    victim = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "shared.testing.tally",
            "relay-victim",
            fresh_postgres_url,
            bootstrap,
        ],
        capture_output=True,
        timeout=120,
        env={**os.environ, "LOG_JSON": "false"},
    )
    assert victim.returncode == -9, victim.stderr.decode()[-2000:]
    assert await tally.unpublished(engine) == 20, "the victim died before marking anything"
    assert await record_count(bootstrap, TOPIC, 20) == 20, "but the broker has the whole batch"

    settings = tally.settings_for(fresh_postgres_url, bootstrap)
    sessions = session_factory(engine)
    relay = OutboxRelay(settings=settings, sessions=sessions, topics=[TOPIC])
    await eventually(
        lambda: _published(relay, engine)
    )  # waits for the dead relay's lease to expire
    assert await tally.unpublished(engine) == 0
    assert await record_count(bootstrap, TOPIC, 40) == 40, "every event is in the topic twice"

    consumer = EventConsumer(
        settings=settings, sessions=sessions, subscription=tally.SUBSCRIPTION, contracts=tally.TALLY
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await eventually(lambda: _has_effects(engine, 20))
        await asyncio.sleep(3)  # time for the duplicates behind them to arrive, and be skipped
    finally:
        stop.set()
        await task
    effects = await tally.effects(engine)
    assert len(effects) == 20
    assert len({event_id for event_id, _, _ in effects}) == 20
    assert_in_order_per_key(effects)


async def _has_effects(engine: AsyncEngine, count: int) -> bool:
    return len(await tally.effects(engine)) >= count


async def _published(relay: OutboxRelay, engine: AsyncEngine) -> bool:
    await relay.publish_batch()
    return await tally.unpublished(engine) == 0


async def test_broker_outage_loses_nothing_and_keeps_order_per_aggregate(
    engine: AsyncEngine,
    fresh_postgres_url: str,
    broker_behind_proxy: tuple[TansuBroker, TcpProxy],
) -> None:
    """The broker goes away (connections reset, new ones refused) and comes back."""
    broker, outage = broker_behind_proxy
    settings = tally.settings_for(fresh_postgres_url, broker.bootstrap_servers)
    sessions = session_factory(engine)
    relay = OutboxRelay(settings=settings, sessions=sessions, topics=[TOPIC])
    consumer = EventConsumer(
        settings=settings, sessions=sessions, subscription=tally.SUBSCRIPTION, contracts=tally.TALLY
    )
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(consumer.run(stop))]
    keys = ("k1", "k2", "k3")
    seq = 0

    async def write_round() -> None:
        nonlocal seq
        for key in keys:
            await write(engine, key, seq)
        seq += 1

    async def effect_count() -> bool:
        return len(await tally.effects(engine)) == seq * len(keys)

    try:
        for _ in range(5):
            await write_round()
        await eventually(effect_count)  # flowing before the outage

        await outage.cut()
        for _ in range(10):
            await write_round()  # writes keep succeeding while the broker is away
            await asyncio.sleep(0.1)
        assert await tally.unpublished(engine) > 0

        await outage.start()
        for _ in range(5):
            await write_round()
        await eventually(effect_count, timeout_s=120)
    finally:
        stop.set()
        await asyncio.gather(*tasks)

    effects = await tally.effects(engine)
    assert len(effects) == 60
    assert {(key, s) for _, key, s in effects} == {(k, s) for k in keys for s in range(20)}
    assert_in_order_per_key(effects)
    assert await tally.unpublished(engine) == 0


async def read_dlq(bootstrap: str, group: str, expected: int) -> list[dict[str, str]]:
    """The headers of the group's dead letters, read once at least ``expected`` have arrived."""
    settings = tally.settings_for("sqlite+aiosqlite://", bootstrap)
    records = await wait_for_records(settings, dlq_topic(group), expected)
    return [{k: v.decode() for k, v in r.headers} for r in records]


async def shequ(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``shequ`` command as an operator would."""
    command = [str(Path(sys.executable).parent / "shequ"), *args]
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120
    )


async def test_poison_event_is_dead_lettered_and_requeued(
    engine: AsyncEngine, fresh_postgres_url: str, kafka_bootstrap: str
) -> None:
    group = f"tally-poison-{os.getpid()}-{id(engine)}"
    settings = tally.settings_for(fresh_postgres_url, kafka_bootstrap)
    sessions = session_factory(engine)
    relay = OutboxRelay(settings=settings, sessions=sessions, topics=[TOPIC])
    consumer = EventConsumer(
        settings=settings,
        sessions=sessions,
        group_id=group,
        subscription=tally.SUBSCRIPTION,
        contracts=tally.TALLY,
    )
    tally.POISON_ENABLED["on"] = True
    stop = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stop)), asyncio.create_task(consumer.run(stop))]
    key = f"p{id(engine)}"
    try:
        await write(engine, key, 0)
        await write(engine, key, 1, poison=True)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        await producer.send_and_wait(
            TOPIC, b"{not json", key=key.encode(), headers=[("ce_id", b"garbage-1")]
        )
        await producer.stop()
        await write(engine, key, 2)
        await write(engine, key, 3)

        async def behind_processed() -> bool:
            return [s for _, k, s in await tally.effects(engine) if k == key] == [0, 2, 3]

        await eventually(behind_processed)
        letters = await read_dlq(kafka_bootstrap, group, 2)
        assert len(letters) == 2
        by_reason = {letter["dlq_reason"]: letter for letter in letters}
        poison, garbage = by_reason["handler"], by_reason["validation"]
        assert poison["dlq_original_topic"] == TOPIC
        assert poison["dlq_exception_class"] == "builtins.ValueError"
        assert "poison item" in poison["dlq_exception_message"]
        assert poison["dlq_attempts"] == "3"
        assert poison["dlq_consumer"] == group
        assert {
            "dlq_original_partition",
            "dlq_original_offset",
            "dlq_event_id",
            "ce_type",
        } <= poison.keys()
        assert garbage["dlq_event_id"] == "garbage-1"
        assert garbage["dlq_exception_class"] == "pydantic_core._pydantic_core.ValidationError"

        tally.POISON_ENABLED["on"] = False  # the bug is fixed; bring the event back
        result = await shequ(
            "dlq",
            "requeue",
            "--group",
            group,
            "--bootstrap-servers",
            kafka_bootstrap,
            poison["dlq_event_id"],
        )
        assert result.returncode == 0, result.stderr

        async def poison_applied() -> bool:
            return sorted(s for _, k, s in await tally.effects(engine) if k == key) == [0, 1, 2, 3]

        await eventually(poison_applied)
        listing = await shequ(
            "dlq", "list", "--group", group, "--bootstrap-servers", kafka_bootstrap
        )
        assert listing.returncode == 0, listing.stderr
        assert f"{poison['dlq_event_id']}  requeued" in listing.stdout
        assert "garbage-1  pending" in listing.stdout
        again = await shequ(
            "dlq",
            "requeue",
            "--group",
            group,
            "--bootstrap-servers",
            kafka_bootstrap,
            poison["dlq_event_id"],
        )
        assert again.returncode == 1
        assert "already requeued" in again.stderr
    finally:
        tally.POISON_ENABLED["on"] = True
        stop.set()
        await asyncio.gather(*tasks)
