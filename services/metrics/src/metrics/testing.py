"""Test support for the metrics service: registry event builders for a small city, and a
harness that applies events in-process (inbox, projections, snapshots, statuses) without a
broker. Used by the service's tests and the end-to-end tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from metrics.adapters import events
from metrics.adapters.tables import TargetStatusRow
from metrics.bootstrap import prepare
from metrics.consumers import subscription
from metrics.domain.measures import Catalogue
from metrics.projection import Projector
from metrics.tracking import Tracker
from shared.consumer import ParsedEvent, record_and_apply
from shared.contracts import CONTRACTS, CloudEvent, EventPayload
from shared.contracts.registry import (
    AreaCreated,
    FacilityClosed,
    FacilityOpened,
    FacilityUpdated,
    ResidentRegistered,
    Room,
    VolunteerRegistered,
    WorkerAppointed,
)
from shared.db import create_engine, session_factory, transaction
from shared.migrations import upgrade
from shared.unit_of_work import UnitOfWork, unit_of_work

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE_ROOMS = ("office", "public_service", "police")


@dataclass(frozen=True)
class City:
    """A city with districts, one street per district and communities under each street.

    ``communities[district]`` lists the community ids of that district's street; household
    counts default to 1500.
    """

    city: str
    districts: Mapping[str, Sequence[str]]
    valid_from: date = date(2005, 1, 1)
    households: Mapping[str, int] = field(default_factory=dict)

    def street(self, district: str) -> str:
        """The id of a district's street."""
        return f"{district}s"

    def path(self, community: str) -> list[str]:
        """The path of a community."""
        for district, communities in self.districts.items():
            if community in communities:
                return [self.city, district, self.street(district), community]
        raise KeyError(community)

    def area_events(self) -> list[AreaCreated]:
        """``AreaCreated`` for every area, parents first."""
        events = [
            AreaCreated(
                area_id=self.city,
                level="city",
                name=f"City {self.city}",
                parent_id=None,
                path=[self.city],
                valid_from=self.valid_from,
            )
        ]
        for district, communities in self.districts.items():
            street = self.street(district)
            events.append(
                AreaCreated(
                    area_id=district,
                    level="district",
                    name=f"District {district}",
                    parent_id=self.city,
                    path=[self.city, district],
                    valid_from=self.valid_from,
                )
            )
            events.append(
                AreaCreated(
                    area_id=street,
                    level="street",
                    name=f"Street {street}",
                    parent_id=district,
                    path=[self.city, district, street],
                    valid_from=self.valid_from,
                )
            )
            for community in communities:
                events.append(
                    AreaCreated(
                        area_id=community,
                        level="community",
                        name=f"Community {community}",
                        parent_id=street,
                        path=[self.city, district, street, community],
                        valid_from=self.valid_from,
                        kind="residential",
                        household_count=self.households.get(community, 1500),
                    )
                )
        return events


def facility(
    city: City,
    facility_id: str,
    community: str,
    *,
    rooms: Mapping[str, float],
    kind: str = "office",
    opened_on: date = date(2006, 3, 1),
    version: int = 1,
    closed_on: date | None = None,
    updated: bool = False,
) -> FacilityOpened | FacilityUpdated | FacilityClosed:
    """A facility event: opened (version 1), updated, or closed when ``closed_on`` is given."""
    state: dict[str, Any] = {
        "facility_id": facility_id,
        "community_id": community,
        "path": city.path(community),
        "kind": kind,
        "rooms": [Room(purpose=p, area_m2=a) for p, a in rooms.items()],
        "total_area_m2": round(sum(rooms.values()), 2),
        "opened_on": opened_on,
        "version": version,
    }
    if closed_on is not None:
        return FacilityClosed(**state, closed_on=closed_on)
    if updated or version > 1:
        return FacilityUpdated(**state)
    return FacilityOpened(**state)


def resident(
    city: City,
    resident_id: str,
    community: str,
    *,
    registration: str = "registered",
    employment_status: str = "employed",
    version: int = 1,
) -> ResidentRegistered:
    """A resident registered in a community."""
    return ResidentRegistered(
        resident_id=resident_id,
        household_id=f"h-{resident_id}",
        community_id=community,
        path=city.path(community),
        sex="female",
        birth_year=1970,
        age_band="50-59",
        registration=registration,
        employment_status=employment_status,
        disabled=False,
        flags=[],
        version=version,
    )


def volunteer(city: City, volunteer_id: str, community: str, *, on: date) -> VolunteerRegistered:
    """A volunteer registered with a community."""
    return VolunteerRegistered(
        volunteer_id=volunteer_id,
        resident_id=None,
        community_id=community,
        path=city.path(community),
        organisation_id=None,
        registered_on=on,
    )


def worker(
    city: City,
    worker_id: str,
    community: str,
    *,
    birth_year: int,
    cross_appointed: bool = False,
    on: date = date(2005, 6, 1),
) -> WorkerAppointed:
    """A committee member appointed in a community."""
    return WorkerAppointed(
        worker_id=worker_id,
        community_id=community,
        path=city.path(community),
        role="committee_member",
        appointment="elected",
        education="college",
        birth_year=birth_year,
        sex="male",
        cross_appointed=cross_appointed,
        appointed_on=on,
    )


def envelope(
    payload: EventPayload, *, aggregate_id: str | None = None, at: datetime | None = None
) -> CloudEvent:
    """The CloudEvent of a payload, at ``at`` (default now)."""
    key = aggregate_id or _aggregate_id(payload)
    event = CONTRACTS.new_event(payload, aggregate_id=key)
    return event.model_copy(update={"time": at}) if at is not None else event


def _aggregate_id(payload: EventPayload) -> str:
    for name in (
        "facility_id",
        "resident_id",
        "household_id",
        "worker_id",
        "volunteer_id",
        "organisation_id",
        "area_id",
        "target_id",
    ):
        value = getattr(payload, name, None)
        if isinstance(value, str):
            return value
    raise ValueError(f"no aggregate id in {type(payload).__name__}")


def at_noon(day: date) -> datetime:
    """Noon of ``day`` in Shanghai, as an aware instant."""
    return datetime.combine(day, time(12), tzinfo=SHANGHAI).astimezone(UTC)


class Harness:
    """The metrics projections on a database of their own, fed events in-process."""

    def __init__(
        self,
        database_url: str,
        catalogue: Catalogue,
        *,
        today: date,
        window_days: int = 365,
        publish: bool = True,
    ) -> None:
        self.database_url = database_url
        self.today = today
        self.engine: AsyncEngine = create_engine(database_url)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self.projector = Projector(catalogue, SHANGHAI)
        self.tracker = Tracker(
            catalogue,
            zone=SHANGHAI,
            window_days=window_days,
            publish=publish,
            clock=self._today,
        )
        self.handlers = subscription(self.projector, self.tracker)

    def _today(self) -> date:
        return self.today

    async def start(self) -> Harness:
        """Migrate and load the catalogue's measures and targets."""
        await asyncio.to_thread(upgrade, "metrics", self.database_url)
        async with unit_of_work(self.sessions, translate=events.translate) as uow:
            await prepare(uow, catalogue=self.projector.catalogue, tracker=self.tracker)
        return self

    async def close(self) -> None:
        """Dispose of the engine."""
        await self.engine.dispose()

    async def send(self, *events: CloudEvent | EventPayload, at: datetime | None = None) -> int:
        """Apply events once each, each in a transaction of its own, through the consumer
        runtime's inbox step (:func:`shared.consumer.record_and_apply`: a repeated id is
        skipped); how many were applied. Payloads are wrapped at ``at``, by default noon of
        the harness's today."""
        applied = 0
        for item in events:
            moment = at or at_noon(self.today)
            event = item if isinstance(item, CloudEvent) else envelope(item, at=moment)
            payload = CONTRACTS.parse_payload(event)
            async with transaction(self.sessions) as session:
                (new,) = await record_and_apply(
                    session,
                    consumer="metrics",
                    subscription=self.handlers,
                    events=[ParsedEvent(event, payload)],
                )
            applied += new
        return applied

    async def send_batch(
        self, *events: CloudEvent | EventPayload, at: datetime | None = None
    ) -> int:
        """Apply events as one batch, in one transaction, as the live consumer applies what
        one poll returns; how many were applied (a repeated id is skipped)."""
        moment = at or at_noon(self.today)
        parsed = []
        for item in events:
            event = item if isinstance(item, CloudEvent) else envelope(item, at=moment)
            parsed.append(ParsedEvent(event, CONTRACTS.parse_payload(event)))
        async with transaction(self.sessions) as session:
            applied = await record_and_apply(
                session, consumer="metrics", subscription=self.handlers, events=parsed
            )
        return sum(applied)

    async def run(self, fn: Callable[[AsyncSession], Any]) -> Any:
        """Run ``fn(session)`` in a transaction and return its (awaited) result."""
        async with transaction(self.sessions) as session:
            return await fn(session)

    async def command(self, fn: Callable[[UnitOfWork], Any]) -> Any:
        """Run ``fn(uow)`` in a unit of work (its events go to the outbox as it commits) and
        return its (awaited) result."""
        async with unit_of_work(self.sessions, translate=events.translate) as uow:
            return await fn(uow)

    async def status(self, target_id: str, area_id: str) -> TargetStatusRow | None:
        """A target's stored evaluation in an area."""
        async with self.sessions() as session:
            return await session.scalar(
                select(TargetStatusRow).where(
                    TargetStatusRow.target_id == target_id, TargetStatusRow.area_id == area_id
                )
            )


def office_rooms(total: float) -> dict[str, float]:
    """Rooms counting towards the ≥ 300 m² rule, adding up to ``total``."""
    share = round(total / len(OFFICE_ROOMS), 2)
    rooms = dict.fromkeys(OFFICE_ROOMS, share)
    rooms[OFFICE_ROOMS[0]] = round(total - share * (len(OFFICE_ROOMS) - 1), 2)
    return rooms


async def publish(bootstrap: str, *events: CloudEvent) -> None:
    """Send events to their contracts' topics, keyed by aggregate, like a relay would."""
    from shared.kafka import new_producer
    from shared.settings import ServiceSettings

    settings = ServiceSettings(service_name="test-publisher", kafka_bootstrap_servers=bootstrap)
    producer = new_producer(settings)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                CONTRACTS.by_type(event.type).topic,
                value=event.to_json_bytes(),
                key=event.partitionkey.encode(),
                headers=event.kafka_headers(),
            )
    finally:
        await producer.stop()


async def eventually(
    check: Callable[[], Any], *, timeout_s: float = 60.0, interval_s: float = 0.2
) -> Any:
    """Await ``check()`` until it returns something truthy (returned) or time runs out (the
    last AssertionError, or a TimeoutError, is raised)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            result = await check()
            if result:
                return result
            failure: BaseException = TimeoutError(f"no result after {timeout_s}s")
        except AssertionError as exc:
            failure = exc
        if asyncio.get_running_loop().time() > deadline:
            raise failure
        await asyncio.sleep(interval_s)
