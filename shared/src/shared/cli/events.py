"""Follow the event topics and print each event: ``shequ events tail``.

For people who would reach for kcat, which cannot talk to the dev broker. It reads without a
consumer group (no slow group join, no committed offsets), every partition of every
``<service>.<aggregate>.events`` topic, or of the ``--topic`` ones; topics created while it
runs are followed from their first event. Filters: ``--type`` and ``--subject``, each a
glob (``org.shequ.registry.*``, ``resident/*``) and repeatable; the type filter reads the
``ce_type`` header, so filtered-out records are not parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import typer
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from pydantic import ValidationError

from shared.contracts import CloudEvent
from shared.settings import ServiceSettings

app = typer.Typer(help="Read the platform's events.", no_args_is_help=True)

EVENT_TOPIC = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\.events$")
"""The platform's event topics, ``<service>.<aggregate>.events`` (not dead letters)."""
REFRESH_S = 5.0
"""Seconds between looks for new topics and partitions (metadata refreshes)."""


@dataclass(frozen=True)
class EventFilter:
    """Which events to print: globs on the type and the subject (empty: any)."""

    types: Sequence[str] = ()
    subjects: Sequence[str] = ()

    def wants_type(self, event_type: str) -> bool:
        """Whether an event of this type may be printed (before parsing it)."""
        return not self.types or any(fnmatch.fnmatchcase(event_type, t) for t in self.types)

    def wants(self, event: CloudEvent) -> bool:
        """Whether this event is printed."""
        return self.wants_type(event.type) and (
            not self.subjects or any(fnmatch.fnmatchcase(event.subject, s) for s in self.subjects)
        )


def _header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name and value is not None:
            return bytes(value).decode(errors="replace")
    return None


def render(event: CloudEvent, *, as_json: bool) -> str:
    """One line: the whole event as JSON, or ``time  type  subject  data``."""
    if as_json:
        return event.to_json_bytes().decode()
    data = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    return f"{event.time.isoformat()}  {event.type}  {event.subject}  {data}"


def line_of(
    record: ConsumerRecord[bytes, bytes], wanted: EventFilter, *, as_json: bool
) -> str | None:
    """The line printed for a record, or None when the filter drops it."""
    event_type = _header(record, "ce_type")
    if event_type is not None and not wanted.wants_type(event_type):
        return None
    try:
        event = CloudEvent.model_validate_json(record.value or b"")
    except ValidationError as error:
        where = f"{record.topic}/{record.partition}@{record.offset}"
        return f"# {where}: not a Shequ CloudEvent ({error.error_count()} error(s))"
    return render(event, as_json=as_json) if wanted.wants(event) else None


async def _seek_to_end_of_present(
    consumer: AIOKafkaConsumer, topics: Sequence[str], timeout_s: float = 10.0
) -> None:
    """Move to the end of every partition of the topics that exist now, once assigned."""
    present = {t for t in await consumer.topics() if (t in topics if topics else _ours(t))}
    deadline = time.monotonic() + timeout_s
    while {tp.topic for tp in consumer.assignment()} < present:
        if time.monotonic() > deadline:
            break  # those still unassigned are read from their beginning
        await asyncio.sleep(0.1)
    partitions = [tp for tp in consumer.assignment() if tp.topic in present]
    if partitions:
        await consumer.seek_to_end(*partitions)


def _ours(topic: str) -> bool:
    return EVENT_TOPIC.match(topic) is not None


async def follow(
    settings: ServiceSettings,
    emit: Callable[[str], None],
    *,
    wanted: EventFilter,
    topics: Sequence[str] = (),
    from_beginning: bool = False,
    limit: int | None = None,
    idle_exit_s: float | None = None,
    as_json: bool = False,
) -> int:
    """Print the events of ``topics`` as they arrive; returns how many were printed.

    Starts at the end of each topic present at start, or at its beginning with
    ``from_beginning``; topics and partitions that appear later are read from their
    beginning. Stops after ``limit`` events, or after ``idle_exit_s`` without a record, else
    never.
    """
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_options(),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=int(REFRESH_S * 1000),
        client_id="shequ-events-tail",
    )
    await consumer.start()
    printed = 0
    try:
        if topics:
            consumer.subscribe(topics=list(topics))
        else:
            consumer.subscribe(pattern=EVENT_TOPIC.pattern)
        if not from_beginning:
            await _seek_to_end_of_present(consumer, topics)
        last_record = time.monotonic()
        while limit is None or printed < limit:
            batches = await consumer.getmany(timeout_ms=500)
            records = sorted(
                (r for batch in batches.values() for r in batch), key=lambda r: r.timestamp
            )
            if records:
                last_record = time.monotonic()
            for record in records:
                line = line_of(record, wanted, as_json=as_json)
                if line is not None:
                    emit(line)
                    printed += 1
                    if limit is not None and printed >= limit:
                        break
            if idle_exit_s is not None and time.monotonic() - last_record >= idle_exit_s:
                break
    finally:
        await consumer.stop()
    return printed


@app.command("tail")
def tail(
    types: list[str] = typer.Option(
        [], "--type", "-t", help="Event type or glob, e.g. `org.shequ.registry.resident.*`."
    ),
    subjects: list[str] = typer.Option(
        [], "--subject", "-s", help="Subject or glob, e.g. `resident/r-1` or `case/*`."
    ),
    topics: list[str] = typer.Option(
        [], "--topic", help="Topic to follow (repeatable); default: every event topic."
    ),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Start at the first event of each topic, not its end."
    ),
    limit: int | None = typer.Option(None, "--max", "-n", min=1, help="Stop after N events."),
    idle_exit_s: float | None = typer.Option(
        None, "--idle-exit", min=0.1, help="Stop after this many seconds without a record."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print each whole event as JSON."),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap-servers", "-b", help="Kafka bootstrap servers (default: settings)."
    ),
) -> None:
    """Follow the event topics and print each event (time, type, subject, data)."""
    settings = ServiceSettings(service_name="shequ-cli")
    if bootstrap:
        settings = settings.model_copy(update={"kafka_bootstrap_servers": bootstrap})
    wanted = EventFilter(types=tuple(types), subjects=tuple(subjects))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a tail ends
        asyncio.run(
            follow(
                settings,
                lambda line: typer.echo(line),
                wanted=wanted,
                topics=tuple(topics),
                from_beginning=from_beginning,
                limit=limit,
                idle_exit_s=idle_exit_s,
                as_json=as_json,
            )
        )
