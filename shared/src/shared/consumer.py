"""Consumer runtime: idempotent inbox, bounded retries with backoff, dead-letter topic.

For each record, in partition order:

1. parse the CloudEvents envelope and validate ``data`` against the contract; an invalid
   record goes to ``<group>.dlq`` at once;
2. in one database transaction, insert ``(consumer, event_id)`` into the inbox (a duplicate
   is skipped) and run the handler: the effect and the de-duplication commit together;
3. a handler error is retried ``consumer_max_attempts`` times with exponential backoff, then
   the record goes to ``<group>.dlq`` with headers telling its story;
4. offsets are committed only after the database commit (or the dead-letter send).

Database or broker outages are not the event's fault: they are retried without limit and
never dead-letter anything. A poison event therefore costs its partition a few retries, never
a stall.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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

Handler = Callable[[AsyncSession, CloudEvent, EventPayload], Awaitable[None]]

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
    """What a service consumes: the event types and the function that dispatches them."""

    event_types: frozenset[str]
    handle: Handler


class _Invalid(Exception):
    """A record that can never be processed (not an event, or not matching its contract)."""


_TRANSIENT = (OperationalError, ConnectionError, OSError, KafkaError)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSIENT) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    )


class EventConsumer:
    """Runs one service's consumer group over the topics of its subscription."""

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
        """Fetch and process one batch; return the number of records handled."""
        assert self._consumer is not None, "consumer not started"
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=200)
        handled = 0
        for partition, records in batches.items():
            for record in records:
                await self.process(record)
                handled += 1
            await self._commit(partition, records[-1].offset + 1)
            self._record_lag(partition, records[-1].offset)
        return handled

    async def _commit(self, partition: TopicPartition, offset: int) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit({partition: offset})
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

    # -- one record ------------------------------------------------------------------------

    async def process(self, record: ConsumerRecord[Any, Any]) -> None:
        """Apply one record exactly once, or dead-letter it; return when it is settled."""
        try:
            event, payload = self._parse(record)
        except _Invalid as exc:
            await self._dead_letter(record, exc.__cause__ or exc, reason="validation", attempts=0)
            return
        if payload is None:
            self._count(record, event.type, "ignored")
            return
        attempt = 0
        backoff = self.settings.consumer_backoff_s
        while True:
            attempt += 1
            try:
                applied = await self._apply(event, payload)
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
            return event, None  # another type on a topic we read: not ours to judge
        try:
            return event, self.contracts.parse_payload(event)
        except ValidationError as exc:
            raise _Invalid(f"data does not match {event.type}") from exc

    async def _apply(self, event: CloudEvent, payload: EventPayload) -> bool:
        """Record the event in the inbox and run the handler in one transaction."""
        with context.bound(correlation_id=event.correlationid or event.id, causation_id=event.id):
            async with transaction(self.sessions) as session:
                inserted = await session.execute(
                    insert_ignoring_conflicts(session, InboxRecord.__table__).values(  # type: ignore[arg-type]
                        consumer=self.group_id,
                        event_id=event.id,
                        event_type=event.type,
                        processed_at=datetime.now(UTC),
                    )
                )
                if not getattr(inserted, "rowcount", 1):
                    return False
                await self.subscription.handle(session, event, payload)
        return True

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
