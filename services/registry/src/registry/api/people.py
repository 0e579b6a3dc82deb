"""Routes for households and residents: thin, each parses, calls one use case, maps the result.

A write route hands its use case (:mod:`registry.households`, :mod:`registry.residents`) to the
command runner (:data:`registry.api.deps.PiiWriteCommand`), which owns the transaction and the
``Idempotency-Key`` (the first response is replayed for a retry; bodies carry id numbers and
addresses, so request fingerprints are keyed). Reads call :mod:`registry.people_queries`. A
token confined to an area sees and changes only its subtree: anything else is 404. National
id numbers are shown masked (``110105************``) unless the token has ``pii:read``;
without it the birth date is hidden too (the age stays), since it would fill in the masked
digits. Write responses are always masked, so stored idempotent replays never hold either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import date
from functools import partial
from operator import itemgetter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from registry import households as household_commands
from registry import people_queries as queries
from registry import residents as resident_commands
from registry.adapters.history import HouseholdVersionRow, ResidentVersionRow
from registry.adapters.paths import path_ids
from registry.api.bodies import Body, Day
from registry.api.deps import PiiReader, PiiWriteCommand, Reader, RegistryRead
from registry.domain.national_id import mask_of_area_code
from registry.domain.people import (
    FLAG_BITS,
    Household,
    NewResident,
    Resident,
    ResidentStatus,
    age_band,
    age_on,
    band_of_age,
    flags_of,
)
from registry.pii import PiiDep, PiiProtector, mask_national_id, pii_protector
from shared.audit import AuditTrail, trail_of
from shared.auth import PII_READ, Principal
from shared.contracts.registry import (
    AgeBand,
    EmploymentStatus,
    RegistrationStatus,
    ResidentFlag,
    Sex,
)
from shared.inputs import PersonalData, Text
from shared.pagination import DEFAULT_PAGE_SIZE, Cursor, Page, PageSize, decode_cursor, page_of
from shared.query import PageQuery, QueryModel, query_parameters
from shared.reads import ReadConnectionDep, ReadRow, ReadSessionDep, json_response, values_of
from shared.runtime import SessionDep

households = APIRouter(prefix="/households", tags=["households"])
residents = APIRouter(prefix="/residents", tags=["residents"])
routers = (households, residents)
"""Every household and resident route (include each: a router included in another is
matched twice per request)."""

MAX_AGE = 150


# -- bodies -------------------------------------------------------------------------------


Personal = Annotated[Text, PersonalData()]
"""A name, national id number or address: personal data (never published or logged)."""


class HouseholdIn(Body):
    """A household to register."""

    model_config = ConfigDict(extra="forbid")

    community_id: Text = Field(max_length=32, description="Current community it belongs to.")
    address: Personal = Field(
        min_length=1, max_length=500, description="Address (stored, never published)."
    )
    registered_on: date = Field(description="Registration date (not in the future).")


class HouseholdMoveIn(Body):
    """Where a household relocates to."""

    model_config = ConfigDict(extra="forbid")

    community_id: Text = Field(max_length=32, description="Current community it moves to.")
    moved_on: date = Field(description="Date of the move (not in the future).")


class HouseholdOut(BaseModel):
    """A household as the API shows it."""

    id: str
    community_id: str
    path: list[str] = Field(description="Ids from the city down to the community.")
    address: str
    registered_on: date
    version: int = Field(description="1 when registered, +1 per move.")

    @classmethod
    def of(cls, household: Household) -> HouseholdOut:
        """The API view of a household."""
        return cls(**{name: getattr(household, name) for name in cls.model_fields})


class ResidentIn(Body):
    """A resident to register in a household."""

    model_config = ConfigDict(extra="forbid")

    national_id: Personal = Field(
        min_length=1,
        max_length=32,
        description="18-character national id number (GB 11643); birth date and sex must "
        "agree with it. Stored encrypted, never published.",
    )
    name: Personal = Field(
        min_length=1, max_length=200, description="Name (stored, never published)."
    )
    sex: Sex = Field(description="Sex, as in the national id number.")
    birth_date: date = Field(description="Birth date, as in the national id number.")
    household_id: Text = Field(max_length=36, description="Household the resident joins.")
    registration: RegistrationStatus = Field(
        default="registered", description="Registered (hukou) or floating population."
    )
    permit_expires_on: date | None = Field(
        default=None, description="Residence permit expiry; required for a floating resident."
    )
    employment_status: EmploymentStatus = Field(description="Employment status.")
    disabled: StrictBool = Field(default=False, description="Holds a disability certificate.")
    flags: list[ResidentFlag] = Field(
        default_factory=list, max_length=10, description="Special groups."
    )

    def to_form(self) -> NewResident:
        """The registration form the use case checks."""
        return NewResident(**self.model_dump(exclude={"flags"}), flags=tuple(self.flags))


class ResidentPatch(Body):
    """Changes to a living resident's state; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    employment_status: EmploymentStatus | None = Field(default=None, description="New status.")
    disabled: StrictBool | None = Field(default=None, description="Holds a disability certificate.")
    flags: list[ResidentFlag] | None = Field(
        default=None, max_length=10, description="The complete new set of special groups."
    )
    registration: RegistrationStatus | None = Field(
        default=None,
        description="Registered or floating; becoming registered drops the permit.",
    )
    permit_expires_on: date | None = Field(
        default=None, description="New permit expiry (floating residents; null drops it)."
    )


class ResidentMoveIn(Body):
    """The household a resident moves to."""

    model_config = ConfigDict(extra="forbid")

    household_id: Text = Field(max_length=36, description="Household the resident joins.")
    moved_on: date = Field(description="Date of the move (not in the future).")


class DeathIn(Body):
    """A resident's death."""

    model_config = ConfigDict(extra="forbid")

    died_on: date = Field(description="Date of death (not in the future).")


class DepartureIn(Body):
    """A resident leaving the register (moving away)."""

    model_config = ConfigDict(extra="forbid")

    left_on: date = Field(description="Date of leaving (not in the future).")


class ResidentOut(BaseModel):
    """A resident as the API shows it."""

    id: str
    national_id: str = Field(
        description="Masked to the address code (`110105************`) unless the token has "
        "`pii:read`."
    )
    national_id_masked: bool = Field(description="Whether `national_id` is masked.")
    name: str
    sex: Sex
    birth_date: date | None = Field(
        description="Birth date with `pii:read`; null without it (it is 8 of the number's "
        "digits). Without `pii:read`, `age` is what a response says of it."
    )
    age: int = Field(description="Completed years today (at death or leaving, if so).")
    age_band: AgeBand = Field(description="Statistical age band of `age`.")
    household_id: str
    community_id: str
    path: list[str] = Field(description="Ids from the city down to the community.")
    registration: RegistrationStatus
    permit_expires_on: date | None
    employment_status: EmploymentStatus
    disabled: bool
    flags: list[ResidentFlag]
    status: ResidentStatus = Field(description="`alive`, `dead` or `left`.")
    ended_on: date | None = Field(description="Date of death or leaving.")
    registered_on: date
    version: int = Field(description="1 when registered, +1 per change.")

    @classmethod
    def of(cls, resident: Resident, *, pii: PiiProtector, reveal: bool) -> ResidentOut:
        """The API view of a resident; the number in clear only when ``reveal`` (a masked one
        is drawn from the stored address code, decrypted only for numbers stored without)."""
        area_code = resident.national_id.area_code
        if reveal or area_code is None:
            number = queries.national_id_of(resident, pii=pii)
            shown = number if reveal else mask_national_id(number)
        else:
            shown = mask_of_area_code(area_code)
        on = resident.ended_on or date.today()
        return cls(
            **{name: getattr(resident, name) for name in _SHOWN_AS_THEY_ARE},
            national_id=shown,
            national_id_masked=not reveal,
            birth_date=resident.birth_date if reveal else None,
            age=age_on(resident.birth_date, on),
            age_band=age_band(resident.birth_date, on),
        )


_SHOWN_AS_THEY_ARE = [
    name
    for name in ResidentOut.model_fields
    if name in {item.name for item in fields(Resident)}
    and name not in {"national_id", "birth_date"}
]
"""The fields of a resident the API shows as they are (the number is decrypted, then masked
unless revealed, and the birth date shown only with it; the age is derived)."""


_FLAGS = {mask: flags_of(mask) for mask in range(1 << len(FLAG_BITS))}
"""The flags of every stored bit mask."""
_BANDS = [band_of_age(age) for age in range(MAX_AGE + 1)]
"""The age band of every age up to :data:`MAX_AGE`."""


def resident_views(
    rows: Sequence[ReadRow], *, pii: PiiProtector, reveal: bool, today: date
) -> list[dict[str, Any]]:
    """What :meth:`ResidentOut.of` shows of each resident, as plain values (serialised to
    the same JSON), drawn straight from rows of :data:`registry.people_queries.SHOWN_COLUMNS`
    without an entity or a model: the hottest reads answer with it
    (``test_resident_views_are_resident_out``). The number in clear only when ``reveal``;
    a masked one is drawn from the stored address code (decrypted only for numbers stored
    without one)."""
    paths: dict[str, list[str]] = {}
    masks: dict[str, str] = {}
    views: list[dict[str, Any]] = []
    append = views.append
    masked = not reveal
    this_year, this_day = today.year, (today.month, today.day)
    for row in rows:
        (
            resident_id,
            area_code,
            encrypted,
            name,
            sex,
            birth_date,
            household_id,
            community_id,
            community_path,
            registration,
            permit_expires_on,
            employment_status,
            disabled,
            mask,
            resident_status,
            ended_on,
            registered_on,
            version,
        ) = values_of(row, queries.SHOWN_COLUMNS)
        if reveal:
            number = pii.decrypt(encrypted, owner=resident_id)
        elif area_code is not None:
            known = masks.get(area_code)
            if known is None:
                known = masks[area_code] = mask_of_area_code(area_code)
            number = known
        else:
            number = mask_national_id(pii.decrypt(encrypted, owner=resident_id))
        path = paths.get(community_path)
        if path is None:
            path = paths[community_path] = list(path_ids(community_path))
        born = (birth_date.month, birth_date.day)
        if ended_on is None:  # completed years today
            age = this_year - birth_date.year - (this_day < born)
        else:
            age = ended_on.year - birth_date.year - ((ended_on.month, ended_on.day) < born)
        append(
            {
                "id": resident_id,
                "national_id": number,
                "national_id_masked": masked,
                "name": name,
                "sex": sex,
                "birth_date": birth_date if reveal else None,
                "age": age,
                "age_band": _BANDS[age] if 0 <= age <= MAX_AGE else band_of_age(age),
                "household_id": household_id,
                "community_id": community_id,
                "path": path,
                "registration": registration,
                "permit_expires_on": permit_expires_on,
                "employment_status": employment_status,
                "disabled": disabled,
                "flags": _FLAGS[mask],
                "status": resident_status,
                "ended_on": ended_on,
                "registered_on": registered_on,
                "version": version,
            }
        )
    return views


class ResidentCount(BaseModel):
    """How many residents match."""

    count: int


class HouseholdVersionOut(BaseModel):
    """One version of a household: valid from ``valid_from`` until the day before
    ``valid_to`` (null: still valid)."""

    version: int
    change: str = Field(description="`registered` or `moved`.")
    valid_from: date
    valid_to: date | None
    community_id: str
    path: list[str] = Field(description="Ids from the city down to the community.")
    address: str

    @classmethod
    def of(cls, row: HouseholdVersionRow) -> HouseholdVersionOut:
        """The API view of a stored version."""
        return cls(
            **{name: getattr(row, name) for name in cls.model_fields if name != "path"},
            path=list(path_ids(row.community_path)),
        )


class ResidentVersionOut(BaseModel):
    """One version of a resident: valid from ``valid_from`` until the day before
    ``valid_to`` (null: still valid)."""

    version: int
    change: str = Field(description="`registered`, `updated`, `moved`, `died` or `left`.")
    valid_from: date
    valid_to: date | None
    household_id: str
    community_id: str
    path: list[str] = Field(description="Ids from the city down to the community.")
    registration: RegistrationStatus
    permit_expires_on: date | None
    employment_status: EmploymentStatus
    disabled: bool
    flags: list[ResidentFlag]
    status: ResidentStatus
    ended_on: date | None

    @classmethod
    def of(cls, row: ResidentVersionRow) -> ResidentVersionOut:
        """The API view of a stored version."""
        derived = {"path", "flags"}
        return cls(
            **{name: getattr(row, name) for name in cls.model_fields if name not in derived},
            path=list(path_ids(row.community_path)),
            flags=flags_of(row.flags_mask),
        )


AsOf = Annotated[
    Day | None,
    Query(description="Answer as the register stood on this day (each record's version then)."),
]


class ResidentQuery(QueryModel):
    """The filters of a resident list or count, from the query string."""

    within: Annotated[
        Text | None, Query(max_length=32, description="Only this area's subtree.")
    ] = None
    registration: Annotated[
        RegistrationStatus | None, Query(description="Only registered or floating.")
    ] = None
    employment_status: Annotated[
        EmploymentStatus | None, Query(description="Only this employment status.")
    ] = None
    flag: Annotated[
        list[ResidentFlag] | None,
        Query(description="Only residents holding every flag given (repeatable)."),
    ] = None
    disabled: Annotated[bool | None, Query(description="Only (not) disabled residents.")] = None
    min_age: Annotated[
        int | None, Query(ge=0, le=MAX_AGE, description="Aged at least this today.")
    ] = None
    max_age: Annotated[
        int | None, Query(ge=0, le=MAX_AGE, description="Aged at most this today.")
    ] = None
    status: Annotated[
        ResidentStatus | None, Query(description="Only `alive`, `dead` or `left` (default all).")
    ] = None
    as_of: AsOf = None

    def filter(self) -> queries.ResidentFilter:
        """The query's :class:`queries.ResidentFilter`."""
        return queries.ResidentFilter(
            within=self.within,
            registration=self.registration,
            employment_status=self.employment_status,
            flags=tuple(self.flag or ()),
            disabled=self.disabled,
            min_age=self.min_age,
            max_age=self.max_age,
            status=self.status,
            as_of=self.as_of,
        )


class ResidentPageQuery(ResidentQuery, PageQuery):
    """A page of the resident list: cursor and size, then the filters."""


RESIDENT_QUERY = query_parameters(ResidentQuery)
RESIDENT_PAGE_QUERY = query_parameters(ResidentPageQuery)


_AUDITED: Callable[[Any], tuple[str, str]] = itemgetter("id", "community_path")
"""A listed row's audited resource: its id and stored path (read by name, without the
attribute look-up of :class:`shared.reads.ReadRow`, 100 times a page)."""


def _reveals(principal: Principal) -> bool:
    return principal.has_scope(PII_READ)


def _read_action(reveal: bool) -> str:
    """A read's audit action: ``read`` when the number was shown in clear, ``read-masked``
    when it was masked (the name, household and flags are personal data either way)."""
    return "read" if reveal else "read-masked"


def _masked(pii: PiiProtector) -> partial[ResidentOut]:
    """How a write answers with a resident: masked, so stored replays hold no number."""
    return partial(ResidentOut.of, pii=pii, reveal=False)


def _after(cursor: str | None) -> str | None:
    key = decode_cursor(cursor)
    return str(key[0]) if key else None


# -- households ---------------------------------------------------------------------------


@households.post("", status_code=status.HTTP_201_CREATED, response_model=HouseholdOut)
async def register_household(body: HouseholdIn, command: PiiWriteCommand) -> JSONResponse:
    """Register a household in a current community of the token's area."""
    return await command.run(
        household_commands.register_household,
        HouseholdOut.of,
        status=status.HTTP_201_CREATED,
        community_id=body.community_id,
        address=body.address,
        registered_on=body.registered_on,
    )


@households.get("", response_model=Page[HouseholdOut])
async def list_households(
    session: ReadSessionDep,
    principal: Reader,
    trail: AuditTrail,
    within: Annotated[
        Text | None, Query(max_length=32, description="Only this area's subtree.")
    ] = None,
    cursor: Cursor = None,
    limit: PageSize = DEFAULT_PAGE_SIZE,
    as_of: AsOf = None,
) -> Response:
    """Households by id within the token's area (their addresses: the read is audited), with
    stable cursor pagination; with `as_of`, those registered on that day, where they were
    then."""
    found = await queries.list_households(
        session,
        within=within,
        principal=principal,
        after=_after(cursor),
        limit=limit + 1,
        as_of=as_of,
    )
    page, next_cursor = page_of(found, limit, lambda household: [household.id])
    await trail.read(principal, "household", [(household.id, household.path) for household in page])
    return json_response(
        Page[HouseholdOut](
            items=[HouseholdOut.of(household) for household in page], next_cursor=next_cursor
        )
    )


@households.get("/{household_id}", response_model=HouseholdOut)
async def get_household(
    household_id: str, session: ReadSessionDep, principal: Reader, trail: AuditTrail
) -> Response:
    """One household (its address: the read is audited); 404 if it does not exist or lies
    outside the token's area."""
    household = await queries.get_household(session, household_id=household_id, principal=principal)
    await trail.read(principal, "household", [(household.id, household.path)])
    return json_response(HouseholdOut.of(household))


@households.get("/{household_id}/history", response_model=list[HouseholdVersionOut])
async def get_household_history(
    household_id: str, session: ReadSessionDep, principal: Reader, trail: AuditTrail
) -> list[HouseholdVersionOut]:
    """Every version of a household (its addresses: the read is audited), oldest first; 404
    as for the household."""
    versions = await queries.household_history(
        session, household_id=household_id, principal=principal
    )
    if versions:
        path = versions[-1].community_path
        await trail.read(principal, "household", [(household_id, path)], action="read-history")
    return [HouseholdVersionOut.of(row) for row in versions]


@households.post("/{household_id}/move", response_model=HouseholdOut)
async def move_household(
    household_id: str, body: HouseholdMoveIn, command: PiiWriteCommand
) -> JSONResponse:
    """Relocate a household (and its living members) to another current community."""
    return await command.run(
        household_commands.move_household,
        HouseholdOut.of,
        household_id=household_id,
        to_community_id=body.community_id,
        moved_on=body.moved_on,
    )


# -- residents ----------------------------------------------------------------------------


@residents.post("", status_code=status.HTTP_201_CREATED, response_model=ResidentOut)
async def register_resident(
    body: ResidentIn, command: PiiWriteCommand, pii: PiiDep
) -> JSONResponse:
    """Register a resident in a household; 422 naming the field when the national id number
    is invalid or disagrees with the birth date or sex, 409 when it is already registered."""
    return await command.run(
        resident_commands.register_resident,
        _masked(pii),
        status=status.HTTP_201_CREATED,
        pii=pii,
        form=body.to_form(),
    )


@residents.get("", response_model=Page[ResidentOut], openapi_extra=RESIDENT_PAGE_QUERY.openapi)
async def list_residents(
    read: RegistryRead,
    query: Annotated[ResidentPageQuery, RESIDENT_PAGE_QUERY.depends],
) -> Response:
    """Residents by id matching the filters within the token's area, with stable cursor
    pagination; every listed resident's read is audited (`read`, or `read-masked` without
    `pii:read`)."""
    principal = read.principal
    limit = query.limit
    found = await queries.list_residents(
        read.db,
        filters=query.filter(),
        principal=principal,
        after=_after(query.cursor),
        limit=limit + 1,
    )
    page, next_cursor = page_of(found, limit, lambda row: [row.id])
    reveal = _reveals(principal)
    await trail_of(read.request).read(
        principal,
        "resident",
        list(map(_AUDITED, page)),  # the stored path, as the log keeps it
        action=_read_action(reveal),
    )
    pii = pii_protector(read.request)
    items = resident_views(page, pii=pii, reveal=reveal, today=date.today())
    return json_response({"items": items, "next_cursor": next_cursor})


@residents.get("/count", response_model=ResidentCount, openapi_extra=RESIDENT_QUERY.openapi)
async def count_residents(
    reads: ReadConnectionDep,
    principal: Reader,
    query: Annotated[ResidentQuery, RESIDENT_QUERY.depends],
) -> Response:
    """How many residents match the filters within the token's area."""
    count = await queries.count_residents(reads, filters=query.filter(), principal=principal)
    return json_response(ResidentCount(count=count))


@residents.get("/lookup", response_model=ResidentOut)
async def look_up_resident(
    national_id: Annotated[
        Personal, Query(min_length=1, max_length=32, description="The exact national id number.")
    ],
    session: SessionDep,
    principal: PiiReader,
    pii: PiiDep,
    trail: AuditTrail,
) -> ResidentOut:
    """The resident holding a national id number (needs `pii:read`; audited as a `look-up`);
    404 if none is registered within the token's area."""
    resident = await queries.find_resident_by_national_id(
        session, pii=pii, national_id=national_id, principal=principal
    )
    await trail.read(
        principal, "resident", [(resident.id, resident.path)], action="look-up", session=session
    )
    return ResidentOut.of(resident, pii=pii, reveal=True)


class ResidentLookup(Body):
    """A look-up by national id number, in a body so the number stays out of URLs."""

    model_config = ConfigDict(extra="forbid")

    national_id: Personal = Field(min_length=1, max_length=32, description="The exact number.")


@residents.post("/lookup", response_model=ResidentOut)
async def look_up_resident_by_body(
    body: ResidentLookup,
    session: SessionDep,
    principal: PiiReader,
    pii: PiiDep,
    trail: AuditTrail,
) -> ResidentOut:
    """As ``GET /residents/lookup``, with the number in the body: prefer it, since proxies
    and browsers record URLs."""
    resident = await queries.find_resident_by_national_id(
        session, pii=pii, national_id=body.national_id, principal=principal
    )
    await trail.read(
        principal, "resident", [(resident.id, resident.path)], action="look-up", session=session
    )
    return ResidentOut.of(resident, pii=pii, reveal=True)


@residents.get("/{resident_id}", response_model=ResidentOut)
async def get_resident(resident_id: str, read: RegistryRead) -> Response:
    """One resident (with `pii:read` its number in clear; every read audited, as `read` or
    `read-masked`); 404 if it does not exist or lies outside the token's area."""
    principal = read.principal
    row = await queries.resident_row(read.db, resident_id=resident_id, principal=principal)
    reveal = _reveals(principal)
    await trail_of(read.request).read(
        principal, "resident", [(row.id, row.community_path)], action=_read_action(reveal)
    )
    pii = pii_protector(read.request)
    [view] = resident_views([row], pii=pii, reveal=reveal, today=date.today())
    return json_response(view)


@residents.get("/{resident_id}/history", response_model=list[ResidentVersionOut])
async def get_resident_history(
    resident_id: str, session: ReadSessionDep, principal: Reader, trail: AuditTrail
) -> list[ResidentVersionOut]:
    """Every version of a resident (household, community, state, status; the read is
    audited), oldest first; 404 as for the resident."""
    versions = await queries.resident_history(session, resident_id=resident_id, principal=principal)
    if versions:
        path = versions[-1].community_path
        await trail.read(principal, "resident", [(resident_id, path)], action="read-history")
    return [ResidentVersionOut.of(row) for row in versions]


@residents.patch("/{resident_id}", response_model=ResidentOut)
async def update_resident(
    resident_id: str, body: ResidentPatch, command: PiiWriteCommand, pii: PiiDep
) -> JSONResponse:
    """Change employment, disability, flags, registration or permit; 409 once the resident
    died or left."""
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    for name in ("employment_status", "disabled", "flags", "registration"):
        if name in changes and changes[name] is None:
            changes.pop(name)  # null means "unchanged" for fields that cannot be empty
    return await command.run(
        resident_commands.update_resident, _masked(pii), resident_id=resident_id, **changes
    )


@residents.post("/{resident_id}/move", response_model=ResidentOut)
async def move_resident(
    resident_id: str, body: ResidentMoveIn, command: PiiWriteCommand, pii: PiiDep
) -> JSONResponse:
    """Move a living resident to another household of the token's area."""
    return await command.run(
        resident_commands.move_resident,
        _masked(pii),
        resident_id=resident_id,
        to_household_id=body.household_id,
        moved_on=body.moved_on,
    )


@residents.post("/{resident_id}/death", response_model=ResidentOut)
async def record_death(
    resident_id: str, body: DeathIn, command: PiiWriteCommand, pii: PiiDep
) -> JSONResponse:
    """Record a living resident's death."""
    return await command.run(
        resident_commands.record_death,
        _masked(pii),
        resident_id=resident_id,
        died_on=body.died_on,
    )


@residents.post("/{resident_id}/departure", response_model=ResidentOut)
async def record_departure(
    resident_id: str, body: DepartureIn, command: PiiWriteCommand, pii: PiiDep
) -> JSONResponse:
    """Record that a living resident left the register."""
    return await command.run(
        resident_commands.record_departure,
        _masked(pii),
        resident_id=resident_id,
        left_on=body.left_on,
    )
