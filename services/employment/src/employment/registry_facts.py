"""Keeping the registry's facts: areas and residents, from the registry's events.

A resident's facts (community, sex, birth year, employment status, disability, registration,
flags) are kept by version, so a late older event changes nothing; their known age keeps the
best any event told, in any order (:mod:`shared.ages`), and an age milestone re-derives the
seeker's groups on the birthday. A seeker follows their
resident: a move or a change of status re-derives the seeker's priority groups (``seeker
.updated``); a death or departure withdraws the seeker.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from employment.adapters import store
from employment.adapters.paths import path_text
from employment.adapters.tables import AreaRow, HeldAgeRow, ResidentRow, SeekerRow
from employment.domain.groups import FEMALE_4050, MALE_4050
from shared import area_copies
from shared.ages import hold_age, of_milestone, of_state, take_held_age
from shared.contracts.registry import (
    AreaCreated,
    AreaRetired,
    ResidentAgeReached,
    ResidentDied,
    ResidentLeft,
    ResidentState,
)
from shared.unit_of_work import UnitOfWork


async def apply_area(uow: UnitOfWork, *, payload: AreaCreated | AreaRetired) -> None:
    """Record a created area or mark a retired one (:func:`shared.area_copies.apply_area`)."""
    await area_copies.apply_area(uow.session, AreaRow, payload)


async def apply_resident(uow: UnitOfWork, *, payload: ResidentState, today: date) -> None:
    """Keep a resident's newer facts (and the better known age, whatever the version) and let
    their seeker follow."""
    row = await uow.session.get(ResidentRow, payload.resident_id)
    if row is not None and row.version >= payload.version:
        if store.keep_age(row, of_state(payload)):
            await _follow(uow, row, today=today)
        return
    if row is None:
        held = await take_held_age(uow.session, HeldAgeRow, payload.resident_id)
        row = ResidentRow(id=payload.resident_id, known_age_exact=False)
        store.keep_age(row, held)
        uow.session.add(row)
    store.keep_age(row, of_state(payload))
    gone = isinstance(payload, ResidentDied | ResidentLeft)
    row.community_id = payload.community_id
    row.path = path_text(payload.path)
    row.sex = payload.sex
    row.birth_year = payload.birth_year
    row.employment_status = payload.employment_status
    row.disabled = payload.disabled
    row.registration = payload.registration
    row.flags = list(payload.flags)
    row.present = not gone
    row.version = payload.version
    await uow.session.flush()
    seeker = await store.seeker_of_resident(uow.session, payload.resident_id)
    if seeker is None or seeker.state.status == "withdrawn":
        return
    uow.track(seeker)
    if isinstance(payload, ResidentDied):
        seeker.withdraw(reason="died", on=payload.died_on)
    elif isinstance(payload, ResidentLeft):
        seeker.withdraw(reason="left", on=payload.left_on)
    elif not seeker.apply_registry_facts(store.resident_facts(row), today=today):
        return
    await store.save_seeker(uow.session, seeker)


async def apply_age(uow: UnitOfWork, *, payload: ResidentAgeReached, today: date) -> None:
    """Keep an age milestone (the 40th, 50th or 60th birthday moves the "4050" group) and let
    the resident's seeker follow; held until the first state of a resident not announced yet
    arrives."""
    row = await uow.session.get(ResidentRow, payload.resident_id)
    if row is None:
        await hold_age(uow.session, HeldAgeRow, payload.resident_id, of_milestone(payload))
    elif store.keep_age(row, of_milestone(payload)):
        await _follow(uow, row, today=today)


async def _follow(uow: UnitOfWork, row: ResidentRow, *, today: date) -> None:
    """Re-derive the groups of the resident's active seeker after their age changed."""
    await uow.session.flush()
    seeker = await store.seeker_of_resident(uow.session, row.id)
    if seeker is None or seeker.state.status == "withdrawn" or not row.present:
        return
    uow.track(seeker)
    if seeker.apply_registry_facts(store.resident_facts(row), today=today):
        await store.save_seeker(uow.session, seeker)


async def refresh_age_groups(uow: UnitOfWork, *, today: date) -> int:
    """Re-derive the groups of the seekers whose age crosses a "4050" boundary this year (40,
    50 or 60); how many changed. The registry's age milestones move those it knows exact ages
    of on the birthday; this catches the residents known only from older events."""
    boundaries = [today.year - age for age in sorted({*FEMALE_4050, *MALE_4050})]
    rows = (
        await uow.session.execute(
            select(SeekerRow.id, ResidentRow)
            .join(ResidentRow, ResidentRow.id == SeekerRow.resident_id)
            .where(
                ResidentRow.birth_year.in_(boundaries),
                SeekerRow.status != "withdrawn",
            )
        )
    ).all()
    changed = 0
    for seeker_id, resident in rows:
        seeker = await store.get_seeker(uow.session, seeker_id, for_update=True)
        assert seeker is not None
        uow.track(seeker)
        if seeker.apply_registry_facts(store.resident_facts(resident), today=today):
            await store.save_seeker(uow.session, seeker)
            changed += 1
    return changed
