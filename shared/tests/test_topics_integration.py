"""The test helpers that read a topic wait for the records a test expects, and fail at their
deadline saying what did not arrive, instead of stopping when the topic falls quiet."""

from __future__ import annotations

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
