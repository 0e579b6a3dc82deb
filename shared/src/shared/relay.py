"""Outbox relay: publishes committed outbox events to Kafka, in commit order per aggregate.

One relay per service publishes at a time: replicas compete for a lease row
(``relay_lease``) that the holder renews; when it stops renewing, another takes over after
``relay_lease_ttl_s``. Delivery is at least once: a relay that dies after sending and before
marking a batch published sends it again when it (or another) resumes, and consumers
de-duplicate by event id. Records of one aggregate share a Kafka key, hence a partition; they
are sent in outbox order, and a record is marked published only if every earlier record of
its aggregate was, so a failure never lets a later event overtake an earlier one in the
outbox's view. While the broker is down, writes keep succeeding (they only touch the
database); the relay backs off and drains the backlog once the broker is back.

While there is a backlog, :meth:`OutboxRelay.run` keeps two batches moving: the next batch
is selected and handed to the producer while the broker acknowledges the previous one, and a
batch is marked published (in the background, strictly after the batch before it) while the
next is being acknowledged. A failure in one batch settles the batch sent after it under the
same rule (no row of a failed aggregate is marked), then the relay backs off. The backlog
gauges are refreshed every :data:`GAUGE_INTERVAL_S` seconds, not per batch.

Rows the broker acknowledged but that could not be marked published (the database refused
the write: SQLite's "database is locked" under a large import, a PostgreSQL restart) are kept
in memory and marked before anything else is selected, so a live relay never sends an
acknowledged event twice; only a relay that dies in between does (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

from aiokafka import AIOKafkaProducer
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    all_,
    any_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import metrics
from shared.asyncutil import sleep_unless
from shared.contracts.envelope import kafka_headers
from shared.db import as_utc, insert_ignoring_conflicts, transaction
from shared.kafka import ensure_topics, new_producer
from shared.settings import ServiceSettings
from shared.tables import OutboxRecord, RelayLease

log = logging.getLogger(__name__)

LEASE_NAME = "outbox"
MARK_ATTEMPTS = 4
MARK_RETRY_DELAY_S = 0.1
"""A refused mark is retried after 0.1, 0.2, 0.4 s before the pass gives up (the rows wait
in memory, see the module docstring)."""
GAUGE_INTERVAL_S = 5.0
"""Seconds between refreshes of the backlog gauges (a count over the unpublished rows)."""


class OutboxRow(NamedTuple):
    """What the relay reads of an outbox row to publish it."""

    id: int
    event_id: str
    event_type: str
    topic: str
    partition_key: str
    payload: str


SentHook = Callable[[Sequence[OutboxRow]], Awaitable[None]]
Outcome = BaseException | None
"""A record's delivery: None when the broker acknowledged it, else the error."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Sent:
    """A batch handed to the producer: its rows and, per row, the delivery future (or the
    error that kept it from being enqueued)."""

    def __init__(self, rows: list[OutboxRow], deliveries: list[asyncio.Future[Any] | Outcome]):
        self.rows = rows
        self.deliveries = deliveries

    async def outcomes(self) -> list[Outcome]:
        """Wait for every delivery; None (acknowledged) or the error, per row."""
        outcomes: list[Outcome] = []
        for delivery in self.deliveries:
            if delivery is None or isinstance(delivery, BaseException):
                outcomes.append(delivery)
                continue
            try:
                await delivery
                outcomes.append(None)
            except Exception as exc:
                outcomes.append(exc)
        return outcomes


class OutboxRelay:
    """Publishes one service's outbox. Run :meth:`run` as a task; or call :meth:`publish_batch`."""

    def __init__(
        self,
        *,
        settings: ServiceSettings,
        sessions: async_sessionmaker[AsyncSession],
        topics: Sequence[str] = (),
        instance_id: str | None = None,
        on_sent: SentHook | None = None,
    ) -> None:
        """``topics`` are created at start-up if missing; ``on_sent`` is a fault-injection hook
        called after a batch was sent and before it is marked published (tests only)."""
        self.settings = settings
        self.sessions = sessions
        self.topics = list(topics)
        self.instance_id = (
            instance_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self._on_sent = on_sent
        self._producer: AIOKafkaProducer | None = None
        self._is_leader = False
        self._lease_renewed_at = datetime.min.replace(tzinfo=UTC)
        self._last_cleanup = datetime.min.replace(tzinfo=UTC)
        self._gauges_at = datetime.min.replace(tzinfo=UTC)
        self._sources: dict[str, str] = {}
        self._labels = {"service": settings.service_name}
        self._acknowledged_unmarked: dict[int, OutboxRow] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set, surviving broker and database outages."""
        backoff = self.settings.relay_poll_interval_s
        try:
            while not stop.is_set():
                try:
                    published = await self._publish(stop)
                    backoff = self.settings.relay_poll_interval_s
                    if published:
                        if published < self.settings.relay_batch_size:  # drained: let rows
                            await sleep_unless(stop, self.settings.relay_linger_s)  # gather
                        continue  # drain the backlog without sleeping
                except Exception as exc:  # the broker or database is away: wait and retry
                    log.warning("relay cycle failed, retrying in %.1fs: %r", backoff, exc)
                    await self._reset_producer()
                    backoff = min(max(backoff * 2, 0.5), self.settings.relay_max_backoff_s)
                await sleep_unless(stop, backoff)
        finally:
            await self._release_lease()
            await self._reset_producer()

    async def _producer_started(self) -> AIOKafkaProducer:
        if self._producer is None:
            await ensure_topics(self.settings, self.topics)
            producer = new_producer(self.settings, client_id=f"{self.settings.service_name}-relay")
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _reset_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception as exc:
                log.debug("producer stop failed: %r", exc)

    # -- leadership ------------------------------------------------------------------------

    async def hold_lease(self) -> bool:
        """Take or renew the lease; True while this instance is the service's relay."""
        now = _utcnow()
        if self._is_leader and now - self._lease_renewed_at < self._renew_every():
            return True
        expires = now + timedelta(seconds=self.settings.relay_lease_ttl_s)
        async with transaction(self.sessions) as session:
            await session.execute(
                insert_ignoring_conflicts(session, RelayLease.__table__).values(  # type: ignore[arg-type]
                    name=LEASE_NAME, holder=None, expires_at=None
                )
            )
            result = await session.execute(
                update(RelayLease)
                .where(
                    RelayLease.name == LEASE_NAME,
                    or_(
                        RelayLease.holder == self.instance_id,
                        RelayLease.holder.is_(None),
                        RelayLease.expires_at < now,
                    ),
                )
                .values(holder=self.instance_id, expires_at=expires)
            )
            leader = bool(getattr(result, "rowcount", 0))
        if leader != self._is_leader:
            log.info(
                "relay leadership %s",
                "acquired" if leader else "lost",
                extra={"relay": self.instance_id},
            )
        self._is_leader = leader
        self._lease_renewed_at = now if leader else self._lease_renewed_at
        metrics.RELAY_LEADER.labels(**self._labels).set(1 if leader else 0)
        return leader

    def _renew_every(self) -> timedelta:
        return timedelta(seconds=self.settings.relay_lease_ttl_s / 3)

    async def _release_lease(self) -> None:
        if not self._is_leader:
            return
        try:
            async with transaction(self.sessions) as session:
                await session.execute(
                    update(RelayLease)
                    .where(RelayLease.name == LEASE_NAME, RelayLease.holder == self.instance_id)
                    .values(holder=None, expires_at=None)
                )
        except Exception as exc:
            log.warning("could not release relay lease: %r", exc)
        self._is_leader = False
        metrics.RELAY_LEADER.labels(**self._labels).set(0)

    # -- publishing ------------------------------------------------------------------------

    async def publish_batch(self) -> int:
        """Publish the oldest unpublished events (one batch) if this instance leads; return
        how many were marked published."""
        return await self._publish(None)

    async def _publish(self, stop: asyncio.Event | None) -> int:
        """Publish batches while this instance leads and they come full (one batch when
        ``stop`` is None); return how many events were marked published.

        Three batches move at once: batch N+1 is selected while batch N is handed to the
        producer, then batch N-1's acknowledgements are checked and it is marked in the
        background; marks commit in batch order. A row counts as published only if every
        earlier row of its aggregate was: after a failure the batch sent behind it is
        settled under the same rule, both are marked, and the pass ends with the error.
        """
        if not await self.hold_lease():
            return 0
        published = await self._mark_acknowledged_unmarked()
        if self._gauges_due():
            await self._housekeeping()
        rows = await self._select(())
        if not rows:
            self._set_gauges(0, 0.0)
            return published
        producer = await self._producer_started()
        blocked: set[str] = set()
        unsettled: _Sent | None = None
        reading: asyncio.Task[list[OutboxRow]] | None = None
        marking: asyncio.Task[None] | None = None
        marking_ids: list[int] = []
        try:
            while True:
                if rows and self._continues(rows, stop) and await self.hold_lease():
                    if self._gauges_due():
                        await self._housekeeping()
                    in_flight = [row.id for row in rows] + marking_ids
                    if unsettled is not None:
                        in_flight += [row.id for row in unsettled.rows]
                    reading = asyncio.create_task(self._select(in_flight))
                sent = await self._send(producer, rows) if rows else None
                if unsettled is not None:
                    done, failed, error = await self._settle(unsettled, blocked)
                    if failed and sent is not None:
                        later_done, later_failed, _ = await self._settle(sent, blocked)
                        done, failed, sent = done + later_done, failed + later_failed, None
                    if marking is not None:
                        await marking
                        marking = None
                    if failed:
                        await self._mark(done, failed)
                        published += len(done)
                        raise RuntimeError(f"{len(failed)} events not published") from error
                    marking = asyncio.create_task(self._mark(done, []))
                    marking_ids = [row.id for row in done]
                    published += len(done)
                if sent is None:
                    break
                unsettled = sent
                rows = await reading if reading is not None else []
                reading = None
            if marking is not None:
                await marking
                marking = None
        finally:
            if reading is not None:  # the pass failed: the batch read ahead waits
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reading
            if marking is not None:  # the pass failed elsewhere: let the mark finish
                with contextlib.suppress(Exception):
                    await marking
        return published

    def _continues(self, rows: Sequence[OutboxRow], stop: asyncio.Event | None) -> bool:
        """Whether to read another batch behind these rows: they came as a full batch
        (there is more) and the relay runs on (``stop`` given and not set)."""
        return (
            stop is not None and not stop.is_set() and len(rows) >= self.settings.relay_batch_size
        )

    async def _settle(
        self, sent: _Sent, blocked: set[str]
    ) -> tuple[list[OutboxRow], list[OutboxRow], BaseException | None]:
        """Wait for a batch's acknowledgements and call the ``on_sent`` hook; the rows to
        mark published, those to retry, and the first error."""
        outcomes = await sent.outcomes()
        if self._on_sent is not None:
            await self._on_sent(sent.rows)
        done, failed = _published_prefixes(sent.rows, outcomes, blocked)
        return done, failed, next((o for o in outcomes if o is not None), None)

    async def _select(self, in_flight: Sequence[int]) -> list[OutboxRow]:
        """The oldest unpublished rows, leaving out those already sent and not yet marked."""
        async with transaction(self.sessions) as session:
            query = select(
                OutboxRecord.id,
                OutboxRecord.event_id,
                OutboxRecord.event_type,
                OutboxRecord.topic,
                OutboxRecord.partition_key,
                OutboxRecord.payload,
            ).where(OutboxRecord.published_at.is_(None))
            if in_flight:
                query = query.where(_id_in(session, in_flight, negate=True))
            result = await session.execute(
                query.order_by(OutboxRecord.id).limit(self.settings.relay_batch_size)
            )
            return [OutboxRow._make(row) for row in result]

    async def _send(self, producer: AIOKafkaProducer, rows: list[OutboxRow]) -> _Sent:
        """Hand every row to the producer in order (without waiting for acknowledgements)."""
        deliveries: list[asyncio.Future[Any] | Outcome] = []
        for row in rows:
            try:
                deliveries.append(
                    await producer.send(
                        row.topic,
                        value=row.payload.encode(),
                        key=row.partition_key.encode(),
                        headers=self._headers(row),
                    )
                )
            except Exception as exc:  # could not even enqueue: the rest waits for next cycle
                deliveries += [exc] * (len(rows) - len(deliveries))
                break
        return _Sent(rows, deliveries)

    def _headers(self, row: OutboxRow) -> list[tuple[str, bytes]]:
        source = self._sources.get(row.topic)
        if source is None:  # topics are <service>.<aggregate>.events
            source = self._sources[row.topic] = "/services/" + row.topic.split(".", 1)[0]
        return kafka_headers(event_id=row.event_id, event_type=row.event_type, source=source)

    async def _mark_acknowledged_unmarked(self) -> int:
        """Mark the rows acknowledged in an earlier pass whose mark failed; raises (the pass
        then backs off) while the database still refuses."""
        if not self._acknowledged_unmarked:
            return 0
        rows = sorted(self._acknowledged_unmarked.values(), key=lambda row: row.id)
        self._acknowledged_unmarked.clear()
        await self._mark(rows, [])
        log.info(
            "acknowledged events marked published after a failed mark", extra={"count": len(rows)}
        )
        return len(rows)

    async def _mark(self, published: Sequence[OutboxRow], failed: Sequence[OutboxRow]) -> None:
        """Mark acknowledged rows published and count an attempt on the failed ones. If the
        database refuses, the acknowledged rows are remembered, never sent again by this relay."""
        try:
            for attempt in range(MARK_ATTEMPTS):
                try:
                    await self._write_marks(published, failed)
                    break
                except DBAPIError as exc:  # e.g. SQLite's "database is locked": try again soon
                    if attempt == MARK_ATTEMPTS - 1:
                        raise
                    log.info("marking published events failed, retrying: %r", exc.orig)
                    await asyncio.sleep(MARK_RETRY_DELAY_S * 2**attempt)
        except BaseException:
            self._acknowledged_unmarked.update((row.id, row) for row in published)
            raise
        self._count_marked(published, failed)

    async def _write_marks(
        self, published: Sequence[OutboxRow], failed: Sequence[OutboxRow]
    ) -> None:
        async with transaction(self.sessions) as session:
            if published:
                await session.execute(
                    update(OutboxRecord)
                    .where(_id_in(session, [r.id for r in published]))
                    .values(published_at=_utcnow(), attempts=OutboxRecord.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
            if failed:
                await session.execute(
                    update(OutboxRecord)
                    .where(_id_in(session, [r.id for r in failed]))
                    .values(attempts=OutboxRecord.attempts + 1)
                    .execution_options(synchronize_session=False)
                )

    def _count_marked(self, published: Sequence[OutboxRow], failed: Sequence[OutboxRow]) -> None:
        for (topic, event_type), count in Counter(
            (row.topic, row.event_type) for row in published
        ).items():
            metrics.EVENTS_PUBLISHED.labels(topic=topic, event_type=event_type, **self._labels).inc(
                count
            )
        for topic, count in Counter(row.topic for row in failed).items():
            metrics.PUBLISH_FAILURES.labels(topic=topic, **self._labels).inc(count)
        if log.isEnabledFor(logging.DEBUG):
            for row in published:
                log.debug(
                    "event published",
                    extra={
                        "event_id": row.event_id,
                        "event_type": row.event_type,
                        "topic": row.topic,
                        "key": row.partition_key,
                    },
                )

    async def _housekeeping(self) -> None:
        """Refresh the backlog gauges; hourly, delete rows published past the retention."""
        async with transaction(self.sessions) as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxRecord.created_at)).where(
                        OutboxRecord.published_at.is_(None)
                    )
                )
            ).one()
            now = _utcnow()
            self._set_gauges(count, (now - as_utc(oldest)).total_seconds() if oldest else 0.0)
            if now - self._last_cleanup > timedelta(hours=1):
                self._last_cleanup = now
                horizon = now - timedelta(hours=self.settings.relay_retention_hours)
                await session.execute(
                    delete(OutboxRecord).where(
                        OutboxRecord.published_at.is_not(None), OutboxRecord.published_at < horizon
                    )
                )

    def _gauges_due(self) -> bool:
        return _utcnow() - self._gauges_at >= timedelta(seconds=GAUGE_INTERVAL_S)

    def _set_gauges(self, backlog: int, oldest_age_s: float) -> None:
        self._gauges_at = _utcnow()
        metrics.OUTBOX_BACKLOG.labels(**self._labels).set(backlog)
        metrics.OUTBOX_OLDEST_AGE.labels(**self._labels).set(oldest_age_s)


def _id_in(
    session: AsyncSession, ids: Sequence[int], *, negate: bool = False
) -> ColumnElement[bool]:
    """``id IN ids`` (or ``NOT IN``): one array parameter on PostgreSQL, a list elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam("ids", list(ids), type_=ARRAY(BigInteger()))
        return OutboxRecord.id != all_(array) if negate else OutboxRecord.id == any_(array)
    return OutboxRecord.id.not_in(ids) if negate else OutboxRecord.id.in_(ids)


class _Keyed(Protocol):
    @property
    def partition_key(self) -> str: ...


Row = TypeVar("Row", bound=_Keyed)


def _published_prefixes(
    rows: Sequence[Row], outcomes: Sequence[Outcome], blocked: set[str] | None = None
) -> tuple[list[Row], list[Row]]:
    """Split rows into those to mark published and those to retry.

    A row counts as published only if it and every earlier row of the same aggregate (in
    the batch, and in the batches before it whose ``blocked`` keys are passed in) were
    acknowledged; otherwise it is sent again, after the earlier one. ``blocked`` is updated
    with the aggregates of the rows to retry.
    """
    blocked = set() if blocked is None else blocked
    published: list[Row] = []
    failed: list[Row] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome is None and row.partition_key not in blocked:
            published.append(row)
        else:
            blocked.add(row.partition_key)
            failed.append(row)
    return published, failed
