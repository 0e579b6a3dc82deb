"""Composition root support: one object holding a service's engine, relay, consumer and jobs.

A service's ``app.py`` builds a :class:`ServiceRuntime`, adds its own steps, and passes
``runtime.lifespan`` to :func:`shared.http.create_app`. Start-up runs in a fixed order:

1. migrate the database once (when ``migrate_on_start``);
2. the service's start-up steps (:meth:`ServiceRuntime.on_start`), e.g. loading catalogues;
3. background tasks: the outbox relay, the consumer, the platform's periodic jobs (purging
   expired ``Idempotency-Key`` records) and the service's own (:meth:`ServiceRuntime.add_task`,
   :meth:`ServiceRuntime.every`), and the writer of the audit rows of reads
   (:mod:`shared.audit_reads`). The settings ``relay_enabled``, ``consumer_enabled`` and
   ``jobs_enabled`` (periodic jobs only) switch them off, so that separate processes can run
   the API, the relay and the consumer.

Shut-down stops the tasks (10 s grace) and closes the engine. Effects that must wait for a
commit are registered on the unit of work (:meth:`shared.unit_of_work.UnitOfWork.after_commit`).
Tests override parts by passing their own settings (database URL, broker).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared import idempotency
from shared.asyncutil import sleep_unless
from shared.audit_reads import ReadRecorder
from shared.collector import tune_collector
from shared.consumer import EventConsumer, Subscription
from shared.contracts import CONTRACTS, ContractRegistry
from shared.db import create_engine, ping, session_factory, transaction
from shared.kafka import BrokerProbe
from shared.migrations import upgrade
from shared.relay import OutboxRelay
from shared.settings import ServiceSettings
from shared.unit_of_work import EventTranslator, no_events

StartStep = Callable[["ServiceRuntime"], Awaitable[None]]
"""A start-up step: runs after migrations, before any background task."""
Task = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
"""A background task: runs until the event is set."""

log = logging.getLogger(__name__)


@dataclass
class ServiceRuntime:
    """Everything a running service holds besides its HTTP routes."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    relay: OutboxRelay
    consumer: EventConsumer | None
    broker_probe: BrokerProbe
    translate: EventTranslator = no_events
    contracts: ContractRegistry = CONTRACTS
    _start_steps: list[StartStep] = field(default_factory=list)
    _task_factories: dict[str, Task] = field(default_factory=dict)
    _periodic_jobs: set[str] = field(default_factory=set)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    read_recorder: ReadRecorder = field(init=False)
    """Writes the audit rows of reads in batches (:mod:`shared.audit_reads`)."""

    def __post_init__(self) -> None:
        self.read_recorder = ReadRecorder(self.sessions)

    @classmethod
    def build(
        cls,
        settings: ServiceSettings,
        *,
        subscription: Subscription | None = None,
        translate: EventTranslator = no_events,
        contracts: ContractRegistry = CONTRACTS,
    ) -> ServiceRuntime:
        """Wire engine, sessions, relay (for the service's own topics) and consumer.

        ``translate`` maps the service's domain events to integration events for its units of
        work (:mod:`shared.unit_of_work`); a service that publishes nothing leaves it out.
        """
        engine = create_engine(settings.resolved_database_url(), echo=settings.database_echo)
        sessions = session_factory(engine)
        own_topics = sorted({c.topic for c in contracts if c.service == settings.service_name})
        relay = OutboxRelay(settings=settings, sessions=sessions, topics=own_topics)
        consumer = (
            EventConsumer(
                settings=settings,
                sessions=sessions,
                subscription=subscription,
                contracts=contracts,
            )
            if subscription is not None
            else None
        )
        runtime = cls(
            settings, engine, sessions, relay, consumer, BrokerProbe(settings), translate, contracts
        )
        runtime.every(
            "idempotency-purge", settings.idempotency_purge_interval_s, runtime.purge_idempotency
        )
        return runtime

    def on_start(self, step: StartStep) -> None:
        """Run ``step(runtime)`` at start-up, after migrations and before background tasks."""
        self._start_steps.append(step)

    def add_task(self, name: str, task: Task) -> None:
        """Run ``task(stop)`` in the background from start-up until shut-down."""
        if name in self._task_factories or name in ("relay", "consumer"):
            raise ValueError(f"a task named {name!r} is already registered")
        self._task_factories[name] = task

    def every(self, name: str, interval_s: float, job: Callable[[], Awaitable[object]]) -> None:
        """Run ``job()`` at start-up and then every ``interval_s`` seconds; a failure is logged
        and the next round retries (the database may be away)."""

        async def periodic(stop: asyncio.Event) -> None:
            while not stop.is_set():
                try:
                    await job()
                except Exception as exc:
                    log.warning("periodic job %s failed: %r", name, exc)
                await sleep_unless(stop, interval_s)

        self.add_task(name, periodic)
        self._periodic_jobs.add(name)

    async def purge_idempotency(self) -> int:
        """Delete expired ``Idempotency-Key`` records (a periodic platform job)."""
        async with transaction(self.sessions) as session:
            purged = await idempotency.purge_expired(session)
        if purged:
            log.info("purged expired idempotency records", extra={"count": purged})
        return purged

    async def migrate(self) -> None:
        """Upgrade the database to the service's newest migration."""
        await asyncio.to_thread(
            upgrade, self.settings.service_name, self.settings.resolved_database_url()
        )

    async def start(self) -> None:
        """Migrate (if configured), run the start-up steps, then start the background tasks
        (in a process whose garbage collector is tuned for throughput: :mod:`shared.collector`)."""
        tune_collector()
        if self.settings.migrate_on_start:
            await self.migrate()
        for step in self._start_steps:
            await step(self)
        self._stop.clear()
        if self.settings.relay_enabled:
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="relay"))
        if self.consumer is not None and self.settings.consumer_enabled:
            self._tasks.append(asyncio.create_task(self.consumer.run(self._stop), name="consumer"))
        for name, task in self._task_factories.items():
            if name in self._periodic_jobs and not self.settings.jobs_enabled:
                continue
            self._tasks.append(asyncio.create_task(task(self._stop), name=name))
        self._tasks.append(
            asyncio.create_task(self.read_recorder.run(self._stop), name="audit-reads")
        )

    async def stop(self) -> None:
        """Stop the background tasks (giving them 10 s to finish) and close the engine."""
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._tasks.clear()
        await self.engine.dispose()

    async def check_database(self) -> None:
        """Readiness check: the database answers."""
        await ping(self.engine)

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """FastAPI lifespan: start on entry, stop on exit; registers readiness checks."""
        app.state.runtime = self
        app.state.readiness_checks = {
            "database": self.check_database,
            "broker": self.broker_probe.check,
        }
        await self.start()
        try:
            yield
        finally:
            await self.stop()


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    async with _runtime(request).sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]
