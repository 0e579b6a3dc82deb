"""Reads of households and residents: one function per query, keyword-only arguments.

Queries take a session (no unit of work: they change nothing) and answer with the entities
of :mod:`registry.domain.people`. ``principal`` confines a caller to its area: a household or
resident outside it is "not found" (404), and lists answer within it
(:func:`registry.area_service.scope_path`). None is the platform itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.adapters.paths import in_subtree
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
from shared.reads import ReadConnection, select_rows


@dataclass(frozen=True)
class ResidentFilter:
    """Which residents a list or count answers on; ages are on ``on`` (default today).

    ``within`` is an area subtree (the area included); ``flags`` must all be held.
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
) -> list[Household]:
    """Households by id, in the subtree of ``within`` (default: the caller's area).

    ``after`` is the last id of the previous page (keyset pagination).
    """
    query = select(HouseholdRow).order_by(HouseholdRow.id).limit(limit)
    scope = await scope_path(session, within=within, principal=principal)
    query = query.where(in_subtree(HouseholdRow.community_path, scope))
    if after is not None:
        query = query.where(HouseholdRow.id > after)
    return [household_of(row) for row in (await session.scalars(query)).all()]


# -- residents ------------------------------------------------------------------------------

_RESIDENTS = ResidentRow.__table__
_RESIDENT_BY_ID = select(_RESIDENTS).where(_RESIDENTS.c.id == bindparam("resident_id"))


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
) -> list[Resident]:
    """Residents by id matching ``filters`` within the caller's area; ``after`` is the last id
    of the previous page (keyset pagination). Plain rows, no ORM objects: this is the
    hottest read of the register."""
    query = select(_RESIDENTS).order_by(_RESIDENTS.c.id).limit(limit)
    query = await _filtered(db, query, filters=filters, principal=principal)
    if after is not None:
        query = query.where(_RESIDENTS.c.id > after)
    return [resident_of(row) for row in await select_rows(db, query)]


async def count_residents(
    db: AsyncSession | ReadConnection,
    *,
    filters: ResidentFilter,
    principal: Principal | None = None,
) -> int:
    """How many residents match ``filters`` within the caller's area."""
    query = select(func.count().label("total")).select_from(_RESIDENTS)
    query = await _filtered(db, query, filters=filters, principal=principal)
    return int((await select_rows(db, query))[0].total)


def national_id_of(resident: Resident, *, pii: PiiProtector) -> str:
    """The decrypted national id number of a resident (show it masked unless allowed)."""
    return pii.decrypt(resident.national_id.encrypted, owner=resident.id)


async def _filtered(
    db: AsyncSession | ReadConnection,
    query: Select[Any],
    *,
    filters: ResidentFilter,
    principal: Principal | None,
) -> Select[Any]:
    scope = await scope_path(db, within=filters.within, principal=principal)
    conditions: list[ColumnElement[bool]] = [in_subtree(ResidentRow.community_path, scope)]
    if filters.registration is not None:
        conditions.append(ResidentRow.registration == filters.registration)
    if filters.employment_status is not None:
        conditions.append(ResidentRow.employment_status == filters.employment_status)
    if filters.flags:
        wanted = flags_mask(filters.flags)
        conditions.append(ResidentRow.flags_mask.op("&")(wanted) == wanted)
    if filters.disabled is not None:
        conditions.append(ResidentRow.disabled.is_(filters.disabled))
    if filters.status is not None:
        conditions.append(ResidentRow.status == filters.status)
    if filters.min_age is not None or filters.max_age is not None:
        births = birth_dates_for_ages(
            min_age=filters.min_age, max_age=filters.max_age, on=filters.on or date.today()
        )
        if births.born_after is not None:
            conditions.append(ResidentRow.birth_date > births.born_after)
        if births.born_on_or_before is not None:
            conditions.append(ResidentRow.birth_date <= births.born_on_or_before)
    return query.where(*conditions)
