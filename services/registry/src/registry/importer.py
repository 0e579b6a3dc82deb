"""Bulk import of areas, households, residents, facilities, community workers, social
organisations and volunteers from NDJSON or CSV.

The input is streamed and validated row by row; every row ends ``accepted`` (stored, with its
events), ``updated`` (imported before, and what changed is applied with its events: a
resident's state, a facility's kind and rooms), ``unchanged`` (already in the register as it
is) or ``rejected`` (with the field and the reason; also a row imported before that differs in
what an import may not change: a household's community or address, a resident's name or
household, an area). Rows are committed in batches, each batch in one transaction with its events.

Re-running an import changes nothing and emits nothing new: areas are identified by their
code, residents by their national id number (its keyed hash), and households and facilities
by the file's own references (``ref``), from which stable ids are derived
(:func:`household_id_for`, :func:`facility_id_for`). References are the importing area's own:
the same ref imported with a token of another area names another household. Rows outside the
caller's area are rejected with the same words as rows naming nothing (a missing area or
household), and a resident's household is checked before their number is looked up, so an
import tells nothing about what exists elsewhere.

An import is many transactions, so it owns its units of work (:func:`import_rows` takes the
service's sessions and event translator, not a unit): each batch runs in one
:func:`~shared.unit_of_work.unit_of_work`, which writes the batch's events to the outbox with
one bulk insert when it commits. Inside a batch each area or facility row runs its use case in
a savepoint with a unit of its own, whose events join the batch's only if the savepoint
commits: a rejected row leaves neither rows nor events. A run of households, or of residents,
is registered together (:mod:`registry.bulk_registration`: one insert for the run).

On PostgreSQL two batches may be under way at once, each on a connection of its own: a batch
of residents only (or of households only) is stored while the batch before it, of the same
kind and naming none of its numbers (or ids), is still being stored or committing. So the
database works on one batch while the import's process prepares the next, and neither waits
for the other's commit. Batches still commit in the order of the file (a batch commits only
after the one before it, and a failed batch rolls the next one back), and a batch of any
other rows waits for every batch before it to commit, since it may read what they wrote.

Formats:

- NDJSON: one JSON object per line with a ``type`` (``area``, ``household``, ``resident``,
  ``facility``) unless the import names one type for the whole file;
- CSV: a header line, then one record per line, all of the type the import names; lists are
  ``;``-separated (resident ``flags``: ``empty_nest;living_alone``; facility ``rooms``:
  ``office:120;public_service:210.5``).
"""

from __future__ import annotations

import asyncio
import csv
import functools
import gc
import hashlib
import uuid
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Sequence,
)
from contextlib import aclosing, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry import area_service, community_service, facility_service
from registry.adapters.areas import AreaRow
from registry.adapters.community import OrganisationRow, VolunteerRow, WorkerRow
from registry.adapters.facilities import FacilityRoomRow, FacilityRow
from registry.adapters.paths import path_ids
from registry.bulk_registration import (
    BulkOutcome,
    CheckedResident,
    NewHousehold,
    check_residents,
    register_households_in_bulk,
    register_residents_in_bulk,
)
from registry.domain.areas import AREA_ID_PATTERN
from registry.domain.community import Appointment
from registry.domain.hierarchy import DEFAULT_HIERARCHY, Hierarchy
from registry.domain.people import NewResident
from registry.domain.text import control_character
from registry.pii import PiiProtector
from shared.auth import Principal, ensure_area
from shared.contracts.registry import (
    AreaLevel,
    CommunityKind,
    Education,
    EmploymentStatus,
    FacilityKind,
    RegistrationStatus,
    ResidentFlag,
    RoomPurpose,
    Sex,
    WorkerRole,
)
from shared.errors import FieldError, InvalidInput, NotFound, Problem
from shared.inputs import PersonalData
from shared.unit_of_work import EventTranslator, UnitOfWork, unit_of_work

Format = Literal["ndjson", "csv"]
RecordType = Literal[
    "area", "household", "resident", "facility", "worker", "organisation", "volunteer"
]
Stored = Literal["accepted", "updated", "unchanged"]

IMPORT_NAMESPACE = uuid.UUID("5b0f4a52-8a55-4c2e-9a0e-3d1f6a9b7c21")
DEFAULT_BATCH_SIZE = 1000
BATCHES_AT_ONCE = 2
"""Batches of one kind of bulk rows under way at once on PostgreSQL (see the module)."""
ROW_BY_ROW_BATCH_SIZE = 100
"""At most this many rows imported one by one commit together."""
BULK_TYPES = frozenset({"household", "resident"})
"""Row types registered a run at a time (one insert); the others go row by row."""
MAX_REPORTED_ROWS = 1000
PLATFORM = Principal(subject="registry-import", scopes=frozenset())


@functools.lru_cache(maxsize=65536)
def household_id_for(ref: str, scope: str | None = None) -> str:
    """The registry id of the household an import file calls ``ref``: a file's references are
    its importer's own, so ``scope`` is the area of the importing token (None: the whole
    platform) and the same ref imported for another area names another household."""
    return _import_uuid5(_scoped("household", ref, scope))


def record_id_for(kind: str, ref: str, scope: str | None = None) -> str:
    """The registry id of the worker, organisation or volunteer (``kind``) an import file
    calls ``ref`` (scoped like :func:`household_id_for`)."""
    return _import_uuid5(_scoped(kind, ref, scope))


def facility_id_for(ref: str, scope: str | None = None) -> str:
    """The registry id of the facility an import file calls ``ref`` (scoped like
    :func:`household_id_for`)."""
    return _import_uuid5(_scoped("facility", ref, scope))


_NAMESPACE_BYTES = IMPORT_NAMESPACE.bytes
_VARIANT = "89ab89ab89ab89ab"
"""The variant digit (``10xx`` in binary) for each value of the hash digit it replaces."""


def _import_uuid5(name: str) -> str:
    """``str(uuid.uuid5(IMPORT_NAMESPACE, name))``, written from the SHA-1's hex digits
    (version 5, variant ``10``) without building a :class:`uuid.UUID`: a quarter of its time,
    and an import derives an id for every household and resident row."""
    digits = hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).hexdigest()
    return (
        f"{digits[:8]}-{digits[8:12]}-5{digits[13:16]}-"
        f"{_VARIANT[int(digits[16], 16)]}{digits[17:20]}-{digits[20:32]}"
    )


def _scoped(kind: str, ref: str, scope: str | None) -> str:
    return f"{kind}:{ref}" if scope is None else f"{kind}@{scope}:{ref}"


def _scope(principal: Principal | None) -> str | None:
    return principal.area if principal is not None else None


_REFERENCE = {
    "area": "parent_id",
    "household": "community_id",
    "facility": "community_id",
    "worker": "community_id",
    "organisation": "community_id",
    "volunteer": "community_id",
}
"""The field of each record naming where it goes: what a row outside the caller's area is
rejected on, with the words of a missing area, so no answer tells the two apart."""


# -- records -----------------------------------------------------------------------------


def _no_control_characters(value: str) -> str:
    found = control_character(value)
    if found is not None:
        raise ValueError(f"must not contain control characters ({found})")
    return value


RowText = Annotated[str, AfterValidator(_no_control_characters)]
"""A text field of a row: no control or bidi formatting characters. Every ``str`` field of a
record is one (the other fields are numbers, dates or fixed words, which cannot hold them):
checked on the text fields alone, an import no longer spends a call per field and row."""
Personal = Annotated[RowText, PersonalData()]
"""A name, national id number or address of a row: personal data."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_missing(cls, values: Any) -> Any:
        """An empty CSV cell means the field was not given."""
        if isinstance(values, dict) and "" in values.values():
            return {key: value for key, value in values.items() if value != ""}
        return values


class AreaRecord(_Record):
    """An area row."""

    type: Literal["area"] = "area"
    id: RowText = Field(pattern=AREA_ID_PATTERN)
    level: AreaLevel
    name: RowText = Field(min_length=1, max_length=200)
    parent_id: RowText | None = Field(default=None, max_length=32)
    kind: CommunityKind | None = None
    household_count: int | None = Field(default=None, ge=0, le=100_000)
    valid_from: date


class HouseholdRecord(_Record):
    """A household row; ``ref`` is the file's own household number."""

    type: Literal["household"] = "household"
    ref: RowText = Field(min_length=1, max_length=64)
    community_id: RowText = Field(max_length=32)
    address: Personal = Field(min_length=1, max_length=500)
    registered_on: date


class ResidentRecord(_Record):
    """A resident row; ``household_ref`` names a household of this or an earlier import."""

    type: Literal["resident"] = "resident"
    national_id: Personal = Field(min_length=1, max_length=32)
    name: Personal = Field(min_length=1, max_length=200)
    sex: Sex
    birth_date: date
    household_ref: RowText = Field(min_length=1, max_length=64)
    registration: RegistrationStatus = "registered"
    permit_expires_on: date | None = None
    employment_status: EmploymentStatus
    disabled: bool = False
    flags: list[ResidentFlag] = Field(default_factory=list)

    @field_validator("flags", mode="before")
    @classmethod
    def _split_flags(cls, value: Any) -> Any:
        if value is None:
            return []
        return [part for part in value.split(";") if part] if isinstance(value, str) else value


class RoomRecord(_Record):
    """Floor area of one room purpose."""

    purpose: RoomPurpose
    area_m2: float


class FacilityRecord(_Record):
    """A facility row; ``ref`` is the file's own facility number."""

    type: Literal["facility"] = "facility"
    ref: RowText = Field(min_length=1, max_length=64)
    community_id: RowText = Field(max_length=32)
    kind: FacilityKind
    rooms: list[RoomRecord] = Field(min_length=1)
    opened_on: date

    @field_validator("rooms", mode="before")
    @classmethod
    def _split_rooms(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        rooms = []
        for part in filter(None, value.split(";")):
            purpose, _, area = part.partition(":")
            rooms.append({"purpose": purpose.strip(), "area_m2": area.strip()})
        return rooms


class WorkerRecord(_Record):
    """A community worker row; ``ref`` is the file's own number for the worker."""

    type: Literal["worker"] = "worker"
    ref: RowText = Field(min_length=1, max_length=64)
    community_id: RowText = Field(max_length=32)
    role: WorkerRole
    appointment: Appointment
    education: Education
    birth_year: int = Field(ge=1900, le=2100)
    sex: Sex
    cross_appointed: bool = False
    appointed_on: date


class OrganisationRecord(_Record):
    """A social organisation row; ``ref`` is the file's own number for it."""

    type: Literal["organisation"] = "organisation"
    ref: RowText = Field(min_length=1, max_length=64)
    community_id: RowText = Field(max_length=32)
    name: RowText = Field(min_length=1, max_length=200)
    kind: RowText = Field(min_length=1, max_length=64)
    member_count: int = Field(ge=0, le=1_000_000)
    registered_on: date


class VolunteerRecord(_Record):
    """A volunteer row; ``ref`` is the file's own number for the volunteer,
    ``organisation_ref`` an organisation of this or an earlier import."""

    type: Literal["volunteer"] = "volunteer"
    ref: RowText = Field(min_length=1, max_length=64)
    community_id: RowText = Field(max_length=32)
    resident_id: RowText | None = Field(default=None, max_length=36)
    organisation_ref: RowText | None = Field(default=None, max_length=64)
    registered_on: date


AnyRecord = (
    AreaRecord
    | HouseholdRecord
    | ResidentRecord
    | FacilityRecord
    | WorkerRecord
    | OrganisationRecord
    | VolunteerRecord
)
ImportRecord = Annotated[AnyRecord, Field(discriminator="type")]
RECORD_MODELS: tuple[type[_Record], ...] = (
    AreaRecord,
    HouseholdRecord,
    ResidentRecord,
    FacilityRecord,
    WorkerRecord,
    OrganisationRecord,
    VolunteerRecord,
)
"""The model of each row type, in the order the documentation lists them."""
_RECORD = TypeAdapter(ImportRecord)


# -- report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not imported: its line (record) number, the field and the reason."""

    line: int
    field: str | None
    reason: str


@dataclass
class ImportReport:
    """Counts of accepted (new), updated, unchanged and rejected rows, and the first rejected
    rows."""

    accepted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejected_rows: list[RejectedRow] = field(default_factory=list)

    def reject(self, line: int, field_name: str | None, reason: str) -> None:
        """Count a rejected row (listing at most :data:`MAX_REPORTED_ROWS` of them)."""
        self.rejected += 1
        if len(self.rejected_rows) < MAX_REPORTED_ROWS:
            self.rejected_rows.append(RejectedRow(line, field_name, reason))

    @property
    def rows(self) -> int:
        """Rows read."""
        return self.accepted + self.updated + self.unchanged + self.rejected

    def add(self, batch: ImportReport) -> None:
        """Count the rows of a batch's report (which follows this one's rows)."""
        self.accepted += batch.accepted
        self.updated += batch.updated
        self.unchanged += batch.unchanged
        self.rejected += batch.rejected
        room = MAX_REPORTED_ROWS - len(self.rejected_rows)
        self.rejected_rows.extend(batch.rejected_rows[: max(room, 0)])


@dataclass
class _Parsed:
    line: int
    record: AnyRecord
    checked: CheckedResident | BulkOutcome | None = None
    """A resident's form checked, hashed and sealed before the batch reaches the database."""


# -- the import ---------------------------------------------------------------------------


async def import_rows(
    sessions: async_sessionmaker[AsyncSession],
    *,
    translate: EventTranslator,
    pii: PiiProtector,
    lines: AsyncIterable[Line],
    fmt: Format,
    record_type: RecordType | None = None,
    principal: Principal | None = None,
    today: date | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    hierarchy: Hierarchy = DEFAULT_HIERARCHY,
    on_batch: Callable[[ImportReport], Awaitable[None]] | None = None,
) -> ImportReport:
    """Import the rows of ``lines`` (text lines, newline optional, or :class:`Unreadable`
    ones, see :func:`text_lines`) and report on each.

    Each batch of rows commits on its own, in a unit of work from ``sessions`` whose events
    ``translate`` maps, and then ``on_batch`` hears the report so far. Rows outside
    ``principal``'s area are rejected.
    """
    if fmt == "csv" and record_type is None:
        raise InvalidInput(
            "a CSV import needs the record type",
            errors=[FieldError("type", "required for CSV", "missing")],
        )
    report = ImportReport()
    today = today or date.today()
    scope = _scope(principal)
    statistics = _Statistics(sessions, batch_size)
    at_once = BATCHES_AT_ONCE if await _on_postgresql(sessions) else 1
    under_way: deque[_Batch] = deque()  # oldest first

    async def store(batch: _Batch, parsed: list[_Parsed], before: _Batch | None) -> None:
        """Store ``batch`` in a unit of work of its own, and commit it once ``before`` (the
        batch before it, if still under way) has committed."""
        async with unit_of_work(sessions, translate=translate) as uow:
            with collection_paused():
                await _store_batch(
                    uow,
                    parsed,
                    principal=principal,
                    today=today,
                    report=batch.report,
                    hierarchy=hierarchy,
                    filled=statistics.filled,
                )
            if before is not None:  # batches commit in order: a failed one fails the next
                await before.task

    async def settle_oldest() -> None:
        """Wait for the oldest batch under way to commit; then count it, tell ``on_batch``
        and keep the statistics of the tables it filled fresh."""
        batch = under_way.popleft()
        await batch.task
        report.add(batch.report)
        if on_batch is not None:
            await on_batch(report)
        await statistics.after_batch(report.accepted)

    try:
        batches = _batches(lines, fmt=fmt, record_type=record_type, size=batch_size)
        checked = _validated(batches, pii=pii, today=today, scope=scope)
        async with aclosing(_one_ahead(checked)) as validated:
            async for parsed, refused in validated:
                batch = _Batch(_batch_keys(parsed, scope))
                while under_way and (
                    len(under_way) >= at_once
                    or not all(batch.may_run_beside(other) for other in under_way)
                ):
                    await settle_oldest()
                for rejected in refused:
                    batch.report.reject(rejected.line, rejected.field, rejected.reason)
                before = under_way[-1] if under_way else None
                batch.task = asyncio.create_task(store(batch, parsed, before))
                under_way.append(batch)
        while under_way:
            await settle_oldest()
        await statistics.last(report.accepted)
    finally:
        # When the import fails, the batches still under way end (each commits only once
        # the one before it has) before the error is raised; they are not counted.
        await asyncio.gather(*(batch.task for batch in under_way), return_exceptions=True)
        statistics.cancel()
    return report


async def _store_batch(
    uow: UnitOfWork,
    parsed: Sequence[_Parsed],
    *,
    principal: Principal | None,
    today: date,
    report: ImportReport,
    hierarchy: Hierarchy,
    filled: set[str],
) -> None:
    """Store a batch's valid records in ``uow``: each run of households or of residents in
    bulk, the other rows one by one; ``filled`` gains the tables they go to."""
    for kind, run in groupby(parsed, key=lambda p: p.record.type):
        rows = list(run)
        filled.update(_STATISTICS_OF.get(kind, ()))
        if kind == "resident":
            await _residents(uow, rows, principal=principal, today=today, report=report)
        elif kind == "household":
            await _households(uow, rows, principal=principal, today=today, report=report)
        else:
            for row in rows:
                await _one(
                    uow, row, principal=principal, today=today, report=report, hierarchy=hierarchy
                )


@dataclass
class _Batch:
    """A batch under way: stored, then committed, in a task of its own (so the next batch can
    be stored while this one waits on the database), and counted once it has committed."""

    keys: tuple[str, frozenset[str]] | None
    """What it stores (:func:`_batch_keys`)."""
    report: ImportReport = field(default_factory=ImportReport)
    task: asyncio.Task[None] = field(init=False)

    def may_run_beside(self, other: _Batch) -> bool:
        """Whether this batch may be stored while ``other`` has not committed: both are runs
        of the same kind of bulk rows, naming none in common."""
        if self.keys is None or other.keys is None:
            return False
        kind, names = self.keys
        return kind == other.keys[0] and names.isdisjoint(other.keys[1])


def _batch_keys(parsed: Sequence[_Parsed], scope: str | None) -> tuple[str, frozenset[str]] | None:
    """What a batch stores, for :meth:`_Batch.may_run_beside`: a batch of residents only
    (their numbers' lookup hashes) or of households only (their ids); None for any other.

    A batch of residents reads, besides its own numbers, only households, and one of
    households only communities: rows of another kind, which a batch of their own stored and
    committed before this one began.
    """
    kinds = {row.record.type for row in parsed}
    if kinds == {"resident"}:
        hashes = frozenset(
            row.checked.national_id.lookup_hash
            for row in parsed
            if isinstance(row.checked, CheckedResident)
        )
        return "resident", hashes
    if kinds == {"household"}:
        ids = frozenset(
            household_id_for(row.record.ref, scope)
            for row in parsed
            if isinstance(row.record, HouseholdRecord)
        )
        return "household", ids
    return None


async def _on_postgresql(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether ``sessions`` are PostgreSQL's, where two batches may be under way at once
    (SQLite has one writer at a time: there a batch would only wait for the one before)."""
    async with sessions() as session:
        return session.get_bind().dialect.name == "postgresql"


class _Statistics:
    """Keeps the planner's statistics of the tables an import fills fresh: refreshed
    (:func:`_refresh_statistics`, in a task of its own) each time the accepted rows double
    what those tables held, and once more at the end if the last refresh was skipped."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], batch_size: int) -> None:
        self.sessions = sessions
        self.batch_size = batch_size
        self.filled: set[str] = set()  # the tables this import's rows go to
        self.analysed_at = 0
        self.analysing: asyncio.Task[None] | None = None
        self.held: float | None = None  # the rows the least of them held before, as counted
        self.counted: set[str] = set()  # the tables ``held`` took into account

    async def after_batch(self, accepted: int) -> None:
        """After a batch committed, with ``accepted`` rows accepted so far."""
        if self.filled - self.counted:
            before = await _rows_counted(self.sessions, self.filled - self.counted)
            self.held = before if self.held is None else min(self.held, before)
            self.counted |= self.filled
        base = self.held or 0.0
        due = base + accepted >= 2 * (base + max(self.analysed_at, self.batch_size // 2))
        if due and (self.analysing is None or self.analysing.done()):
            if self.analysing is not None:
                await self.analysing  # raises what the last one raised
            self.analysing = asyncio.create_task(
                _refresh_statistics(self.sessions, set(self.filled))
            )
            self.analysed_at = accepted

    async def last(self, accepted: int) -> None:
        """Once every batch committed: wait for the refresh under way."""
        if self.analysing is None:
            return
        await self.analysing
        base = self.held or 0.0
        if base + accepted >= 2 * (base + self.analysed_at):
            # The refresh due when the rows last doubled was skipped, the one before still
            # running: the statistics the import leaves must count at least half the rows
            # of the tables it filled.
            await _refresh_statistics(self.sessions, self.filled)

    def cancel(self) -> None:
        """Stop a refresh still running (the import failed)."""
        if self.analysing is not None and not self.analysing.done():
            self.analysing.cancel()


ValidatedBatch = tuple[list[_Parsed], list[RejectedRow]]
"""A batch's valid records, and its rows refused before reaching the database."""
YIELD_EVERY = 50
"""Rows validated between two chances for the batch before to go on with the database."""


async def _validated(
    batches: AsyncIterable[list[RawRow]], *, pii: PiiProtector, today: date, scope: str | None
) -> AsyncIterator[ValidatedBatch]:
    """Each batch's rows validated against their record models (the field and reason of each
    refused row), and its residents' forms checked, hashed and sealed
    (:func:`~registry.bulk_registration.check_residents`). Pure CPU work, so it lets the
    event loop run every :data:`YIELD_EVERY` rows: the batch before, waiting on the
    database, goes on meanwhile."""
    async for batch in batches:
        parsed: list[_Parsed] = []
        refused: list[RejectedRow] = []
        with collection_paused():
            for count, (line, raw) in enumerate(batch, start=1):
                if count % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                if isinstance(raw, str):
                    refused.append(RejectedRow(line, None, raw))
                    continue
                try:
                    parsed.append(_Parsed(line, _RECORD.validate_python(raw)))
                except ValidationError as exc:
                    first = exc.errors()[0]
                    location = ".".join(str(part) for part in first["loc"][1:]) or None
                    refused.append(RejectedRow(line, location, first["msg"]))
            residents = [
                (row, row.record) for row in parsed if isinstance(row.record, ResidentRecord)
            ]
            for start in range(0, len(residents), YIELD_EVERY):
                await asyncio.sleep(0)
                run = residents[start : start + YIELD_EVERY]
                forms = [_resident_form(record, scope) for _, record in run]
                checked = check_residents(forms, pii=pii, today=today)
                for (row, _), entry in zip(run, checked, strict=True):
                    row.checked = entry
        yield parsed, refused


_T = TypeVar("_T")
_DONE = object()


async def _one_ahead(items: AsyncIterator[_T]) -> AsyncGenerator[_T, None]:
    """``items``, produced one ahead of their consumer in a task of their own: the next batch
    is read and validated while the current one waits on the database (PostgreSQL works on
    the other core). An error of the producer is raised here, in order; when the consumer
    stops early (or fails) the producer is cancelled."""
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)

    async def produce() -> None:
        try:
            async for item in items:
                await queue.put((item, None))
        except Exception as error:  # handed to the consumer, raised there
            await queue.put((_DONE, error))
            return
        await queue.put((_DONE, None))

    producer = asyncio.create_task(produce())
    try:
        while True:
            item, error = await queue.get()
            if error is not None:
                raise error
            if item is _DONE:
                break
            yield item
        await producer
    finally:
        if not producer.done():
            producer.cancel()
            with suppress(asyncio.CancelledError):
                await producer


_PAUSES = [0]
"""How many batches (of any import in this process) have the cyclic collector paused."""


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause Python's automatic cyclic garbage collection while one batch is imported.

    A batch holds thousands of rows, entities, events and their rows until it commits; they
    outlive the young generations' collections, so the collector promotes them and, every
    few batches, walks the whole heap of the process, only to find them freed by reference
    counting once the batch ends. That cost an import about 40 % of its CPU time. Paused for
    a batch (a second or less), the collector resumes between batches; a collector that was
    off before (paused by none of these) stays off. The pause is process-wide: garbage
    cycles that other requests make meanwhile wait for the next collection.
    """
    if _PAUSES[0] == 0 and not gc.isenabled():
        yield
        return
    _PAUSES[0] += 1
    gc.disable()
    try:
        yield
    finally:
        _PAUSES[0] -= 1
        if _PAUSES[0] == 0:
            gc.enable()


@asynccontextmanager
async def _savepoint(uow: UnitOfWork) -> AsyncIterator[UnitOfWork]:
    """A savepoint in ``uow``'s transaction with a unit of work of its own: the events recorded
    in it (and the outbox documents it wrote ahead) join ``uow`` only if the savepoint
    commits."""
    async with uow.session.begin_nested():
        unit = uow.nested()
        yield unit
    uow.adopt(unit)


_STATISTICS_OF = {
    "area": ("area",),
    "household": ("household",),
    "resident": ("resident",),
    "facility": ("facility",),
}
"""The tables whose statistics an import of each row type refreshes (the outbox's always)."""


async def _rows_counted(sessions: async_sessionmaker[AsyncSession], tables: set[str]) -> float:
    """The rows the least of ``tables`` held when its statistics were last refreshed (0 if
    never, or not on PostgreSQL): an import into tables that already hold many rows refreshes
    them when it has doubled the rows they hold, not the rows it brought so far."""
    async with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            return 0.0
        least = await session.scalar(
            sql(
                "SELECT min(greatest(reltuples, 0)) FROM unnest(CAST(:tables AS text[])) AS t(name)"
                " JOIN pg_class ON pg_class.oid = to_regclass(t.name)"
            ),
            {"tables": sorted(tables)},
        )
        return float(least or 0.0)


async def _refresh_statistics(sessions: async_sessionmaker[AsyncSession], filled: set[str]) -> None:
    """ANALYZE the tables an import fills (``filled``, and the outbox), each time its
    accepted rows double (PostgreSQL). Only those: the refreshes are a quarter of the
    database's CPU time in an import of 100,000 residents, and one of residents sampled the
    unchanged households (and one of households the residents) each time.

    Without it the planner keeps the statistics of the empty tables and looks up the next
    batch's id hashes with sequential scans, which makes a large import quadratic; autovacuum
    reacts too late for a load running in one go. It runs in a task of its own, on its own
    connection, while the next batches go on (ANALYZE blocks no insert); the import waits
    for the last one before it reports.
    """
    async with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            return
        async with session.begin():
            tables = ", ".join(sorted({*filled, "outbox"}))  # names of _STATISTICS_OF only
            await session.execute(sql(f"ANALYZE {tables}"))


async def _one(
    uow: UnitOfWork,
    parsed: _Parsed,
    *,
    principal: Principal | None,
    today: date,
    report: ImportReport,
    hierarchy: Hierarchy,
) -> None:
    """Import one area or facility through its use case, in a savepoint."""
    record = parsed.record
    try:
        async with _savepoint(uow) as unit:
            stored = await _store_one(
                unit, record, principal=principal, today=today, hierarchy=hierarchy
            )
    except NotFound:  # outside the caller's area: answered as if it did not exist
        report.reject(parsed.line, _REFERENCE[record.type], "no such area")
        return
    except Problem as problem:
        first = problem.errors[0] if problem.errors else None
        report.reject(
            parsed.line, first.field if first else None, first.message if first else problem.detail
        )
        return
    if stored == "accepted":
        report.accepted += 1
    elif stored == "updated":
        report.updated += 1
    else:
        report.unchanged += 1


async def _store_one(
    uow: UnitOfWork,
    record: AnyRecord,
    *,
    principal: Principal | None,
    today: date,
    hierarchy: Hierarchy,
) -> Stored:
    """Store a new record, or apply a re-imported one's changes (a facility's kind and
    rooms); a change no import may make (a move, a rename) is an :class:`InvalidInput` on the
    field that differs."""
    session = uow.session
    match record:
        case AreaRecord():
            area = await session.get(AreaRow, record.id)
            if area is not None:
                if principal is not None:
                    ensure_area(principal, path_ids(area.path))
                _same(
                    "area",
                    record,
                    {
                        "level": area.level,
                        "name": area.name,
                        "parent_id": area.parent_id,
                        "valid_from": area.valid_from,
                        "kind": area.kind if record.kind is not None else None,
                        "household_count": (
                            area.household_count if record.household_count is not None else None
                        ),
                    },
                )
                return "unchanged"
            await area_service.register_area(
                uow,
                area_id=record.id,
                level=record.level,
                name=record.name,
                parent_id=record.parent_id,
                valid_from=record.valid_from,
                kind=record.kind,
                household_count=record.household_count,
                principal=principal,
                hierarchy=hierarchy,
            )
        case FacilityRecord():
            facility_id = facility_id_for(record.ref, _scope(principal))
            existing_facility = await session.get(FacilityRow, facility_id)
            if existing_facility is not None:
                if principal is not None:
                    ensure_area(principal, path_ids(existing_facility.path))
                return await _facility_again(uow, record, existing_facility, principal=principal)
            await facility_service.open_facility(
                uow,
                principal=principal or PLATFORM,
                community_id=record.community_id,
                kind=record.kind,
                rooms=[(room.purpose, room.area_m2) for room in record.rooms],
                opened_on=record.opened_on,
                today=today,
                facility_id=facility_id,
            )
        case WorkerRecord() | OrganisationRecord() | VolunteerRecord():
            return await _community_record(uow, record, principal=principal, today=today)
        case HouseholdRecord() | ResidentRecord():  # pragma: no cover - see _households
            raise AssertionError("households and residents are imported in bulk")
    await session.flush()
    return "accepted"


_COMMUNITY_ROWS: dict[str, type[WorkerRow | OrganisationRow | VolunteerRow]] = {
    "worker": WorkerRow,
    "organisation": OrganisationRow,
    "volunteer": VolunteerRow,
}


async def _community_record(
    uow: UnitOfWork,
    record: WorkerRecord | OrganisationRecord | VolunteerRecord,
    *,
    principal: Principal | None,
    today: date,
) -> Stored:
    """A worker, organisation or volunteer through its use case; one imported before is
    ``unchanged``, or a conflict naming the field that differs."""
    scope = _scope(principal)
    record_id = record_id_for(record.type, record.ref, scope)
    existing: Any = await uow.session.get(_COMMUNITY_ROWS[record.type], record_id)
    organisation_id = (
        record_id_for("organisation", record.organisation_ref, scope)
        if isinstance(record, VolunteerRecord) and record.organisation_ref is not None
        else None
    )
    if existing is not None:
        if principal is not None:
            ensure_area(principal, path_ids(existing.path))
        wanted = record.model_dump(exclude={"type", "ref", "organisation_ref"})
        if isinstance(record, OrganisationRecord):
            wanted["kind"] = record.kind.strip().lower()
        if isinstance(record, VolunteerRecord):
            wanted["organisation_id"] = organisation_id
        for name, value in wanted.items():
            if getattr(existing, name) != value:
                field_name = "organisation_ref" if name == "organisation_id" else name
                raise InvalidInput(
                    f"{field_name} differs from the registered {record.type}",
                    errors=[FieldError(field_name, f"differs from the registered {record.type}")],
                )
        return "unchanged"
    who = principal or PLATFORM
    match record:
        case WorkerRecord():
            await community_service.appoint_worker(
                uow,
                principal=who,
                **record.model_dump(exclude={"type", "ref"}),
                today=today,
                record_id=record_id,
            )
        case OrganisationRecord():
            await community_service.register_organisation(
                uow,
                principal=who,
                **record.model_dump(exclude={"type", "ref"}),
                today=today,
                record_id=record_id,
            )
        case VolunteerRecord():
            await community_service.register_volunteer(
                uow,
                principal=who,
                community_id=record.community_id,
                resident_id=record.resident_id,
                organisation_id=organisation_id,
                registered_on=record.registered_on,
                today=today,
                record_id=record_id,
            )
    await uow.session.flush()
    return "accepted"


def _same(what: str, record: BaseModel, stored: dict[str, Any]) -> None:
    """Refuse a re-imported row that differs from what is registered (no import may make
    that change: it needs its own command, with its date)."""
    for name, value in stored.items():
        if getattr(record, name) != value:
            raise InvalidInput(
                f"{name} differs from the registered {what}",
                errors=[FieldError(name, f"differs from the registered {what}", "conflict")],
            )


async def _facility_again(
    uow: UnitOfWork, record: FacilityRecord, existing: FacilityRow, *, principal: Principal | None
) -> Stored:
    """A facility imported again: its kind and rooms are updated (``FacilityUpdated``); another
    community or opening day is a conflict."""
    _same(
        "facility",
        record,
        {"community_id": existing.community_id, "opened_on": existing.opened_on},
    )
    rooms = await uow.session.execute(
        select(FacilityRoomRow.purpose, FacilityRoomRow.area_m2).where(
            FacilityRoomRow.facility_id == existing.id
        )
    )
    stored_rooms = {purpose: round(area, 2) for purpose, area in rooms}
    wanted_rooms = {room.purpose: round(room.area_m2, 2) for room in record.rooms}
    if existing.kind == record.kind and stored_rooms == wanted_rooms:
        return "unchanged"
    await facility_service.update_facility(
        uow,
        principal=principal or PLATFORM,
        facility_id=existing.id,
        kind=record.kind,
        rooms=[(room.purpose, room.area_m2) for room in record.rooms],
    )
    return "updated"


async def _residents(
    uow: UnitOfWork,
    rows: Sequence[_Parsed],
    *,
    principal: Principal | None,
    today: date,
    report: ImportReport,
) -> None:
    """Register a run of residents (checked ahead, see :func:`_validated`) in bulk (a
    savepoint; row by row if that fails)."""
    checked = [row.checked for row in rows if row.checked is not None]
    try:
        async with _savepoint(uow) as unit:
            outcomes = await register_residents_in_bulk(
                unit, checked, principal=principal, today=today
            )
    except Exception:  # a concurrent writer took a number meanwhile: go one by one
        outcomes = []
        for entry in checked:
            async with _savepoint(uow) as unit:
                outcomes += await register_residents_in_bulk(
                    unit, [entry], principal=principal, today=today
                )
    _count(report, rows, outcomes)


async def _households(
    uow: UnitOfWork,
    rows: Sequence[_Parsed],
    *,
    principal: Principal | None,
    today: date,
    report: ImportReport,
) -> None:
    """Register a run of households in bulk (a savepoint; row by row if that fails)."""
    scope = _scope(principal)
    forms = [
        NewHousehold(
            household_id=household_id_for(row.record.ref, scope),
            community_id=row.record.community_id,
            address=row.record.address,
            registered_on=row.record.registered_on,
        )
        for row in rows
        if isinstance(row.record, HouseholdRecord)
    ]
    try:
        async with _savepoint(uow) as unit:
            outcomes = await register_households_in_bulk(
                unit, households=forms, principal=principal, today=today
            )
    except Exception:  # a concurrent writer took an id meanwhile: go one by one
        outcomes = []
        for form in forms:
            async with _savepoint(uow) as unit:
                outcomes += await register_households_in_bulk(
                    unit, households=[form], principal=principal, today=today
                )
    _count(report, rows, outcomes)


def _count(report: ImportReport, rows: Sequence[_Parsed], outcomes: Sequence[BulkOutcome]) -> None:
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.status == "accepted":
            report.accepted += 1
        elif outcome.status == "updated":
            report.updated += 1
        elif outcome.status == "unchanged":
            report.unchanged += 1
        else:
            report.reject(row.line, outcome.field, outcome.reason or "rejected")


def _resident_form(record: ResidentRecord, scope: str | None) -> NewResident:
    return NewResident(
        national_id=record.national_id,
        name=record.name,
        sex=record.sex,
        birth_date=record.birth_date,
        household_id=household_id_for(record.household_ref, scope),
        registration=record.registration,
        permit_expires_on=record.permit_expires_on,
        employment_status=record.employment_status,
        disabled=record.disabled,
        flags=tuple(record.flags),
    )


# -- parsing ------------------------------------------------------------------------------

RawRow = tuple[int, dict[str, Any] | str]  # a parsed row, or the reason it could not be
MAX_LINE_BYTES = 64 * 1024
"""A longer line is rejected (and skipped without being held in memory)."""
MAX_RECORD_LINES = 100
"""A CSV quoted field spanning more lines than this is taken for a stray quote."""
MAX_RECORD_BYTES = 128 * 1024
"""A CSV record (with its quoted line breaks) longer than this is taken for a stray quote."""


@dataclass(frozen=True)
class Unreadable:
    """A line of the input that is not text: too long, or not valid UTF-8."""

    reason: str


Line = str | Unreadable


async def text_lines(
    chunks: AsyncIterable[bytes], *, max_line_bytes: int = MAX_LINE_BYTES
) -> AsyncIterator[Line]:
    """The lines of a byte stream, each decoded as UTF-8 on its own (so a character split
    across chunks comes out whole: a newline byte never occurs inside one), with its newline;
    a line that is longer than ``max_line_bytes`` or not UTF-8 is :class:`Unreadable`. A
    byte-order mark at the start is dropped."""
    buffer = bytearray()
    too_long = False
    first = True
    async for chunk in chunks:
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not too_long:
                buffer += piece
                too_long = len(buffer) > max_line_bytes
                if too_long:
                    buffer.clear()
            if end < 0:
                break
            yield _line(bytes(buffer), too_long=too_long, first=first, limit=max_line_bytes)
            buffer.clear()
            too_long, first, start = False, False, end + 1
    if buffer or too_long:
        line = _line(bytes(buffer), too_long=too_long, first=first, limit=max_line_bytes)
        yield line if isinstance(line, Unreadable) else line.removesuffix("\n")


def _line(raw: bytes, *, too_long: bool, first: bool, limit: int) -> Line:
    if too_long:
        return Unreadable(f"line longer than {limit} bytes")
    try:
        return raw.decode("utf-8-sig" if first else "utf-8") + "\n"
    except UnicodeDecodeError:
        return Unreadable("not valid UTF-8")


async def _batches(
    lines: AsyncIterable[Line], *, fmt: Format, record_type: RecordType | None, size: int
) -> AsyncIterator[list[RawRow]]:
    """Rows in batches of ``size``, or of :data:`ROW_BY_ROW_BATCH_SIZE` rows imported one by
    one (areas, facilities, workers…, a savepoint and a use case each), so no transaction
    holds the database for long (SQLite has one writer); a row that is not even JSON/CSV
    carries its reason."""
    batch: list[RawRow] = []
    row_by_row = 0
    rows = _ndjson_rows(lines) if fmt == "ndjson" else _csv_rows(lines)
    async for line, raw in rows:
        if (
            isinstance(raw, dict)
            and record_type is not None
            and raw.setdefault("type", record_type) != record_type
        ):
            raw = f"type {raw['type']!r} in a {record_type} import"
        batch.append((line, raw))
        row_by_row += isinstance(raw, dict) and raw.get("type") not in BULK_TYPES
        if len(batch) >= size or row_by_row >= ROW_BY_ROW_BATCH_SIZE:
            yield batch
            batch, row_by_row = [], 0
    if batch:
        yield batch


async def _ndjson_rows(lines: AsyncIterable[Line]) -> AsyncIterator[RawRow]:
    number = 0
    async for text in lines:
        number += 1
        if isinstance(text, Unreadable):
            yield number, text.reason
            continue
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)  # a third of json.loads' time; NaN is no JSON to it
        except ValueError:  # orjson's JSONDecodeError, nesting too deep included
            yield number, "not a JSON object"
            continue
        yield number, value if isinstance(value, dict) else "not a JSON object"


async def _csv_rows(lines: AsyncIterable[Line]) -> AsyncIterator[RawRow]:
    """CSV records with their record number (the header is record 1); a quoted field may
    span lines (see :class:`CsvRecords`)."""
    records = CsvRecords()
    async for text in lines:
        for row in records.feed(text):
            yield row
    for row in records.close():
        yield row


class CsvRecords:
    """Splits lines into CSV records, in time linear in the input.

    Quotes are counted line by line: while their number is odd a quoted field is open and the
    lines are held. A record still open after :data:`MAX_RECORD_LINES` lines or
    :data:`MAX_RECORD_BYTES`, or at the end of the input, has a stray quote: its first line is
    rejected as one record and the lines after it are read again on their own, so a stray
    quote costs one row, never the rest of the file. Records the ``csv`` module refuses
    (strict) are rejected rows too.
    """

    def __init__(self) -> None:
        self.header: list[str] | None = None
        self.number = 0
        self._pending: list[str] = []
        self._quotes = 0
        self._size = 0

    def feed(self, line: Line) -> list[RawRow]:
        """The records ``line`` completes."""
        rows: list[RawRow] = []
        queue: deque[Line] = deque([line])
        while queue:
            item = queue.popleft()
            if isinstance(item, Unreadable):
                if self._pending:  # inside an open quote: that record is broken
                    queue.appendleft(item)
                    queue.extendleft(reversed(self._give_up(rows)))
                    continue
                self.number += 1
                rows.append((self.number, item.reason))
                continue
            text = item if item.endswith("\n") else item + "\n"
            self._pending.append(text)
            self._quotes += text.count('"')
            self._size += len(text)
            if self._quotes % 2:
                if len(self._pending) > MAX_RECORD_LINES or self._size > MAX_RECORD_BYTES:
                    queue.extendleft(reversed(self._give_up(rows)))
                continue
            self._complete(rows)
        return rows

    def close(self) -> list[RawRow]:
        """The records left at the end of the input (an open quote is a stray one)."""
        rows: list[RawRow] = []
        while self._pending:
            for line in self._give_up(rows):
                rows.extend(self.feed(line))
        return rows

    def _give_up(self, rows: list[RawRow]) -> list[str]:
        """Reject the first held line for its stray quote; the lines to read again."""
        rest = self._pending[1:]
        self._reset()
        self.number += 1
        rows.append((self.number, 'unbalanced quote (")'))
        return rest

    def _complete(self, rows: list[RawRow]) -> None:
        try:
            records = list(csv.reader(self._pending, strict=True))
        except csv.Error as exc:
            self._reset()
            self.number += 1
            rows.append((self.number, f"not valid CSV: {exc}"))
            return
        self._reset()
        for record in records:
            self.number += 1
            if self.header is None:
                self.header = [name.strip() for name in record]
            elif record:
                if len(record) != len(self.header):
                    width = len(self.header)
                    rows.append((self.number, f"{len(record)} fields where the header has {width}"))
                else:
                    rows.append((self.number, dict(zip(self.header, record, strict=True))))

    def _reset(self) -> None:
        self._pending, self._quotes, self._size = [], 0, 0
