"""Bulk registration: many residents with a handful of statements (imports).

The same rules as :func:`registry.residents.register_resident`, with one outcome per resident
instead of an error: a resident breaking a rule is ``rejected`` with the field and the reason;
a household that does not exist or lies outside the caller's area is the same "no such
household", checked before the number is looked up, so an import cannot probe for numbers
without a household of its own area; a number already registered within the caller's area
(or earlier in the same call) is ``unchanged`` (re-running an import changes nothing), one
registered elsewhere is ``rejected`` as already registered, like ``POST /residents``'s 409.
The accepted residents are inserted with one statement and their ``ResidentRegistered``
events handed to the unit of work at once (one bulk insert into the outbox when it commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from registry.adapters.people import household_refs, insert_residents, registered_residents
from registry.domain.national_id import NationalIdFacts
from registry.domain.people import NewResident, Resident, SealedNationalId
from registry.pii import PiiProtector
from shared.auth import Principal
from shared.errors import InvalidInput
from shared.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one resident of a bulk registration; ``field`` names the form's field
    to blame for a rejection."""

    status: Literal["accepted", "unchanged", "rejected"]
    resident_id: str | None = None
    field: str | None = None
    reason: str | None = None


async def register_residents_in_bulk(
    uow: UnitOfWork,
    *,
    pii: PiiProtector,
    residents: Sequence[NewResident],
    principal: Principal | None = None,
    today: date | None = None,
) -> list[BulkOutcome]:
    """Register ``residents``: one outcome per resident, in order.

    Raises ``IntegrityError`` if a concurrent writer registered one of the numbers meanwhile
    (the caller retries, one resident at a time).
    """
    today = today or date.today()
    outcomes: list[BulkOutcome] = [BulkOutcome("rejected")] * len(residents)
    checked: dict[int, NationalIdFacts] = {}
    for index, form in enumerate(residents):
        try:
            checked[index] = form.check(today=today)
        except InvalidInput as problem:
            outcomes[index] = _rejected(problem)
    households = await household_refs(
        uow.session, {residents[index].household_id for index in checked}
    )
    for index in list(checked):  # the household first: a number is looked up only in reach
        household = households.get(residents[index].household_id)
        if household is None or (
            principal is not None and not principal.may_access(household.path)
        ):
            outcomes[index] = BulkOutcome(
                "rejected", field="household_id", reason="no such household"
            )
            del checked[index]
    hashes = {index: pii.lookup_hash(facts.normalised) for index, facts in checked.items()}
    registered = await registered_residents(uow.session, hashes.values())
    accepted: list[Resident] = []
    for index, facts in checked.items():
        form, lookup_hash = residents[index], hashes[index]
        household = households[form.household_id]
        holder = registered.get(lookup_hash)
        if holder is not None and (principal is None or principal.may_access(holder.path)):
            outcomes[index] = BulkOutcome("unchanged", resident_id=holder.id)
        elif holder is not None:
            outcomes[index] = BulkOutcome(
                "rejected", field="national_id", reason="already registered"
            )
        else:
            resident_id = str(uuid.uuid4())
            sealed = pii.encrypt(facts.normalised, owner=resident_id)
            resident = Resident.register(
                form,
                resident_id=resident_id,
                national_id=SealedNationalId(sealed, lookup_hash),
                household=household,
                today=today,
            )
            registered[lookup_hash] = resident
            accepted.append(resident)
            outcomes[index] = BulkOutcome("accepted", resident_id=resident.id)
    if accepted:
        await insert_residents(uow.session, accepted)
        uow.record(*(event for resident in accepted for event in resident.events))
    return outcomes


def _rejected(problem: InvalidInput) -> BulkOutcome:
    first = problem.errors[0] if problem.errors else None
    return BulkOutcome(
        "rejected",
        field=first.field if first else None,
        reason=first.message if first else problem.detail,
    )
