"""``shequ events tail`` against the Tansu broker: filters by type and subject, reads from the
beginning or follows new events, and picks up a topic created while it runs."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date

import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from shared.cli import app
from shared.cli.events import EventFilter, follow
from shared.contracts import CONTRACTS, CloudEvent
from shared.contracts.registry import AreaCreated, AreaRetired
from shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


def area_created(area_id: str) -> CloudEvent:
    return CONTRACTS.new_event(
        AreaCreated(
            area_id=area_id,
            level="community",
            name="示例社区",
            parent_id="110101001",
            path=["110000", "110101", "110101001", area_id],
            valid_from=date(2026, 3, 2),
        ),
        aggregate_id=area_id,
    )


def area_retired(area_id: str) -> CloudEvent:
    return CONTRACTS.new_event(
        AreaRetired(
            area_id=area_id,
            level="community",
            path=["110000", "110101", "110101001", area_id],
            valid_to=date(2026, 3, 2),
            reason="merged",
            successor_ids=["110101001099"],
        ),
        aggregate_id=area_id,
    )


async def publish(bootstrap: str, topic: str, *events: CloudEvent) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic,
                event.to_json_bytes(),
                key=event.partitionkey.encode(),
                headers=event.kafka_headers(),
            )
    finally:
        await producer.stop()


def test_tail_from_the_beginning_filters_by_type_and_subject(kafka_bootstrap: str) -> None:
    topic = f"tail{uuid.uuid4().hex[:8]}.area.events"
    events = [area_created("a-1"), area_retired("a-1"), area_created("a-2"), area_created("a-3")]
    asyncio.run(publish(kafka_bootstrap, topic, *events))

    result = CliRunner().invoke(
        app,
        [
            "events", "tail", "-b", kafka_bootstrap, "--topic", topic, "--from-beginning",
            "--type", "org.shequ.registry.area.created.*", "--subject", "area/a-[12]",
            "--idle-exit", "3", "--json",
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines()]
    assert [(e["type"], e["subject"]) for e in printed] == [
        ("org.shequ.registry.area.created.v1", "area/a-1"),
        ("org.shequ.registry.area.created.v1", "area/a-2"),
    ]
    assert printed[0]["id"] == events[0].id


async def test_tail_follows_new_events_and_new_topics(kafka_bootstrap: str) -> None:
    old_topic = f"tail{uuid.uuid4().hex[:8]}.area.events"
    new_topic = f"tail{uuid.uuid4().hex[:8]}.area.events"
    await publish(kafka_bootstrap, old_topic, area_created("old-1"))
    lines: list[str] = []
    settings = ServiceSettings(service_name="test-tail", kafka_bootstrap_servers=kafka_bootstrap)
    tail = asyncio.create_task(
        follow(
            settings,
            lines.append,
            wanted=EventFilter(),
            topics=(old_topic, new_topic),
            limit=2,
            idle_exit_s=60,
        )
    )
    await asyncio.sleep(3)  # the tail has assigned the old topic and sits at its end
    await publish(kafka_bootstrap, old_topic, area_retired("old-1"))
    await publish(kafka_bootstrap, new_topic, area_created("new-1"))
    printed = await asyncio.wait_for(tail, timeout=60)

    assert printed == 2
    assert not any("old-1" in line and "created" in line for line in lines), lines
    assert {line.split()[2] for line in lines} == {"area/old-1", "area/new-1"}
    retired = next(line for line in lines if "area/old-1" in line)
    assert retired.split()[1] == "org.shequ.registry.area.retired.v1"
    assert json.loads(retired.split("  ", 3)[3])["reason"] == "merged"


def test_a_record_that_is_not_an_event_is_reported_not_fatal(kafka_bootstrap: str) -> None:
    topic = f"tail{uuid.uuid4().hex[:8]}.area.events"

    async def garbage() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"not json")
        finally:
            await producer.stop()

    asyncio.run(garbage())
    asyncio.run(publish(kafka_bootstrap, topic, area_created("a-9")))
    result = CliRunner().invoke(
        app,
        ["events", "tail", "-b", kafka_bootstrap, "--topic", topic, "--from-beginning", "-n", "2"],
    )
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()
    assert first.startswith(f"# {topic}/")
    assert "not a Shequ CloudEvent" in first
    assert "org.shequ.registry.area.created.v1  area/a-9" in second
