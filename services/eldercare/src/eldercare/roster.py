"""Use cases of the elder roster, driven by the registry's resident events and the daily job.

:func:`resident_changed` applies one resident event (registered, updated, moved: a newer
state; died, left: the end), :func:`age_reached` an age milestone (exact age; joins the roster
on the birthday); :func:`enrol_due` is the daily job's first step, enrolling every
remembered resident who has reached the threshold since. A death or departure closes the
elder's open care (placements, waiting requests) and cancels their open orders and scheduled
visits in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Literal

from sqlalchemy import select

from eldercare import orders, placements
from eldercare.adapters import store
from eldercare.adapters.tables import ElderRow, HeldAgeRow, VolunteerRow
from eldercare.domain.roster import Elder, ResidentFacts
from shared.ages import KnownAge, better, hold_age, take_held_age
from shared.unit_of_work import UnitOfWork

ResidentChange = Literal["state", "died", "left"]


async def resident_changed(
    uow: UnitOfWork,
    *,
    facts: ResidentFacts,
    change: ResidentChange,
    today: date,
    threshold: int,
    ended_on: date | None = None,
) -> Elder:
    """Apply a registry resident event to the roster."""
    elder = await store.get_elder(uow.session, facts.resident_id, for_update=True)
    if elder is None:
        held = await take_held_age(uow.session, HeldAgeRow, facts.resident_id)
        facts = replace(facts, known_age=better(facts.known_age, held))
        elder = Elder.first_seen(facts, today=today, threshold=threshold)
    elif change == "state":
        elder.apply(facts, today=today, threshold=threshold)
    uow.track(elder)
    if change != "state":
        day = ended_on or today
        if elder.end(facts, status="deceased" if change == "died" else "left", on=day, today=today):
            reason: Literal["deceased", "left"] = "deceased" if change == "died" else "left"
            await placements.close_for(uow, resident_id=facts.resident_id, reason=reason, today=day)
            await orders.cancel_for(uow, resident_id=facts.resident_id, reason=reason, today=day)
    await store.save_elder(uow.session, elder)
    return elder


async def age_reached(
    uow: UnitOfWork, *, resident_id: str, known: KnownAge, today: date, threshold: int
) -> Elder | None:
    """Apply a registry age milestone: the elder's age is exact from now on, and a resident
    who reached the threshold joins the roster (on that birthday). A milestone of a resident
    no state event announced yet is held until the first one arrives."""
    elder = await store.get_elder(uow.session, resident_id, for_update=True)
    if elder is None:
        await hold_age(uow.session, HeldAgeRow, resident_id, known)
        return None
    uow.track(elder)
    if elder.learn_age(known, today=today, threshold=threshold):
        await store.save_elder(uow.session, elder)
    return elder


async def enrol_due(uow: UnitOfWork, *, today: date, threshold: int) -> int:
    """Enrol every remembered resident who has reached ``threshold`` by ``today``; how many."""
    query = (
        select(ElderRow)
        .where(ElderRow.status == "younger", ElderRow.birth_year <= today.year - threshold)
        .order_by(ElderRow.resident_id)
        .with_for_update()
    )
    enrolled = 0
    for row in await uow.session.scalars(query):
        elder = Elder(store.elder_snapshot(row))
        uow.track(elder)
        if elder.enrol_if_due(today=today, threshold=threshold):
            await store.save_elder(uow.session, elder)
            enrolled += 1
    return enrolled


async def volunteer_registered(
    uow: UnitOfWork, *, volunteer_id: str, community_id: str, path: tuple[str, ...]
) -> None:
    """Remember a registry volunteer, so orders can be assigned to them."""
    row = await uow.session.get(VolunteerRow, volunteer_id)
    if row is None:
        uow.session.add(
            VolunteerRow(
                volunteer_id=volunteer_id, community_id=community_id, path=store.path_text(path)
            )
        )
