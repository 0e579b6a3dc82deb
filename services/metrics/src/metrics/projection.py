"""Projections: each inbound event updates one entity's state and adds the difference of its
contributions to the per-area measure ledger, for every area on its path, on the day the
change takes effect. Nothing is recomputed from all entities.

Ordering rules, so that late, repeated or out-of-order events cannot corrupt a projection:

- snapshot events with a ``version`` (households, residents, facilities) are applied only when
  newer than the stored state; an older state arriving late is ignored;
- kinds without versions (communities, workers, organisations, volunteers, hours entries) are
  ordered by their own dates: an appointment that starts before the stored one, or a second
  registration of the same id, changes nothing;
- a change takes effect on its business date (a facility's opening or closing day, a move's
  day, a death's day …) or, for state updates without one, on the day of the event's time in
  the service's time zone; never before the stored state's own first day.

Days are business days, so a replay of the same events gives the same ledger in any
interleaving of topics (integer sums commute).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from metrics.adapters import store
from metrics.adapters.tables import (
    AreaLineage,
    AreaProjection,
    EntityProjection,
    decode_attributes,
)
from metrics.domain.measures import Catalogue, CompiledMeasure, measure_key
from metrics.domain.sources import ROOM_PURPOSES
from shared.contracts import casework, eldercare
from shared.contracts import employment as jobs
from shared.contracts.registry import (
    GRASSROOTS_LEVELS,
    AreaCreated,
    AreaRetired,
    AreasMerged,
    AreaSplit,
    FacilityClosed,
    FacilityState,
    HouseholdMoved,
    HouseholdRegistered,
    OrganisationRegistered,
    ResidentDied,
    ResidentLeft,
    ResidentState,
    ServiceHoursLogged,
    VolunteerRegistered,
    WorkerAppointed,
    WorkerLeft,
)
from shared.paths import path_ids, path_text

ONE_DAY = timedelta(days=1)


@dataclass
class Effects:
    """What applying one event changed, for the snapshots and target statuses."""

    deltas: dict[store.LedgerKey, int] = field(default_factory=lambda: defaultdict(int))
    touched: dict[tuple[str, str], set[date]] = field(default_factory=lambda: defaultdict(set))
    created_areas: set[str] = field(default_factory=set)
    retired_areas: set[str] = field(default_factory=set)
    created_targets: set[str] = field(default_factory=set)

    def touch(self, indicator_id: str, area_id: str, day: date) -> None:
        """Mark an indicator's value in an area as changed from ``day`` on."""
        self.touched[(indicator_id, area_id)].add(day)

    def absorb(self, other: Effects) -> None:
        """Add what another event changed (a batch collects its events' effects)."""
        for key, delta in other.deltas.items():
            self.deltas[key] += delta
        for pair, days in other.touched.items():
            self.touched[pair] |= days
        self.created_areas |= other.created_areas
        self.retired_areas |= other.retired_areas
        self.created_targets |= other.created_targets


@dataclass(slots=True)
class NewEntity:
    """An entity state new in a batch: a plain object, inserted by :func:`write_new` (the
    ORM's instrumented constructor and attributes cost more than applying the event)."""

    entity_type: str
    entity_id: str
    community_id: str
    path: str
    version: int | None
    active: bool
    since: date
    ended_on: date | None
    attributes: str

    def attribute_values(self) -> dict[str, Any]:
        """The attributes, dates parsed back from ISO strings."""
        return decode_attributes(self.attributes)


Stored = EntityProjection | NewEntity
"""An entity's state as the projection reads and changes it."""

_ENTITIES = "metrics.entities"
"""Key of the session's entity cache in ``session.info`` (see :func:`prefetch`)."""

_NEW_ENTITIES = "metrics.new_entities"
"""Key of the batch's new entity rows in ``session.info``, inserted at once by
:func:`write_new`."""

_ABSENT_AREAS = "metrics.absent_areas"
"""Key of the batch's areas not stored yet in ``session.info`` (see :func:`prefetch_areas`)."""

EntityKey = tuple[str, str]
"""(entity type, entity id)."""


async def prefetch(session: AsyncSession, keys: Iterable[EntityKey]) -> None:
    """Load the stored states of ``keys`` in one query per kind and remember which do not
    exist, so applying a batch reads no entity twice and never asks for a missing one."""
    cache: dict[EntityKey, Stored | None] = session.info.setdefault(_ENTITIES, {})
    wanted = sorted(set(keys) - set(cache))
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, entity_id in wanted:
        by_kind[kind].append(entity_id)
    for rows in await store.entities(session, by_kind):
        cache[(rows.entity_type, rows.entity_id)] = rows
    for key in wanted:
        cache.setdefault(key, None)


async def prefetch_areas(session: AsyncSession, area_ids: Iterable[str]) -> None:
    """Load the areas a batch creates or retires in one query and remember which are not
    stored, so creating one asks the database nothing more."""
    wanted = set(area_ids)
    found = await store.areas_by_id(session, wanted)
    session.info.setdefault(_ABSENT_AREAS, set()).update(wanted - found.keys())


async def stored_area(session: AsyncSession, area_id: str) -> AreaProjection | None:
    """An area's row (None without a query when the batch's prefetch found none)."""
    absent: set[str] | None = session.info.get(_ABSENT_AREAS)
    if absent is not None and area_id in absent:
        return None
    return await session.get(AreaProjection, area_id)


def add_area(session: AsyncSession, row: AreaProjection) -> None:
    """Add a new area row to the session (so it is no longer absent)."""
    session.add(row)
    absent: set[str] | None = session.info.get(_ABSENT_AREAS)
    if absent is not None:
        absent.discard(row.area_id)


def forget(session: AsyncSession) -> None:
    """Drop the session's entity cache, unwritten new rows and absent areas (the batch is
    over)."""
    session.info.pop(_ENTITIES, None)
    session.info.pop(_NEW_ENTITIES, None)
    session.info.pop(_ABSENT_AREAS, None)


async def write_new(session: AsyncSession) -> None:
    """Insert the batch's new entity rows in one statement (``COPY`` on PostgreSQL), in their
    final state: the ORM's flush of thousands of new objects costs several times more."""
    new: list[NewEntity] = session.info.pop(_NEW_ENTITIES, [])
    await store.insert_entities(session, new)


async def entity(session: AsyncSession, kind: str, entity_id: str) -> Stored | None:
    """The stored state of one entity (from the batch's cache when prefetched)."""
    cache: dict[EntityKey, Stored | None] | None = session.info.get(_ENTITIES)
    if cache is not None and (kind, entity_id) in cache:
        return cache[(kind, entity_id)]
    row = await session.get(EntityProjection, (kind, entity_id))
    if cache is not None:
        cache[(kind, entity_id)] = row
    return row


def keep(session: AsyncSession, row: NewEntity) -> None:
    """Keep a new entity state: in a prefetched batch, in its cache and among the rows
    :func:`write_new` inserts once the batch is applied (later events of the batch change
    the same object); otherwise added to the session as an ORM row."""
    cache: dict[EntityKey, Stored | None] | None = session.info.get(_ENTITIES)
    if cache is None:
        session.add(EntityProjection(**store.entity_columns(row)))
        return
    cache[(row.entity_type, row.entity_id)] = row
    session.info.setdefault(_NEW_ENTITIES, []).append(row)


@dataclass(frozen=True)
class State:
    """The state of one entity as an event tells it."""

    kind: str
    entity_id: str
    community_id: str
    path: list[str]
    attributes: dict[str, Any]
    active: bool
    effective: date
    start: date | None = None
    ended_on: date | None = None
    version: int | None = None


def _json(attributes: Mapping[str, Any]) -> str:
    return json.dumps(
        attributes, sort_keys=True, default=lambda v: v.isoformat() if isinstance(v, date) else v
    )


class Projector:
    """Applies registry (and own) events to the projection tables and the ledger."""

    def __init__(self, catalogue: Catalogue, zone: ZoneInfo) -> None:
        self.catalogue = catalogue
        self.zone = zone
        self._measures: dict[str, list[CompiledMeasure]] = {}
        """Entity kind → the measures kept for it (the catalogue builds the list anew)."""
        self._readers: dict[str, list[str]] = defaultdict(list)
        """Measure key → the indicators reading it."""
        self._key_readers: dict[str, tuple[str, ...]] = {}
        """Ledger key (a measure's, or its year of birth's) → the indicators reading it."""
        for indicator in catalogue.indicators.values():
            for compiled in indicator.measures:
                if indicator.id not in self._readers[compiled.key]:
                    self._readers[compiled.key].append(indicator.id)

    def day_of(self, moment: datetime) -> date:
        """The day of an instant in the service's time zone."""
        return moment.astimezone(self.zone).date()

    # -- ledger ------------------------------------------------------------------------------

    def _contributions(self, kind: str, attributes: Mapping[str, Any]) -> dict[str, int]:
        found = {}
        measures = self._measures.get(kind)
        if measures is None:
            measures = self._measures[kind] = self.catalogue.measures_of(kind)
        for measure in measures:
            value = measure.contribution(attributes)
            key = measure.ledger_key(attributes)
            if value and key is not None:
                found[key] = value
        return found

    def _add(
        self,
        effects: Effects,
        *,
        path: list[str],
        contributions: Mapping[str, int],
        day: date,
        sign: int,
    ) -> None:
        for measure, value in contributions.items():
            for area in path:
                effects.deltas[(area, measure, day)] += sign * value

    async def flush(self, session: AsyncSession, effects: Effects) -> None:
        """Write the ledger deltas and mark the indicators they change as touched."""
        self.mark(effects)
        await store.add_to_ledger(session, effects.deltas)

    def mark(self, effects: Effects) -> None:
        """Mark the indicators the event's (non-zero) ledger deltas change as touched."""
        touched = effects.touched
        readers = self._key_readers
        for (area, key, day), delta in effects.deltas.items():
            if delta:
                found = readers.get(key)
                if found is None:
                    found = readers[key] = tuple(self._readers.get(measure_key(key), ()))
                for indicator_id in found:
                    touched[(indicator_id, area)].add(day)

    def _touch_shares(self, effects: Effects, path: list[str], day: date) -> None:
        for indicator in self.catalogue.share_indicators():
            for area in path:
                effects.touch(indicator.id, area, day)

    # -- generic entity states ---------------------------------------------------------------

    async def apply_state(self, session: AsyncSession, state: State, effects: Effects) -> bool:
        """Apply a versioned (or first) state; False when it is older than the stored one."""
        row = await entity(session, state.kind, state.entity_id)
        if (
            row is not None
            and state.version is not None
            and row.version is not None
            and state.version <= row.version
        ):
            return False
        new = self._contributions(state.kind, state.attributes) if state.active else {}
        if row is None:
            first = state.start or state.effective
            if state.active:
                self._add(effects, path=state.path, contributions=new, day=first, sign=1)
                since = first
            else:
                since = state.ended_on or state.effective
                if state.start is not None and since > state.start:
                    lived = self._contributions(state.kind, state.attributes)
                    self._add(
                        effects, path=state.path, contributions=lived, day=state.start, sign=1
                    )
                    self._add(effects, path=state.path, contributions=lived, day=since, sign=-1)
            keep(
                session,
                NewEntity(
                    entity_type=state.kind,
                    entity_id=state.entity_id,
                    community_id=state.community_id,
                    path=path_text(state.path),
                    version=state.version,
                    active=state.active,
                    since=since,
                    ended_on=state.ended_on,
                    attributes=_json(state.attributes),
                ),
            )
            return True
        day = max(state.effective, row.since)
        if row.active:
            old = self._contributions(state.kind, row.attribute_values())
            self._add(effects, path=list(path_ids(row.path)), contributions=old, day=day, sign=-1)
        self._add(effects, path=state.path, contributions=new, day=day, sign=1)
        row.community_id = state.community_id
        row.path = path_text(state.path)
        row.version = state.version
        row.active = state.active
        row.since = day
        row.ended_on = state.ended_on
        row.attributes = _json(state.attributes)
        return True

    async def apply_fact(
        self,
        session: AsyncSession,
        *,
        kind: str,
        fact_id: str,
        community_id: str,
        path: list[str],
        day: date,
        attributes: dict[str, Any],
        effects: Effects,
    ) -> None:
        """Record a fact of ``day``; the same id again replaces the earlier record."""
        row = await entity(session, kind, fact_id)
        encoded = _json(attributes)
        if row is not None:
            if row.attributes == encoded and row.since == day and row.path == path_text(path):
                return
            old = self._contributions(kind, row.attribute_values())
            self._add(
                effects, path=list(path_ids(row.path)), contributions=old, day=row.since, sign=-1
            )
            row.community_id, row.path = community_id, path_text(path)
            row.since, row.attributes = day, encoded
        else:
            keep(
                session,
                NewEntity(
                    entity_type=kind,
                    entity_id=fact_id,
                    community_id=community_id,
                    path=path_text(path),
                    version=None,
                    active=True,
                    since=day,
                    ended_on=None,
                    attributes=encoded,
                ),
            )
        new = self._contributions(kind, attributes)
        self._add(effects, path=path, contributions=new, day=day, sign=1)

    async def apply_once(self, session: AsyncSession, state: State, effects: Effects) -> None:
        """Register an entity that is only ever registered (a repeat changes nothing)."""
        if await entity(session, state.kind, state.entity_id) is None:
            await self.apply_state(session, state, effects)

    async def apply_dated(self, session: AsyncSession, state: State, effects: Effects) -> None:
        """Apply a state of an entity without versions, ordered by its own dates: ``start``
        for a (re)start, ``ended_on`` for an end."""
        row = await entity(session, state.kind, state.entity_id)
        if row is None:
            if state.active:
                await self.apply_state(session, state, effects)
            else:  # the end arrived first: a tombstone remembers it
                keep(
                    session,
                    NewEntity(
                        entity_type=state.kind,
                        entity_id=state.entity_id,
                        community_id=state.community_id,
                        path=path_text(state.path),
                        version=None,
                        active=False,
                        since=state.ended_on or state.effective,
                        ended_on=state.ended_on,
                        attributes=_json({}),
                    ),
                )
            return
        stored = row.attribute_values()
        if state.active:
            start = state.start or state.effective
            if row.active:
                if start >= row.since:
                    await self.apply_state(session, state, effects)
                return
            ended = row.ended_on or row.since
            if start >= ended:  # a new start after the stored end
                row.ended_on = None
                await self.apply_state(session, state, effects)
                row.since = start
            elif not stored:  # the start of the lifetime whose end came first
                lived = self._contributions(state.kind, state.attributes)
                self._add(effects, path=state.path, contributions=lived, day=start, sign=1)
                self._add(effects, path=state.path, contributions=lived, day=ended, sign=-1)
                row.attributes = _json(state.attributes)
                row.since = start
            return
        end = state.ended_on or state.effective
        if row.active and end > row.since:
            old = self._contributions(state.kind, stored)
            self._add(effects, path=list(path_ids(row.path)), contributions=old, day=end, sign=-1)
            row.active = False
            row.ended_on = end

    # -- areas -------------------------------------------------------------------------------

    async def area_created(self, session: AsyncSession, p: AreaCreated, effects: Effects) -> None:
        """Record an area; a community also counts as an entity from its first day."""
        row = await stored_area(session, p.area_id)
        if row is None:
            row = AreaProjection(area_id=p.area_id)
            add_area(session, row)
        row.level, row.name, row.path = p.level, p.name, path_text(p.path)
        row.parent_id, row.kind, row.household_count = p.parent_id, p.kind, p.household_count
        row.valid_from = p.valid_from
        effects.created_areas.add(p.area_id)
        if p.level not in GRASSROOTS_LEVELS:
            # its shares could not be computed before its row existed (partitions interleave)
            self._touch_shares(effects, [p.area_id], p.valid_from)
            return
        state = State(
            kind="community",
            entity_id=p.area_id,
            community_id=p.area_id,
            path=p.path,
            attributes={"kind": p.kind, "household_count": p.household_count},
            active=True,
            effective=p.valid_from,
            start=p.valid_from,
        )
        await self.apply_dated(session, state, effects)
        self._touch_shares(effects, p.path, p.valid_from)

    async def area_retired(self, session: AsyncSession, p: AreaRetired, effects: Effects) -> None:
        """Mark an area retired after ``valid_to``; a community stops counting the next day."""
        row = await stored_area(session, p.area_id)
        if row is None:  # retired before its creation arrived: keep what we know
            row = AreaProjection(
                area_id=p.area_id, level=p.level, name=p.area_id, path=path_text(p.path)
            )
            add_area(session, row)
        row.valid_to, row.retire_reason = p.valid_to, p.reason
        row.successor_ids = json.dumps(sorted(p.successor_ids))
        effects.retired_areas.add(p.area_id)
        if p.level not in GRASSROOTS_LEVELS:
            return
        end = p.valid_to + ONE_DAY
        state = State(
            kind="community",
            entity_id=p.area_id,
            community_id=p.area_id,
            path=p.path,
            attributes={},
            active=False,
            effective=end,
            ended_on=end,
        )
        await self.apply_dated(session, state, effects)
        self._touch_shares(effects, p.path, end)

    async def areas_merged(self, session: AsyncSession, p: AreasMerged) -> None:
        """Remember which communities the merged one came from (its lineage)."""
        await self._lineage(session, p.into_id, p.merged_ids)

    async def area_split(self, session: AsyncSession, p: AreaSplit) -> None:
        """Remember which community each new one came from."""
        for into in p.into_ids:
            await self._lineage(session, into, [p.area_id])

    async def _lineage(self, session: AsyncSession, area_id: str, sources: list[str]) -> None:
        for source in sources:
            if await session.get(AreaLineage, (area_id, source)) is None:
                session.add(AreaLineage(area_id=area_id, predecessor_id=source))

    # -- households, residents ---------------------------------------------------------------

    async def household(
        self,
        session: AsyncSession,
        p: HouseholdRegistered | HouseholdMoved,
        effects: Effects,
    ) -> None:
        """A household registered in, or moved to, a community."""
        if isinstance(p, HouseholdRegistered):
            community, path, day = p.community_id, p.path, p.registered_on
        else:
            community, path, day = p.to_community_id, p.to_path, p.moved_on
        state = State(
            kind="household",
            entity_id=p.household_id,
            community_id=community,
            path=path,
            attributes={},
            active=True,
            effective=day,
            version=p.version,
        )
        await self.apply_state(session, state, effects)

    async def resident(
        self, session: AsyncSession, p: ResidentState, day: date, effects: Effects
    ) -> None:
        """A resident's new state; a change of employment status is also recorded as a fact."""
        ended: date | None
        match p:
            case ResidentDied():
                active, effective, ended = False, p.died_on, p.died_on
            case ResidentLeft():
                active, effective, ended = False, p.left_on, p.left_on
            case _:
                active, effective, ended = True, day, None
        attributes = {
            "sex": p.sex,
            "birth_year": p.birth_year,
            "age_band": p.age_band,
            "registration": p.registration,
            "employment_status": p.employment_status,
            "disabled": p.disabled,
            "flags": sorted(p.flags),
        }
        before = await entity(session, "resident", p.resident_id)
        previous = before.attribute_values() if before is not None and before.active else None
        applied = await self.apply_state(
            session,
            State(
                kind="resident",
                entity_id=p.resident_id,
                community_id=p.community_id,
                path=p.path,
                attributes=attributes,
                active=active,
                effective=effective,
                ended_on=ended,
                version=p.version,
            ),
            effects,
        )
        if not (applied and active and previous is not None):
            return
        if previous.get("employment_status") != p.employment_status:
            await self.apply_fact(
                session,
                kind="employment_change",
                fact_id=f"{p.resident_id}:{p.version}",
                community_id=p.community_id,
                path=p.path,
                day=max(effective, before.since if before else effective),
                attributes={
                    "from_status": previous.get("employment_status"),
                    "to_status": p.employment_status,
                    "sex": p.sex,
                    "age_band": p.age_band,
                    "registration": p.registration,
                },
                effects=effects,
            )

    # -- facilities --------------------------------------------------------------------------

    async def facility(
        self, session: AsyncSession, p: FacilityState, day: date, effects: Effects
    ) -> None:
        """A facility's new state; open from ``opened_on`` to the day before ``closed_on``."""
        areas = dict.fromkeys(ROOM_PURPOSES, 0.0)
        for room in p.rooms:
            areas[room.purpose] += room.area_m2
        attributes: dict[str, Any] = {
            "kind": p.kind,
            "total_area_m2": p.total_area_m2,
            "opened_on": p.opened_on,
            **{f"room_area.{purpose}": round(area, 2) for purpose, area in areas.items()},
        }
        closed = isinstance(p, FacilityClosed)
        state = State(
            kind="facility",
            entity_id=p.facility_id,
            community_id=p.community_id,
            path=p.path,
            attributes=attributes,
            active=not closed,
            effective=p.closed_on if isinstance(p, FacilityClosed) else max(day, p.opened_on),
            start=p.opened_on,
            ended_on=p.closed_on if isinstance(p, FacilityClosed) else None,
            version=p.version,
        )
        await self.apply_state(session, state, effects)

    # -- workers, organisations, volunteers, hours ------------------------------------------

    async def worker(
        self, session: AsyncSession, p: WorkerAppointed | WorkerLeft, effects: Effects
    ) -> None:
        """A worker appointed (from ``appointed_on``) or leaving (after ``left_on``)."""
        if isinstance(p, WorkerAppointed):
            state = State(
                kind="worker",
                entity_id=p.worker_id,
                community_id=p.community_id,
                path=p.path,
                attributes={
                    "role": p.role,
                    "appointment": p.appointment,
                    "education": p.education,
                    "birth_year": p.birth_year,
                    "sex": p.sex,
                    "cross_appointed": p.cross_appointed,
                    "appointed_on": p.appointed_on,
                },
                active=True,
                effective=p.appointed_on,
                start=p.appointed_on,
            )
        else:
            end = p.left_on + ONE_DAY
            state = State(
                kind="worker",
                entity_id=p.worker_id,
                community_id=p.community_id,
                path=p.path,
                attributes={},
                active=False,
                effective=end,
                ended_on=end,
            )
        await self.apply_dated(session, state, effects)

    async def organisation(
        self, session: AsyncSession, p: OrganisationRegistered, effects: Effects
    ) -> None:
        """A social organisation registered with a community."""
        state = State(
            kind="organisation",
            entity_id=p.organisation_id,
            community_id=p.community_id,
            path=p.path,
            attributes={
                "kind": p.kind,
                "member_count": p.member_count,
                "registered_on": p.registered_on,
            },
            active=True,
            effective=p.registered_on,
        )
        await self.apply_once(session, state, effects)

    async def volunteer(
        self, session: AsyncSession, p: VolunteerRegistered, effects: Effects
    ) -> None:
        """A volunteer registered with a community."""
        state = State(
            kind="volunteer",
            entity_id=p.volunteer_id,
            community_id=p.community_id,
            path=p.path,
            attributes={
                "resident": p.resident_id is not None,
                "in_team": p.organisation_id is not None,
                "registered_on": p.registered_on,
            },
            active=True,
            effective=p.registered_on,
        )
        await self.apply_once(session, state, effects)

    async def hours(self, session: AsyncSession, p: ServiceHoursLogged, effects: Effects) -> None:
        """Service hours on the day served (an entry logged again replaces the first)."""
        await self.apply_fact(
            session,
            kind="service_hours",
            fact_id=p.entry_id,
            community_id=p.community_id,
            path=p.path,
            day=p.served_on,
            attributes={"hours": p.hours},
            effects=effects,
        )

    # -- eldercare ---------------------------------------------------------------------------

    async def elder(
        self,
        session: AsyncSession,
        p: eldercare.ElderState | eldercare.CareLevelChanged,
        day: date,
        effects: Effects,
    ) -> None:
        """An elder's roster state (events of one elder arrive in order: they share a key);
        the care level is kept across states that do not carry it."""
        before = await entity(session, "elder", p.resident_id)
        stored = before.attribute_values() if before is not None else {}
        if isinstance(p, eldercare.CareLevelChanged):
            if before is None or not before.active:
                return
            attributes = {**stored, "care_level": p.care_level}
            active, effective, ended = True, p.changed_on, None
        else:
            attributes = {
                "sex": p.sex,
                "birth_year": p.birth_year,
                "care_level": stored.get("care_level", -1),
                "disabled": p.disabled,
                "living_alone": p.living_alone,
                "empty_nest": p.empty_nest,
            }
            match p:
                case eldercare.ElderDeceased():
                    active, effective, ended = False, p.died_on, p.died_on
                case eldercare.ElderLeft():
                    active, effective, ended = False, p.left_on, p.left_on
                case eldercare.ElderEnrolled():
                    active, effective, ended = True, max(p.enrolled_on, day), None
                case _:
                    active, effective, ended = True, day, None
        state = State(
            kind="elder",
            entity_id=p.resident_id,
            community_id=p.community_id,
            path=p.path,
            attributes=attributes,
            active=active,
            effective=effective,
            ended_on=ended,
        )
        await self.apply_state(session, state, effects)

    async def placement(
        self, session: AsyncSession, p: eldercare.PlacementFacts, day: date, effects: Effects
    ) -> None:
        """A placement waiting, active or ended (a placement's events arrive in order)."""
        match p:
            case eldercare.PlacementRequested() if p.waiting_position is not None:
                status, active, effective, ended = "waiting", True, p.requested_on, None
            case eldercare.PlacementStarted():
                status, active, effective, ended = "active", True, p.started_on, None
            case eldercare.PlacementEnded():
                status, active, effective, ended = "ended", False, p.ended_on, p.ended_on
            case _:
                return
        state = State(
            kind="care_placement",
            entity_id=p.placement_id,
            community_id=p.community_id,
            path=p.path,
            attributes={"kind": p.kind, "status": status},
            active=active,
            effective=max(effective, day) if active else effective,
            ended_on=ended,
        )
        await self.apply_state(session, state, effects)

    async def entitlement_granted(
        self, session: AsyncSession, p: eldercare.EntitlementGranted, effects: Effects
    ) -> None:
        """An entitlement granted, on the day granted."""
        days = (p.granted_on - p.due_on).days
        await self.apply_fact(
            session,
            kind="entitlement_granted",
            fact_id=p.entitlement_id,
            community_id=p.community_id,
            path=p.path,
            day=p.granted_on,
            attributes={"kind": p.kind, "days_after_due": days, "within_30_days": days <= 30},
            effects=effects,
        )

    async def visit(
        self,
        session: AsyncSession,
        p: eldercare.VisitCompleted | eldercare.VisitMissed,
        day: date,
        effects: Effects,
    ) -> None:
        """A visit's outcome (one fact per visit: a late completion stays missed)."""
        missed = isinstance(p, eldercare.VisitMissed) or p.checked_in_at > p.window_end
        await self.apply_fact(
            session,
            kind="visit_outcome",
            fact_id=p.visit_id,
            community_id=p.community_id,
            path=p.path,
            day=day,
            attributes={"service": p.service, "missed": missed},
            effects=effects,
        )

    async def subsidy(
        self, session: AsyncSession, p: eldercare.SubsidyPaid, effects: Effects
    ) -> None:
        """A ledger line of a subsidy, on the day paid."""
        await self.apply_fact(
            session,
            kind="subsidy_payment",
            fact_id=p.payment_id,
            community_id=p.community_id,
            path=p.path,
            day=p.paid_on,
            attributes={"kind": p.kind, "amount_yuan": p.amount_fen / 100},
            effects=effects,
        )

    # -- employment --------------------------------------------------------------------------

    async def employment_fact(
        self, session: AsyncSession, p: EmploymentFact, effects: Effects
    ) -> None:
        """An employment fact on the day it happened: a seeker registered, a placement made, a
        seeker re-employed (the 3-month retention check passed), a loan disbursed or
        defaulted. ``laid_off`` and ``priority`` come from the seeker's priority groups."""
        kind, fact_id = employment_fact_key(p)
        attributes: dict[str, Any] = {}
        match p:
            case jobs.SeekerRegistered():
                day = p.registered_on
                groups = p.priority_groups
            case jobs.PlacementMade():
                day, groups = p.started_on, p.priority_groups
                attributes["vacancy_kind"] = p.vacancy_kind
            case jobs.Reemployed():
                day, groups = p.reemployed_on, p.priority_groups
                attributes["vacancy_kind"] = p.vacancy_kind
            case jobs.LoanDisbursed():
                day, groups = p.disbursed_on, []
                attributes["amount_yuan"] = p.amount_fen / 100
            case jobs.LoanDefaulted():
                day, groups = p.defaulted_on, []
                attributes["amount_yuan"] = p.outstanding_fen / 100
        if not isinstance(p, jobs.LoanDisbursed | jobs.LoanDefaulted):
            attributes |= {
                "priority_groups": sorted(groups),
                "priority": bool(groups),
                "laid_off": "laid_off" in groups,
            }
        await self.apply_fact(
            session,
            kind=kind,
            fact_id=fact_id,
            community_id=p.community_id,
            path=p.path,
            day=day,
            attributes=attributes,
            effects=effects,
        )

    # -- casework ----------------------------------------------------------------------------

    async def case_fact(
        self,
        session: AsyncSession,
        p: casework.CaseClosed | casework.CaseRated | casework.CaseOverdue | casework.CaseDelegated,
        day: date,
        effects: Effects,
    ) -> None:
        """A casework fact on the day it happened; its id is the case and version, so a
        reopened case closing (or rated) again is a new fact, and a redelivery replaces it."""
        attributes: dict[str, Any] = {"matter_type": p.matter_code, "department": p.department}
        match p:
            case casework.CaseClosed():
                kind, day = "case_closed", p.closed_on
                attributes |= {
                    "within_time_limit": p.within_time_limit,
                    "working_days_used": p.working_days_used,
                    "delegated": p.delegated,
                    "reopened": p.reopened,
                }
            case casework.CaseRated():
                kind = "case_rated"
                attributes |= {"rating": p.rating, "satisfied": p.rating >= 4}
            case casework.CaseOverdue():
                kind = "case_overdue"
            case casework.CaseDelegated():
                kind = "case_delegated"
        await self.apply_fact(
            session,
            kind=kind,
            fact_id=case_fact_id(p),
            community_id=p.community_id,
            path=p.path,
            day=day,
            attributes=attributes,
            effects=effects,
        )


EmploymentFact = (
    jobs.SeekerRegistered
    | jobs.PlacementMade
    | jobs.Reemployed
    | jobs.LoanDisbursed
    | jobs.LoanDefaulted
)
"""The employment events metrics records as facts."""


def employment_fact_key(p: EmploymentFact) -> EntityKey:
    """The fact an employment event records: its kind and id (one per seeker, placement or
    loan, so a redelivery replaces it)."""
    match p:
        case jobs.SeekerRegistered():
            return ("jobseeker_registered", p.seeker_id)
        case jobs.PlacementMade():
            return ("job_placement", p.placement_id)
        case jobs.Reemployed():
            return ("reemployment", p.placement_id)
        case jobs.LoanDisbursed():
            return ("loan_disbursed", p.loan_id)
        case jobs.LoanDefaulted():
            return ("loan_defaulted", p.loan_id)


def case_fact_id(p: casework.CaseEvent) -> str:
    """The id of the fact a casework event records: its case and the case's version."""
    return f"{p.case_id}@{p.version}"
