"""Outbox relay: publishes committed outbox events to Kafka, in commit order per aggregate.

One relay per service publishes at a time: replicas compete for a lease row
(``relay_lease``) that the holder renews; when it stops renewing, another takes over after
``relay_lease_ttl_s``. Delivery is at least once: a relay that dies after sending and before
marking a batch published sends it again when it (or another) resumes, and consumers
de-duplicate by event id. Records of one aggregate share a Kafka key, hence a partition; they
are sent in outbox order, and a record is marked published only if every earlier record of
its aggregate in the batch was, so a failure never lets a later event overtake an earlier one
in the outbox's view. While the broker is down, writes keep succeeding (they only touch the
database); the relay backs off and drains the backlog once the broker is back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, func, or_, select, update
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
SentHook = Callable[[Sequence[OutboxRecord]], Awaitable[None]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


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
        self._labels = {"service": settings.service_name}

    # -- lifecycle -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set, surviving broker and database outages."""
        backoff = self.settings.relay_poll_interval_s
        try:
            while not stop.is_set():
                try:
                    published = await self.publish_batch()
                    backoff = self.settings.relay_poll_interval_s
                    if published:
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
        """Publish the oldest unpublished events if this instance leads; return how many."""
        if not await self.hold_lease():
            return 0
        async with transaction(self.sessions) as session:
            rows = list(
                (
                    await session.scalars(
                        select(OutboxRecord)
                        .where(OutboxRecord.published_at.is_(None))
                        .order_by(OutboxRecord.id)
                        .limit(self.settings.relay_batch_size)
                    )
                ).all()
            )
        await self._housekeeping()
        if not rows:
            return 0
        producer = await self._producer_started()
        outcomes = await self._send(producer, rows)
        if self._on_sent is not None:
            await self._on_sent(rows)
        published, failed = _published_prefixes(rows, outcomes)
        await self._mark(published, failed)
        for row in published:
            metrics.EVENTS_PUBLISHED.labels(
                topic=row.topic, event_type=row.event_type, **self._labels
            ).inc()
            log.debug(
                "event published",
                extra={
                    "event_id": row.event_id,
                    "event_type": row.event_type,
                    "topic": row.topic,
                    "key": row.partition_key,
                },
            )
        if failed:
            first_error = next(o for o in outcomes if isinstance(o, BaseException))
            raise RuntimeError(
                f"{len(failed)} of {len(rows)} events not published"
            ) from first_error
        return len(published)

    async def _send(
        self, producer: AIOKafkaProducer, rows: Sequence[OutboxRecord]
    ) -> list[BaseException | None]:
        """Send every row in order; each outcome is None (acknowledged) or the error."""
        pending: list[asyncio.Future[Any]] = []
        outcomes: list[BaseException | None] = []
        for row in rows:
            try:
                pending.append(
                    await producer.send(
                        row.topic,
                        value=row.payload.encode(),
                        key=row.partition_key.encode(),
                        headers=_headers(row),
                    )
                )
            except Exception as exc:  # could not even enqueue: the rest waits for next cycle
                outcomes = [*(await _settle(pending)), *([exc] * (len(rows) - len(pending)))]
                return outcomes
        return await _settle(pending)

    async def _mark(
        self, published: Sequence[OutboxRecord], failed: Sequence[OutboxRecord]
    ) -> None:
        async with transaction(self.sessions) as session:
            if published:
                await session.execute(
                    update(OutboxRecord)
                    .where(OutboxRecord.id.in_([r.id for r in published]))
                    .values(published_at=_utcnow(), attempts=OutboxRecord.attempts + 1)
                )
            if failed:
                await session.execute(
                    update(OutboxRecord)
                    .where(OutboxRecord.id.in_([r.id for r in failed]))
                    .values(attempts=OutboxRecord.attempts + 1)
                )
                for row in failed:
                    metrics.PUBLISH_FAILURES.labels(topic=row.topic, **self._labels).inc()

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
            metrics.OUTBOX_BACKLOG.labels(**self._labels).set(count)
            age = (now - as_utc(oldest)).total_seconds() if oldest else 0.0
            metrics.OUTBOX_OLDEST_AGE.labels(**self._labels).set(age)
            if now - self._last_cleanup > timedelta(hours=1):
                self._last_cleanup = now
                horizon = now - timedelta(hours=self.settings.relay_retention_hours)
                await session.execute(
                    delete(OutboxRecord).where(
                        OutboxRecord.published_at.is_not(None), OutboxRecord.published_at < horizon
                    )
                )


def _headers(row: OutboxRecord) -> list[tuple[str, bytes]]:
    source = "/services/" + row.topic.split(".", 1)[0]  # topics are <service>.<aggregate>.events
    return kafka_headers(event_id=row.event_id, event_type=row.event_type, source=source)


async def _settle(futures: Sequence[asyncio.Future[Any]]) -> list[BaseException | None]:
    results = await asyncio.gather(*futures, return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]


def _published_prefixes(
    rows: Sequence[OutboxRecord], outcomes: Sequence[BaseException | None]
) -> tuple[list[OutboxRecord], list[OutboxRecord]]:
    """Split rows into those to mark published and those to retry.

    A row counts as published only if it and every earlier row of the same aggregate in the
    batch were acknowledged; otherwise it is sent again, after the earlier one.
    """
    blocked: set[str] = set()
    published: list[OutboxRecord] = []
    failed: list[OutboxRecord] = []
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome is None and row.partition_key not in blocked:
            published.append(row)
        else:
            blocked.add(row.partition_key)
            failed.append(row)
    return published, failed
