"""The test helpers that read a topic wait for the records a test expects, and fail at their
deadline saying what did not arrive, instead of stopping when the topic falls quiet."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from shared.settings import ServiceSettings
from shared.testing.topics import wait_for_records

pytestmark = pytest.mark.integration


async def test_waits_for_the_expected_records_and_fails_at_the_deadline_naming_them(
    kafka_bootstrap: str,
) -> None:
    settings = ServiceSettings(service_name="topics-test", kafka_bootstrap_servers=kafka_bootstrap)
    topic = f"topics-test-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(3):
            await producer.send_and_wait(topic, f"v{n}".encode(), key=b"even" if n % 2 else b"odd")
    finally:
        await producer.stop()

    odd = await wait_for_records(settings, topic, 2, where=lambda r: r.key == b"odd")
    assert [record.value for record in odd] == [b"v0", b"v2"]
    assert len(await wait_for_records(settings, topic, 3)) == 3

    with pytest.raises(AssertionError, match=r"4 matching record\(s\) did not arrive on"):
        await wait_for_records(settings, topic, 4, timeout_s=2)
    with pytest.raises(AssertionError, match="the topic does not exist"):
        await wait_for_records(settings, f"{topic}-absent", 1, timeout_s=1)


async def test_finds_a_topic_created_after_it_started_waiting(kafka_bootstrap: str) -> None:
    """The topic appears while the helper waits (a relay creates its topics on its first
    pass): the helper's consumer must see it then, not at its next metadata refresh minutes
    later (aiokafka's ``topics()`` leaves the consumer's own metadata as it was)."""
    settings = ServiceSettings(service_name="topics-test", kafka_bootstrap_servers=kafka_bootstrap)
    topic = f"topics-test-late-{uuid.uuid4().hex[:8]}"
    waiting = asyncio.create_task(wait_for_records(settings, topic, 1, timeout_s=30))
    await asyncio.sleep(2)  # the helper's consumer has started and found no such topic
    assert not waiting.done()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"late", key=b"k")
    finally:
        await producer.stop()
    assert [record.value for record in await waiting] == [b"late"]
