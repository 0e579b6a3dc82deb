"""Household commands: register a household, relocate it with its living members, and move a
community's households when areas merge or split (with the ids of a community's households,
which area splits and retirements check).

Each command takes the :class:`~shared.unit_of_work.UnitOfWork` of its transaction and then
keyword-only arguments; the entities record the domain events (``HouseholdRegistered``,
``HouseholdMoved`` and a ``ResidentMoved`` per living member) and the unit writes their
integration events with the change. ``principal`` confines a caller to its area: a household
or community outside it is "not found" (404). None is the platform itself (area merges and
splits, imports). The reads are in :mod:`registry.people_queries`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.adapters.areas import get_community
from registry.adapters.people import HouseholdRow, PeopleStore
from registry.domain.areas import CommunityRef
from registry.domain.people import Household, HouseholdMoveReason, require_community_for_households
from shared import audit
from shared.auth import Principal, ensure_area
from shared.contracts.registry import GRASSROOTS_LEVELS
from shared.errors import FieldError, InvalidInput, NotFound
from shared.unit_of_work import RecordsEvents, UnitOfWork


async def register_household(
    uow: UnitOfWork,
    *,
    community_id: str,
    address: str,
    registered_on: date,
    principal: Principal | None = None,
    today: date | None = None,
    household_id: str | None = None,
) -> Household:
    """Register a household in a current community (``HouseholdRegistered``).

    ``household_id`` lets an import choose a stable id (default: a new UUID).
    """
    today = today or date.today()
    community = await current_community(
        uow.session, community_id, field="community_id", principal=principal, today=today
    )
    household = Household.register(
        household_id=household_id or str(uuid.uuid4()),
        community=community,
        address=address,
        registered_on=registered_on,
        today=today,
    )
    store = PeopleStore(uow.session)
    store.add(household)
    uow.track(household)
    await store.save()
    audit.record_change(uow, principal, "create", "household", household.id, household.path)
    return household


async def move_household(
    uow: UnitOfWork,
    *,
    household_id: str,
    to_community_id: str,
    moved_on: date,
    principal: Principal | None = None,
    today: date | None = None,
) -> Household:
    """Relocate a household to another current community (``HouseholdMoved``, and a
    ``ResidentMoved`` for each living member)."""
    today = today or date.today()
    store = PeopleStore(uow.session)
    household = await store.household(household_id)
    if household is None:
        raise NotFound(f"no household {household_id}")
    if principal is not None:
        ensure_area(principal, household.path)
    target = await current_community(
        uow.session, to_community_id, field="community_id", principal=principal, today=today
    )
    members = (await store.living_members([household.id])).get(household.id, [])
    household.relocate(target, moved_on=moved_on, today=today, members=members)
    uow.track(household, *members)
    await store.save()
    audit.record_change(uow, principal, "move", "household", household.id, household.path)
    return household


async def move_households(
    uow: UnitOfWork,
    *,
    household_ids: Sequence[str] | None,
    from_community_id: str,
    to_community_id: str,
    moved_on: date,
    reason: HouseholdMoveReason,
) -> int:
    """Move households of one community to another (None: all of them), each with its living
    members; how many moved.

    For area merges and splits: the target need not be current yet (a merge creates it
    effective ``moved_on``). Listed households that are not in ``from_community_id`` are an
    input error naming ``household_ids``. The events are handed to ``uow`` as they happen,
    so they fall between the events the calling area command records before and after.
    """
    target = await get_community(uow.session, to_community_id)
    if target is None or target.level not in GRASSROOTS_LEVELS:
        raise InvalidInput(
            f"no community {to_community_id}",
            errors=[FieldError("to_community_id", "no such community", "not_found")],
        )
    store = PeopleStore(uow.session)
    wanted = None if household_ids is None else list(dict.fromkeys(household_ids))
    households = await store.households_in(from_community_id, wanted)
    if wanted is not None:
        missing = set(wanted) - {household.id for household in households}
        if missing:
            raise InvalidInput(
                f"{len(missing)} of the households are not in community {from_community_id}",
                errors=[
                    FieldError(
                        "household_ids",
                        f"not households of {from_community_id}: {', '.join(sorted(missing))}",
                        "not_found",
                    )
                ],
            )
    if target.id == from_community_id:
        return 0
    members = await store.living_members([household.id for household in households])
    for household in households:
        household.move(
            target, moved_on=moved_on, reason=reason, members=members.get(household.id, [])
        )
    await store.save()  # writes the history from the events, before they are handed over
    for household in households:
        _hand_over(uow, household, *members.get(household.id, []))
    return len(households)


async def current_community(
    session: AsyncSession,
    community_id: str,
    *,
    field: str,
    principal: Principal | None,
    today: date,
) -> CommunityRef:
    """A community households may join today (422 naming ``field`` otherwise; 404 outside
    the caller's area)."""
    community = await get_community(session, community_id)
    if community is not None and principal is not None:
        ensure_area(principal, community.path)
    return require_community_for_households(
        community, community_id=community_id, today=today, field=field
    )


async def household_ids_in_community(session: AsyncSession, *, community_id: str) -> list[str]:
    """Ids of the households registered in a community, sorted (what an area split must
    assign, and a community must not have to be retired)."""
    query = (
        select(HouseholdRow.id)
        .where(HouseholdRow.community_id == community_id)
        .order_by(HouseholdRow.id)
    )
    return list((await session.scalars(query)).all())


def _hand_over(uow: UnitOfWork, *entities: RecordsEvents) -> None:
    """Give ``uow`` the events the entities recorded so far, in order."""
    for entity in entities:
        uow.record(*entity.events)
        entity.events.clear()
