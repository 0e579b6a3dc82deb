"""Tables of households and residents; loading and saving the :class:`Household` and
:class:`Resident` entities; and the integration events of their domain events
(:data:`TRANSLATIONS`, wired into the service's translator by :mod:`registry.adapters.events`).

A resident's community id and path are copied from its household (and kept in step by every
move), so area-subtree filters are one prefix match on an indexed column. Special-group flags
are a bit mask (:data:`registry.domain.people.FLAG_BITS`), so "has these flags" is one
``mask & wanted = wanted`` test. The national id number is only stored encrypted, with a
keyed hash for look-up; the name and the address are stored and never published: the events
carry the fields of ``shared.contracts.registry.ResidentState``, ids and derived facts only.

The columns of an entity are those of its dataclass (:func:`resident_of`,
:func:`resident_columns`): the entity is the one list of a resident's fields.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    any_,
    bindparam,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from registry.adapters.base import Base
from registry.adapters.history import record_history
from registry.adapters.paths import path_ids, path_text
from registry.domain import people as domain
from registry.domain.people import (
    Household,
    HouseholdRef,
    Resident,
    SealedNationalId,
    age_on,
    band_of_age,
    flags_mask,
    flags_of,
)
from shared.contracts import registry as contracts
from shared.db import bulk_insert, insert_records, while_awaiting
from shared.errors import Conflict
from shared.reads import ReadRow
from shared.unit_of_work import IntegrationEvent, Translations

CHUNK = 1000
"""Ids per ``IN (…)`` query (bounded bind parameters)."""

# PostgreSQL only uses a b-tree for ``LIKE 'prefix%'`` under the C collation or with the
# pattern operator class; SQLite ignores the option.
_PREFIX_OPS = "varchar_pattern_ops"


class HouseholdRow(Base):
    """A household registered in a community (its address is never published)."""

    __tablename__ = "household"
    __table_args__ = (
        Index(
            "ix_household_community_path",
            "community_path",
            postgresql_ops={"community_path": _PREFIX_OPS},
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("area.id"), index=True)
    community_path: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    registered_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # Optimistic locking: an UPDATE only applies to the version it read (the use cases set
    # the new version, which their events carry).
    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy declares it an instance attribute
        "version_id_col": version,
        "version_id_generator": False,
    }


class ResidentRow(Base):
    """A resident of a household. ``status`` is ``alive``, ``dead`` or ``left``;
    ``permit_warned_for`` is the permit expiry a ``permit_expiring`` event was raised for."""

    __tablename__ = "resident"
    __table_args__ = (
        Index(
            "ix_resident_community_path",
            "community_path",
            postgresql_ops={"community_path": _PREFIX_OPS},
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    national_id_encrypted: Mapped[str] = mapped_column(String(200))
    national_id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    national_id_area_code: Mapped[str | None] = mapped_column(String(6))
    name: Mapped[str] = mapped_column(String(200))
    sex: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date] = mapped_column(Date, index=True)
    household_id: Mapped[str] = mapped_column(ForeignKey("household.id"), index=True)
    community_id: Mapped[str] = mapped_column(String(32), index=True)
    community_path: Mapped[str] = mapped_column(String(200))
    registration: Mapped[str] = mapped_column(String(16), index=True)
    permit_expires_on: Mapped[date | None] = mapped_column(Date, index=True)
    permit_warned_for: Mapped[date | None] = mapped_column(Date)
    employment_status: Mapped[str] = mapped_column(String(32), index=True)
    disabled: Mapped[bool] = mapped_column(Boolean)
    flags_mask: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), index=True)
    ended_on: Mapped[date | None] = mapped_column(Date)
    registered_on: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {  # noqa: RUF012 - SQLAlchemy declares it an instance attribute
        "version_id_col": version,
        "version_id_generator": False,
    }


# -- entities and rows ----------------------------------------------------------------------


def _copied(entity: type, row: type[Base]) -> tuple[str, ...]:
    """The fields of ``entity`` stored as they are, in a column of the same name."""
    columns = row.__table__.columns
    return tuple(item.name for item in fields(entity) if item.name in columns)


_HOUSEHOLD_COLUMNS = _copied(Household, HouseholdRow)
_RESIDENT_COLUMNS = _copied(Resident, ResidentRow)
_resident_copied = attrgetter(*_RESIDENT_COLUMNS)
"""A resident's values of :data:`_RESIDENT_COLUMNS`, in one call (a bulk import makes
thousands of rows)."""


def household_of(row: HouseholdRow) -> Household:
    """The entity of a stored household."""
    return Household(
        **{name: getattr(row, name) for name in _HOUSEHOLD_COLUMNS},
        path=path_ids(row.community_path),
    )


def household_columns(household: Household) -> dict[str, Any]:
    """The column values of a household (but its timestamps)."""
    values = {name: getattr(household, name) for name in _HOUSEHOLD_COLUMNS}
    values["community_path"] = path_text(household.path)
    return values


def resident_of(row: ResidentRow | ReadRow) -> Resident:
    """The entity of a stored resident (an ORM row, or a plain row of the same columns)."""
    return Resident(
        **{name: getattr(row, name) for name in _RESIDENT_COLUMNS},
        national_id=SealedNationalId(
            row.national_id_encrypted, row.national_id_hash, row.national_id_area_code
        ),
        path=path_ids(row.community_path),
        flags=tuple(flags_of(row.flags_mask)),
    )


_STORED_RESIDENT_COLUMNS = (
    *_RESIDENT_COLUMNS,
    "national_id_encrypted",
    "national_id_hash",
    "national_id_area_code",
    "community_path",
    "flags_mask",
)
"""The columns :func:`resident_record` fills, in its order."""
_NEW_RESIDENT_COLUMNS = (*_STORED_RESIDENT_COLUMNS, "permit_warned_for", "created_at", "updated_at")
"""The columns of a new resident's row, in the order :func:`insert_residents` builds it."""


def resident_record(resident: Resident) -> tuple[Any, ...]:
    """The column values of a resident (but its timestamps and the permit warning mark), in
    :data:`_STORED_RESIDENT_COLUMNS`' order."""
    number = resident.national_id
    return (
        *_resident_copied(resident),
        number.encrypted,
        number.lookup_hash,
        number.area_code,
        path_text(resident.path),
        flags_mask(resident.flags),
    )


def resident_columns(resident: Resident) -> dict[str, Any]:
    """The column values of a resident (but its timestamps and the permit warning mark)."""
    return dict(zip(_STORED_RESIDENT_COLUMNS, resident_record(resident), strict=True))


class PeopleStore:
    """The households and residents one unit of work reads and writes.

    It keeps every row it read or added until :meth:`save`, so each UPDATE checks the version
    that was read (optimistic locking: a concurrent change of the same version is a 409) even
    though the use case only holds the entity.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._rows: dict[int, tuple[Household | Resident, HouseholdRow | ResidentRow]] = {}
        self._historised: set[int] = set()

    async def household(self, household_id: str) -> Household | None:
        """A household, or None."""
        row = await self.session.get(HouseholdRow, household_id)
        return self._held(household_of(row), row) if row is not None else None

    async def households_in(
        self, community_id: str, household_ids: Sequence[str] | None = None
    ) -> list[Household]:
        """The households of a community by id (only ``household_ids`` when given)."""
        query = select(HouseholdRow).where(HouseholdRow.community_id == community_id)
        if household_ids is None:
            rows = list((await self.session.scalars(query.order_by(HouseholdRow.id))).all())
        else:
            rows = []
            for chunk in chunks(household_ids):
                rows.extend(
                    (await self.session.scalars(query.where(HouseholdRow.id.in_(chunk)))).all()
                )
            rows.sort(key=lambda row: row.id)
        return [self._held(household_of(row), row) for row in rows]

    async def resident(self, resident_id: str) -> Resident | None:
        """A resident (alive, dead or left), or None."""
        row = await self.session.get(ResidentRow, resident_id)
        return self._held(resident_of(row), row) if row is not None else None

    async def living_members(self, household_ids: Sequence[str]) -> dict[str, list[Resident]]:
        """The living residents of each household, by id."""
        members: dict[str, list[Resident]] = {}
        for chunk in chunks(household_ids):
            query = (
                select(ResidentRow)
                .where(ResidentRow.household_id.in_(chunk), ResidentRow.status == "alive")
                .order_by(ResidentRow.id)
            )
            for row in (await self.session.scalars(query)).all():
                members.setdefault(row.household_id, []).append(self._held(resident_of(row), row))
        return members

    def add(self, entity: Household | Resident) -> None:
        """A new household or resident, inserted at the next :meth:`save`."""
        now = datetime.now(UTC)
        row: HouseholdRow | ResidentRow
        if isinstance(entity, Household):
            row = HouseholdRow(**household_columns(entity), created_at=now, updated_at=now)
        else:
            row = ResidentRow(
                **resident_columns(entity), permit_warned_for=None, created_at=now, updated_at=now
            )
        self.session.add(row)
        self._held(entity, row)

    async def save(self) -> None:
        """Write every changed entity to its row, and the versions its events record to the
        history (:mod:`registry.adapters.history`), and flush, so a concurrent change of the
        same version is a :class:`Conflict` now; a duplicate id number raises
        ``IntegrityError``."""
        now = datetime.now(UTC)
        recorded = [
            event
            for entity, _ in self._rows.values()
            for event in entity.events
            if id(event) not in self._historised
        ]
        self._historised.update(id(event) for event in recorded)
        for entity, row in self._rows.values():
            if row.version != entity.version:
                columns = (
                    household_columns(entity)
                    if isinstance(entity, Household)
                    else resident_columns(entity)
                )
                for name, value in columns.items():
                    setattr(row, name, value)
                row.updated_at = now
        try:
            await self.session.flush()
        except StaleDataError:
            raise Conflict(
                "changed by another request at the same time; fetch it and retry"
            ) from None
        await record_history(self.session, recorded)

    def _held(self, entity: Any, row: Any) -> Any:
        self._rows[id(entity)] = (entity, row)
        return entity


@asynccontextmanager
async def key_lookups(session: AsyncSession) -> AsyncIterator[None]:
    """Look-ups of a bulk registration's keys (up to :data:`CHUNK` ids or hashes a query) go
    through their unique index on PostgreSQL: its planner estimates a thousand index probes
    dearer than a sequential scan of a table of up to a few hundred thousand rows (the scan
    hashes the keys), so each batch of an import read the whole table, and the import slowed
    with every row before it. The planner's sequential scans are off for the transaction
    while inside, and restored after (a failure inside leaves the transaction, or the
    savepoint, to be rolled back, which restores them)."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = await session.scalar(
        text("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
    )
    yield
    await session.execute(
        text("SELECT set_config('enable_seqscan', :before, true)"), {"before": before}
    )


async def household_refs(
    session: AsyncSession, household_ids: Iterable[str]
) -> dict[str, HouseholdRef]:
    """What residents take from each of these households that exists, by id."""
    found: dict[str, HouseholdRef] = {}
    query = select(HouseholdRow.id, HouseholdRow.community_id, HouseholdRow.community_path)
    for chunk, where in key_chunks(session, HouseholdRow.id, list(household_ids)):
        for household_id, community_id, path in await session.execute(query.where(where), chunk):
            found[household_id] = HouseholdRef(household_id, community_id, path_ids(path))
    return found


async def resident_id_by_hash(session: AsyncSession, lookup_hash: str) -> str | None:
    """The id of the resident whose national id number has this keyed hash, or None."""
    return await session.scalar(
        select(ResidentRow.id).where(ResidentRow.national_id_hash == lookup_hash)
    )


async def registered_residents(
    session: AsyncSession, lookup_hashes: Iterable[str]
) -> dict[str, Resident]:
    """The registered residents holding these keyed hashes, by hash."""
    registered: dict[str, Resident] = {}
    keys = list(set(lookup_hashes))
    for chunk, where in key_chunks(session, ResidentRow.national_id_hash, keys):
        for row in await session.scalars(select(ResidentRow).where(where), chunk):
            registered[row.national_id_hash] = resident_of(row)
    return registered


async def insert_residents(
    session: AsyncSession,
    residents: Sequence[Resident],
    *,
    meanwhile: Iterator[object] | None = None,
) -> None:
    """Insert new residents with one statement (a tuple per row, in
    :data:`_NEW_RESIDENT_COLUMNS`' order, copied as it is: building thousands of ORM
    instances, or dicts, costs more than inserting them), and their first versions with
    another; a duplicate raises ``IntegrityError``. ``meanwhile``: steps of CPU work done
    while the statements wait on the database (:func:`~shared.db.while_awaiting`)."""
    work = meanwhile if meanwhile is not None else iter(())
    now = datetime.now(UTC)
    records = [(*resident_record(resident), None, now, now) for resident in residents]
    table = ResidentRow.__table__
    await while_awaiting(
        insert_records(session, table, _NEW_RESIDENT_COLUMNS, records),  # type: ignore[arg-type]
        work,
    )
    events = [event for resident in residents for event in resident.events]
    await while_awaiting(record_history(session, events, new=True), work)


async def existing_households(
    session: AsyncSession, household_ids: Sequence[str]
) -> dict[str, Household]:
    """Each of these households that exists, by id (read only: not for saving)."""
    found: dict[str, Household] = {}
    for chunk, where in key_chunks(session, HouseholdRow.id, list(set(household_ids))):
        for row in await session.execute(select(HouseholdRow.__table__).where(where), chunk):
            found[row.id] = household_of(row)  # type: ignore[arg-type]
    return found


async def insert_households(
    session: AsyncSession,
    households: Sequence[Household],
    *,
    meanwhile: Iterator[object] | None = None,
) -> None:
    """Insert new households with one statement, and their first versions with another;
    ``meanwhile``: steps of CPU work done while the statements wait on the database (as
    :func:`insert_residents`)."""
    work = meanwhile if meanwhile is not None else iter(())
    now = datetime.now(UTC)
    rows = [
        {**household_columns(household), "created_at": now, "updated_at": now}
        for household in households
    ]
    await while_awaiting(
        bulk_insert(session, HouseholdRow.__table__, rows),  # type: ignore[arg-type]
        work,
    )
    events = [event for household in households for event in household.events]
    await while_awaiting(record_history(session, events, new=True), work)


async def mark_expiring_permits(
    session: AsyncSession, *, first: date, last: date
) -> list[domain.PermitExpiring]:
    """Mark the permits of living floating residents expiring from ``first`` to ``last`` that
    were not warned about yet (``permit_warned_for``: the expiry a warning was raised for, so
    a renewed permit can warn again) and say which, by resident id. One conditional
    ``UPDATE … RETURNING``: two replicas scanning at once mark each permit once."""
    statement = (
        update(ResidentRow)
        .where(
            ResidentRow.status == "alive",
            ResidentRow.registration == "floating",
            ResidentRow.permit_expires_on >= first,
            ResidentRow.permit_expires_on <= last,
            or_(
                ResidentRow.permit_warned_for.is_(None),
                ResidentRow.permit_warned_for != ResidentRow.permit_expires_on,
            ),
        )
        .values(permit_warned_for=ResidentRow.permit_expires_on)
        .returning(
            ResidentRow.id,
            ResidentRow.community_id,
            ResidentRow.community_path,
            ResidentRow.permit_expires_on,
        )
        .execution_options(synchronize_session=False)
    )
    warned = (await session.execute(statement)).all()
    return [
        domain.PermitExpiring(resident_id, community_id, path_ids(path), expires_on)
        for resident_id, community_id, path, expires_on in sorted(warned)
        if expires_on is not None  # always: the statement matches expiry dates
    ]


def chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    """``ids`` in slices of :data:`CHUNK`, for ``IN (…)`` queries."""
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def key_chunks(
    session: AsyncSession, column: InstrumentedAttribute[str], keys: Sequence[str]
) -> list[tuple[dict[str, Sequence[str]], ColumnElement[bool]]]:
    """``keys`` in slices of :data:`CHUNK`, each with the condition that ``column`` is one
    of them (its parameters first, the condition's ``keys`` parameter): ``= ANY`` of one
    array on PostgreSQL, whose statement is compiled once and goes through the index like
    ``IN``, where an ``IN`` list of a thousand keys made SQLAlchemy render a thousand
    parameters on every run (7 % of an import's time); an ``IN`` list elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        where = column == any_(bindparam("keys", type_=ARRAY(String)))
    else:
        where = column.in_(bindparam("keys", expanding=True))
    return [({"keys": chunk}, where) for chunk in chunks(keys)]


# -- integration events ---------------------------------------------------------------------

_STATE_COPIED = tuple(
    name
    for name in contracts.ResidentState.model_fields
    if name in {item.name for item in fields(Resident)}
)


_state_copied = attrgetter(*_STATE_COPIED)


def resident_state(resident: Resident, *, on: date) -> dict[str, Any]:
    """The fields of :class:`shared.contracts.registry.ResidentState` for ``resident``, with
    the age band and completed age on ``on``: ids and derived facts only, never the number,
    name or address."""
    state = dict(zip(_STATE_COPIED, _state_copied(resident), strict=True))
    age = age_on(resident.birth_date, on)
    state["resident_id"] = resident.id
    state["birth_year"] = resident.birth_date.year
    state["age_band"] = band_of_age(age)
    state["age"] = age
    state["age_on"] = on
    return state


def _household_registered(event: domain.HouseholdRegistered) -> IntegrationEvent:
    household = event.household
    payload = contracts.HouseholdRegistered(
        household_id=household.id,
        community_id=household.community_id,
        path=list(household.path),
        registered_on=household.registered_on,
        version=household.version,
    )
    return payload, household.id


def _household_moved(event: domain.HouseholdMoved) -> IntegrationEvent:
    household = event.household
    payload = contracts.HouseholdMoved(
        household_id=household.id,
        from_community_id=event.from_community_id,
        to_community_id=household.community_id,
        from_path=list(event.from_path),
        to_path=list(household.path),
        moved_on=event.moved_on,
        reason=event.reason,
        resident_count=event.resident_count,
        version=household.version,
    )
    return payload, household.id


def _resident_registered(event: domain.ResidentRegistered) -> IntegrationEvent:
    payload = contracts.ResidentRegistered.model_validate(
        resident_state(event.resident, on=event.on)
    )
    return payload, event.resident.id


def _resident_updated(event: domain.ResidentUpdated) -> IntegrationEvent:
    state = resident_state(event.resident, on=event.on)
    return contracts.ResidentUpdated(**state, changed=list(event.changed)), event.resident.id


def _resident_moved(event: domain.ResidentMoved) -> IntegrationEvent:
    payload = contracts.ResidentMoved(
        **resident_state(event.resident, on=event.on),
        from_household_id=event.from_household_id,
        from_community_id=event.from_community_id,
        from_path=list(event.from_path),
    )
    return payload, event.resident.id


def _resident_died(event: domain.ResidentDied) -> IntegrationEvent:
    state = resident_state(event.resident, on=event.died_on)
    return contracts.ResidentDied(**state, died_on=event.died_on), event.resident.id


def _resident_left(event: domain.ResidentLeft) -> IntegrationEvent:
    state = resident_state(event.resident, on=event.left_on)
    return contracts.ResidentLeft(**state, left_on=event.left_on), event.resident.id


def _permit_expiring(event: domain.PermitExpiring) -> IntegrationEvent:
    payload = contracts.PermitExpiring(
        resident_id=event.resident_id,
        community_id=event.community_id,
        path=list(event.path),
        expires_on=event.expires_on,
    )
    return payload, event.resident_id


TRANSLATIONS: Translations = {
    domain.HouseholdRegistered: _household_registered,
    domain.HouseholdMoved: _household_moved,
    domain.ResidentRegistered: _resident_registered,
    domain.ResidentUpdated: _resident_updated,
    domain.ResidentMoved: _resident_moved,
    domain.ResidentDied: _resident_died,
    domain.ResidentLeft: _resident_left,
    domain.PermitExpiring: _permit_expiring,
}
"""The integration event of each household and resident domain event."""
