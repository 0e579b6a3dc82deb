"""aiokafka clients configured from settings: producer, consumer, topic creation, probe."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


def new_producer(settings: ServiceSettings, *, client_id: str | None = None) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas and retries transient errors.

    aiokafka keeps one request in flight per partition and re-queues a failed batch at the
    front, so records of one key stay in order across retries.
    """
    return AIOKafkaProducer(
        **settings.kafka_client_options(),
        client_id=client_id or f"{settings.service_name}-producer",
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
        linger_ms=5,
    )


def new_consumer(
    settings: ServiceSettings, *topics: str, group_id: str | None, client_id: str | None = None
) -> AIOKafkaConsumer:
    """A consumer with manual offset commits, starting from the earliest offset."""
    return AIOKafkaConsumer(
        *topics,
        **settings.kafka_client_options(),
        group_id=group_id,
        client_id=client_id or f"{settings.service_name}-consumer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=5_000,
    )


async def ensure_topics(settings: ServiceSettings, topics: Iterable[str]) -> None:
    """Create the missing topics (when ``kafka_create_topics`` is on)."""
    wanted = sorted(set(topics))
    if not settings.kafka_create_topics or not wanted:
        return
    admin = AIOKafkaAdminClient(**settings.kafka_client_options(), request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        for topic in missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            topic,
                            num_partitions=settings.kafka_topic_partitions,
                            replication_factor=settings.kafka_replication_factor,
                        )
                    ]
                )
                log.info("topic created", extra={"topic": topic})
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


class BrokerProbe:
    """Answers "is the broker reachable?" for readiness, at most once per ``cache_s``."""

    def __init__(self, settings: ServiceSettings, *, cache_s: float = 2.0) -> None:
        self._settings = settings
        self._cache_s = cache_s
        self._checked_at = float("-inf")
        self._error: Exception | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """Raise if the broker did not answer a metadata request within 3 s."""
        async with self._lock:
            if time.monotonic() - self._checked_at > self._cache_s:
                self._error = await self._probe()
                self._checked_at = time.monotonic()
        if self._error is not None:
            raise self._error

    async def _probe(self) -> Exception | None:
        admin = AIOKafkaAdminClient(
            **self._settings.kafka_client_options(), request_timeout_ms=3_000
        )
        try:
            await asyncio.wait_for(admin.start(), timeout=3)
            await asyncio.wait_for(admin.list_topics(), timeout=3)
            return None
        except Exception as exc:  # any failure means "not reachable"
            return ConnectionError(f"broker {self._settings.kafka_bootstrap_servers}: {exc!r}")
        finally:
            with contextlib.suppress(Exception):
                await admin.close()


async def read_topic(
    settings: ServiceSettings, topic: str, *, idle_ms: int = 1500, timeout_s: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the beginning, in partition order, without a group.

    Reads until the reported end offsets are reached *and* a poll of ``idle_ms`` brings
    nothing: the local Tansu broker reports the end of a partition as the base offset of its
    last record batch plus one, so end offsets alone would stop too early.
    """
    consumer = AIOKafkaConsumer(**settings.kafka_client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()  # loads metadata for every topic
        numbers = consumer.partitions_for_topic(topic) or set()
        partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=idle_ms)
            for batch in batches.values():
                records.extend(batch)
            positions = [await consumer.position(p) for p in partitions]
            if not batches and all(
                pos >= ends[p] for pos, p in zip(positions, partitions, strict=True)
            ):
                return sorted(records, key=lambda r: (r.partition, r.offset))
        raise TimeoutError(f"reading {topic} did not reach its end in {timeout_s}s")
    finally:
        await consumer.stop()
