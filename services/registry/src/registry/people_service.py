"""Use cases on households and residents: one function per command, keyword-only arguments.

Each write runs in the caller's transaction and stages its events in the outbox there
(:func:`shared.outbox.add`): the change and its event commit together or not at all. Every
event carries the aggregate's ``version`` (1 when registered, +1 per change) and only ids and
derived facts (age band, birth year, sex, flags), never the national id number, the name or
the address.

``principal`` confines a caller to its area: a household or resident outside it is "not
found" (404). None is the platform itself (area merges and splits, imports, jobs).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from registry.adapters.people import (
    HouseholdRow,
    NewResidentValues,
    ResidentRow,
    resident_state,
)
from registry.adapters.tables import AreaRow
from registry.domain.national_id import NationalIdFacts, parse_national_id
from registry.domain.people import (
    HouseholdMoveReason,
    ResidentStatus,
    birth_dates_for_ages,
    changed_fields,
    check_identity,
    check_life_event_date,
    check_permit,
    ensure_changeable,
    flags_mask,
    flags_of,
    is_current,
)
from registry.pii import PiiProtector
from shared import outbox
from shared.auth import Principal, ensure_area
from shared.contracts import CONTRACTS, CloudEvent
from shared.contracts.registry import (
    EmploymentStatus,
    HouseholdMoved,
    HouseholdRegistered,
    RegistrationStatus,
    ResidentDied,
    ResidentFlag,
    ResidentLeft,
    ResidentMoved,
    ResidentRegistered,
    ResidentUpdated,
    Sex,
)
from shared.db import bulk_insert
from shared.errors import Conflict, FieldError, InvalidInput, NotFound

CHUNK = 1000
"""Ids per ``IN (…)`` query when moving many households (bounded bind parameters)."""


class Unset(enum.Enum):
    """Marks an update argument that was not given (``None`` may be a value)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


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


# -- households ---------------------------------------------------------------------------


async def register_household(
    session: AsyncSession,
    *,
    community_id: str,
    address: str,
    registered_on: date,
    principal: Principal | None = None,
    today: date | None = None,
    household_id: str | None = None,
) -> HouseholdRow:
    """Register a household in a current community and stage ``HouseholdRegistered``.

    ``household_id`` lets an import choose a stable id (default: a new UUID).
    """
    today = today or date.today()
    community = await _current_community(
        session, community_id, field_name="body.community_id", principal=principal, today=today
    )
    if registered_on > today:
        raise InvalidInput(
            "the registration date is in the future",
            errors=[FieldError("body.registered_on", "must not be in the future")],
        )
    now = datetime.now(UTC)
    row = HouseholdRow(
        id=household_id or str(uuid.uuid4()),
        community_id=community.id,
        community_path=community.path,
        address=address,
        registered_on=registered_on,
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    payload = HouseholdRegistered(
        household_id=row.id,
        community_id=row.community_id,
        path=row.path_ids,
        registered_on=registered_on,
        version=row.version,
    )
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))
    return row


async def get_household(
    session: AsyncSession, *, household_id: str, principal: Principal | None = None
) -> HouseholdRow:
    """One household; :class:`NotFound` if there is none or it lies outside the area."""
    row = await session.get(HouseholdRow, household_id)
    if row is None:
        raise NotFound(f"no household {household_id}")
    if principal is not None:
        ensure_area(principal, row.path_ids)
    return row


async def list_households(
    session: AsyncSession,
    *,
    within: str | None = None,
    principal: Principal | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[HouseholdRow]:
    """Households by id, in the subtree of ``within`` (default: the caller's area).

    ``after`` is the last id of the previous page (keyset pagination).
    """
    query = select(HouseholdRow).order_by(HouseholdRow.id).limit(limit)
    scope = await _scope_path(session, within=within, principal=principal)
    if scope is not None:
        query = query.where(HouseholdRow.community_path.startswith(scope, autoescape=True))
    if after is not None:
        query = query.where(HouseholdRow.id > after)
    return list((await session.scalars(query)).all())


async def household_ids_in_community(session: AsyncSession, *, community_id: str) -> list[str]:
    """Ids of the households registered in a community, sorted."""
    query = (
        select(HouseholdRow.id)
        .where(HouseholdRow.community_id == community_id)
        .order_by(HouseholdRow.id)
    )
    return list((await session.scalars(query)).all())


async def move_household(
    session: AsyncSession,
    *,
    household_id: str,
    to_community_id: str,
    moved_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> HouseholdRow:
    """Relocate a household to another current community: stages ``HouseholdMoved`` and a
    ``ResidentMoved`` for each living member still registered."""
    today = today or date.today()
    row = await get_household(session, household_id=household_id, principal=principal)
    target = await _current_community(
        session, to_community_id, field_name="body.community_id", principal=principal, today=today
    )
    if target.id == row.community_id:
        raise InvalidInput(
            "the household is already in that community",
            errors=[FieldError("body.community_id", "is the household's community", "same")],
        )
    if moved_on > today:
        raise InvalidInput(
            "the move date is in the future",
            errors=[FieldError("body.moved_on", "must not be in the future")],
        )
    if moved_on < row.registered_on:
        raise InvalidInput(
            "the move date is before the household's registration",
            errors=[FieldError("body.moved_on", "must not be before the registration date")],
        )
    members = await _living_members(session, [row.id])
    _move_one_household(row, members.get(row.id, []), target, moved_on, "relocation", session)
    await _flush(session)
    return row


async def move_households(
    session: AsyncSession,
    *,
    household_ids: Sequence[str] | None,
    from_community_id: str,
    to_community_id: str,
    moved_on: date,
    reason: Literal["area_merge", "area_split", "relocation"],
) -> int:
    """Move households of one community to another (None: all of them) and stage
    ``HouseholdMoved`` and a ``ResidentMoved`` per living member; how many moved.

    For area merges and splits: the target need not be current yet (a merge creates it
    effective ``moved_on``). Listed households that are not in ``from_community_id`` are an
    input error naming ``body.household_ids``.
    """
    target = await session.get(AreaRow, to_community_id)
    if target is None or target.level != "community":
        raise InvalidInput(
            f"no community {to_community_id}",
            errors=[FieldError("body.to_community_id", "no such community", "not_found")],
        )
    query = select(HouseholdRow).where(HouseholdRow.community_id == from_community_id)
    if household_ids is None:
        rows = list((await session.scalars(query.order_by(HouseholdRow.id))).all())
    else:
        wanted = list(dict.fromkeys(household_ids))
        rows = []
        for chunk in _chunks(wanted):
            found = await session.scalars(query.where(HouseholdRow.id.in_(chunk)))
            rows.extend(found.all())
        missing = set(wanted) - {row.id for row in rows}
        if missing:
            raise InvalidInput(
                f"{len(missing)} of the households are not in community {from_community_id}",
                errors=[
                    FieldError(
                        "body.household_ids",
                        f"not households of {from_community_id}: {', '.join(sorted(missing))}",
                        "not_found",
                    )
                ],
            )
        rows.sort(key=lambda row: row.id)
    if target.id == from_community_id:
        return 0
    members = await _living_members(session, [row.id for row in rows])
    for row in rows:
        _move_one_household(row, members.get(row.id, []), target, moved_on, reason, session)
    await _flush(session)
    return len(rows)


def _move_one_household(
    row: HouseholdRow,
    members: list[ResidentRow],
    target: AreaRow,
    moved_on: date,
    reason: HouseholdMoveReason,
    session: AsyncSession,
) -> None:
    now = datetime.now(UTC)
    from_community_id, from_path = row.community_id, row.path_ids
    row.community_id, row.community_path = target.id, target.path
    row.version += 1
    row.updated_at = now
    payload = HouseholdMoved(
        household_id=row.id,
        from_community_id=from_community_id,
        to_community_id=target.id,
        from_path=from_path,
        to_path=row.path_ids,
        moved_on=moved_on,
        reason=reason,
        resident_count=len(members),
        version=row.version,
    )
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))
    for resident in members:
        _relocate_resident(session, resident, household=row, moved_on=moved_on)


async def _living_members(
    session: AsyncSession, household_ids: list[str]
) -> dict[str, list[ResidentRow]]:
    members: dict[str, list[ResidentRow]] = {}
    for chunk in _chunks(household_ids):
        query = (
            select(ResidentRow)
            .where(ResidentRow.household_id.in_(chunk), ResidentRow.status == "alive")
            .order_by(ResidentRow.id)
        )
        for resident in (await session.scalars(query)).all():
            members.setdefault(resident.household_id, []).append(resident)
    return members


# -- residents ----------------------------------------------------------------------------


async def register_resident(
    session: AsyncSession,
    *,
    pii: PiiProtector,
    national_id: str,
    name: str,
    sex: Sex,
    birth_date: date,
    household_id: str,
    registration: RegistrationStatus,
    permit_expires_on: date | None,
    employment_status: EmploymentStatus,
    disabled: bool,
    flags: Sequence[ResidentFlag],
    principal: Principal | None = None,
    today: date | None = None,
) -> ResidentRow:
    """Register a resident in a household and stage ``ResidentRegistered``.

    The national id number must be valid and agree with ``birth_date`` and ``sex`` (422);
    a number already registered is a conflict (409). It is stored encrypted, with its keyed
    hash for look-up.
    """
    today = today or date.today()
    new = NewResident(
        national_id=national_id,
        name=name,
        sex=sex,
        birth_date=birth_date,
        household_id=household_id,
        registration=registration,
        permit_expires_on=permit_expires_on,
        employment_status=employment_status,
        disabled=disabled,
        flags=tuple(flags),
    )
    facts = _checked_identity(new, today=today)
    household = await _household_reference(session, household_id, principal=principal)
    lookup_hash = pii.lookup_hash(facts.normalised)
    if await _resident_id_by_hash(session, lookup_hash) is not None:
        raise _duplicate()
    values = _new_resident(
        new, facts=facts, household=household, pii=pii, lookup_hash=lookup_hash, today=today
    )
    row = ResidentRow(**values.columns())
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:  # registered concurrently by another request
        raise _duplicate() from None
    outbox.add(session, _registered_event(row, today=today))
    return row


@dataclass(frozen=True)
class NewResident:
    """The registration form of one resident."""

    national_id: str
    name: str
    sex: Sex
    birth_date: date
    household_id: str
    registration: RegistrationStatus
    permit_expires_on: date | None
    employment_status: EmploymentStatus
    disabled: bool
    flags: tuple[ResidentFlag, ...]


@dataclass(frozen=True)
class HouseholdRef:
    """What a new resident takes from its household."""

    id: str
    community_id: str
    community_path: str

    @property
    def path_ids(self) -> list[str]:
        """Ids from the city down to the household's community."""
        return [part for part in self.community_path.split("/") if part]


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one resident of a bulk registration."""

    status: Literal["accepted", "unchanged", "rejected"]
    resident_id: str | None = None
    field: str | None = None
    reason: str | None = None


async def register_residents_in_bulk(
    session: AsyncSession,
    *,
    pii: PiiProtector,
    residents: Sequence[NewResident],
    principal: Principal | None = None,
    today: date | None = None,
) -> list[BulkOutcome]:
    """Register many residents with a handful of statements (imports), same rules as
    :func:`register_resident`: one outcome per resident, in order.

    A number already registered (before, or earlier in ``residents``) is ``unchanged``, so
    re-running an import changes nothing; a resident breaking a rule is ``rejected`` with
    the field and reason; households outside ``principal``'s area are rejected too. Raises
    ``IntegrityError`` if a concurrent writer registered one of the numbers meanwhile (the
    caller retries).
    """
    today = today or date.today()
    outcomes: list[BulkOutcome] = [BulkOutcome("rejected")] * len(residents)
    checked: dict[int, NationalIdFacts] = {}
    for index, new in enumerate(residents):
        try:
            checked[index] = _checked_identity(new, today=today)
        except InvalidInput as problem:
            outcomes[index] = _rejected(problem)
    hashes = {index: pii.lookup_hash(facts.normalised) for index, facts in checked.items()}
    registered: set[str] = set()
    for chunk in _chunks(list(set(hashes.values()))):
        known = select(ResidentRow.national_id_hash).where(ResidentRow.national_id_hash.in_(chunk))
        registered.update(await session.scalars(known))
    households: dict[str, HouseholdRef] = {}
    for chunk in _chunks(list({residents[index].household_id for index in checked})):
        refs = select(HouseholdRow.id, HouseholdRow.community_id, HouseholdRow.community_path)
        for household_id, community_id, path in await session.execute(
            refs.where(HouseholdRow.id.in_(chunk))
        ):
            households[household_id] = HouseholdRef(household_id, community_id, path)
    rows: list[NewResidentValues] = []
    for index, facts in checked.items():
        new, lookup_hash = residents[index], hashes[index]
        household = households.get(new.household_id)
        if lookup_hash in registered:
            outcomes[index] = BulkOutcome("unchanged")
        elif household is None:
            outcomes[index] = BulkOutcome(
                "rejected", field="household_id", reason="no such household"
            )
        elif principal is not None and not principal.may_access(household.path_ids):
            outcomes[index] = BulkOutcome(
                "rejected", field="household_id", reason="outside the caller's area"
            )
        else:
            row = _new_resident(
                new, facts=facts, household=household, pii=pii, lookup_hash=lookup_hash, today=today
            )
            registered.add(lookup_hash)
            rows.append(row)
            outcomes[index] = BulkOutcome("accepted", resident_id=row.id)
    if rows:
        await bulk_insert(session, ResidentRow.__table__, [row.columns() for row in rows])  # type: ignore[arg-type]
        await outbox.add_many(session, [_registered_event(row, today=today) for row in rows])
    return outcomes


def _checked_identity(new: NewResident, *, today: date) -> NationalIdFacts:
    """The facts of a valid id number agreeing with the form (else :class:`InvalidInput`)."""
    facts = parse_national_id(new.national_id, today=today)
    check_identity(facts, birth_date=new.birth_date, sex=new.sex)
    check_permit(new.registration, new.permit_expires_on)
    return facts


def _new_resident(
    new: NewResident,
    *,
    facts: NationalIdFacts,
    household: HouseholdRow | HouseholdRef,
    pii: PiiProtector,
    lookup_hash: str,
    today: date,
) -> NewResidentValues:
    now = datetime.now(UTC)
    return NewResidentValues(
        id=str(uuid.uuid4()),
        national_id_encrypted=pii.encrypt(facts.normalised),
        national_id_hash=lookup_hash,
        name=new.name,
        sex=new.sex,
        birth_date=new.birth_date,
        household_id=household.id,
        community_id=household.community_id,
        community_path=household.community_path,
        registration=new.registration,
        permit_expires_on=new.permit_expires_on,
        permit_warned_for=None,
        employment_status=new.employment_status,
        disabled=new.disabled,
        flags_mask=flags_mask(new.flags),
        status="alive",
        ended_on=None,
        registered_on=today,
        version=1,
        created_at=now,
        updated_at=now,
    )


def _registered_event(row: ResidentRow | NewResidentValues, *, today: date) -> CloudEvent:
    payload = ResidentRegistered(**resident_state(row, on=today))
    return CONTRACTS.new_event(payload, aggregate_id=row.id)


def _rejected(problem: InvalidInput) -> BulkOutcome:
    first = problem.errors[0] if problem.errors else None
    field_name = first.field.removeprefix("body.") if first else None
    return BulkOutcome(
        "rejected", field=field_name, reason=first.message if first else problem.detail
    )


async def get_resident(
    session: AsyncSession, *, resident_id: str, principal: Principal | None = None
) -> ResidentRow:
    """One resident (alive, dead or left); :class:`NotFound` if there is none or it lies
    outside the caller's area."""
    row = await session.get(ResidentRow, resident_id)
    if row is None:
        raise NotFound(f"no resident {resident_id}")
    if principal is not None:
        ensure_area(principal, row.path_ids)
    return row


async def find_resident_by_national_id(
    session: AsyncSession,
    *,
    pii: PiiProtector,
    national_id: str,
    principal: Principal | None = None,
    today: date | None = None,
    field_name: str = "query.national_id",
) -> ResidentRow:
    """The resident holding a national id number (exact match through the keyed hash);
    :class:`NotFound` if none is registered within the caller's area. An invalid number is
    an input error on ``field_name``."""
    facts = parse_national_id(national_id, today=today or date.today(), field=field_name)
    resident_id = await _resident_id_by_hash(session, pii.lookup_hash(facts.normalised))
    if resident_id is None:
        raise NotFound("no resident with this national id number")
    return await get_resident(session, resident_id=resident_id, principal=principal)


async def update_resident(
    session: AsyncSession,
    *,
    resident_id: str,
    employment_status: EmploymentStatus | Unset = UNSET,
    disabled: bool | Unset = UNSET,
    flags: Sequence[ResidentFlag] | Unset = UNSET,
    registration: RegistrationStatus | Unset = UNSET,
    permit_expires_on: date | Unset | None = UNSET,
    principal: Principal | None = None,
    today: date | None = None,
) -> ResidentRow:
    """Change a living resident's statistical state and stage ``ResidentUpdated`` naming the
    changed fields (nothing staged when nothing changes).

    Becoming ``registered`` drops the permit; becoming ``floating`` needs a permit expiry.
    """
    today = today or date.today()
    row = await get_resident(session, resident_id=resident_id, principal=principal)
    ensure_changeable(row.status, row.id)
    before = _statistical_fields(row)
    new_registration = row.registration if isinstance(registration, Unset) else registration
    if not isinstance(permit_expires_on, Unset):
        new_permit = permit_expires_on
    else:
        new_permit = row.permit_expires_on if new_registration == "floating" else None
    check_permit(new_registration, new_permit)  # type: ignore[arg-type]  # stored literal
    row.registration = new_registration
    row.permit_expires_on = new_permit
    if not isinstance(employment_status, Unset):
        row.employment_status = employment_status
    if not isinstance(disabled, Unset):
        row.disabled = disabled
    if not isinstance(flags, Unset):
        row.flags_mask = flags_mask(flags)
    changed = changed_fields(before, _statistical_fields(row))
    if not changed:
        return row
    row.version += 1
    row.updated_at = datetime.now(UTC)
    payload = ResidentUpdated(**resident_state(row, on=today), changed=changed)
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))
    await _flush(session)
    return row


async def move_resident(
    session: AsyncSession,
    *,
    resident_id: str,
    to_household_id: str,
    moved_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> ResidentRow:
    """Move a living resident to another household (maybe in another community) and stage
    ``ResidentMoved``."""
    today = today or date.today()
    row = await get_resident(session, resident_id=resident_id, principal=principal)
    ensure_changeable(row.status, row.id)
    household = await _household_reference(session, to_household_id, principal=principal)
    if household.id == row.household_id:
        raise InvalidInput(
            "the resident already lives in that household",
            errors=[FieldError("body.household_id", "is the resident's household", "same")],
        )
    check_life_event_date(moved_on, birth_date=row.birth_date, today=today, field="body.moved_on")
    _relocate_resident(session, row, household=household, moved_on=moved_on)
    await _flush(session)
    return row


async def record_death(
    session: AsyncSession,
    *,
    resident_id: str,
    died_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> ResidentRow:
    """Record a living resident's death and stage ``ResidentDied``."""
    today = today or date.today()
    row = await get_resident(session, resident_id=resident_id, principal=principal)
    ensure_changeable(row.status, row.id)
    check_life_event_date(died_on, birth_date=row.birth_date, today=today, field="body.died_on")
    _end(row, status="dead", on=died_on)
    payload = ResidentDied(**resident_state(row, on=died_on), died_on=died_on)
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))
    await _flush(session)
    return row


async def record_departure(
    session: AsyncSession,
    *,
    resident_id: str,
    left_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> ResidentRow:
    """Record that a living resident left the register (moved away) and stage
    ``ResidentLeft``."""
    today = today or date.today()
    row = await get_resident(session, resident_id=resident_id, principal=principal)
    ensure_changeable(row.status, row.id)
    check_life_event_date(left_on, birth_date=row.birth_date, today=today, field="body.left_on")
    _end(row, status="left", on=left_on)
    payload = ResidentLeft(**resident_state(row, on=left_on), left_on=left_on)
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))
    await _flush(session)
    return row


async def list_residents(
    session: AsyncSession,
    *,
    filters: ResidentFilter,
    principal: Principal | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[ResidentRow]:
    """Residents by id matching ``filters`` within the caller's area; ``after`` is the last id
    of the previous page (keyset pagination)."""
    query = select(ResidentRow).order_by(ResidentRow.id).limit(limit)
    query = await _filtered(session, query, filters=filters, principal=principal)
    if after is not None:
        query = query.where(ResidentRow.id > after)
    return list((await session.scalars(query)).all())


async def count_residents(
    session: AsyncSession, *, filters: ResidentFilter, principal: Principal | None = None
) -> int:
    """How many residents match ``filters`` within the caller's area."""
    query = select(func.count()).select_from(ResidentRow)
    query = await _filtered(session, query, filters=filters, principal=principal)
    return int(await session.scalar(query) or 0)


def national_id_of(row: ResidentRow, *, pii: PiiProtector) -> str:
    """The decrypted national id number of a resident (show it masked unless allowed)."""
    return pii.decrypt(row.national_id_encrypted)


# -- helpers ------------------------------------------------------------------------------


def _relocate_resident(
    session: AsyncSession, row: ResidentRow, *, household: HouseholdRow, moved_on: date
) -> None:
    from_household_id, from_community_id, from_path = (
        row.household_id,
        row.community_id,
        row.path_ids,
    )
    row.household_id = household.id
    row.community_id = household.community_id
    row.community_path = household.community_path
    row.version += 1
    row.updated_at = datetime.now(UTC)
    payload = ResidentMoved(
        **resident_state(row, on=moved_on),
        from_household_id=from_household_id,
        from_community_id=from_community_id,
        from_path=from_path,
    )
    outbox.add(session, CONTRACTS.new_event(payload, aggregate_id=row.id))


def _end(row: ResidentRow, *, status: ResidentStatus, on: date) -> None:
    row.status = status
    row.ended_on = on
    row.version += 1
    row.updated_at = datetime.now(UTC)


def _statistical_fields(row: ResidentRow) -> dict[str, object]:
    """The fields :func:`update_resident` may change, named as in the events."""
    return {
        "registration": row.registration,
        "permit_expires_on": row.permit_expires_on,
        "employment_status": row.employment_status,
        "disabled": row.disabled,
        "flags": flags_of(row.flags_mask),
    }


async def _current_community(
    session: AsyncSession,
    community_id: str,
    *,
    field_name: str,
    principal: Principal | None,
    today: date,
) -> AreaRow:
    """A community that exists today (422 naming ``field_name`` otherwise; 404 outside the
    caller's area)."""
    area = await session.get(AreaRow, community_id)
    if area is None or area.level != "community":
        raise InvalidInput(
            f"no community {community_id}",
            errors=[FieldError(field_name, "no such community", "not_found")],
        )
    if principal is not None:
        ensure_area(principal, area.path_ids)
    if not is_current(valid_from=area.valid_from, valid_to=area.valid_to, on=today):
        raise InvalidInput(
            f"community {community_id} is not current (retired, or not valid yet)",
            errors=[FieldError(field_name, "the community is retired or not yet valid", "retired")],
        )
    return area


async def _household_reference(
    session: AsyncSession, household_id: str, *, principal: Principal | None
) -> HouseholdRow:
    """The household a request body names (422 on ``body.household_id`` if there is none,
    404 outside the caller's area)."""
    household = await session.get(HouseholdRow, household_id)
    if household is None:
        raise InvalidInput(
            f"no household {household_id}",
            errors=[FieldError("body.household_id", "no such household", "not_found")],
        )
    if principal is not None:
        ensure_area(principal, household.path_ids)
    return household


async def _resident_id_by_hash(session: AsyncSession, lookup_hash: str) -> str | None:
    query = select(ResidentRow.id).where(ResidentRow.national_id_hash == lookup_hash)
    return await session.scalar(query)


async def _flush(session: AsyncSession) -> None:
    """Write the changes now, so a concurrent change of the same version is a 409."""
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict("changed by another request at the same time; fetch it and retry") from None


def _duplicate() -> Conflict:
    return Conflict("a resident with this national id number is already registered")


async def _scope_path(
    session: AsyncSession, *, within: str | None, principal: Principal | None
) -> str | None:
    """The stored path of the area subtree to confine a query to (None: everywhere)."""
    scope_id = within or (principal.area if principal is not None else None)
    if scope_id is None:
        return None
    area = await session.get(AreaRow, scope_id)
    if area is None:
        raise NotFound(f"no area {scope_id}")
    if principal is not None:
        ensure_area(principal, area.path_ids)
    return area.path


async def _filtered(
    session: AsyncSession,
    query: Select[Any],
    *,
    filters: ResidentFilter,
    principal: Principal | None,
) -> Select[Any]:
    conditions: list[ColumnElement[bool]] = []
    scope = await _scope_path(session, within=filters.within, principal=principal)
    if scope is not None:
        conditions.append(ResidentRow.community_path.startswith(scope, autoescape=True))
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
    return query.where(*conditions) if conditions else query


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
