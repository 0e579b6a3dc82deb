"""Resident commands: register a resident, change their state, move them to another household,
record a death or a departure.

Each command takes the :class:`~shared.unit_of_work.UnitOfWork` of its transaction and then
keyword-only arguments, and answers with the :class:`~registry.domain.people.Resident`; the
resident records its domain events and the unit writes their integration events with the
change. Every event carries the resident's ``version`` (1 when registered, +1 per change) and
only ids and derived facts (age band, birth year, sex, flags), never the national id number,
the name or the address. ``principal`` confines a caller to its area: a household or resident
outside it is "not found" (404); None is the platform itself. Many residents at once:
:mod:`registry.bulk_registration`; the reads: :mod:`registry.people_queries`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy.exc import IntegrityError

from registry.adapters.people import PeopleStore, resident_id_by_hash
from registry.domain.people import (
    UNSET,
    HouseholdRef,
    NewResident,
    Resident,
    SealedNationalId,
    Unset,
    ensure_changeable,
)
from registry.pii import PiiProtector
from shared import audit
from shared.auth import Principal, ensure_area
from shared.contracts.registry import EmploymentStatus, RegistrationStatus, ResidentFlag
from shared.errors import Conflict, FieldError, InvalidInput, NotFound
from shared.unit_of_work import UnitOfWork


async def register_resident(
    uow: UnitOfWork,
    *,
    pii: PiiProtector,
    form: NewResident,
    principal: Principal | None = None,
    today: date | None = None,
) -> Resident:
    """Register a resident in a household (``ResidentRegistered``).

    The national id number must be valid and agree with the birth date and sex (422); a
    number already registered is a conflict (409). It is stored encrypted, with its keyed
    hash for look-up.
    """
    today = today or date.today()
    facts = form.check(today=today)
    store = PeopleStore(uow.session)
    household = await _household(store, form.household_id, principal=principal)
    lookup_hash = pii.lookup_hash(facts.normalised)
    if await resident_id_by_hash(uow.session, lookup_hash) is not None:
        raise duplicate_national_id()
    resident_id = str(uuid.uuid4())
    resident = Resident.register(
        form,
        resident_id=resident_id,
        national_id=SealedNationalId(
            pii.encrypt(facts.normalised, owner=resident_id), lookup_hash, facts.area_code
        ),
        household=household,
        today=today,
    )
    store.add(resident)
    uow.track(resident)
    try:
        await store.save()
    except IntegrityError:  # registered concurrently by another request
        raise duplicate_national_id() from None
    _audit(uow, principal, "create", resident)
    return resident


async def update_resident(
    uow: UnitOfWork,
    *,
    resident_id: str,
    employment_status: EmploymentStatus | Unset = UNSET,
    disabled: bool | Unset = UNSET,
    flags: Sequence[ResidentFlag] | Unset = UNSET,
    registration: RegistrationStatus | Unset = UNSET,
    permit_expires_on: date | Unset | None = UNSET,
    principal: Principal | None = None,
    today: date | None = None,
) -> Resident:
    """Change a living resident's statistical state (``ResidentUpdated`` naming the changed
    fields; nothing when nothing changes). Becoming ``registered`` drops the permit; becoming
    ``floating`` needs a permit expiry."""
    store = PeopleStore(uow.session)
    resident = await _resident(store, resident_id, principal=principal)
    resident.update(
        today=today or date.today(),
        employment_status=employment_status,
        disabled=disabled,
        flags=flags,
        registration=registration,
        permit_expires_on=permit_expires_on,
    )
    uow.track(resident)
    await store.save()
    _audit(uow, principal, "update", resident)
    return resident


async def move_resident(
    uow: UnitOfWork,
    *,
    resident_id: str,
    to_household_id: str,
    moved_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> Resident:
    """Move a living resident to another household, maybe in another community
    (``ResidentMoved``)."""
    store = PeopleStore(uow.session)
    resident = await _resident(store, resident_id, principal=principal)
    ensure_changeable(resident.status, resident.id)  # before looking at the household
    household = await _household(store, to_household_id, principal=principal)
    resident.move_to(household, moved_on=moved_on, today=today or date.today())
    uow.track(resident)
    await store.save()
    _audit(uow, principal, "move", resident)
    return resident


async def record_death(
    uow: UnitOfWork,
    *,
    resident_id: str,
    died_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> Resident:
    """Record a living resident's death (``ResidentDied``)."""
    store = PeopleStore(uow.session)
    resident = await _resident(store, resident_id, principal=principal)
    resident.die(died_on=died_on, today=today or date.today())
    uow.track(resident)
    await store.save()
    _audit(uow, principal, "record-death", resident)
    return resident


async def record_departure(
    uow: UnitOfWork,
    *,
    resident_id: str,
    left_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> Resident:
    """Record that a living resident left the register, moving away (``ResidentLeft``)."""
    store = PeopleStore(uow.session)
    resident = await _resident(store, resident_id, principal=principal)
    resident.leave(left_on=left_on, today=today or date.today())
    uow.track(resident)
    await store.save()
    _audit(uow, principal, "record-departure", resident)
    return resident


def _audit(uow: UnitOfWork, principal: Principal | None, action: str, resident: Resident) -> None:
    """The audit row of a change to a resident's record (:mod:`shared.audit`)."""
    audit.record_change(uow, principal, action, "resident", resident.id, resident.path)


def duplicate_national_id() -> Conflict:
    """The 409 of a number that is already registered (it never repeats the number)."""
    return Conflict("a resident with this national id number is already registered")


async def _resident(
    store: PeopleStore, resident_id: str, *, principal: Principal | None
) -> Resident:
    resident = await store.resident(resident_id)
    if resident is None:
        raise NotFound(f"no resident {resident_id}")
    if principal is not None:
        ensure_area(principal, resident.path)
    return resident


async def _household(
    store: PeopleStore, household_id: str, *, principal: Principal | None
) -> HouseholdRef:
    """The household a request names (422 on ``household_id`` if there is none, 404 outside
    the caller's area)."""
    household = await store.household(household_id)
    if household is None:
        raise InvalidInput(
            f"no household {household_id}",
            errors=[FieldError("household_id", "no such household", "not_found")],
        )
    if principal is not None:
        ensure_area(principal, household.path)
    return household.ref
