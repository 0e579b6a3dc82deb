"""Reads of households and residents: one function per query, keyword-only arguments.

Queries take a session (no unit of work: they change nothing) and answer with the entities
of :mod:`registry.domain.people`, but for the hottest reads (:func:`list_residents`,
:func:`resident_row`), which answer plain rows of the columns a response shows.
``principal`` confines a caller to its area: a household or resident outside it is "not
found" (404), and lists answer within it (:func:`registry.area_service.scope_path`). None is
the platform itself.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Date, Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.adapters.history import HouseholdVersionRow, ResidentVersionRow
from registry.adapters.paths import in_subtree, path_ids
from registry.adapters.people import (
    HouseholdRow,
    ResidentRow,
    household_of,
    resident_id_by_hash,
    resident_of,
)
from registry.area_service import scope_path
from registry.domain.national_id import parse_national_id
from registry.domain.people import (
    Household,
    Resident,
    ResidentStatus,
    birth_dates_for_ages,
    flags_mask,
)
from registry.pii import PiiProtector
from shared.auth import Principal, ensure_area
from shared.contracts.registry import EmploymentStatus, RegistrationStatus, ResidentFlag
from shared.errors import NotFound
from shared.reads import ReadConnection, ReadRow, select_rows


@dataclass(frozen=True)
class ResidentFilter:
    """Which residents a list or count answers on; ages are on ``on`` (default ``as_of``,
    else today).

    ``within`` is an area subtree (the area included); ``flags`` must all be held; ``as_of``
    answers with each resident's version valid on that day (:mod:`registry.adapters.history`)
    instead of the current one.
    """

    within: str | None = None
    registration: RegistrationStatus | None = None
    employment_status: EmploymentStatus | None = None
    flags: Sequence[ResidentFlag] = field(default_factory=tuple)
    disabled: bool | None = None
    min_age: int | None = None
    max_age: int | None = None
    status: ResidentStatus | None = None
    on: date | None = None
    as_of: date | None = None


# -- households -----------------------------------------------------------------------------


async def get_household(
    session: AsyncSession, *, household_id: str, principal: Principal | None = None
) -> Household:
    """One household; :class:`NotFound` if there is none or it lies outside the area."""
    row = await session.get(HouseholdRow, household_id)
    if row is None:
        raise NotFound(f"no household {household_id}")
    household = household_of(row)
    if principal is not None:
        ensure_area(principal, household.path)
    return household


async def list_households(
    session: AsyncSession,
    *,
    within: str | None = None,
    principal: Principal | None = None,
    after: str | None = None,
    limit: int = 100,
    as_of: date | None = None,
) -> list[Household]:
    """Households by id, in the subtree of ``within`` (default: the caller's area); with
    ``as_of``, those registered on that day, where they were then.

    ``after`` is the last id of the previous page (keyset pagination).
    """
    scope = await scope_path(session, within=within, principal=principal)
    if as_of is not None:
        return await _households_as_of(session, scope=scope, as_of=as_of, after=after, limit=limit)
    query = select(HouseholdRow).order_by(HouseholdRow.id).limit(limit)
    query = query.where(in_subtree(HouseholdRow.community_path, scope))
    if after is not None:
        query = query.where(HouseholdRow.id > after)
    return [household_of(row) for row in (await session.scalars(query)).all()]


async def _households_as_of(
    session: AsyncSession, *, scope: str | None, as_of: date, after: str | None, limit: int
) -> list[Household]:
    versions = HouseholdVersionRow
    query = (
        select(
            HouseholdRow.id,
            HouseholdRow.registered_on,
            versions.community_id,
            versions.community_path,
            versions.address,
            versions.version,
        )
        .join(versions, versions.household_id == HouseholdRow.id)
        .where(valid_on(versions, as_of), in_subtree(versions.community_path, scope))
        .order_by(HouseholdRow.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(HouseholdRow.id > after)
    return [
        Household(
            id=row.id,
            community_id=row.community_id,
            path=path_ids(row.community_path),
            address=row.address,
            registered_on=row.registered_on,
            version=row.version,
        )
        for row in await session.execute(query)
    ]


async def household_history(
    session: AsyncSession, *, household_id: str, principal: Principal | None = None
) -> list[HouseholdVersionRow]:
    """The versions of a household, oldest first; :class:`NotFound` as :func:`get_household`."""
    await get_household(session, household_id=household_id, principal=principal)
    query = (
        select(HouseholdVersionRow)
        .where(HouseholdVersionRow.household_id == household_id)
        .order_by(HouseholdVersionRow.version)
    )
    return list((await session.scalars(query)).all())


async def resident_history(
    session: AsyncSession, *, resident_id: str, principal: Principal | None = None
) -> list[ResidentVersionRow]:
    """The versions of a resident, oldest first; :class:`NotFound` as :func:`get_resident`."""
    await get_resident(session, resident_id=resident_id, principal=principal)
    query = (
        select(ResidentVersionRow)
        .where(ResidentVersionRow.resident_id == resident_id)
        .order_by(ResidentVersionRow.version)
    )
    return list((await session.scalars(query)).all())


# -- residents ------------------------------------------------------------------------------

_RESIDENTS = ResidentRow.__table__
_RESIDENT_BY_ID = select(_RESIDENTS).where(_RESIDENTS.c.id == bindparam("resident_id"))
_VERSIONS = ResidentVersionRow.__table__
_AS_OF = (
    select(
        _RESIDENTS.c.id,
        _RESIDENTS.c.national_id_encrypted,
        _RESIDENTS.c.national_id_hash,
        _RESIDENTS.c.national_id_area_code,
        _RESIDENTS.c.name,
        _RESIDENTS.c.sex,
        _RESIDENTS.c.birth_date,
        _RESIDENTS.c.registered_on,
        *(
            _VERSIONS.c[name]
            for name in (
                "household_id",
                "community_id",
                "community_path",
                "registration",
                "permit_expires_on",
                "employment_status",
                "disabled",
                "flags_mask",
                "status",
                "ended_on",
                "version",
            )
        ),
        _VERSIONS.c.valid_from.label("version_valid_from"),
        _VERSIONS.c.valid_to.label("version_valid_to"),
    )
    .join(_VERSIONS, _VERSIONS.c.resident_id == _RESIDENTS.c.id)
    .subquery("resident_as_of")
)
"""Each resident with each of its versions: the rows ``as_of`` lists and counts filter on."""
SHOWN_COLUMNS = (
    "id",
    "national_id_area_code",
    "national_id_encrypted",
    "name",
    "sex",
    "birth_date",
    "household_id",
    "community_id",
    "community_path",
    "registration",
    "permit_expires_on",
    "employment_status",
    "disabled",
    "flags_mask",
    "status",
    "ended_on",
    "registered_on",
    "version",
)
"""The columns of a resident a read shows or draws from (:func:`resident_row`,
:func:`list_residents`): not the look-up hash, the timestamps or the permit warning mark."""
_SHOWN_BY_ID = select(*(_RESIDENTS.c[name] for name in SHOWN_COLUMNS)).where(
    _RESIDENTS.c.id == bindparam("resident_id")
)


async def get_resident(
    db: AsyncSession | ReadConnection, *, resident_id: str, principal: Principal | None = None
) -> Resident:
    """One resident (alive, dead or left); :class:`NotFound` if there is none or it lies
    outside the caller's area."""
    rows = await select_rows(db, _RESIDENT_BY_ID, {"resident_id": resident_id})
    if not rows:
        raise NotFound(f"no resident {resident_id}")
    resident = resident_of(rows[0])
    if principal is not None:
        ensure_area(principal, resident.path)
    return resident


async def resident_row(
    reads: ReadConnection, *, resident_id: str, principal: Principal | None = None
) -> ReadRow:
    """The :data:`SHOWN_COLUMNS` of one resident (alive, dead or left), as a plain row;
    :class:`NotFound` as :func:`get_resident`."""
    row = await reads.first(_SHOWN_BY_ID, {"resident_id": resident_id})
    if row is None:
        raise NotFound(f"no resident {resident_id}")
    if principal is not None:
        ensure_area(principal, path_ids(row.community_path))
    return row


async def find_resident_by_national_id(
    session: AsyncSession,
    *,
    pii: PiiProtector,
    national_id: str,
    principal: Principal | None = None,
    today: date | None = None,
) -> Resident:
    """The resident holding a national id number (exact match through the keyed hash);
    :class:`NotFound` if none is registered within the caller's area. An invalid number is
    an input error on ``national_id``."""
    facts = parse_national_id(national_id, today=today or date.today())
    resident_id = await resident_id_by_hash(session, pii.lookup_hash(facts.normalised))
    if resident_id is None:
        raise NotFound("no resident with this national id number")
    return await get_resident(session, resident_id=resident_id, principal=principal)


async def list_residents(
    db: AsyncSession | ReadConnection,
    *,
    filters: ResidentFilter,
    principal: Principal | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[ReadRow]:
    """The :data:`SHOWN_COLUMNS` of residents by id matching ``filters`` within the caller's
    area; ``after`` is the last id of the previous page (keyset pagination). Plain rows, no
    entities: this is the hottest read of the register."""
    values = await _filter_values(db, filters=filters, principal=principal)
    if after is not None:
        values["after"] = after
    values["limit"] = limit
    query = _statement("list", filters.as_of is not None, frozenset(values))
    return list(await select_rows(db, query, values))


async def count_residents(
    db: AsyncSession | ReadConnection,
    *,
    filters: ResidentFilter,
    principal: Principal | None = None,
) -> int:
    """How many residents match ``filters`` within the caller's area."""
    values = await _filter_values(db, filters=filters, principal=principal)
    query = _statement("count", filters.as_of is not None, frozenset(values))
    return int((await select_rows(db, query, values))[0].total)


def national_id_of(resident: Resident, *, pii: PiiProtector) -> str:
    """The decrypted national id number of a resident (show it masked unless allowed)."""
    return pii.decrypt(resident.national_id.encrypted, owner=resident.id)


async def _filter_values(
    db: AsyncSession | ReadConnection, *, filters: ResidentFilter, principal: Principal | None
) -> dict[str, Any]:
    """The value of each condition ``filters`` (and the caller's area) set, by the name of
    its placeholder in :func:`_statement`."""
    values: dict[str, Any] = {}
    scope = await scope_path(db, within=filters.within, principal=principal)
    if scope is not None:
        values["scope"] = _SUBTREE_ESCAPES.sub(r"/\g<0>", scope) + "%"
    if filters.as_of is not None:
        values["as_of"] = filters.as_of
    if filters.registration is not None:
        values["registration"] = filters.registration
    if filters.employment_status is not None:
        values["employment_status"] = filters.employment_status
    if filters.flags:
        values["flags"] = flags_mask(filters.flags)
    if filters.disabled is not None:
        values["disabled"] = filters.disabled
    if filters.status is not None:
        values["status"] = filters.status
    if filters.min_age is not None or filters.max_age is not None:
        births = birth_dates_for_ages(
            min_age=filters.min_age,
            max_age=filters.max_age,
            on=filters.on or filters.as_of or date.today(),
        )
        if births.born_after is not None:
            values["born_after"] = births.born_after
        if births.born_on_or_before is not None:
            values["born_on_or_before"] = births.born_on_or_before
    return values


_SUBTREE_ESCAPES = re.compile(r"[/%_]")
"""What a ``LIKE`` pattern escapes (with ``/``, as ``startswith(…, autoescape=True)`` does)."""


@functools.cache
def _statement(kind: str, as_of: bool, names: frozenset[str]) -> Select[Any]:
    """The list (``kind`` "list") or count statement of residents, or of their versions
    valid on a day (``as_of``), with a placeholder for each value in ``names``: built once
    for each shape (which filters are set), so a read only binds its values."""
    row: Any = _AS_OF.c if as_of else _RESIDENTS.c
    if kind == "list":
        query = select(*(row[name] for name in SHOWN_COLUMNS)).order_by(row.id)
        query = query.limit(bindparam("limit", type_=Integer))
    else:
        query = select(func.count().label("total")).select_from(_AS_OF if as_of else _RESIDENTS)
    conditions: list[ColumnElement[bool]] = []
    if "scope" in names:
        conditions.append(row.community_path.like(bindparam("scope"), escape="/"))
    if as_of:
        day = bindparam("as_of", type_=Date)
        conditions.append(row.version_valid_from <= day)
        conditions.append(or_(row.version_valid_to.is_(None), row.version_valid_to > day))
    for name in ("registration", "employment_status", "disabled", "status"):
        if name in names:
            conditions.append(row[name] == bindparam(name))
    if "flags" in names:
        wanted = bindparam("flags", type_=Integer)
        conditions.append(row.flags_mask.op("&")(wanted) == wanted)
    if "born_after" in names:
        conditions.append(row.birth_date > bindparam("born_after", type_=Date))
    if "born_on_or_before" in names:
        conditions.append(row.birth_date <= bindparam("born_on_or_before", type_=Date))
    if "after" in names:
        conditions.append(row.id > bindparam("after"))
    return query.where(*conditions)


def valid_on(versions: type[HouseholdVersionRow], day: date) -> ColumnElement[bool]:
    """The version of a household valid on ``day``."""
    return and_(
        versions.valid_from <= day, or_(versions.valid_to.is_(None), versions.valid_to > day)
    )
