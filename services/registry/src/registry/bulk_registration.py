"""Bulk registration: many households or residents with a handful of statements (imports).

Households (:func:`register_households_in_bulk`) follow the rules of
:func:`registry.households.register_household`: a current community of the caller's area (one
outside it reads like a missing one), a registration day neither before 1900, nor in the
future, nor before the community began; an id already registered is ``unchanged``.

Residents go in two steps: :func:`check_residents` checks each form (the number against the
birth date and sex, the permit) and hashes and seals its number, CPU work an import does for
its next batch while the current one waits on the database; :func:`register_residents_in_bulk`
then registers them. The same rules as :func:`registry.residents.register_resident`, with one
outcome per resident instead of an error: a resident breaking a rule is ``rejected`` with the
field and the reason; a household that does not exist or lies outside the caller's area is the
same "no such household", checked before the number is looked up, so an import cannot probe
for numbers without a household of its own area; a number already registered within the
caller's area (or earlier in the same call) is ``unchanged`` (re-running an import changes
nothing), one registered elsewhere is ``rejected`` as already registered, like ``POST
/residents``'s 409. The accepted residents are inserted with one statement and their
``ResidentRegistered`` events handed to the unit of work at once (one bulk insert into the
outbox when it commits).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from registry.adapters.areas import get_communities
from registry.adapters.people import (
    PeopleStore,
    existing_households,
    household_refs,
    insert_households,
    insert_residents,
    key_lookups,
    registered_residents,
)
from registry.domain.areas import CommunityRef
from registry.domain.people import (
    Household,
    NewResident,
    Resident,
    SealedNationalId,
    canonical_flags,
    require_community_for_households,
)
from registry.pii import PiiProtector
from shared import audit
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput
from shared.ids import new_uuid7s
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one resident of a bulk registration; ``field`` names the form's field
    to blame for a rejection."""

    status: Literal["accepted", "updated", "unchanged", "rejected"]
    resident_id: str | None = None
    """The id of the resident (or household) registered or found."""
    field: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class CheckedResident:
    """A registration form that passed :meth:`NewResident.check`, with what registering it
    needs computed before any database work: the id it gets if it is new, its number's keyed
    hash and the number sealed for that id."""

    form: NewResident
    resident_id: str
    national_id: SealedNationalId = field(repr=False)


def check_residents(
    residents: Sequence[NewResident], *, pii: PiiProtector, today: date
) -> list[CheckedResident | BulkOutcome]:
    """Check each form (a rejected outcome naming the field, or the form checked, hashed and
    its number sealed): the CPU work of a registration, which an import does for its next
    batch while the current one waits on the database. A number found registered later
    wastes its sealing; a new one is not sealed twice."""
    found: list[CheckedResident | BulkOutcome] = []
    for form, resident_id in zip(residents, new_uuid7s(len(residents)), strict=True):
        try:
            facts = form.check(today=today)
        except InvalidInput as problem:
            found.append(_rejected(problem))
            continue
        sealed = SealedNationalId(
            pii.encrypt(facts.normalised, owner=resident_id),
            pii.lookup_hash(facts.normalised),
            facts.area_code,
        )
        found.append(CheckedResident(form, resident_id, sealed))
    return found


async def register_residents_in_bulk(
    uow: UnitOfWork,
    residents: Sequence[CheckedResident | BulkOutcome],
    *,
    principal: Principal | None = None,
    today: date,
) -> list[BulkOutcome]:
    """Register the residents :func:`check_residents` checked: one outcome per resident, in
    order (a rejection of the check passes through as it is).

    Raises ``IntegrityError`` if a concurrent writer registered one of the numbers meanwhile
    (the caller retries, one resident at a time).
    """
    outcomes: list[BulkOutcome] = [BulkOutcome("rejected")] * len(residents)
    checked: dict[int, CheckedResident] = {}
    for index, entry in enumerate(residents):
        if isinstance(entry, CheckedResident):
            checked[index] = entry
        else:
            outcomes[index] = entry
    async with key_lookups(uow.session):
        households = await household_refs(
            uow.session, {entry.form.household_id for entry in checked.values()}
        )
        for index in list(checked):  # the household first: a number is looked up only in reach
            household = households.get(checked[index].form.household_id)
            if household is None or (
                principal is not None and not principal.may_access(household.path)
            ):
                outcomes[index] = BulkOutcome(
                    "rejected", field="household_id", reason="no such household"
                )
                del checked[index]
        registered = await registered_residents(
            uow.session, (entry.national_id.lookup_hash for entry in checked.values())
        )
    accepted: list[Resident] = []
    again: list[tuple[int, str, NewResident]] = []
    for index, entry in checked.items():
        form, lookup_hash = entry.form, entry.national_id.lookup_hash
        household = households[form.household_id]
        holder = registered.get(lookup_hash)
        if holder is not None and (principal is None or principal.may_access(holder.path)):
            outcomes[index] = _again(holder, form)
            if outcomes[index].status == "updated":
                again.append((index, holder.id, form))
        elif holder is not None:
            outcomes[index] = BulkOutcome(
                "rejected", field="national_id", reason="already registered"
            )
        else:
            resident = Resident.register(
                form,
                resident_id=entry.resident_id,
                national_id=entry.national_id,
                household=household,
                today=today,
            )
            registered[lookup_hash] = resident
            accepted.append(resident)
            outcomes[index] = BulkOutcome("accepted", resident_id=resident.id)
    if accepted:
        uow.record(*(event for resident in accepted for event in resident.events))
        await _inserting_while_writing_ahead(
            uow, lambda steps: insert_residents(uow.session, accepted, meanwhile=steps)
        )
        resources = [(resident.id, resident.path) for resident in accepted]
        await audit.record_changes(uow, principal, "import", "resident", resources)
    if again:
        store = PeopleStore(uow.session)
        for index, resident_id, form in again:
            outcomes[index] = await _update(store, uow, resident_id, form, today=today)
        await store.save()
        paths = {holder.id: holder.path for holder in registered.values()}
        changed = [
            (resident_id, paths[resident_id])
            for index, resident_id, _ in again
            if outcomes[index].status == "updated"
        ]
        await audit.record_changes(uow, principal, "import", "resident", changed)
    return outcomes


def _again(holder: Resident, form: NewResident) -> BulkOutcome:
    """What a resident imported again becomes: ``unchanged``, ``updated`` (state to apply),
    or ``rejected`` naming a field no import may change."""
    for name in ("name", "sex", "birth_date", "household_id"):
        if getattr(form, name) != getattr(holder, name):
            reason = "differs from the registered resident"
            if name == "household_id":
                reason += "'s household (a move needs its day: POST /residents/{id}/move)"
            return BulkOutcome("rejected", field=name, reason=reason)
    wanted = {
        "registration": form.registration,
        "permit_expires_on": form.permit_expires_on,
        "employment_status": form.employment_status,
        "disabled": form.disabled,
        "flags": canonical_flags(form.flags),
    }
    if all(getattr(holder, name) == value for name, value in wanted.items()):
        return BulkOutcome("unchanged", resident_id=holder.id)
    return BulkOutcome("updated", resident_id=holder.id)


async def _update(
    store: PeopleStore, uow: UnitOfWork, resident_id: str, form: NewResident, *, today: date
) -> BulkOutcome:
    resident = await store.resident(resident_id)
    if resident is None:  # pragma: no cover - found a moment ago in the same transaction
        return BulkOutcome("rejected", field="national_id", reason="no longer registered")
    try:
        resident.update(
            today=today,
            registration=form.registration,
            permit_expires_on=form.permit_expires_on,
            employment_status=form.employment_status,
            disabled=form.disabled,
            flags=form.flags,
        )
    except (InvalidInput, Conflict) as problem:
        first = problem.errors[0] if problem.errors else None
        return BulkOutcome(
            "rejected",
            field=first.field if first else "national_id",
            reason=first.message if first else problem.detail,
        )
    uow.track(resident)
    return BulkOutcome("updated", resident_id=resident_id)


@dataclass(frozen=True)
class NewHousehold:
    """The registration form of one household (an import row), with the id it gets."""

    household_id: str
    community_id: str
    address: str = field(repr=False)
    registered_on: date


async def register_households_in_bulk(
    uow: UnitOfWork,
    *,
    households: Sequence[NewHousehold],
    principal: Principal | None = None,
    today: date | None = None,
) -> list[BulkOutcome]:
    """Register ``households``: one outcome per household, in order; the accepted ones are
    inserted with one statement, their history with another, and their
    ``HouseholdRegistered`` events handed to ``uow`` at once (their outbox documents written
    while the statements wait on the database)."""
    today = today or date.today()
    session = uow.session
    communities: dict[str, CommunityRef | None] = {}
    named = {form.community_id for form in households}
    stored = await get_communities(session, named)
    for community_id in named:
        community = stored.get(community_id)
        if community is not None and principal is not None:
            community = community if principal.may_access(community.path) else None
        communities[community_id] = community
    async with key_lookups(session):
        existing = await existing_households(session, [form.household_id for form in households])
    outcomes: list[BulkOutcome] = []
    accepted: list[Household] = []
    for form in households:
        found = existing.get(form.household_id)
        if found is not None:
            if principal is not None and not principal.may_access(found.path):
                outcomes.append(
                    BulkOutcome("rejected", field="community_id", reason="no such area")
                )
            else:
                outcomes.append(_household_again(found, form))
            continue
        try:
            community = require_community_for_households(
                communities[form.community_id],
                community_id=form.community_id,
                today=today,
                field="community_id",
            )
            household = Household.register(
                household_id=form.household_id,
                community=community,
                address=form.address,
                registered_on=form.registered_on,
                today=today,
            )
        except InvalidInput as problem:
            outcomes.append(_rejected(problem))
            continue
        existing[household.id] = household
        accepted.append(household)
        outcomes.append(BulkOutcome("accepted", resident_id=household.id))
    if accepted:
        uow.record(*(event for household in accepted for event in household.events))
        await _inserting_while_writing_ahead(
            uow, lambda steps: insert_households(session, accepted, meanwhile=steps)
        )
        resources = [(household.id, household.path) for household in accepted]
        await audit.record_changes(uow, principal, "import", "household", resources)
    return outcomes


def _household_again(found: Household, form: NewHousehold) -> BulkOutcome:
    """A household imported again: ``unchanged``, or ``rejected`` naming what differs (a move
    or a new address needs its own command, with its day)."""
    for name in ("community_id", "address", "registered_on"):
        if getattr(form, name) != getattr(found, name):
            return BulkOutcome(
                "rejected", field=name, reason="differs from the registered household"
            )
    return BulkOutcome("unchanged", resident_id=found.id)


def _rejected(problem: InvalidInput) -> BulkOutcome:
    first = problem.errors[0] if problem.errors else None
    return BulkOutcome(
        "rejected",
        field=first.field if first else None,
        reason=first.message if first else problem.detail,
    )


async def _inserting_while_writing_ahead(
    uow: UnitOfWork, insert: Callable[[Iterator[object]], Awaitable[None]]
) -> None:
    """Run ``insert`` given the steps writing the outbox documents of the events ``uow``
    collected (:meth:`UnitOfWork.write_ahead`), to take while its statements wait on the
    database; then the steps it did not leave time for."""
    documents = uow.write_ahead()
    await insert(documents)
    for _ in documents:
        pass
