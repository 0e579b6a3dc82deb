"""Rebuild every projection of the metrics service from the topics' beginning.

    python -m metrics.replay --database-url postgresql+asyncpg://…/metrics_rebuilt
    python -m metrics.replay --database-url … --compare postgresql+asyncpg://…/metrics

The replay migrates a fresh database, loads the catalogue, then reads every partition of every
topic the service subscribes to from offset 0 (assigned partitions, no consumer group, so the
live group's offsets are untouched) and applies them as the live consumer does, a poll's
records per transaction through the same batch handler: inbox, projections, ledger,
snapshots, target statuses. The next poll is read and parsed while one is applied; polls are
applied one at a time, in the order read. Status events are not published (they
were, live). Targets set through the API come back from their ``metrics.target.created``
events. Reading stops once every partition's end is reached and a poll brings nothing more.

``--compare`` dumps both databases' projection state (:func:`snapshot`) and exits 1 if they
differ. Kafka connection settings come from the environment (``KAFKA_*``), like the service's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import typer
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from metrics.adapters import events
from metrics.bootstrap import load_catalogue, prepare
from metrics.consumers import subscription
from metrics.projection import Projector
from metrics.settings import Settings
from metrics.tracking import Tracker
from shared.collector import tune_collector
from shared.consumer import ParsedEvent, Subscription, record_and_apply, topics_of
from shared.contracts import CONTRACTS, CloudEvent
from shared.db import create_engine, session_factory, transaction
from shared.migrations import upgrade
from shared.tables import InboxRecord
from shared.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
GROUP = "metrics"
BATCH = 1000
"""Records read per poll and applied in one transaction."""

SNAPSHOT_TABLES: dict[str, tuple[str, ...]] = {
    "area_projection": ("area_id",),
    "area_lineage": ("area_id", "predecessor_id"),
    "entity_projection": ("entity_type", "entity_id"),
    "measure_ledger": ("area_id", "measure", "day"),
    "measure_definition": ("key",),
    "target": ("id",),
    "target_status": ("target_id", "area_id"),
}
"""The projection tables a snapshot holds, with their keys (rows are sorted by them)."""

IGNORED_COLUMNS: dict[str, frozenset[str]] = {
    "target": frozenset({"created_by"}),
    "target_status": frozenset({"updated_at", "evaluated_on", "status_since"}),
}
"""Columns about *when* or *by whom* something was done, not what the events say."""


class ReplayError(Exception):
    """The replay cannot run (e.g. the target database is not fresh)."""


@dataclass
class ReplayResult:
    """What a replay read and applied."""

    records: int = 0
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    invalid: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    apply_seconds: float = 0.0
    """Parsing and applying the records, added up poll by poll (without migrating, loading
    the catalogue, waiting for polls and the final evaluation of every target; a poll is
    parsed while the one before is applied, so this can exceed their wall time)."""


async def _is_fresh(sessions: async_sessionmaker[AsyncSession]) -> bool:
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(InboxRecord))
        return not count


async def replay(
    settings: Settings,
    *,
    database_url: str,
    force: bool = False,
    idle_ms: int = 1500,
    timeout_s: float = 900.0,
) -> ReplayResult:
    """Rebuild the projections into ``database_url`` from the topics' beginning."""
    started = time.monotonic()
    await asyncio.to_thread(upgrade, settings.service_name, database_url)
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    result = ReplayResult()
    try:
        if not force and not await _is_fresh(sessions):
            raise ReplayError(
                "the database has applied events already; replay into a fresh one (or --force)"
            )
        catalogue = load_catalogue(settings)
        projector = Projector(catalogue, settings.zone)
        tracker = Tracker(
            catalogue,
            zone=settings.zone,
            window_days=settings.forecast_window_days,
            publish=False,
            deferred=True,  # every target is evaluated once, at the end
        )
        async with unit_of_work(sessions, translate=events.translate) as uow:
            await prepare(uow, catalogue=catalogue, tracker=tracker)
        handlers = subscription(projector, tracker)
        topics = topics_of(CONTRACTS, handlers.event_types)
        pending: asyncio.Task[None] | None = None  # the poll being applied
        try:
            async for records in _batches(settings, topics, idle_ms, timeout_s):
                began = time.monotonic()
                result.records += len(records)
                parsed = _parse(records, handlers, result)
                result.apply_seconds += time.monotonic() - began
                if pending is not None:
                    await pending
                pending = asyncio.create_task(_apply_parsed(sessions, parsed, handlers, result))
            if pending is not None:
                await pending
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.gather(pending, return_exceptions=True)
        result.apply_seconds = round(result.apply_seconds, 3)
        async with unit_of_work(sessions, translate=events.translate) as uow:
            await tracker.evaluate_all(uow)
    finally:
        await engine.dispose()
    result.seconds = round(time.monotonic() - started, 2)
    return result


async def _batches(
    settings: Settings, topics: Sequence[str], idle_ms: int, timeout_s: float
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """Every record of ``topics`` from offset 0, a poll's records at a time, per partition in
    offset order (partitions interleaved as the broker returns them), until every
    partition's end is reached and a poll brings nothing more."""
    consumer = AIOKafkaConsumer(
        **settings.kafka_client_options(), enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(topic, number)
            for topic in topics
            for number in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=idle_ms, max_records=BATCH)
            if batches:
                yield [
                    record
                    for partition in sorted(batches, key=lambda p: (p.topic, p.partition))
                    for record in batches[partition]
                ]
            positions = [await consumer.position(p) for p in partitions]
            reached = all(pos >= ends[p] for pos, p in zip(positions, partitions, strict=True))
            if not batches and reached:
                return
        raise ReplayError(f"reading the topics did not reach their end in {timeout_s:.0f}s")
    finally:
        await consumer.stop()


def _parse(
    records: Sequence[ConsumerRecord[bytes, bytes]], handlers: Subscription, result: ReplayResult
) -> list[tuple[str, ParsedEvent]]:
    """A poll's records as events of the subscription, each with where it was read; invalid
    records and events of other types are counted in ``result`` and left out."""
    parsed: list[tuple[str, ParsedEvent]] = []
    for record in records:
        where = f"{record.topic}/{record.partition}@{record.offset}"
        try:
            event = CloudEvent.model_validate_json(record.value or b"")
        except ValidationError:
            result.invalid.append(where)
            continue
        if event.type not in handlers.event_types:
            result.ignored += 1
            continue
        try:
            payload = CONTRACTS.parse_payload(event)
        except ValidationError:
            result.invalid.append(f"{where} ({event.id})")
            continue
        parsed.append((where, ParsedEvent(event, payload)))
    return parsed


async def _apply_parsed(
    sessions: async_sessionmaker[AsyncSession],
    parsed: Sequence[tuple[str, ParsedEvent]],
    handlers: Subscription,
    result: ReplayResult,
) -> None:
    """Apply a poll's events (:func:`_apply_batch`), adding the time to
    ``result.apply_seconds``."""
    if not parsed:
        return
    began = time.monotonic()
    try:
        await _apply_batch(sessions, parsed, handlers, result)
    finally:
        result.apply_seconds += time.monotonic() - began


async def _apply_batch(
    sessions: async_sessionmaker[AsyncSession],
    parsed: Sequence[tuple[str, ParsedEvent]],
    handlers: Subscription,
    result: ReplayResult,
) -> None:
    """Apply a poll's events in one transaction, through the live consumer's inbox step
    and batch handler (:func:`shared.consumer.record_and_apply`); if the batch fails, its
    events are applied one by one and a failing one is noted and skipped."""
    try:
        async with transaction(sessions) as session:
            applied = await record_and_apply(
                session, consumer=GROUP, subscription=handlers, events=[p for _, p in parsed]
            )
    except Exception as exc:
        if len(parsed) == 1:  # the live consumer dead-lettered it too, most likely
            where, item = parsed[0]
            log.error("replaying %s failed: %r", where, exc)
            result.failed.append(f"{where} ({item.event.id}): {exc!r}")
            return
        for where, item in parsed:
            await _apply_one(sessions, where, item, handlers, result)
        return
    result.applied += sum(applied)
    result.duplicates += len(applied) - sum(applied)


async def _apply_one(
    sessions: async_sessionmaker[AsyncSession],
    where: str,
    item: ParsedEvent,
    handlers: Subscription,
    result: ReplayResult,
) -> None:
    """Apply one event in a transaction of its own; a failure is noted and skipped."""
    try:
        async with transaction(sessions) as session:
            (applied,) = await record_and_apply(
                session, consumer=GROUP, subscription=handlers, events=[item]
            )
    except Exception as exc:
        log.error("replaying %s failed: %r", where, exc)
        result.failed.append(f"{where} ({item.event.id}): {exc!r}")
        return
    if applied:
        result.applied += 1
    else:
        result.duplicates += 1


# -- snapshots ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 9)
    return value


async def snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """The projection state of a metrics database as plain, sorted rows: every projection
    table (zero ledger rows left out), the applied event ids and the events count."""
    engine = create_engine(database_url, pooled=False)
    dump: dict[str, list[dict[str, Any]]] = {}
    try:
        async with engine.connect() as connection:
            for table, keys in SNAPSHOT_TABLES.items():
                ignored = IGNORED_COLUMNS.get(table, frozenset())
                result = await connection.execute(
                    text(f"SELECT * FROM {table} ORDER BY {', '.join(keys)}")
                )
                rows = [
                    {k: _plain(v) for k, v in row._mapping.items() if k not in ignored}
                    for row in result
                ]
                if table == "measure_ledger":
                    rows = [r for r in rows if r["delta"]]
                dump[table] = rows
            inbox = await connection.execute(
                text("SELECT event_id FROM inbox WHERE consumer = :c ORDER BY event_id"),
                {"c": GROUP},
            )
            dump["inbox"] = [{"event_id": row[0]} for row in inbox]
            state = await connection.execute(
                text("SELECT events_applied, last_event_time FROM projection_state")
            )
            dump["projection_state"] = [
                {"events_applied": r[0], "last_event_time": _plain(r[1])} for r in state
            ]
    finally:
        await engine.dispose()
    return dump


def differences(
    left: dict[str, list[dict[str, Any]]], right: dict[str, list[dict[str, Any]]]
) -> list[str]:
    """Human-readable differences between two snapshots (empty when equal)."""
    found: list[str] = []
    for table in sorted(set(left) | set(right)):
        a, b = left.get(table, []), right.get(table, [])
        if a == b:
            continue
        only_a = [r for r in a if r not in b]
        only_b = [r for r in b if r not in a]
        found.append(
            f"{table}: {len(a)} vs {len(b)} rows; only left: {json.dumps(only_a[:3], default=str)}"
            f"; only right: {json.dumps(only_b[:3], default=str)}"
        )
    return found


# -- command line ------------------------------------------------------------------------

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.command()
def main(
    database_url: str = typer.Option(..., "--database-url", help="Fresh database to rebuild."),
    compare: str | None = typer.Option(
        None, "--compare", help="Database URL of the live service to compare the result with."
    ),
    force: bool = typer.Option(False, "--force", help="Replay into a database with events."),
) -> None:
    """Rebuild the metrics projections from the topics' beginning."""
    settings = Settings()
    try:
        tune_collector()  # as a service process (shared.collector)
        result = asyncio.run(replay(settings, database_url=database_url, force=force))
    except ReplayError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"read {result.records} records in {result.seconds}s: {result.applied} applied, "
        f"{result.duplicates} duplicates, {result.ignored} of other types, "
        f"{len(result.invalid)} invalid, {len(result.failed)} failed"
    )
    for line in result.failed:
        typer.echo(f"  failed: {line}", err=True)
    code = 1 if result.failed else 0
    if compare:
        found = differences(asyncio.run(snapshot(compare)), asyncio.run(snapshot(database_url)))
        if found:
            typer.echo("The rebuilt projections differ from the live ones:", err=True)
            for line in found:
                typer.echo(f"  {line}", err=True)
            code = 1
        else:
            typer.echo("The rebuilt projections equal the live ones.")
    raise typer.Exit(code)


if __name__ == "__main__":
    cli()
