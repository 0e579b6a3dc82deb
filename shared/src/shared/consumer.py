"""Consumer runtime: idempotent inbox, batches per poll, bounded retries, dead-letter topic.

What one poll returns (up to :attr:`EventConsumer.max_batch` records, from any partitions)
is settled together:

1. each record's CloudEvents envelope is parsed and its ``data`` validated against the
   contract; an invalid record, or an unknown version of a subscribed type (``….v2`` when
   the consumer reads ``….v1``), goes to ``<group>.dlq`` at once, another type not
   subscribed to is counted and skipped;
2. the valid events go through :func:`record_and_apply` in one database transaction: their
   inbox rows ``(consumer, event_id)`` in one statement (an id seen before, or twice in the
   poll, is skipped), then the handlers of the new ones, in partition order. The effects and
   the de-duplication commit together;
3. if the batch fails with an error of an event (not an outage), it is rolled back and the
   failing event isolated: the events before it are applied as a batch again, the failing
   one alone, as if it had come alone (``consumer_max_attempts`` attempts with exponential
   backoff, then ``<group>.dlq`` with headers telling its story), the events after it as a
   batch again. When the runtime cannot tell which event failed (a batch handler raised, or
   the commit did), the batch is applied one event at a time;
4. offsets are committed only after the database commit (and the dead-letter sends).

Database or broker outages are not an event's fault: they are retried without limit and
never dead-letter anything. A poison event therefore costs its partition a few retries, never
a stall.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import context, metrics
from shared.asyncutil import sleep_unless
from shared.contracts import CONTRACTS, CloudEvent, ContractRegistry, EventPayload
from shared.db import insert_ignoring_conflicts, transaction
from shared.kafka import ensure_topics, new_consumer, new_producer
from shared.settings import ServiceSettings
from shared.tables import InboxRecord

log = logging.getLogger(__name__)


class ParsedEvent(NamedTuple):
    """An event read from a topic, with its payload validated against its contract."""

    event: CloudEvent
    payload: EventPayload


Handler = Callable[[AsyncSession, CloudEvent, EventPayload], Awaitable[None]]
"""Applies one event in the caller's transaction."""

BatchHandler = Callable[[AsyncSession, Sequence[ParsedEvent]], Awaitable[None]]
"""Applies several new events, in order, in the caller's transaction."""

# Header names on dead letters (documented in docs/operations.md).
DLQ_TOPIC = "dlq_original_topic"
DLQ_PARTITION = "dlq_original_partition"
DLQ_OFFSET = "dlq_original_offset"
DLQ_EVENT_ID = "dlq_event_id"
DLQ_EXCEPTION = "dlq_exception_class"
DLQ_MESSAGE = "dlq_exception_message"
DLQ_CONSUMER = "dlq_consumer"
DLQ_REASON = "dlq_reason"
DLQ_ATTEMPTS = "dlq_attempts"
DLQ_FAILED_AT = "dlq_failed_at"


def dlq_topic(group: str) -> str:
    """The dead-letter topic of a consumer group."""
    return f"{group}.dlq"


class UnexpectedEvent(Exception):
    """A handler was given an event type it does not handle (a wiring error)."""


@dataclass(frozen=True)
class Subscription:
    """What a service consumes: the event types and the function(s) that apply them.

    ``handle`` applies one event; ``handle_batch``, when given, is used instead and receives
    every new event of a batch at once (a batch of one while a failing event is isolated).
    A batch handler that writes events binds :func:`event_context` per event itself.
    """

    event_types: frozenset[str]
    handle: Handler | None = None
    handle_batch: BatchHandler | None = None
    max_batch: int | None = None
    """Records fetched per poll and settled in one transaction (None: the runtime's
    :attr:`EventConsumer.max_batch`); a handler whose cost is mostly per batch takes more."""

    def __post_init__(self) -> None:
        if self.handle is None and self.handle_batch is None:
            raise TypeError("a subscription needs handle or handle_batch")


def event_context(event: CloudEvent) -> AbstractContextManager[None]:
    """Bind the correlation and causation ids of handling ``event`` (for events and logs)."""
    return context.bound(correlation_id=event.correlationid or event.id, causation_id=event.id)


class _Progress:
    """Which event a per-event handler was applying (None: not one event's fault)."""

    def __init__(self) -> None:
        self.at: int | None = None


async def record_and_apply(
    session: AsyncSession,
    *,
    consumer: str,
    subscription: Subscription,
    events: Sequence[ParsedEvent],
) -> list[bool]:
    """Record ``events`` in ``consumer``'s inbox and apply the new ones, in order, in the
    session's transaction; for each event, whether it was applied (False: seen before).

    The inbox rows go in one statement; an id already in the inbox, or earlier in
    ``events``, is skipped. ``subscription.handle_batch`` gets the new events at once; else
    ``subscription.handle`` gets each in turn, as if alone: its changes are flushed after it
    and the session forgets its objects, so the next one reads the database afresh.
    """
    return await _record_and_apply(session, consumer, subscription, events, _Progress())


async def _record_and_apply(
    session: AsyncSession,
    consumer: str,
    subscription: Subscription,
    events: Sequence[ParsedEvent],
    progress: _Progress,
) -> list[bool]:
    firsts: dict[str, int] = {}
    for index, item in enumerate(events):
        firsts.setdefault(item.event.id, index)
    if not firsts:
        return []
    now = datetime.now(UTC)
    inserted = set(
        (
            await session.execute(
                insert_ignoring_conflicts(session, InboxRecord.__table__).returning(  # type: ignore[arg-type]
                    InboxRecord.event_id
                ),
                [
                    {
                        "consumer": consumer,
                        "event_id": events[index].event.id,
                        "event_type": events[index].event.type,
                        "processed_at": now,
                    }
                    for index in firsts.values()
                ],
            )
        ).scalars()
    )
    applied = [
        firsts[item.event.id] == index and item.event.id in inserted
        for index, item in enumerate(events)
    ]
    if subscription.handle_batch is not None:
        new = [item for item, is_new in zip(events, applied, strict=True) if is_new]
        if new:
            await subscription.handle_batch(session, new)
        return applied
    assert subscription.handle is not None
    for index, item in enumerate(events):
        if not applied[index]:
            continue
        progress.at = index
        with event_context(item.event):
            await subscription.handle(session, item.event, item.payload)
            if session.new or session.dirty or session.deleted:
                await session.flush()
        if session.identity_map:
            session.expunge_all()
    progress.at = None
    return applied


class _Invalid(Exception):
    """A record that can never be processed (not an event, or not matching its contract)."""

    def __init__(self, message: str, *, reason: str = "validation") -> None:
        super().__init__(message)
        self.reason = reason


def type_without_version(event_type: str) -> str:
    """``org.shequ.registry.resident.registered.v1`` → ``org.shequ.registry.resident.registered``
    (a type without a ``.v<n>`` suffix is returned unchanged)."""
    stem, _, version = event_type.rpartition(".")
    return stem if stem and version[:1] == "v" and version[1:].isdigit() else event_type


@dataclass(frozen=True)
class _Entry:
    """A record and its parsed event, on their way through the runtime."""

    record: ConsumerRecord[Any, Any]
    parsed: ParsedEvent


_TRANSIENT = (OperationalError, ConnectionError, OSError, KafkaError)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSIENT) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class EventConsumer:
    """Runs one service's consumer group over the topics of its subscription."""

    max_batch = 500
    """Records fetched per poll, settled in one transaction, unless the subscription says."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        subscription: Subscription,
        contracts: ContractRegistry = CONTRACTS,
        group_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.subscription = subscription
        self.contracts = contracts
        self.group_id = group_id or settings.consumer_group
        self.topics = topics_of(contracts, subscription.event_types)
        self.max_batch = subscription.max_batch or type(self).max_batch
        self._subscribed_stems = frozenset(map(type_without_version, subscription.event_types))
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._labels = {"service": settings.service_name, "group": self.group_id}

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; reconnect after broker outages."""
        backoff = 0.5
        while not stop.is_set():
            try:
                await self._start()
                backoff = 0.5
                while not stop.is_set():
                    await self.poll_once()
            except Exception as exc:
                if stop.is_set():
                    break
                log.warning(
                    "consumer %s failed, restarting in %.1fs: %r", self.group_id, backoff, exc
                )
                await self._close()
                await sleep_unless(stop, backoff)
                backoff = min(backoff * 2, self.settings.consumer_max_backoff_s)
        await self._close()

    async def _start(self) -> None:
        if self._consumer is not None:
            return
        await ensure_topics(self.settings, [*self.topics, dlq_topic(self.group_id)])
        producer = new_producer(self.settings, client_id=f"{self.group_id}-dlq")
        consumer = new_consumer(self.settings, *self.topics, group_id=self.group_id)
        try:
            await producer.start()
            await consumer.start()
        except Exception:
            await consumer.stop()
            await producer.stop()
            raise
        self._producer, self._consumer = producer, consumer
        log.info("consumer started", extra={"group": self.group_id, "topics": self.topics})

    async def _close(self) -> None:
        consumer, producer = self._consumer, self._producer
        self._consumer = self._producer = None
        for client in (consumer, producer):
            if client is not None:
                try:
                    await client.stop()
                except Exception as exc:
                    log.debug("closing kafka client failed: %r", exc)

    async def poll_once(self, timeout_ms: int = 1000) -> int:
        """Fetch one batch, settle it and commit its offsets; return how many records."""
        assert self._consumer is not None, "consumer not started"
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=self.max_batch)
        if not batches:
            return 0
        records = [record for partition in batches.values() for record in partition]
        await self.process(records)
        await self._commit({tp: batch[-1].offset + 1 for tp, batch in batches.items()})
        for partition, batch in batches.items():
            self._record_lag(partition, batch[-1].offset)
        return len(records)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit(offsets)
        except (
            CommitFailedError
        ) as exc:  # rebalanced away: the new owner re-reads, the inbox dedupes
            log.warning("offset commit failed after rebalance: %r", exc)

    def _record_lag(self, partition: TopicPartition, offset: int) -> None:
        assert self._consumer is not None
        highwater = self._consumer.highwater(partition)
        if highwater is not None:
            metrics.CONSUMER_LAG.labels(
                topic=partition.topic, partition=str(partition.partition), **self._labels
            ).set(max(highwater - offset - 1, 0))

    # -- a batch ---------------------------------------------------------------------------

    async def process(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply records (in partition order) exactly once each, or dead-letter them;
        return when every one is settled."""
        entries: list[_Entry] = []
        for record in records:
            try:
                event, payload = self._parse(record)
            except _Invalid as exc:
                await self._dead_letter(record, exc.__cause__ or exc, reason=exc.reason, attempts=0)
                continue
            if payload is None:
                self._count(record, event.type, "ignored")
            else:
                entries.append(_Entry(record, ParsedEvent(event, payload)))
        await self._settle(entries)

    async def _settle(self, entries: Sequence[_Entry]) -> None:
        """Apply entries as one batch; isolate the event that makes the batch fail."""
        while len(entries) > 1:
            failed_at = await self._apply_batch(entries)
            if failed_at is None:
                return
            if failed_at < 0:  # no telling which event failed: one at a time
                for entry in entries:
                    await self._settle_one(entry)
                return
            await self._settle(entries[:failed_at])
            await self._settle_one(entries[failed_at])
            entries = entries[failed_at + 1 :]
        if entries:
            await self._settle_one(entries[0])

    async def _apply_batch(self, entries: Sequence[_Entry]) -> int | None:
        """Apply entries in one transaction, retrying outages; None once committed, else the
        index of the event whose handler failed (-1 when unknown)."""
        backoff = self.settings.consumer_backoff_s
        while True:
            progress = _Progress()
            try:
                applied = await self._apply(entries, progress)
            except Exception as exc:
                if not _is_transient(exc):
                    log.warning(
                        "batch of %d events failed, isolating the failing event: %r",
                        len(entries),
                        exc,
                        extra={"group": self.group_id},
                    )
                    return -1 if progress.at is None else progress.at
                log.warning(
                    "transient failure handling a batch of %d events, retrying: %r",
                    len(entries),
                    exc,
                    extra={"group": self.group_id},
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.settings.consumer_max_backoff_s)
                continue
            outcomes = Counter(
                (entry.record.topic, entry.parsed.event.type, "applied" if is_new else "duplicate")
                for entry, is_new in zip(entries, applied, strict=True)
            )
            for (topic, event_type, outcome), count in outcomes.items():
                metrics.EVENTS_CONSUMED.labels(
                    topic=topic, event_type=event_type, outcome=outcome, **self._labels
                ).inc(count)
            return None

    async def _settle_one(self, entry: _Entry) -> None:
        """Apply one event alone: retried with backoff, dead-lettered after the last try."""
        record, event = entry.record, entry.parsed.event
        attempt = 0
        backoff = self.settings.consumer_backoff_s
        while True:
            attempt += 1
            try:
                (applied,) = await self._apply([entry], _Progress())
                self._count(record, event.type, "applied" if applied else "duplicate")
                return
            except Exception as exc:
                if _is_transient(exc):
                    log.warning(
                        "transient failure handling event, retrying: %r",
                        exc,
                        extra=_event_log(record, event),
                    )
                    attempt -= 1  # outages do not count against the event
                elif attempt >= self.settings.consumer_max_attempts:
                    log.error(
                        "handler failed %d times, dead-lettering",
                        attempt,
                        extra=_event_log(record, event),
                        exc_info=exc,
                    )
                    await self._dead_letter(
                        record, exc, reason="handler", attempts=attempt, event_id=event.id
                    )
                    return
                else:
                    metrics.EVENTS_RETRIED.labels(
                        topic=record.topic, event_type=event.type, **self._labels
                    ).inc()
                    log.warning(
                        "handler failed (attempt %d), retrying: %r",
                        attempt,
                        exc,
                        extra=_event_log(record, event),
                    )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.settings.consumer_max_backoff_s)

    def _parse(self, record: ConsumerRecord[Any, Any]) -> tuple[CloudEvent, EventPayload | None]:
        """The envelope and, for a subscribed type, its validated payload (else None)."""
        try:
            event = CloudEvent.model_validate_json(record.value or b"")
        except ValidationError as exc:
            raise _Invalid("not a CloudEvents document") from exc
        if event.type not in self.subscription.event_types:
            if type_without_version(event.type) in self._subscribed_stems:
                # a version of a subscribed event this consumer cannot read: skipping it would
                # lose its change silently, so it waits in the dead-letter topic
                raise _Invalid(f"unknown version {event.type}", reason="unknown-version")
            return event, None  # another type on a topic we read: not ours to judge
        try:
            return event, self.contracts.parse_payload(event)
        except ValidationError as exc:
            raise _Invalid(f"data does not match {event.type}") from exc

    async def _apply(self, entries: Sequence[_Entry], progress: _Progress) -> list[bool]:
        """Record the entries in the inbox and apply the new ones in one transaction."""
        async with transaction(self.sessions) as session:
            return await _record_and_apply(
                session,
                self.group_id,
                self.subscription,
                [entry.parsed for entry in entries],
                progress,
            )

    async def _dead_letter(
        self,
        record: ConsumerRecord[Any, Any],
        exc: BaseException,
        *,
        reason: str,
        attempts: int,
        event_id: str | None = None,
    ) -> None:
        assert self._producer is not None, "consumer not started"
        headers = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq_")]
        story = {
            DLQ_TOPIC: record.topic,
            DLQ_PARTITION: str(record.partition),
            DLQ_OFFSET: str(record.offset),
            DLQ_EVENT_ID: event_id or _header(record, "ce_id") or "",
            DLQ_EXCEPTION: f"{type(exc).__module__}.{type(exc).__qualname__}",
            DLQ_MESSAGE: str(exc)[:2000],
            DLQ_CONSUMER: self.group_id,
            DLQ_REASON: reason,
            DLQ_ATTEMPTS: str(attempts),
            DLQ_FAILED_AT: datetime.now(UTC).isoformat(),
        }
        headers += [(k, v.encode()) for k, v in story.items()]
        await self._producer.send_and_wait(
            dlq_topic(self.group_id), value=record.value, key=record.key, headers=headers
        )
        metrics.EVENTS_DEAD_LETTERED.labels(topic=record.topic, reason=reason, **self._labels).inc()
        log.error(
            "event dead-lettered",
            extra={
                "event_id": story[DLQ_EVENT_ID],
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
                "exception": story[DLQ_EXCEPTION],
            },
        )

    def _count(self, record: ConsumerRecord[Any, Any], event_type: str, outcome: str) -> None:
        metrics.EVENTS_CONSUMED.labels(
            topic=record.topic, event_type=event_type, outcome=outcome, **self._labels
        ).inc()


def _header(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def _event_log(record: ConsumerRecord[Any, Any], event: CloudEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "event_type": event.type,
        "topic": record.topic,
        "key": event.partitionkey,
        "partition": record.partition,
        "offset": record.offset,
    }


def topics_of(contracts: ContractRegistry, event_types: Iterable[str]) -> list[str]:
    """The topics carrying the given event types."""
    return sorted({contracts.by_type(t).topic for t in event_types})
