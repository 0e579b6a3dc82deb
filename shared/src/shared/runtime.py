"""Composition root support: one object holding a service's engine, relay and consumer.

A service's ``app.py`` builds a :class:`ServiceRuntime` and passes ``runtime.lifespan`` to
:func:`shared.http.create_app`. Tests override parts by passing their own settings (database
URL, broker) or by building the runtime with ``relay_hook`` etc.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.consumer import EventConsumer, Subscription
from shared.contracts import CONTRACTS, ContractRegistry
from shared.db import create_engine, ping, session_factory
from shared.kafka import BrokerProbe
from shared.migrations import upgrade
from shared.relay import OutboxRelay
from shared.settings import ServiceSettings

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
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(
        cls,
        settings: ServiceSettings,
        *,
        subscription: Subscription | None = None,
        contracts: ContractRegistry = CONTRACTS,
    ) -> ServiceRuntime:
        """Wire engine, sessions, relay (for the service's own topics) and consumer."""
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
        return cls(settings, engine, sessions, relay, consumer, BrokerProbe(settings))

    async def start(self) -> None:
        """Migrate (if configured) and start the relay and consumer tasks."""
        if self.settings.migrate_on_start:
            await asyncio.to_thread(
                upgrade, self.settings.service_name, self.settings.resolved_database_url()
            )
        self._stop.clear()
        if self.settings.relay_enabled:
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop), name="relay"))
        if self.consumer is not None and self.settings.consumer_enabled:
            self._tasks.append(asyncio.create_task(self.consumer.run(self._stop), name="consumer"))

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
