"""Bulk registration: many residents with a handful of statements (imports).

The same rules as :func:`registry.residents.register_resident`, with one outcome per resident
instead of an error: a number already registered (before, or earlier in the same call) is
``unchanged``, so re-running an import changes nothing; a resident breaking a rule is
``rejected`` with the field and the reason, as are residents of households outside the
caller's area. The accepted residents are inserted with one statement and their
``ResidentRegistered`` events handed to the unit of work at once (one bulk insert into the
outbox when it commits).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from registry.adapters.people import household_refs, insert_residents, registered_hashes
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
    hashes = {index: pii.lookup_hash(facts.normalised) for index, facts in checked.items()}
    registered = await registered_hashes(uow.session, hashes.values())
    households = await household_refs(
        uow.session, {residents[index].household_id for index in checked}
    )
    accepted: list[Resident] = []
    for index, facts in checked.items():
        form, lookup_hash = residents[index], hashes[index]
        household = households.get(form.household_id)
        if lookup_hash in registered:
            outcomes[index] = BulkOutcome("unchanged")
        elif household is None:
            outcomes[index] = BulkOutcome(
                "rejected", field="household_id", reason="no such household"
            )
        elif principal is not None and not principal.may_access(household.path):
            outcomes[index] = BulkOutcome(
                "rejected", field="household_id", reason="outside the caller's area"
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
            registered.add(lookup_hash)
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
