"""Unit of work: one transaction that carries a change and the events it caused.

The write side of every service follows one pattern (``docs/architecture.md``):

1. a use case takes a :class:`UnitOfWork` and changes entities through the domain;
2. the domain *records* what happened as domain events: plain dataclasses that know nothing of
   Kafka or CloudEvents, kept by the entity in its ``events`` list (:class:`RecordsEvents`,
   handed to :meth:`UnitOfWork.track`) or returned by a domain function and handed over
   with :meth:`UnitOfWork.record`;
3. when the unit commits, it collects every new domain event
   (:meth:`UnitOfWork.collect_new_events`), maps each to its integration event with the
   service's :data:`EventTranslator`, writes the outbox rows and commits, all in one
   transaction. A rolled-back unit leaves neither the change nor an event.

Use cases never touch :mod:`shared.outbox` themselves; only this module does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol, cast

from sqlalchemy import event as orm_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from shared import outbox
from shared.contracts import CONTRACTS, ContractRegistry, EventPayload
from shared.contracts.core import EventDocument

log = logging.getLogger(__name__)

DomainEvent = Any
"""Any object a domain records: by convention a frozen dataclass named in the past tense."""

IntegrationEvent = tuple[EventPayload, str]
"""An integration payload and the id of its aggregate (the partition key)."""

EventTranslator = Callable[[DomainEvent], IntegrationEvent | Iterable[IntegrationEvent] | None]
"""Maps one domain event to zero, one or several integration events (a service's adapter)."""


class RecordsEvents(Protocol):
    """An entity (aggregate) that records the domain events of its changes in ``events``, in
    the order they happened: ``self.events.append(FacilityOpened(...))``."""

    events: list[Any]


class UnitOfWork:
    """A database session in one transaction plus the domain events recorded in it.

    Built by the command runner (:mod:`shared.commands`), a consumer or a job, never by a use
    case. ``session`` is the transaction's session, for repositories and queries.
    """

    def __init__(
        self,
        session: AsyncSession,
        *,
        translate: EventTranslator,
        contracts: ContractRegistry = CONTRACTS,
    ) -> None:
        self.session = session
        self._translate = translate
        self._contracts = contracts
        self._events: list[DomainEvent] = []
        self._aggregates: list[RecordsEvents] = []
        self._documents: list[EventDocument] = []
        """Outbox documents written ahead (:meth:`write_ahead`), published before the rest."""

    def record(self, *events: DomainEvent) -> None:
        """Hand over domain events that a domain function returned (in the order they
        happened)."""
        self._events.extend(events)

    def track(self, *aggregates: RecordsEvents) -> None:
        """Collect the events these aggregates record until the unit commits."""
        for aggregate in aggregates:
            if not any(aggregate is seen for seen in self._aggregates):
                self._aggregates.append(aggregate)

    def collect_new_events(self) -> Iterator[DomainEvent]:
        """Every domain event recorded since the last collection, in order; forgets them."""
        while self._events or any(aggregate.events for aggregate in self._aggregates):
            events, self._events = self._events, []
            for aggregate in self._aggregates:
                events.extend(aggregate.events)
                aggregate.events.clear()
            yield from events

    def integration_events(self) -> list[IntegrationEvent]:
        """The integration events of the collected domain events, in order."""
        return self._translated(self.collect_new_events())

    def _translated(self, events: Iterable[DomainEvent]) -> list[IntegrationEvent]:
        found: list[IntegrationEvent] = []
        for domain_event in events:
            translated = self._translate(domain_event)
            if translated is None:
                continue
            if isinstance(translated, tuple) and isinstance(translated[0], EventPayload):
                found.append((translated[0], str(translated[1])))
            else:
                found.extend(cast(Iterable[IntegrationEvent], translated))
        return found

    def write_ahead(self, step: int = 100) -> Iterator[None]:
        """Translate the events collected so far and write their outbox documents now,
        ``step`` events at a time, pausing after each step: CPU work a bulk use case does
        while its statements wait on the database (see :func:`shared.db.while_awaiting`).
        The documents are published at commit, before the events collected after them."""
        events = list(self.collect_new_events())
        for start in range(0, len(events), step):
            pending = self._translated(events[start : start + step])
            if pending:
                self._documents.extend(self._contracts.new_documents(pending))
            yield

    def nested(self) -> UnitOfWork:
        """A unit for a savepoint of this transaction (same session, translator and
        contracts): what it records joins this unit only through :meth:`adopt`."""
        return UnitOfWork(self.session, translate=self._translate, contracts=self._contracts)

    def adopt(self, unit: UnitOfWork) -> None:
        """Take over the events and documents of a :meth:`nested` unit whose savepoint
        committed, after this unit's own (so the outbox keeps the order they happened in)."""
        if unit._documents:
            for _ in self.write_ahead():
                pass
            self._documents.extend(unit._documents)
            unit._documents = []
        self.record(*unit.collect_new_events())

    async def publish_collected(self, *, along: outbox.Along | None = None) -> int:
        """Write the outbox rows of every collected event (and of those written ahead) in this
        transaction; return how many. Called by whoever owns the transaction, right before it
        commits. ``along``: a statement of the owner's own to run with the rows (one round trip
        for both when it can, see :func:`shared.outbox.add_documents`), run even without rows."""
        pending = self.integration_events()
        documents, self._documents = self._documents, []
        if pending:
            documents.extend(self._contracts.new_documents(pending))
        if not documents and along is None:
            return 0
        await outbox.add_documents(self.session, documents, contracts=self._contracts, along=along)
        return len(documents)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the transaction has committed (never after a rollback):
        for effects outside the database, such as refreshing in-process gauges."""

        def committed(_session: Session) -> None:
            callback()

        orm_event.listen(self.session.sync_session, "after_commit", committed, once=True)

    async def flush(self) -> None:
        """Flush pending ORM changes (to read generated values or surface constraint errors)."""
        await self.session.flush()


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
    *,
    translate: EventTranslator,
    contracts: ContractRegistry = CONTRACTS,
) -> AsyncIterator[UnitOfWork]:
    """Open a session, begin, yield a unit of work; on normal exit publish its events to the
    outbox and commit, on an exception roll back (for jobs, consumers and scripts)."""
    async with sessions() as session, session.begin():
        uow = UnitOfWork(session, translate=translate, contracts=contracts)
        yield uow
        await uow.publish_collected()


Translations = Mapping[type, Callable[[Any], IntegrationEvent | Iterable[IntegrationEvent] | None]]
"""Domain event class → the function mapping its instances (one table per adapter module)."""


def translator(*tables: Translations) -> EventTranslator:
    """One :data:`EventTranslator` from the translation tables of a service's adapters; an
    event of a class no table names is a wiring error (``TypeError``)."""
    combined: dict[type, Callable[[Any], Any]] = {}
    for table in tables:
        for event_class, mapping in table.items():
            if event_class in combined:
                raise ValueError(f"{event_class.__name__} is translated twice")
            combined[event_class] = mapping

    def translate(event: DomainEvent) -> IntegrationEvent | Iterable[IntegrationEvent] | None:
        found = combined.get(type(event))
        if found is None:
            raise TypeError(f"no integration event for {type(event).__name__}")
        result: IntegrationEvent | Iterable[IntegrationEvent] | None = found(event)
        return result

    return translate


def no_events(event: DomainEvent) -> IntegrationEvent | None:
    """Translator of a service that publishes nothing: a recorded event is a wiring error."""
    raise TypeError(f"this service publishes no integration event for {type(event).__name__}")


__all__ = [
    "DomainEvent",
    "EventTranslator",
    "IntegrationEvent",
    "RecordsEvents",
    "Translations",
    "UnitOfWork",
    "no_events",
    "translator",
    "unit_of_work",
]
