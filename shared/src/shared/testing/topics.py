"""Read a topic in a test until the records the test expects have arrived, with a deadline.

A test never concludes it has read everything because the topic stayed quiet for a while: on a
loaded machine a fetch can take longer than any quiet period, and the local broker (Tansu)
under-reports end offsets (see ``shared.kafka.read_topic``). These helpers keep one consumer
reading from the beginning until a condition over the records read so far holds, and fail at
the deadline saying what they waited for and how much they read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.settings import ServiceSettings

METADATA_MAX_AGE_MS = 500
"""How often the helpers' consumers refresh their metadata, hence how soon a topic created
after they started is found."""


async def read_until(
    settings: ServiceSettings,
    topic: str,
    done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    *,
    timeout_s: float = 60.0,
    awaited: str = "the expected records",
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` read from the beginning, in partition order, as soon as
    ``done(records)`` holds; ``AssertionError`` naming ``awaited`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    # The topic may appear later (a relay creates its topics on its first pass). The consumer
    # sees it at its next metadata refresh, so refresh often: ``consumer.topics()`` fetches
    # into a metadata object of its own and leaves ``partitions_for_topic`` as it was, which,
    # at aiokafka's default age of 5 minutes, outlasts any deadline.
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_options(),
        enable_auto_commit=False,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        assigned = False
        while True:
            if not assigned:
                numbers = consumer.partitions_for_topic(topic) or set()
                if numbers:
                    partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
                    consumer.assign(partitions)
                    await consumer.seek_to_beginning(*partitions)
                    assigned = True
            if assigned:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
            else:
                await asyncio.sleep(0.2)
            ordered = sorted(records, key=lambda r: (r.partition, r.offset))
            if done(ordered):
                return ordered
            if loop.time() > deadline:
                raise AssertionError(
                    f"{awaited} did not arrive on {topic} within {timeout_s} s "
                    f"({len(records)} record(s) read"
                    + ("" if assigned else "; the topic does not exist")
                    + ")"
                )
    finally:
        await consumer.stop()


async def wait_for_records(
    settings: ServiceSettings,
    topic: str,
    count: int,
    *,
    where: Callable[[ConsumerRecord[bytes, bytes]], bool] = lambda _record: True,
    timeout_s: float = 60.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of ``topic`` for which ``where`` holds, once at least ``count`` of them have
    been read (all of them read by then, so a test can still assert there are no more)."""
    records = await read_until(
        settings,
        topic,
        lambda read: sum(1 for record in read if where(record)) >= count,
        timeout_s=timeout_s,
        awaited=f"{count} matching record(s)",
    )
    return [record for record in records if where(record)]
